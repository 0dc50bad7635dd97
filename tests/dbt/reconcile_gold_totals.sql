{#- Gold totals match silver totals: revenue and transactions (sales), events and purchase revenue
    (clickstream). Returns the measures that differ.
    In `dbt build`, the date-grain models are compared on the dates the build rebuilt, and the entity-grain and
    keyed models (sales_enriched, customer_segments, user_features) are left to the full check (`dbt test`, or
    `make check-all`), because a build reads all of their upstream anyway (macros/tests/scope.sql). -#}
{%- set gold = ['sales_summary', 'user_activity', 'hourly_revenue', 'category_performance'] %}
{%- set full = namespace(value=true) %}
{%- for name in gold if model_windows(ref(name)) %}{% set full.value = false %}{% endfor %}
{%- set full = full.value %}
with checks as (
    select
        'sales_summary.revenue' as measure,
        (
            select sum(total_amount) from {{ ref('sales_transactions') }}
            where {{ rebuilt_dates_filter(ref('sales_summary'), 'transaction_date') }}
        ) as silver_total,
        (
            select sum(revenue) from {{ ref('sales_summary') }}
            where {{ scope_filter(ref('sales_summary')) }}
        ) as gold_total
    union all
    select
        'sales_summary.transaction_count' as measure,
        (
            select count(*) from {{ ref('sales_transactions') }}
            where {{ rebuilt_dates_filter(ref('sales_summary'), 'transaction_date') }}
        ) as silver_total,
        (
            select sum(transaction_count) from {{ ref('sales_summary') }}
            where {{ scope_filter(ref('sales_summary')) }}
        ) as gold_total
    union all
    select
        'user_activity.events' as measure,
        (
            select count(*) from {{ ref('user_events') }}
            where {{ rebuilt_dates_filter(ref('user_activity'), 'event_date') }}
        ) as silver_total,
        (
            select sum(events) from {{ ref('user_activity') }}
            where {{ scope_filter(ref('user_activity')) }}
        ) as gold_total
    union all
    select
        'hourly_revenue.revenue' as measure,
        (
            select sum(price) from {{ ref('user_events') }}
            where event_type = 'purchase' and {{ rebuilt_dates_filter(ref('hourly_revenue'), 'event_date') }}
        ) as silver_total,
        (
            select sum(revenue) from {{ ref('hourly_revenue') }}
            where {{ scope_filter(ref('hourly_revenue')) }}
        ) as gold_total
    union all
    select
        'category_performance.purchases' as measure,
        (
            -- category is optional; category_performance counts the events that have one
            select count(*) from {{ ref('user_events') }}
            where
                event_type = 'purchase' and category is not null
                and {{ rebuilt_dates_filter(ref('category_performance'), 'event_date') }}
        ) as silver_total,
        (
            select sum(purchases) from {{ ref('category_performance') }}
            where {{ scope_filter(ref('category_performance')) }}
        ) as gold_total
    {%- if full %}
    union all
    select
        'sales_enriched.total_amount' as measure,
        (select sum(total_amount) from {{ ref('sales_transactions') }}) as silver_total,
        (select sum(total_amount) from {{ ref('sales_enriched') }}) as gold_total
    union all
    select
        'customer_segments.total_revenue' as measure,
        (select sum(total_amount) from {{ ref('sales_transactions') }}) as silver_total,
        (select sum(total_revenue) from {{ ref('customer_segments') }}) as gold_total
    union all
    select
        'user_features.total_spend' as measure,
        (
            select sum(price) from {{ ref('user_events') }}
            where event_type = 'purchase'
        ) as silver_total,
        (select sum(total_spend) from {{ ref('user_features') }}) as gold_total
    {%- endif %}
)

select *
from checks
where coalesce(silver_total, 0) <> coalesce(gold_total, 0)
