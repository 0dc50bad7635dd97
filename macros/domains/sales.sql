{#- The sales_transactions rules, shared by silver.sales_transaction_versions (records that pass) and
    silver.sales_transactions_rejected (records that do not). Output: lineage, trimmed and typed
    business columns, the raw values (`raw_*`) and `reject_reason` (null when valid, otherwise the
    first rule the record breaks, in column order). -#}
{% macro validate_sales_transactions(bronze_records) -%}
    {%- set text_columns = ['transaction_id', 'store_id', 'store_name', 'city', 'region', 'product_id',
                            'product_name', 'category', 'customer_id', 'payment_method'] -%}
    with trimmed as (
        select
            {%- for column in text_columns %}
            nullif(trim({{ column }}), '') as {{ column }},
            {%- endfor %}
            {%- for column in text_columns + ['transaction_date', 'quantity', 'unit_price', 'total_amount'] %}
            {{ column }} as raw_{{ column }},
            {%- endfor %}
            trim(transaction_date) as transaction_date_text,
            trim(quantity) as quantity_text,
            trim(unit_price) as unit_price_text,
            trim(total_amount) as total_amount_text,
            _source_file,
            _record_number,
            _ingest_run_id,
            ingest_date
        from {{ bronze_records }}
    ),

    typed as (
        select
            *,
            {{ parse_iso_date('transaction_date_text') }} as transaction_date,
            {{ parse_integer('quantity_text') }} as quantity,
            {{ parse_decimal('unit_price_text') }} as unit_price,
            {{ parse_decimal('total_amount_text') }} as total_amount
        from trimmed
    ),

    checked as (
        select
            *,
            case
                when transaction_id is null then 'missing_transaction_id'
                when transaction_date is null then 'invalid_transaction_date'
                when store_id is null then 'missing_store_id'
                when region is null then 'missing_region'
                when product_id is null then 'missing_product_id'
                when customer_id is null then 'missing_customer_id'
                when quantity is null or quantity > 2147483647 then 'invalid_quantity'
                when quantity <= 0 then 'non_positive_quantity'
                when unit_price is null then 'invalid_unit_price'
                when unit_price < 0 then 'negative_unit_price'
                when total_amount is null then 'invalid_total_amount'
                when total_amount < 0 then 'negative_total_amount'
                when abs(total_amount - quantity * unit_price) > 0.01 then 'amount_mismatch'
            end as reject_reason
        from typed
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
        cast(quantity as integer) as quantity,
        unit_price,
        total_amount,
        payment_method,
        {%- for column in text_columns + ['transaction_date', 'quantity', 'unit_price', 'total_amount'] %}
        raw_{{ column }},
        {%- endfor %}
        reject_reason,
        _source_file,
        _record_number,
        _ingest_run_id,
        ingest_date
    from checked
{%- endmacro %}
