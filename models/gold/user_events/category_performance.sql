{#- Views, clicks, carts, purchases and revenue per day and product category. Incremental by whole dates: a
    build recomputes every event_date that holds a version of an event
    delivered since the last build (late and corrected events included). -#}
{{ config(**rebuild_by_date(upstream='user_events', date_column='event_date')) }}

with events as (
    select *
    from {{ ref('user_events') }}
    where {{ rebuild_filter() }}
),

per_category as (
    select
        event_date,
        category,
        sum(case when event_type = 'view' then 1 else 0 end) as views,
        sum(case when event_type = 'click' then 1 else 0 end) as clicks,
        sum(case when event_type = 'add_to_cart' then 1 else 0 end) as carts,
        sum(case when event_type = 'purchase' then 1 else 0 end) as purchases,
        sum(case when event_type = 'purchase' then price else 0 end) as revenue
    from events
    where category is not null
    group by event_date, category
)

select
    event_date,
    category,
    cast(views as bigint) as views,
    cast(clicks as bigint) as clicks,
    cast(carts as bigint) as carts,
    cast(purchases as bigint) as purchases,
    cast(revenue as decimal(18, 2)) as revenue
from per_category
