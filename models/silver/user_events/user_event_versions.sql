{#- Every bronze user_events record that passes the rules, typed: one row per valid delivery of an event.
    Append-only; silver.user_events picks the current version of each event from here. -#}
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
from validated
where reject_reason is null
