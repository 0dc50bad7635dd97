{#- The 10 most viewed products of each day (fewer when fewer products were viewed); ties go to the
    smaller product_id. Incremental by whole dates: a build recomputes every event_date that holds a version of an event
    delivered since the last build (late and corrected events included). -#}
{{
    config(
        incremental_strategy='append',
        pre_hook="{{ delete_dates_to_rebuild('event_date', changed_dates_of_versions(
            ref('user_event_versions'), 'event_id', 'event_date'
        )) }}",
        post_hook="{{ record_watermark(ref('user_event_versions')) }}",
    )
}}

{%- set dates_to_rebuild = changed_dates_of_versions(ref('user_event_versions'), 'event_id', 'event_date') %}

with events as (
    select *
    from {{ ref('user_events') }}
    where {{ date_filter('event_date', dates_to_rebuild) }}
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
