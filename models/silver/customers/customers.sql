{#- One row per customer (SCD1): the valid version with the greatest updated_at. A version delivered
    late with an older updated_at does not win; on equal updated_at the later delivery wins.
    The change history is kept by the snapshot customers_snapshot (SCD2). -#}
{%- set columns = ['customer_id', 'customer_name', 'age_group', 'membership_tier', 'signup_date', 'updated_at',
                   '_source_file', '_record_number', '_ingest_run_id', 'ingest_date'] -%}
{{
    config(
        unique_key='customer_id',
        incremental_strategy=upsert_strategy(),
    )
}}

{%- set window = ingest_window(ref('customer_versions')) %}

with new_versions as (
    select {{ columns | join(', ') }}
    from {{ ref('customer_versions') }}
    where {{ window_filter(window) }}
),

candidates as (
    select * from new_versions
    {%- if is_incremental() %}
    union all
    select {{ columns | join(', ') }}
    from {{ this }}
    where customer_id in (select new_versions.customer_id from new_versions)
    {%- endif %}
),

current_versions as (
    {{ pick_current_version(
        'candidates', 'customer_id', 'updated_at desc, _ingest_run_id desc, _source_file desc, _record_number desc', columns
    ) }}
)

select
    customer_id,
    customer_name,
    age_group,
    membership_tier,
    signup_date,
    updated_at,
    _source_file,
    _record_number,
    _ingest_run_id,
    ingest_date
from current_versions
