{#- Every bronze customers record that passes the rules (silver.customers_checked), typed: one row per valid version
    of a customer. Append-only; silver.customers picks each customer's current version from here. -#}
{{
    config(
        incremental_strategy='append',
    )
}}

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
from {{ ref('customers_checked') }}
where {{ window_filter(ingest_window(ref('customers_checked'))) }} and reject_reason is null
