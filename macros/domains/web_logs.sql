{#- The web_logs rules, shared by silver.web_requests (rows that pass) and
    silver.web_requests_rejected (rows that do not). Input: a relation or CTE with bronze columns.
    Output: the bronze lineage columns, the trimmed and typed business columns, `request_id` and
    `reject_reason` (null when the row is valid; otherwise the first rule it breaks, in column order). -#}
{% macro validate_web_logs(bronze_records) -%}
    with trimmed as (
        select
            trim(event_time) as event_time_text,
            trim(user_id) as user_id,
            trim(endpoint) as endpoint,
            trim(status_code) as status_code_text,
            trim(response_ms) as response_ms_text,
            nullif(trim(user_agent), '') as user_agent,
            event_time as raw_event_time,
            user_id as raw_user_id,
            endpoint as raw_endpoint,
            status_code as raw_status_code,
            response_ms as raw_response_ms,
            user_agent as raw_user_agent,
            _source_file,
            _record_number,
            _ingest_run_id,
            ingest_date
        from {{ bronze_records }}
    ),

    typed as (
        select
            *,
            {{ parse_iso_timestamp('event_time_text') }} as event_at,
            {{ parse_integer('status_code_text') }} as status_code,
            {{ parse_integer('response_ms_text') }} as response_ms
        from trimmed
    ),

    checked as (
        select
            *,
            case
                when event_at is null then 'invalid_event_time'
                when user_id is null or user_id = '' then 'missing_user_id'
                when endpoint is null or endpoint = '' then 'missing_endpoint'
                when endpoint not like '/%' then 'endpoint_not_absolute'
                when status_code is null then 'invalid_status_code'
                when status_code not between 100 and 599 then 'status_code_out_of_range'
                when response_ms is null then 'invalid_response_ms'
                when response_ms < 0 then 'negative_response_ms'
            end as reject_reason
        from typed
    )

    select
        {{ hash_key([
            timestamp_to_text('event_at'), 'user_id', 'endpoint', 'status_code', 'response_ms', 'user_agent'
        ]) }} as request_id,
        event_at,
        cast(event_at as date) as event_date,
        user_id,
        endpoint,
        cast(status_code as integer) as status_code,
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
{%- endmacro %}


{#- The UTC event dates of the bronze web_logs records in `window` (the runs a web_requests build is about to
    read), as a list of 'YYYY-MM-DD': the only dates where those requests can already exist, and the dates the
    build touches. None on a first or full build (every date). -#}
{% macro web_logs_batch_event_dates(window) -%}
    {%- if not execute or this is none or not is_incremental() -%}
        {{ return(none) }}
    {%- endif -%}
    {%- if window.empty -%}
        {{ return([]) }}
    {%- endif -%}
    {%- if var('assume_changed_dates', none) is not none -%}
        {{ return(var('assume_changed_dates') | map('string') | list) }}
    {%- endif -%}
    {{ return(column_values(
        "select distinct cast(cast(" ~ parse_iso_timestamp('trim(event_time)') ~ " as date) as varchar)"
        ~ " from " ~ bronze_source('web_logs') ~ " where " ~ window_filter(window)
        ~ " and " ~ parse_iso_timestamp('trim(event_time)') ~ " is not null order by 1"
    )) }}
{%- endmacro %}
