{#- Bronze customers records that break a rule (silver.customers_checked), with the values as delivered, the first
    rule they break and their source. Append-only: a record is never rejected twice. -#}
{{
    config(
        incremental_strategy='append',
    )
}}

select
    reject_reason,
    raw_customer_id as customer_id,
    raw_customer_name as customer_name,
    raw_age_group as age_group,
    raw_membership_tier as membership_tier,
    raw_signup_date as signup_date,
    raw_updated_at as updated_at,
    _source_file,
    _record_number,
    _ingest_run_id,
    ingest_date
from {{ ref('customers_checked') }}
where {{ window_filter(ingest_window(ref('customers_checked'))) }} and reject_reason is not null
