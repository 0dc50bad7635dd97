{#- One row per valid transaction with its customer's current name, age group and tier (null when the
    customer is unknown), plus year and month. Incremental by transaction: a build rewrites transactions
    that changed since the last build (their new rows, found by run id), and every transaction of a customer
    whose record changed. That second part reads the customer_id column of all of sales_transactions, and
    runs only in a build where a customer changed. -#}
{{
    config(
        unique_key='transaction_id',
        incremental_strategy=upsert_strategy(),
    )
}}

{%- set transaction_window = ingest_window(ref('sales_transactions'), own_rows=false) %}
{%- set customer_window = ingest_window(ref('customers'), own_rows=false) %}
{{- window_marker(customer_window) }}

with transactions as (
    select *
    from {{ ref('sales_transactions') }}
    where {{ window_filter(transaction_window) }}
    {%- if is_incremental() and not customer_window.empty %}
    -- Every transaction of a customer whose record changed: reads customer_id of all of sales_transactions.
    union
    select *
    from {{ ref('sales_transactions') }}
    where
        customer_id in (
            select changed_customers.customer_id
            from {{ ref('customers') }} as changed_customers
            where {{ window_filter(customer_window) }}
        )
    {%- endif %}
),

customers as (
    select
        customer_id,
        customer_name,
        age_group,
        membership_tier
    from {{ ref('customers') }}
)

select
    transactions.transaction_id,
    transactions.transaction_date,
    transactions.store_id,
    transactions.store_name,
    transactions.city,
    transactions.region,
    transactions.product_id,
    transactions.product_name,
    transactions.category,
    transactions.customer_id,
    transactions.quantity,
    transactions.unit_price,
    transactions.total_amount,
    transactions.payment_method,
    customers.customer_name,
    customers.age_group,
    customers.membership_tier,
    cast(extract(year from transactions.transaction_date) as integer) as year,
    cast(extract(month from transactions.transaction_date) as integer) as month
from transactions
left join customers
    on transactions.customer_id = customers.customer_id
