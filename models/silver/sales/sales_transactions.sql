{#- One row per transaction: its latest valid delivery. A transaction delivered again in a later ingest
    run is a correction and replaces the earlier one; a later delivery that breaks a rule is rejected and
    never replaces a valid one. Within one run, the last record (by source file, then record number) wins. -#}
{%- set columns = ['transaction_id', 'transaction_date', 'store_id', 'store_name', 'city', 'region',
                   'product_id', 'product_name', 'category', 'customer_id', 'quantity', 'unit_price',
                   'total_amount', 'payment_method', '_source_file', '_record_number', '_ingest_run_id',
                   'ingest_date'] -%}
{{
    config(
        unique_key='transaction_id',
        incremental_strategy=upsert_strategy(),
    )
}}

with new_versions as (
    select {{ columns | join(', ') }}
    from {{ ref('sales_transaction_versions') }}
    where {{ new_ingest_runs() }}
),

candidates as (
    select * from new_versions
    {%- if is_incremental() %}
    union all
    select {{ columns | join(', ') }}
    from {{ this }}
    where transaction_id in (select new_versions.transaction_id from new_versions)
    {%- endif %}
),

current_versions as (
    {{ pick_current_version(
        'candidates', 'transaction_id', '_ingest_run_id desc, _source_file desc, _record_number desc', columns
    ) }}
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
from current_versions
