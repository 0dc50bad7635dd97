{#- One row per user and UTC day with events: event counts by type, spend, the first and last event of the day and
    the type of the last one (ties go to the smallest event_id). Incremental by whole dates: a build recomputes
    every event_date that holds a version of an event delivered since the last build. gold.user_features sums
    these rows per user, which reads far fewer bytes than every event. -#}
{{ config(**rebuild_by_date(upstream='user_events', date_column='event_date')) }}

with events as (
    select
        event_id,
        user_id,
        event_type,
        price,
        event_at,
        event_date
    from {{ ref('user_events') }}
    where {{ rebuild_filter() }}
),

per_user_day as (
    select
        event_date,
        user_id,
        sum(case when event_type = 'view' then 1 else 0 end) as view_count,
        sum(case when event_type = 'click' then 1 else 0 end) as click_count,
        sum(case when event_type = 'add_to_cart' then 1 else 0 end) as cart_count,
        sum(case when event_type = 'purchase' then 1 else 0 end) as purchase_count,
        sum(case when event_type = 'purchase' then price else 0 end) as total_spend,
        min(event_at) as first_event_at,
        max(event_at) as last_event_at
    from events
    group by event_date, user_id
),

last_events as (
    select
        event_date,
        user_id,
        event_type as last_event_type
    from (
        select
            event_date,
            user_id,
            event_type,
            row_number() over (
                partition by event_date, user_id order by event_at desc, event_id asc
            ) as recency_rank
        from events
    ) as ranked_events
    where recency_rank = 1
)

select
    per_user_day.event_date,
    per_user_day.user_id,
    cast(per_user_day.view_count as bigint) as view_count,
    cast(per_user_day.click_count as bigint) as click_count,
    cast(per_user_day.cart_count as bigint) as cart_count,
    cast(per_user_day.purchase_count as bigint) as purchase_count,
    cast(per_user_day.total_spend as decimal(18, 2)) as total_spend,
    per_user_day.first_event_at,
    per_user_day.last_event_at,
    last_events.last_event_type
from per_user_day
inner join last_events
    on
        per_user_day.event_date = last_events.event_date
        and per_user_day.user_id = last_events.user_id
