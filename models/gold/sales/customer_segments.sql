{#- One row per customer with at least one transaction (customers unknown to silver.customers included, with
    null tier and age group), segmented as of `as_of_date` (the dbt var, default: the latest transaction date).
    Entity grain: rebuilt in full by a build that finds new transactions or customer versions (moving `as_of_date`
    can change every segment), in one statement, and left alone by a build that finds none
    (rebuild_when_changed() in macros/incremental/rebuild.sql). -#}
{{ config(**rebuild_when_changed(upstreams=['sales_transactions', 'customers'], unique_key='customer_id')) }}
{%- set changed = changed_filter() %}

with transactions as (
    select
        customer_id,
        transaction_date,
        total_amount
    from {{ ref('sales_transactions') }}
    where {{ changed }}
),

as_of as (
    select {{ as_of_date(ref('sales_transactions'), 'transaction_date') }} as as_of_date
    where {{ changed }}
),

per_customer as (
    select
        transactions.customer_id,
        min(transactions.transaction_date) as first_purchase_date,
        max(transactions.transaction_date) as last_purchase_date,
        count(*) as transaction_count,
        sum(transactions.total_amount) as total_revenue
    from transactions
    inner join as_of
        on transactions.transaction_date <= as_of.as_of_date
    group by transactions.customer_id
),

customers as (
    select
        customer_id,
        membership_tier,
        age_group
    from {{ ref('customers') }}
)

select
    per_customer.customer_id,
    per_customer.first_purchase_date,
    per_customer.last_purchase_date,
    cast(per_customer.transaction_count as bigint) as transaction_count,
    cast(per_customer.total_revenue as decimal(18, 2)) as total_revenue,
    {{ safe_divide('per_customer.total_revenue', 'per_customer.transaction_count') }} as avg_order_value,
    customers.membership_tier,
    customers.age_group,
    case
        when {{ days_between('per_customer.first_purchase_date', 'as_of.as_of_date') }} <= 30 then 'new'
        when
            per_customer.transaction_count >= 5
            and {{ days_between('per_customer.last_purchase_date', 'as_of.as_of_date') }} <= 30
            then 'champion'
        when {{ days_between('per_customer.last_purchase_date', 'as_of.as_of_date') }} > 60 then 'at_risk'
        else 'regular'
    end as segment,
    as_of.as_of_date
from per_customer
cross join as_of
left join customers
    on per_customer.customer_id = customers.customer_id
