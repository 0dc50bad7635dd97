{#- Every row of silver.user_events has its key hash and date in silver.user_event_keys, the key directory its
    lookup of current dates reads (a row missing there would let a later correction of that event miss its old
    date and leave two rows for it). A row and its directory entry come from the same delivery, so they share
    its run. In `dbt build`, the rows of the runs this build merged, up to the directory's watermark (a build
    that left the directory out has rows it does not index yet; the lookup reads those from the versions). -#}
{%- set scope = scope_filter(ref('user_events')) %}
{%- set indexed_upto = recorded_upto('user_event_keys', 'user_event_versions') if execute else none %}
{%- set indexed = "_ingest_run_id <= '" ~ indexed_upto.run_id ~ "'" if indexed_upto is not none else 'false' %}

with merged as (
    select
        event_id,
        event_date,
        _ingest_run_id
    from {{ ref('user_events') }}
    where {{ scope }} and {{ indexed }}
),

indexed as (
    select
        key_hash,
        event_date,
        _ingest_run_id
    from {{ ref('user_event_keys') }}
    where {{ scope }}
)

select
    merged.event_id,
    merged.event_date,
    merged._ingest_run_id
from merged
left join indexed
    on
        indexed.key_hash = {{ hash_bigint('merged.event_id') }}
        and merged.event_date = indexed.event_date
        and merged._ingest_run_id = indexed._ingest_run_id
where indexed.key_hash is null
