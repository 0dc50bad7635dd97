{#- The customers rules, shared by silver.customer_versions (records that pass) and
    silver.customers_rejected (records that do not). -#}
{% macro validate_customers(bronze_records) -%}
    {%- set columns = ['customer_id', 'customer_name', 'age_group', 'membership_tier', 'signup_date', 'updated_at'] -%}
    with trimmed as (
        select
            {%- for column in columns %}
            {{ column }} as raw_{{ column }},
            nullif(trim({{ column }}), '') as {{ column }}_text,
            {%- endfor %}
            _source_file,
            _record_number,
            _ingest_run_id,
            ingest_date
        from {{ bronze_records }}
    ),

    typed as (
        select
            *,
            case
                when {{ matches_regex('signup_date_text', '[0-9]{4}-[0-9]{2}-[0-9]{2}') }}
                    then try_cast(signup_date_text as date)
            end as signup_date,
            {{ parse_iso_timestamp('updated_at_text') }} as updated_at
        from trimmed
    ),

    checked as (
        select
            *,
            case
                when customer_id_text is null then 'missing_customer_id'
                when updated_at is null then 'invalid_updated_at'
                when signup_date_text is not null and signup_date is null then 'invalid_signup_date'
            end as reject_reason
        from typed
    )

    select
        customer_id_text as customer_id,
        customer_name_text as customer_name,
        age_group_text as age_group,
        membership_tier_text as membership_tier,
        signup_date,
        updated_at,
        {%- for column in columns %}
        raw_{{ column }},
        {%- endfor %}
        reject_reason,
        _source_file,
        _record_number,
        _ingest_run_id,
        ingest_date
    from checked
{%- endmacro %}
