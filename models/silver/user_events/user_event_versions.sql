{#- Every bronze user_events record that passes the rules (silver.user_events_checked), typed: one row per valid
    delivery of an event. Append-only; silver.user_events picks the current version of each event from here. -#}
{{
    config(
        incremental_strategy='append',
    )
}}

select
    event_id,
    user_id,
    session_id,
    event_type,
    product_id,
    category,
    price,
    event_at,
    event_date,
    _source_file,
    _record_number,
    _ingest_run_id,
    ingest_date
from {{ ref('user_events_checked') }}
where {{ window_filter(ingest_window(ref('user_events_checked'))) }} and reject_reason is null
