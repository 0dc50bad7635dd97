{#- Every bronze user_events record of the runs not read yet, once: its values as delivered (`raw_*`), trimmed and
    typed, and the first rule it breaks (`reject_reason`, null when it passes). The one read of bronze per build;
    silver.user_event_versions keeps the records that pass, silver.user_events_rejected the others.

    The generic checks (missing required values, values that do not parse) come from the dataset's contract,
    glue_ingest/contracts/user_events.yml (macros/domains/contract_checks.sql); the business rules are below. -#}
{{
    config(
        incremental_strategy='append',
    )
}}

{%- set column_rules = {
    'price': [('price < 0', 'negative_price')],
} %}
{%- set row_rules = [
    ("event_type = 'purchase' and price is null", 'missing_purchase_price'),
] %}

with bronze_records as (
    select *
    from {{ bronze_source('user_events') }}
    where {{ window_filter(bronze_window('user_events')) }}
),

parsed as (
    {{ parse_contract_columns('user_events', 'bronze_records') }}
),

checked as (
    select
        *,
        {{ contract_reject_reason('user_events', column_rules, row_rules) }} as reject_reason
    from parsed
)

select
    event_id,
    user_id,
    session_id,
    event_type,
    product_id,
    category,
    price,
    event_timestamp as event_at,
    cast(event_timestamp as date) as event_date,
    raw_event_id,
    raw_user_id,
    raw_session_id,
    raw_event_type,
    raw_product_id,
    raw_category,
    raw_price,
    raw_event_timestamp,
    reject_reason,
    _source_file,
    _record_number,
    _ingest_run_id,
    ingest_date
from checked
