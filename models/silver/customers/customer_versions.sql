{#- Every bronze customers record that passes the rules, typed: one row per valid version of a customer.
    Append-only; silver.customers picks each customer's current version from here. -#}
{{
    config(
        incremental_strategy='append',
    )
}}

with bronze_records as (
    select *
    from {{ bronze_source('customers') }}
    where {{ window_filter(bronze_window('customers')) }}
),

validated as (
    {{ validate_customers('bronze_records') }}
)

select
    customer_id,
    customer_name,
    age_group,
    membership_tier,
    signup_date,
    updated_at,
    _source_file,
    _record_number,
    _ingest_run_id,
    ingest_date
from validated
where reject_reason is null
