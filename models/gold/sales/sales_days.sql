{#- Transactions, units and revenue per UTC day, region and product. Incremental by whole dates: a build recomputes
    every transaction_date that holds a version of a transaction delivered since the last build (the date a
    correction moves a transaction to, and the date it moves it from). gold.sales_summary adds these rows up per
    month, which reads the touched dates of silver.sales_transactions here instead of their whole months there. -#}
{{ config(**rebuild_by_date(upstream='sales_transactions', date_column='transaction_date')) }}

with transactions as (
    select
        transaction_date,
        region,
        product_id,
        quantity,
        total_amount
    from {{ ref('sales_transactions') }}
    where {{ rebuild_filter() }}
)

select
    transaction_date,
    region,
    product_id,
    cast(count(*) as bigint) as transaction_count,
    cast(sum(quantity) as bigint) as units_sold,
    cast(sum(total_amount) as decimal(18, 2)) as revenue
from transactions
group by transaction_date, region, product_id
