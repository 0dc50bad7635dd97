{#- Every state of gold.user_days' rebuilt dates, for gold.user_features to add up by difference
    (macros/incremental/day_versions.sql). Append-only: each build that rebuilt dates of user_days appends one
    batch, tagged with the run of user_events that user_days had consumed: the dates' rows as rebuilt, and a
    removal row (`is_removed`) for each user a date had in its previous batch and has no more. A first or full
    build is a full copy (`is_full_copy`). -#}
{%- set window = day_versions_window('user_events', 'user_days', 'user_events') %}

with rebuilt_days as (
    select
        event_date,
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
    where {{ 'false' if window.empty else date_filter('event_date', window.dates) }}{{ window_marker(window) }}
),

previous_users as (
    -- The users each rebuilt date had in its newest batch so far (none on a first or full build).
    {{ day_versions_previous_keys(window, 'event_date', 'user_id') }}
)

select
    event_date,
    user_id,
    view_count,
    click_count,
    cart_count,
    purchase_count,
    total_spend,
    first_event_at,
    last_event_at,
    last_event_type,
    false as is_removed,
    {{ batch_literals(window.upto) }},
    {{ 'true' if window.dates is none else 'false' }} as is_full_copy
from rebuilt_days
union all
select
    previous_users.event_date,
    previous_users.user_id,
    cast(null as bigint) as view_count,
    cast(null as bigint) as click_count,
    cast(null as bigint) as cart_count,
    cast(null as bigint) as purchase_count,
    cast(null as decimal(18, 2)) as total_spend,
    cast(null as {{ timestamp_type() }}) as first_event_at,
    cast(null as {{ timestamp_type() }}) as last_event_at,
    cast(null as varchar) as last_event_type,
    true as is_removed,
    {{ batch_literals(window.upto) }},
    {{ 'true' if window.dates is none else 'false' }} as is_full_copy
from previous_users
left join rebuilt_days
    on previous_users.event_date = rebuilt_days.event_date and previous_users.user_id = rebuilt_days.user_id
where rebuilt_days.user_id is null
