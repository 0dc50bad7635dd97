{#- Every bronze sales_transactions record of the runs not read yet, once: its values as delivered (`raw_*`),
    trimmed and typed, and the first rule it breaks (`reject_reason`, null when it passes). The one read of bronze
    per build; silver.sales_transaction_versions keeps the records that pass, silver.sales_transactions_rejected
    the others.

    The generic checks (missing required values, values that do not parse) come from the dataset's contract,
    glue_ingest/contracts/sales_transactions.yml (macros/domains/contract_checks.sql); the business rules are
    below. -#}
{{
    config(
        incremental_strategy='append',
    )
}}

{%- set column_rules = {
    'quantity': [
        ('quantity > 2147483647', 'invalid_quantity'),
        ('quantity <= 0', 'non_positive_quantity'),
    ],
    'unit_price': [('unit_price < 0', 'negative_unit_price')],
    'total_amount': [('total_amount < 0', 'negative_total_amount')],
} %}
{%- set row_rules = [
    ('abs(total_amount - quantity * unit_price) > 0.01', 'amount_mismatch'),
] %}

with bronze_records as (
    select *
    from {{ bronze_source('sales_transactions') }}
    where {{ window_filter(bronze_window('sales_transactions')) }}
),

parsed as (
    {{ parse_contract_columns('sales_transactions', 'bronze_records') }}
),

checked as (
    select
        *,
        {{ contract_reject_reason('sales_transactions', column_rules, row_rules) }} as reject_reason
    from parsed
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
    raw_transaction_id,
    raw_transaction_date,
    raw_store_id,
    raw_store_name,
    raw_city,
    raw_region,
    raw_product_id,
    raw_product_name,
    raw_category,
    raw_customer_id,
    raw_quantity,
    raw_unit_price,
    raw_total_amount,
    raw_payment_method,
    reject_reason,
    _source_file,
    _record_number,
    _ingest_run_id,
    ingest_date
from checked
