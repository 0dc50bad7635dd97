{#- A key directory of silver.user_event_versions: for the valid deliveries of an event in each ingest run, an
    8-byte hash of its event_id and its event_date (one row for several deliveries of one run on one date).
    Append-only and unpartitioned. silver.user_events reads it whole to find the current dates of the events a
    build replaces: about 9 bytes a delivery, where the same lookup on silver.user_events itself would read
    whole data files of every column (touched_dates() in macros/incremental/watermarks.sql). A superset of the
    current rows' (key, date) pairs: an event's current row is one of its deliveries. -#}
{{
    config(
        incremental_strategy='append',
    )
}}

select distinct
    {{ hash_bigint('event_id') }} as key_hash,
    event_date,
    _ingest_run_id,
    ingest_date
from {{ ref('user_event_versions') }}
where {{ window_filter(ingest_window(ref('user_event_versions'))) }}
