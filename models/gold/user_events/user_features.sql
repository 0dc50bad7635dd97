{#- One row per user: event counts by type, spend, first and last event, and recency as of `as_of_date` (the dbt
    var, default: the latest event_date). Features for ML models. Entity grain: every row is rewritten by a build
    that finds new events (moving `as_of_date` changes every user's recency), in one statement, and left alone by a
    build that finds none.

    Kept by difference (macros/incremental/day_versions.sql): a build reads its own rows, which carry the batch of
    ops.user_day_versions they reflect (`_ingest_run_id`), and the batches after it: the rebuilt dates of
    gold.user_days, as they are now and as they were. Counts and spend add up; a first or last event stays unless
    its date was rebuilt. Users whose first or last day was emptied by a correction are summed again from every
    date, and a first or full build, or the var `as_of_date`, sums every date's newest rows. -#}
{{ config(**rebuild_when_changed(upstreams=['user_day_versions'], unique_key='user_id')) }}
{%- set window = rollup_window(ref('user_day_versions'), 'user_events', 'user_id', 'first_event_at',
                               'last_event_at') %}
{%- set delta = window.mode == 'delta' %}
{%- set read = 'false' if window.empty else 'true' %}
{%- set as_of_filter = "event_date <= " ~ as_of_date(none, none) if var('as_of_date', none) else 'true' %}
{%- set columns = ['view_count', 'click_count', 'cart_count', 'purchase_count', 'total_spend', 'first_event_at',
                  'last_event_at', 'last_event_type'] %}

with {{ rollup_signed_rows(window, ref('user_day_versions'), 'user_id', 'event_date', columns, read=read,
                           where=as_of_filter ~ window_marker(window)) }},

changes as (
    select
        user_id,
        sum(sign * view_count) as view_count,
        sum(sign * click_count) as click_count,
        sum(sign * cart_count) as cart_count,
        sum(sign * purchase_count) as purchase_count,
        sum(sign * total_spend) as total_spend,
        min(case when sign = 1 then first_event_at end) as first_event_at,
        max(case when sign = 1 then last_event_at end) as last_event_at
    from day_rows
    group by user_id
),

last_events as (
    -- The last event of the user's last day among the newest rows (two days never share a last_event_at: a day
    -- is the date of event_at).
    select
        user_id,
        last_event_type
    from (
        select
            user_id,
            last_event_type,
            row_number() over (partition by user_id order by last_event_at desc) as recency_rank
        from day_rows
        where sign = 1
    ) as ranked_days
    where recency_rank = 1
),

previous as (
    -- This table as of its own batch, in a delta build (less the users summed again).
    {%- if delta %}
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
    from {{ this }}
    where {{ rollup_carried_over(window, 'user_id') }}
    {%- else %}
    select
        cast(null as varchar) as user_id,
        cast(null as bigint) as view_count,
        cast(null as bigint) as click_count,
        cast(null as bigint) as cart_count,
        cast(null as bigint) as purchase_count,
        cast(null as decimal(18, 2)) as total_spend,
        cast(null as {{ timestamp_type() }}) as first_event_at,
        cast(null as {{ timestamp_type() }}) as last_event_at,
        cast(null as varchar) as last_event_type
    where false
    {%- endif %}
),

combined as (
    select
        coalesce(previous.user_id, changes.user_id) as user_id,
        coalesce(previous.view_count, 0) + coalesce(changes.view_count, 0) as view_count,
        coalesce(previous.click_count, 0) + coalesce(changes.click_count, 0) as click_count,
        coalesce(previous.cart_count, 0) + coalesce(changes.cart_count, 0) as cart_count,
        coalesce(previous.purchase_count, 0) + coalesce(changes.purchase_count, 0) as purchase_count,
        coalesce(previous.total_spend, 0) + coalesce(changes.total_spend, 0) as total_spend,
        previous.first_event_at as previous_first_event_at,
        previous.last_event_at as previous_last_event_at,
        previous.last_event_type as previous_last_event_type,
        changes.first_event_at as new_first_event_at,
        changes.last_event_at as new_last_event_at,
        last_events.last_event_type as new_last_event_type,
        -- A first (last) event on a date that was not rebuilt still holds against the rebuilt dates' newest rows;
        -- one on a rebuilt date is replaced by them (they reach back, or forward, to its date).
        coalesce(
            previous.user_id is null
            or {{ date_filter('cast(previous.first_event_at as date)', window.dates) }}
            or changes.first_event_at < previous.first_event_at,
            false
        ) as first_is_new,
        coalesce(
            previous.user_id is null
            or {{ date_filter('cast(previous.last_event_at as date)', window.dates) }}
            or changes.last_event_at > previous.last_event_at,
            false
        ) as last_is_new
    from previous
    full outer join changes
        on previous.user_id = changes.user_id
    left join last_events
        on coalesce(previous.user_id, changes.user_id) = last_events.user_id
),

merged as (
    select
        user_id,
        view_count,
        click_count,
        cart_count,
        purchase_count,
        total_spend,
        case when first_is_new then new_first_event_at else previous_first_event_at end as first_event_at,
        case when last_is_new then new_last_event_at else previous_last_event_at end as last_event_at,
        case when last_is_new then new_last_event_type else previous_last_event_type end as last_event_type
    from combined
),

as_of as (
    {%- if var('as_of_date', none) %}
    select {{ as_of_date(none, none) }} as as_of_date
    {%- else %}
    -- The latest event_date: the date of the latest of the users' last events (not a scan of silver.user_events,
    -- whose max(event_date) Trino reads from every data file).
    select cast(max(last_event_at) as date) as as_of_date
    from merged
    {%- endif %}
)

select
    merged.user_id,
    cast(merged.view_count as bigint) as view_count,
    cast(merged.click_count as bigint) as click_count,
    cast(merged.cart_count as bigint) as cart_count,
    cast(merged.purchase_count as bigint) as purchase_count,
    cast(merged.total_spend as decimal(18, 2)) as total_spend,
    merged.first_event_at,
    merged.last_event_at,
    merged.last_event_type,
    {{ days_between('merged.last_event_at', 'as_of.as_of_date') }} as days_since_last_event,
    as_of.as_of_date,
    {{ batch_literals(window.upto) }}
from merged
cross join as_of
