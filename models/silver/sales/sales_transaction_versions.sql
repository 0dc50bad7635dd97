{#- Every bronze sales_transactions record that passes the rules, typed: one row per valid delivery.
    Append-only; silver.sales_transactions picks the current version of each transaction from here. -#}
{{
    config(
        incremental_strategy='append',
    )
}}

with bronze_records as (
    select *
    from {{ bronze_source('sales_transactions') }}
    where {{ window_filter(bronze_window('sales_transactions')) }}
),

validated as (
    {{ validate_sales_transactions('bronze_records') }}
)

select
    transaction_id,
    transaction_date,
    store_id,
    store_name,
    city,
    region,
    product_id,
    product_name,
    category,
    customer_id,
    quantity,
    unit_price,
    total_amount,
    payment_method,
    _source_file,
    _record_number,
    _ingest_run_id,
    ingest_date
from validated
where reject_reason is null
