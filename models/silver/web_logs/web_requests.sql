{#- One row per distinct web request: bronze web_logs records that pass every rule (silver.web_logs_checked),
    with exact duplicates collapsed. Of several identical records the first ingested is kept (lowest
    run id, then source file, then record number), so an incremental build keeps the same record a
    full refresh would. Incremental builds only append: a request already built is filtered out first,
    looking it up only in the event dates the new records fall on (literal dates, so Athena prunes).
    Those dates are also the ones the build touches, logged for the gold models (record_touched). -#}
{{
    config(
        unique_key='request_id',
        incremental_strategy='append',
    )
}}

{%- set window = ingest_window(ref('web_logs_checked')) %}
{%- set batch_dates = web_logs_batch_event_dates(window) %}
{{- touched_marker(window, batch_dates) }}

with valid_requests as (
    select
        {{ web_request_id() }} as request_id,
        event_at,
        event_date,
        user_id,
        endpoint,
        cast(status_code as integer) as status_code,
        response_ms,
        user_agent,
        _source_file,
        _record_number,
        _ingest_run_id,
        ingest_date
    from {{ ref('web_logs_checked') }}
    where {{ window_filter(window) }} and reject_reason is null
),

ranked_records as (
    select
        *,
        row_number() over (
            partition by request_id
            order by _ingest_run_id, _source_file, _record_number
        ) as record_rank
    from valid_requests
),

first_of_each_request as (
    select *
    from ranked_records
    where record_rank = 1
),

new_requests as (
    select first_of_each_request.*
    from first_of_each_request
    {%- if is_incremental() %}
    -- A request seen in an earlier build keeps its first record.
    where
        not exists (
            select 1
            from {{ this }} as already_built
            where
                {{ date_filter('already_built.event_date', batch_dates) }}
                and already_built.request_id = first_of_each_request.request_id
                and already_built.event_date = first_of_each_request.event_date
        )
    {%- endif %}
)

select
    request_id,
    event_at,
    event_date,
    user_id,
    endpoint,
    status_code,
    response_ms,
    user_agent,
    _source_file,
    _record_number,
    _ingest_run_id,
    ingest_date
from new_requests
