{#- Bronze user_events records that break a rule (silver.user_events_checked), with the values as delivered, the
    first rule they break and their source. Append-only: a record is never rejected twice. -#}
{{
    config(
        incremental_strategy='append',
    )
}}

select
    reject_reason,
    raw_event_id as event_id,
    raw_user_id as user_id,
    raw_session_id as session_id,
    raw_event_type as event_type,
    raw_product_id as product_id,
    raw_category as category,
    raw_price as price,
    raw_event_timestamp as event_timestamp,
    _source_file,
    _record_number,
    _ingest_run_id,
    ingest_date
from {{ ref('user_events_checked') }}
where {{ window_filter(ingest_window(ref('user_events_checked'))) }} and reject_reason is not null
