{#- Bronze web_logs records that break a rule (silver.web_logs_checked), with the first rule they break
    (`reject_reason`) and where they came from. Append-only: each build adds the records of bronze runs it has not
    consumed yet, so a record is never rejected twice. -#}
{{
    config(
        incremental_strategy='append',
    )
}}

select
    reject_reason,
    raw_event_time as event_time,
    raw_user_id as user_id,
    raw_endpoint as endpoint,
    raw_status_code as status_code,
    raw_response_ms as response_ms,
    raw_user_agent as user_agent,
    _source_file,
    _record_number,
    _ingest_run_id,
    ingest_date
from {{ ref('web_logs_checked') }}
where {{ window_filter(ingest_window(ref('web_logs_checked'))) }} and reject_reason is not null
