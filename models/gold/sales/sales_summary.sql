{#- Transactions, units and revenue per month, region and product. Incremental by whole months: a build
    recomputes every month that holds a version of a transaction delivered since the last build - the
    month a correction moves a transaction to, and the month it moves it from. -#}
{{ config(**rebuild_by_date(upstream='sales_transactions', date_column='transaction_date', grain='month')) }}

with transactions as (
    select
        transaction_date,
        region,
        product_id,
        quantity,
        total_amount
    from {{ ref('sales_transactions') }}
    where {{ rebuild_filter() }}
),

monthly as (
    select
        cast(extract(year from transaction_date) as integer) as year,
        cast(extract(month from transaction_date) as integer) as month,
        region,
        product_id,
        count(*) as transaction_count,
        sum(quantity) as units_sold,
        sum(total_amount) as revenue
    from transactions
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
