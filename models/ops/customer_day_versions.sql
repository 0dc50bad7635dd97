{#- Every state of the per-customer, per-day sales of the dates silver.sales_transactions touched, for
    gold.customer_segments to add up by difference (macros/incremental/day_versions.sql). Append-only: each build
    after which sales_transactions has merged new versions appends one batch, tagged with the run of the versions
    it has merged: the touched dates' transaction count and revenue per customer, and a removal row
    (`is_removed`) for each customer a date had in its previous batch and has no more. A first or full build is a
    full copy (`is_full_copy`). -#}
{%- set window = day_versions_window('sales_transactions', 'sales_transactions', 'sales_transaction_versions') %}

with rebuilt_days as (
    select
        transaction_date,
        customer_id,
        count(*) as transaction_count,
        sum(total_amount) as total_revenue
    from {{ ref('sales_transactions') }}
    where
        {{ 'false' if window.empty else date_filter('transaction_date', window.dates) }}
        {{- window_marker(window) }}
    group by transaction_date, customer_id
),

previous_customers as (
    -- The customers each rebuilt date had in its newest batch so far (none on a first or full build).
    {{ day_versions_previous_keys(window, 'transaction_date', 'customer_id') }}
)

select
    transaction_date,
    customer_id,
    cast(transaction_count as bigint) as transaction_count,
    cast(total_revenue as decimal(18, 2)) as total_revenue,
    false as is_removed,
    {{ batch_literals(window.upto) }},
    {{ 'true' if window.dates is none else 'false' }} as is_full_copy
from rebuilt_days
union all
select
    previous_customers.transaction_date,
    previous_customers.customer_id,
    cast(null as bigint) as transaction_count,
    cast(null as decimal(18, 2)) as total_revenue,
    true as is_removed,
    {{ batch_literals(window.upto) }},
    {{ 'true' if window.dates is none else 'false' }} as is_full_copy
from previous_customers
left join rebuilt_days
    on
        previous_customers.transaction_date = rebuilt_days.transaction_date
        and previous_customers.customer_id = rebuilt_days.customer_id
where rebuilt_days.customer_id is null
