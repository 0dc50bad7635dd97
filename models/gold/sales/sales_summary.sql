{#- Transactions, units and revenue per month, region and product. Incremental by whole months: a build
    recomputes every month that holds a date gold.sales_days rebuilt since the last build (every date holding a
    version of a transaction delivered since, so also the month a correction moves a transaction from), adding up
    that month's rows of sales_days: per region and product a row per day, not a row per transaction. -#}
{{ config(**rebuild_by_date(upstream='sales_days', date_column='transaction_date', grain='month')) }}

with days as (
    select
        transaction_date,
        region,
        product_id,
        transaction_count,
        units_sold,
        revenue
    from {{ ref('sales_days') }}
    where {{ rebuild_filter() }}
),

monthly as (
    select
        cast(extract(year from transaction_date) as integer) as year,
        cast(extract(month from transaction_date) as integer) as month,
        region,
        product_id,
        sum(transaction_count) as transaction_count,
        sum(units_sold) as units_sold,
        sum(revenue) as revenue
    from days
    group by 1, 2, 3, 4
)

select
    year,
    month,
    region,
    product_id,
    cast(transaction_count as bigint) as transaction_count,
    cast(units_sold as bigint) as units_sold,
    cast(revenue as decimal(18, 2)) as revenue,
    {{ safe_divide('revenue', 'transaction_count') }} as avg_transaction_value
from monthly
