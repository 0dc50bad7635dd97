{#- One row per transaction: its latest valid delivery. A transaction delivered again in a later ingest
    run is a correction and replaces the earlier one; a later delivery that breaks a rule is rejected and
    never replaces a valid one. Within one run, the last record (by source file, then record number) wins.
    An incremental build picks the winner among the new versions only: they come from later runs than any
    row already here, so they beat it; the MERGE on transaction_id replaces it. The dates the build touches
    (the new versions' dates and the current dates of their transactions) are logged for gold and bound the
    MERGE; finding the current dates reads the transaction_id and transaction_date columns of this whole
    table. -#}
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

{%- set window = ingest_window(ref('sales_transaction_versions')) %}
{%- set dates = touched_dates(window, ref('sales_transaction_versions'), 'transaction_id', 'transaction_date') %}
{{- touched_marker(window, dates) }}

with new_versions as (
    select {{ columns | join(', ') }}
    from {{ ref('sales_transaction_versions') }}
    where {{ window_filter(window) }}
),

current_versions as (
    {{ pick_current_version(
        'new_versions', 'transaction_id', '_ingest_run_id desc, _source_file desc, _record_number desc', columns
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
