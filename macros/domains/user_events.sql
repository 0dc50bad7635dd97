{#- The user_events rules, shared by silver.user_event_versions (records that pass) and
    silver.user_events_rejected (records that do not). -#}
{% macro validate_user_events(bronze_records) -%}
    {%- set columns = ['event_id', 'user_id', 'session_id', 'event_type', 'product_id', 'category', 'price',
                       'event_timestamp'] -%}
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
            lower(event_type_text) as event_type,
            {{ parse_iso_timestamp('event_timestamp_text') }} as event_at,
            {{ parse_decimal('price_text') }} as price
        from trimmed
    ),

    checked as (
        select
            *,
            case
                when event_id_text is null then 'missing_event_id'
                when user_id_text is null then 'missing_user_id'
                when event_type is null or event_type not in ('view', 'click', 'add_to_cart', 'purchase')
                    then 'invalid_event_type'
                when event_at is null then 'invalid_event_timestamp'
                when price_text is not null and price is null then 'invalid_price'
                when price < 0 then 'negative_price'
                when event_type = 'purchase' and price is null then 'missing_purchase_price'
            end as reject_reason
        from typed
    )

    select
        event_id_text as event_id,
        user_id_text as user_id,
        session_id_text as session_id,
        event_type,
        product_id_text as product_id,
        category_text as category,
        price,
        event_at,
        cast(event_at as date) as event_date,
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
