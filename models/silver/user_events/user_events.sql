{#- One row per event: its latest valid delivery. A repeated event_id is one event; a later ingest run
    wins, and a later delivery that breaks a rule never replaces a valid one. -#}
{%- set columns = ['event_id', 'user_id', 'session_id', 'event_type', 'product_id', 'category', 'price', 'event_at',
                   'event_date', '_source_file', '_record_number', '_ingest_run_id', 'ingest_date'] -%}
{{
    config(
        unique_key='event_id',
        incremental_strategy=upsert_strategy(),
    )
}}

with new_versions as (
    select {{ columns | join(', ') }}
    from {{ ref('user_event_versions') }}
    where {{ new_ingest_runs() }}
),

candidates as (
    select * from new_versions
    {%- if is_incremental() %}
    union all
    select {{ columns | join(', ') }}
    from {{ this }}
    where event_id in (select new_versions.event_id from new_versions)
    {%- endif %}
),

current_versions as (
    {{ pick_current_version(
        'candidates', 'event_id', '_ingest_run_id desc, _source_file desc, _record_number desc', columns
    ) }}
)

select
    event_id,
    user_id,
    session_id,
    event_type,
    product_id,
    category,
    price,
    event_at,
    event_date,
    _source_file,
    _record_number,
    _ingest_run_id,
    ingest_date
from current_versions
