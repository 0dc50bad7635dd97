{#- Purchases and revenue per UTC day and hour, for hours with at least one purchase. Incremental by whole
    dates: a build recomputes every event_date that holds a version of an event
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
