{#- The site's health per UTC day: requests, distinct users, and errors split into 4xx (the client's
    fault) and 5xx (ours). Incremental by whole dates, like daily_endpoint_metrics: a build recomputes,
    from all of silver, every event_date that received new silver rows since the last build and
    replaces those dates, so an incremental build equals a full refresh. -#}
{{ config(**rebuild_by_date(upstream='web_requests', date_column='event_date')) }}

with requests as (
    select
        event_date,
        user_id,
        status_code
    from {{ ref('web_requests') }}
    where {{ rebuild_filter() }}
),

per_day as (
    select
        event_date,
        count(*) as total_requests,
        count(distinct user_id) as distinct_users,
        sum(case when status_code < 400 then 1 else 0 end) as ok_requests,
        sum(case when status_code >= 400 and status_code < 500 then 1 else 0 end) as client_error_requests,
        sum(case when status_code >= 500 then 1 else 0 end) as server_error_requests
    from requests
    group by event_date
)

select
    event_date,
    cast(total_requests as bigint) as total_requests,
    cast(distinct_users as bigint) as distinct_users,
    cast(ok_requests as bigint) as ok_requests,
    cast(client_error_requests as bigint) as client_error_requests,
    cast(server_error_requests as bigint) as server_error_requests,
    {{ safe_divide('server_error_requests', 'total_requests') }} as server_error_rate
from per_day
