{#- Bronze sales_transactions records that break a rule (silver.sales_transactions_checked), with the values as
    delivered, the first rule they break and their source. Append-only: a record is never rejected twice. -#}
{{
    config(
        incremental_strategy='append',
    )
}}

select
    reject_reason,
    raw_transaction_id as transaction_id,
    raw_transaction_date as transaction_date,
    raw_store_id as store_id,
    raw_store_name as store_name,
    raw_city as city,
    raw_region as region,
    raw_product_id as product_id,
    raw_product_name as product_name,
    raw_category as category,
    raw_customer_id as customer_id,
    raw_quantity as quantity,
    raw_unit_price as unit_price,
    raw_total_amount as total_amount,
    raw_payment_method as payment_method,
    _source_file,
    _record_number,
    _ingest_run_id,
    ingest_date
from {{ ref('sales_transactions_checked') }}
where {{ window_filter(ingest_window(ref('sales_transactions_checked'))) }} and reject_reason is not null
