{#- Active users, sessions and events per UTC day. A session that spans midnight counts on both
    dates. Incremental by whole dates: a build recomputes every event_date that holds a version of an event
    delivered since the last build (late and corrected events included). -#}
{{ config(**rebuild_by_date(upstream='user_events', date_column='event_date')) }}

with events as (
    select *
    from {{ ref('user_events') }}
    where {{ rebuild_filter() }}
),

per_day as (
    select
        event_date,
        count(distinct user_id) as active_users,
        count(distinct session_id) as sessions,
        count(*) as events
    from events
    group by event_date
)

select
    event_date,
    cast(active_users as bigint) as active_users,
    cast(sessions as bigint) as sessions,
    cast(events as bigint) as events
from per_day
