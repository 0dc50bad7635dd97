{#- Every bronze web_logs record of the runs not read yet, once: its values as delivered (`raw_*`), trimmed and
    typed, and the first rule it breaks (`reject_reason`, null when it passes). The one read of bronze per build;
    silver.web_requests keeps one record per request of those that pass, silver.web_requests_rejected the others.

    The generic checks (missing required values, values that do not parse) come from the dataset's contract,
    glue_ingest/contracts/web_logs.yml (macros/domains/contract_checks.sql); the business rules are below. -#}
{{
    config(
        incremental_strategy='append',
    )
}}

{%- set column_rules = {
    'endpoint': [("endpoint not like '/%'", 'endpoint_not_absolute')],
    'status_code': [('status_code not between 100 and 599', 'status_code_out_of_range')],
    'response_ms': [('response_ms < 0', 'negative_response_ms')],
} %}

with bronze_records as (
    select *
    from {{ bronze_source('web_logs') }}
    where {{ window_filter(bronze_window('web_logs')) }}
),

parsed as (
    {{ parse_contract_columns('web_logs', 'bronze_records') }}
),

checked as (
    select
        *,
        {{ contract_reject_reason('web_logs', column_rules) }} as reject_reason
    from parsed
)

select
    event_time as event_at,
    cast(event_time as date) as event_date,
    user_id,
    endpoint,
    status_code,
    response_ms,
    user_agent,
    raw_event_time,
    raw_user_id,
    raw_endpoint,
    raw_status_code,
    raw_response_ms,
    raw_user_agent,
    reject_reason,
    _source_file,
    _record_number,
    _ingest_run_id,
    ingest_date
from checked
