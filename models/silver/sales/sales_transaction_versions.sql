{#- Every bronze sales_transactions record that passes the rules (silver.sales_transactions_checked), typed: one row
    per valid delivery. Append-only; silver.sales_transactions picks the current version of each transaction from
    here. -#}
{{
    config(
        incremental_strategy='append',
    )
}}

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
    cast(quantity as integer) as quantity,
    unit_price,
    total_amount,
    payment_method,
    _source_file,
    _record_number,
    _ingest_run_id,
    ingest_date
from {{ ref('sales_transactions_checked') }}
where {{ window_filter(ingest_window(ref('sales_transactions_checked'))) }} and reject_reason is null
