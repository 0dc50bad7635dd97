{#- Purchases and revenue per UTC day and hour, for hours with at least one purchase. Incremental by whole
    dates: a build recomputes every event_date that holds a version of an event
    delivered since the last build (late and corrected events included). -#}
{{ config(**rebuild_by_date(upstream='user_events', date_column='event_date')) }}

with events as (
    select *
    from {{ ref('user_events') }}
    where {{ rebuild_filter() }}
),

purchases as (
    select
        event_date,
        cast(extract(hour from event_at) as integer) as event_hour,
        price
    from events
    where event_type = 'purchase'
)

select
    event_date,
    event_hour,
    cast(count(*) as bigint) as purchases,
    cast(sum(price) as decimal(18, 2)) as revenue
from purchases
group by event_date, event_hour
