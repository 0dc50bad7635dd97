{#- The 10 most viewed products of each day (fewer when fewer products were viewed); ties go to the
    smaller product_id. Incremental by whole dates: a build recomputes every event_date that holds a version of an event
    delivered since the last build (late and corrected events included). -#}
{{ config(**rebuild_by_date(upstream='user_events', date_column='event_date')) }}

with events as (
    select *
    from {{ ref('user_events') }}
    where {{ rebuild_filter() }}
),

views_per_product as (
    select
        event_date,
        product_id,
        count(*) as views
    from events
    where event_type = 'view' and product_id is not null
    group by event_date, product_id
),

ranked as (
    select
        event_date,
        product_id,
        views,
        row_number() over (partition by event_date order by views desc, product_id asc) as product_rank
    from views_per_product
)

select
    event_date,
    cast(product_rank as integer) as product_rank,
    product_id,
    cast(views as bigint) as views
from ranked
where product_rank <= 10
