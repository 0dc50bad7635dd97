{#- One row per user: event counts by type, spend, first and last event, and recency as of `as_of_date`
    (the dbt var, default: the latest event_date). Features for ML models. Entity grain: rebuilt in full
    by a build that finds new events (moving `as_of_date` changes every user's recency), in one statement, and
    left alone by a build that finds none (rebuild_when_changed() in macros/incremental/rebuild.sql). Summed from
    gold.user_days (one row per user and day, rebuilt by date just before), not from every event. -#}
{{ config(**rebuild_when_changed(upstreams=['user_events'], unique_key='user_id')) }}
{%- set changed = changed_filter() %}

with days as (
    select
        user_id,
        view_count,
        click_count,
        cart_count,
        purchase_count,
        total_spend,
        first_event_at,
        last_event_at,
        last_event_type
    from {{ ref('user_days') }}
    where event_date <= {{ as_of_date(ref('user_events'), 'event_date') }} and {{ changed }}
),

as_of as (
    select {{ as_of_date(ref('user_events'), 'event_date') }} as as_of_date
    where {{ changed }}
),

per_user as (
    select
        user_id,
        sum(view_count) as view_count,
        sum(click_count) as click_count,
        sum(cart_count) as cart_count,
        sum(purchase_count) as purchase_count,
        sum(total_spend) as total_spend,
        min(first_event_at) as first_event_at,
        max(last_event_at) as last_event_at
    from days
    group by user_id
),

last_events as (
    -- The last event of the user's last day (two days never share a last_event_at: a day is the date of event_at).
    select
        user_id,
        last_event_type
    from (
        select
            user_id,
            last_event_type,
            row_number() over (partition by user_id order by last_event_at desc) as recency_rank
        from days
    ) as ranked_days
    where recency_rank = 1
)

select
    per_user.user_id,
    cast(per_user.view_count as bigint) as view_count,
    cast(per_user.click_count as bigint) as click_count,
    cast(per_user.cart_count as bigint) as cart_count,
    cast(per_user.purchase_count as bigint) as purchase_count,
    cast(per_user.total_spend as decimal(18, 2)) as total_spend,
    per_user.first_event_at,
    per_user.last_event_at,
    last_events.last_event_type,
    {{ days_between('per_user.last_event_at', 'as_of.as_of_date') }} as days_since_last_event,
    as_of.as_of_date
from per_user
cross join as_of
inner join last_events
    on per_user.user_id = last_events.user_id
