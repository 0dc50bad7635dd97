{#- Bronze user_events records that break a rule, with the values as delivered, the first rule they break
    and their source. Append-only: a record is never rejected twice. -#}
{{
    config(
        incremental_strategy='append',
    )
}}

with bronze_records as (
    select *
    from {{ bronze_source('user_events') }}
    where {{ window_filter(bronze_window('user_events')) }}
),

validated as (
    {{ validate_user_events('bronze_records') }}
)

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
from validated
where reject_reason is not null
