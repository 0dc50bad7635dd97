{#- Request volume, errors and latency per endpoint and UTC day.
    Incremental by whole dates: a build recomputes, from all of silver, every event_date that received
    new silver rows since the last build (late arrivals included) and replaces those dates. So an
    incremental build gives exactly what a full refresh gives. -#}
{{ config(**rebuild_by_date(upstream='web_requests', date_column='event_date')) }}

with requests as (
    select
        event_date,
        endpoint,
        status_code,
        response_ms
    from {{ ref('web_requests') }}
    where {{ rebuild_filter() }}
),

metrics as (
    select
        event_date,
        endpoint,
        count(*) as total_requests,
        sum(case when status_code >= 400 then 1 else 0 end) as error_requests,
        avg(cast(response_ms as double)) as avg_response_ms,
        max(response_ms) as max_response_ms,
        {{ approx_p95('response_ms') }} as p95_response_ms
    from requests
    group by event_date, endpoint
)

select
    event_date,
    endpoint,
    cast(total_requests as bigint) as total_requests,
    cast(error_requests as bigint) as error_requests,
    {{ safe_divide('error_requests', 'total_requests') }} as error_rate,
    avg_response_ms,
    cast(max_response_ms as bigint) as max_response_ms,
    p95_response_ms
from metrics
