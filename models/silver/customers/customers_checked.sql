{#- Every bronze customers record of the runs not read yet, once: its values as delivered (`raw_*`), trimmed and
    typed, and the first rule it breaks (`reject_reason`, null when it passes). The one read of bronze per build;
    silver.customer_versions keeps the records that pass, silver.customers_rejected the others.

    Every check of this dataset is generic, from its contract, glue_ingest/contracts/customers.yml
    (macros/domains/contract_checks.sql): it has no business rule. -#}
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

parsed as (
    {{ parse_contract_columns('customers', 'bronze_records') }}
),

checked as (
    select
        *,
        {{ contract_reject_reason('customers') }} as reject_reason
    from parsed
)

select
    customer_id,
    customer_name,
    age_group,
    membership_tier,
    signup_date,
    updated_at,
    raw_customer_id,
    raw_customer_name,
    raw_age_group,
    raw_membership_tier,
    raw_signup_date,
    raw_updated_at,
    reject_reason,
    _source_file,
    _record_number,
    _ingest_run_id,
    ingest_date
from checked
