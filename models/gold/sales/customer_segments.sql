{#- One row per customer with at least one transaction (customers unknown to silver.customers included, with
    null tier and age group), segmented as of `as_of_date` (the dbt var, default: the latest transaction date).
    Entity grain: every row is rewritten by a build that finds new transactions or customer versions (moving
    `as_of_date` can change every segment), in one statement, and left alone by a build that finds none.

    Kept by difference (macros/incremental/day_versions.sql): a build reads its own rows, which carry the batch of
    ops.customer_day_versions they reflect (`_ingest_run_id`), and the batches after it: each touched date's
    transaction count and revenue per customer, as they are now and as they were. Counts and revenue add up; a
    first or last purchase date stays unless its date was touched. Customers whose first or last day was emptied by
    a correction are summed again from every date, and a first or full build, or the var `as_of_date`, sums every
    date's newest rows. Tier and age group are read from silver.customers on every rewrite. -#}
{{ config(**rebuild_when_changed(upstreams=['customer_day_versions', 'customers'], unique_key='customer_id')) }}
{%- set customer_window = ingest_window(ref('customers'), own_rows=false) %}
{%- if var('as_of_date', none) %}
    {#- Recorded under another name with the var (as rollup_window() names its own), so that the next build sees
        the table is as of another date. #}
    {%- do customer_window.update({'upstream': 'customers@as_of'}) %}
{%- endif %}
{%- set window = rollup_window(ref('customer_day_versions'), 'sales_transactions', 'customer_id',
                               'first_purchase_date', 'last_purchase_date', date_column='transaction_date',
                               refresh=not customer_window.empty) %}
{%- set delta = window.mode == 'delta' %}
{%- set read = 'false' if window.empty and customer_window.empty else 'true' %}
{%- set as_of_filter = "transaction_date <= " ~ as_of_date(none, none) if var('as_of_date', none) else 'true' %}
{%- set columns = ['transaction_count', 'total_revenue'] %}

with {{ rollup_signed_rows(window, ref('customer_day_versions'), 'customer_id', 'transaction_date', columns,
                           read=read, where=as_of_filter ~ window_marker(window) ~ window_marker(customer_window)) }},

changes as (
    select
        customer_id,
        sum(sign * transaction_count) as transaction_count,
        sum(sign * total_revenue) as total_revenue,
        min(case when sign = 1 then transaction_date end) as first_purchase_date,
        max(case when sign = 1 then transaction_date end) as last_purchase_date
    from day_rows
    group by customer_id
),

previous as (
    -- This table as of its own batch, in a delta build (less the customers summed again).
    {%- if delta %}
    select
        customer_id,
        transaction_count,
        total_revenue,
        first_purchase_date,
        last_purchase_date
    from {{ this }}
    where {{ rollup_carried_over(window, 'customer_id') }}
    {%- else %}
    select
        cast(null as varchar) as customer_id,
        cast(null as bigint) as transaction_count,
        cast(null as decimal(18, 2)) as total_revenue,
        cast(null as date) as first_purchase_date,
        cast(null as date) as last_purchase_date
    where false
    {%- endif %}
),

per_customer as (
    -- A first (last) purchase on a date that was not touched still holds against the touched dates' newest rows;
    -- one on a touched date is replaced by them (they reach back, or forward, to its date).
    select
        coalesce(previous.customer_id, changes.customer_id) as customer_id,
        case
            when
                coalesce(
                    previous.customer_id is null
                    or {{ date_filter('previous.first_purchase_date', window.dates) }}
                    or changes.first_purchase_date < previous.first_purchase_date,
                    false
                )
                then changes.first_purchase_date
            else previous.first_purchase_date
        end as first_purchase_date,
        case
            when
                coalesce(
                    previous.customer_id is null
                    or {{ date_filter('previous.last_purchase_date', window.dates) }}
                    or changes.last_purchase_date > previous.last_purchase_date,
                    false
                )
                then changes.last_purchase_date
            else previous.last_purchase_date
        end as last_purchase_date,
        coalesce(previous.transaction_count, 0) + coalesce(changes.transaction_count, 0) as transaction_count,
        coalesce(previous.total_revenue, 0) + coalesce(changes.total_revenue, 0) as total_revenue
    from previous
    full outer join changes
        on previous.customer_id = changes.customer_id
),

as_of as (
    {%- if var('as_of_date', none) %}
    select {{ as_of_date(none, none) }} as as_of_date
    {%- else %}
    -- The latest transaction date: the latest of the customers' last purchases.
    select max(last_purchase_date) as as_of_date
    from per_customer
    {%- endif %}
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
    as_of.as_of_date,
    {{ batch_literals(window.upto) }}
from per_customer
cross join as_of
left join customers
    on per_customer.customer_id = customers.customer_id
