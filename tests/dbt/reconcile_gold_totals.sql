{#- Gold totals match silver totals: revenue and transactions (sales), events and purchase revenue
    (clickstream). Returns the measures that differ.
    In `dbt build`, the date-grain models are compared on the dates the build rebuilt: gold.sales_days with silver on
    its dates, gold.sales_summary with gold.sales_days on its months (the two add up to silver on those months), the
    clickstream models with silver on theirs. Each table is read once for all of its measures (a row of totals,
    then one row per measure). The entity-grain and keyed models (sales_enriched, customer_segments,
    user_features) are left to the full check (`dbt test`, or `make check-all`), because a build reads all of their
    upstream anyway (macros/tests/scope.sql). -#}
{%- set gold = ['sales_days', 'sales_summary', 'user_activity', 'hourly_revenue', 'category_performance'] %}
{%- set full = namespace(value=true) %}
{%- for name in gold if model_windows(ref(name)) %}{% set full.value = false %}{% endfor %}
{%- set full = full.value %}
{%- set activity_dates = rebuilt_dates_filter(ref('user_activity'), 'event_date') %}
{%- set hourly_dates = rebuilt_dates_filter(ref('hourly_revenue'), 'event_date') %}
{%- set category_dates = rebuilt_dates_filter(ref('category_performance'), 'event_date') %}
{%- set measures = [
    ('sales_days.revenue', 'sales_silver.revenue', 'sales_days_gold.revenue'),
    ('sales_days.transaction_count', 'sales_silver.transaction_count', 'sales_days_gold.transaction_count'),
    ('sales_summary.revenue', 'sales_days_months.revenue', 'sales_summary_gold.revenue'),
    ('sales_summary.transaction_count', 'sales_days_months.transaction_count', 'sales_summary_gold.transaction_count'),
    ('user_activity.events', 'events_silver.events', 'user_activity_gold.events'),
    ('hourly_revenue.revenue', 'events_silver.purchase_revenue', 'hourly_revenue_gold.revenue'),
    ('category_performance.purchases', 'events_silver.categorized_purchases', 'category_performance_gold.purchases'),
] %}
with sales_silver as (
    select
        sum(total_amount) as revenue,
        count(*) as transaction_count
    from {{ ref('sales_transactions') }}
    where {{ rebuilt_dates_filter(ref('sales_days'), 'transaction_date') }}
),

sales_days_gold as (
    select
        sum(revenue) as revenue,
        sum(transaction_count) as transaction_count
    from {{ ref('sales_days') }}
    where {{ scope_filter(ref('sales_days')) }}
),

sales_days_months as (
    select
        sum(revenue) as revenue,
        sum(transaction_count) as transaction_count
    from {{ ref('sales_days') }}
    where {{ rebuilt_dates_filter(ref('sales_summary'), 'transaction_date') }}
),

sales_summary_gold as (
    select
        sum(revenue) as revenue,
        sum(transaction_count) as transaction_count
    from {{ ref('sales_summary') }}
    where {{ scope_filter(ref('sales_summary')) }}
),

events_silver as (
    -- category is optional; category_performance counts the events that have one
    select
        count(case when {{ activity_dates }} then 1 end) as events,
        sum(case when event_type = 'purchase' and {{ hourly_dates }} then price end) as purchase_revenue,
        count(
            case when event_type = 'purchase' and category is not null and {{ category_dates }} then 1 end
        ) as categorized_purchases
    from {{ ref('user_events') }}
    where ({{ activity_dates }}) or ({{ hourly_dates }}) or ({{ category_dates }})
),

user_activity_gold as (
    select sum(events) as events
    from {{ ref('user_activity') }}
    where {{ scope_filter(ref('user_activity')) }}
),

hourly_revenue_gold as (
    select sum(revenue) as revenue
    from {{ ref('hourly_revenue') }}
    where {{ scope_filter(ref('hourly_revenue')) }}
),

category_performance_gold as (
    select sum(purchases) as purchases
    from {{ ref('category_performance') }}
    where {{ scope_filter(ref('category_performance')) }}
),

checks as (
    -- One row of totals (each table read once: a CTE named twice would be read twice on Trino), a row per measure.
    select
        measures.measure,
        case measures.measure
            {%- for measure, silver, gold_total in measures %}
            when '{{ measure }}' then cast({{ silver }} as decimal(38, 2))
            {%- endfor %}
        end as silver_total,
        case measures.measure
            {%- for measure, silver, gold_total in measures %}
            when '{{ measure }}' then cast({{ gold_total }} as decimal(38, 2))
            {%- endfor %}
        end as gold_total
    from sales_silver
    cross join sales_days_gold
    cross join sales_days_months
    cross join sales_summary_gold
    cross join events_silver
    cross join user_activity_gold
    cross join hourly_revenue_gold
    cross join category_performance_gold
    cross join (
        values
        {%- for measure, silver, gold_total in measures %}
        ('{{ measure }}'){{ ',' if not loop.last }}
        {%- endfor %}
    ) as measures (measure)
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
