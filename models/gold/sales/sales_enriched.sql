{#- One row per valid transaction with its customer's current name, age group and tier (null when the
    customer is unknown), plus year and month. Incremental by transaction: a build rewrites transactions
    that changed since the last build (their new rows, found by run id), and every transaction of a customer
    whose record changed.
    The dates the build touches bound every read and the MERGE, as literals: the dates silver.sales_transactions
    logged for its new versions (with the old dates of their keys), and the dates of the changed customers'
    transactions. Finding the latter reads the customer_id and transaction_date columns of all of
    sales_transactions, once, and only in a build where a customer changed. -#}
{{
    config(
        unique_key='transaction_id',
        incremental_strategy=upsert_strategy(),
    )
}}

{%- set transaction_window = ingest_window(ref('sales_transactions'), own_rows=false) %}
{%- set customer_window = ingest_window(ref('customers'), own_rows=false) %}
{%- set customer_dates = none %}
{%- set merge_dates = none %}
{%- if execute and is_incremental() and var('assume_watermark', none) is none %}
    {%- set customer_dates = [] %}
    {%- if not customer_window.empty %}
        {%- set customer_dates = column_values(
            "select distinct cast(transaction_date as varchar) from " ~ ref('sales_transactions')
            ~ " where customer_id in (select customer_id from " ~ ref('customers') ~ " where "
            ~ window_filter(customer_window) ~ ") order by 1") %}
    {%- endif %}
    {%- set transaction_dates = [] if transaction_window.empty
        else touched_since('sales_transactions', transaction_window.after).dates %}
    {#- New versions always log their own dates: none logged means the log predates them; do not bound. -#}
    {%- if not transaction_window.empty and transaction_dates is not none and transaction_dates | length == 0 %}
        {%- set transaction_dates = none %}
    {%- endif %}
    {%- if none in customer_dates %}{% set customer_dates = none %}{% endif %}
    {%- if transaction_dates is not none and customer_dates is not none %}
        {%- set merge_dates = (transaction_dates + customer_dates) | unique | sort %}
    {%- endif %}
{%- endif %}
{{- window_marker(customer_window) }}
{%- if execute and not (transaction_window.empty and customer_window.empty) %}
    {{- window_marker({'upstream': 'sales_transactions', 'after': transaction_window.after,
                       'upto': transaction_window.upto, 'dates': merge_dates, 'date_column': 'transaction_date'},
                      'touched') }}
{%- endif %}

with transactions as (
    select *
    from {{ ref('sales_transactions') }}
    where {{ window_filter(transaction_window) }}
    {%- if is_incremental() and not customer_window.empty %}
    -- Every transaction of a customer whose record changed, on the dates found above.
    union
    select *
    from {{ ref('sales_transactions') }}
    where
        {{ date_filter('transaction_date', customer_dates) }}
        and customer_id in (
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
