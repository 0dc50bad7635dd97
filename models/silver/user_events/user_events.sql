{#- One row per event: its latest valid delivery. A repeated event_id is one event; a later ingest run
    wins, and a later delivery that breaks a rule never replaces a valid one.
    An incremental build picks the winner among the new versions only: they come from later runs than any
    row already here, so they beat it; the MERGE on event_id replaces it. The dates the build touches (the new
    versions' dates and the current dates of their events) are logged for gold and bound the MERGE; finding
    the current dates reads the key directory silver.user_event_keys whole (9 bytes a delivery), not this
    table. -#}
{%- set columns = ['event_id', 'user_id', 'session_id', 'event_type', 'product_id', 'category', 'price', 'event_at',
                   'event_date', '_source_file', '_record_number', '_ingest_run_id', 'ingest_date'] -%}
{{
    config(
        unique_key='event_id',
        incremental_strategy=upsert_strategy(),
    )
}}

{%- set window = ingest_window(ref('user_event_versions')) %}
{%- set dates = touched_dates(window, ref('user_event_versions'), 'event_id', 'event_date', ref('user_event_keys')) %}
{{- touched_marker(window, dates) }}

with new_versions as (
    select {{ columns | join(', ') }}
    from {{ ref('user_event_versions') }}
    where {{ window_filter(window) }}
),

current_versions as (
    {{ pick_current_version(
        'new_versions', 'event_id', '_ingest_run_id desc, _source_file desc, _record_number desc', columns
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
