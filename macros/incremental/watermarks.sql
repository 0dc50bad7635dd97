{#- Watermarks: how far each incremental model has read each of its upstreams, kept in `ops.model_watermarks`.

    Every ingest run has an `_ingest_run_id` (a sortable UTC timestamp) that every row derived from it carries,
    bronze to silver. A build of an incremental model reads a *window* of runs over each upstream:

        after < _ingest_run_id <= upto        (and ingest_date between their dates, for partition pruning)

    - `after` is the newest run the model has already consumed: its last `consumed` row in ops.model_watermarks,
      or, if the model holds rows of later runs (a build that stopped after writing its data and before
      recording its watermark), those rows' newest run. That check reads only the rows after the recorded
      watermark, so it costs nothing when there are none.
    - `upto` is the newest run in the upstream after `after`: a read of the new partitions only.
    Both are rendered as literals, so Athena prunes partitions on them (a subquery would make it scan every
    partition, dbt-athena #418). An empty window (no new run) renders `false`.

    The window a model read is written into its compiled SQL as a comment (`/* lakehouse:window {...} */`);
    the project-wide post-hook `record_windows()` reads it back from there and records it. So the watermark
    recorded is exactly what the statement read, it is recorded only after the data is written (it can lag the
    data, never lead it), and a model with no rows (a `*_rejected` model of a clean feed) still advances.

    Keyed models also log the dates their build touches (`kind = 'touched'`, a pre-hook, before their MERGE:
    the old dates of the keys it replaces are gone afterwards). Date-grain gold models rebuild exactly those
    dates (macros/incremental/rebuild.sql), and tests check only what a build added (macros/tests/scope.sql).

    For reviewing the incremental SQL offline (no warehouse to ask), the var `assume_watermark`
    ({'run_id': ..., 'ingest_date': ...}) stands in for every `after`, `assume_upto` for every `upto`
    (unset: no upper bound), and `assume_changed_dates` (a list of 'YYYY-MM-DD') for every list of dates:
        dbt compile --target athena --vars '{assume_watermark: {run_id: 20261123T000000000000Z,
            ingest_date: 2026-11-23}, assume_changed_dates: [2026-11-22, 2026-11-23]}' -#}

{% macro watermark_relation() -%}
    {{ return(api.Relation.create(database=target.database, schema=watermark_schema(),
                                  identifier='model_watermarks')) }}
{%- endmacro %}

{% macro watermark_schema() -%}
    {{ return(adapter.dispatch('watermark_schema')()) }}
{%- endmacro %}

{% macro default__watermark_schema() -%}
    {{ return('ops') }}
{%- endmacro %}

{% macro athena__watermark_schema() -%}
    {{ return(lake_database('ops')) }}
{%- endmacro %}

{#- on-run-start: make sure the watermark table exists. -#}
{% macro create_watermark_table() -%}
    {{ return(adapter.dispatch('create_watermark_table')()) }}
{%- endmacro %}

{% macro default__create_watermark_table() -%}
    create schema if not exists {{ watermark_schema() }};
    create table if not exists {{ watermark_relation() }} (
        model_name varchar,
        upstream_name varchar,
        kind varchar,
        after_run_id varchar,
        after_ingest_date date,
        upto_run_id varchar,
        upto_ingest_date date,
        touched_dates varchar,
        invocation_id varchar,
        recorded_at timestamp
    )
{%- endmacro %}

{#- On Athena a CREATE TABLE without AS is Hive DDL: `db`.`table` in backticks (no catalog, no double quotes)
    and Hive's types (`string`, plain `timestamp`, which an Iceberg table stores as microseconds).
    render_hive() is dbt-athena's own rendering of a relation for Hive DDL. -#}
{% macro athena__create_watermark_table() -%}
    create table if not exists {{ watermark_relation().render_hive() }} (
        model_name string,
        upstream_name string,
        kind string,
        after_run_id string,
        after_ingest_date date,
        upto_run_id string,
        upto_ingest_date date,
        touched_dates string,
        invocation_id string,
        recorded_at timestamp
    )
    location '{{ target.s3_data_dir.rstrip("/") }}/{{ watermark_schema() }}/model_watermarks/'
    tblproperties ('table_type' = 'ICEBERG', 'format' = 'parquet')
{%- endmacro %}

{#- Whether `relation` does not exist yet, in a command that only compiles (`dbt compile`, `dbt docs generate`,
    and sqlfluff's dbt templater, which compiles as `dbt compile` does) on a lake where it was never built. Such a
    command runs no on-run-start hook and builds no upstream, so the compile-time lookups (here and in
    rebuild.sql) answer "nothing recorded, nothing new" instead of failing on a missing table. A build never
    needs it: its on-run-start hook creates the watermark table, and dbt builds every upstream first. Checked
    only when compiling, so builds pay no metadata call for it. -#}
{% macro unbuilt_at_compile(relation) -%}
    {#- A bronze source on DuckDB is a read_parquet() text (or, without files, a string: bronze_source()), which
        is no table of the catalog and reads as empty without files: it is never "unbuilt". -#}
    {{ return(flags.WHICH in ('compile', 'generate') and relation is not string
              and not (relation | string).startswith('read_parquet(')
              and load_relation(relation) is none) }}
{%- endmacro %}

{#- The newest `upto` recorded for `model_name` over `upstream_name`, as {'run_id', 'ingest_date'}, or none. -#}
{% macro recorded_upto(model_name, upstream_name) -%}
    {%- if unbuilt_at_compile(watermark_relation()) -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set result = run_query(
        "select upto_run_id, cast(upto_ingest_date as varchar) from " ~ watermark_relation()
        ~ " where model_name = '" ~ model_name ~ "' and upstream_name = '" ~ upstream_name ~ "'"
        ~ " and kind = 'consumed' and upto_run_id is not null order by upto_run_id desc limit 1"
    ) -%}
    {%- if result.rows | length == 0 -%}
        {{ return(none) }}
    {%- endif -%}
    {{ return({'run_id': result.columns[0].values()[0], 'ingest_date': result.columns[1].values()[0]}) }}
{%- endmacro %}

{#- The values of the first column of a query's result, as a list ([] when it returns no rows or no result set). -#}
{% macro column_values(sql) -%}
    {%- set result = run_query(sql) -%}
    {%- if result is none or result.columns | length == 0 -%}
        {{ return([]) }}
    {%- endif -%}
    {{ return(result.columns[0].values() | list) }}
{%- endmacro %}

{#- The newest run in `relation` after `after` (none: in all of it), as {'run_id', 'ingest_date'}, or none. -#}
{% macro newest_run(relation, after) -%}
    {%- if unbuilt_at_compile(relation) -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set result = run_query(
        "select max(_ingest_run_id), cast(max(ingest_date) as varchar) from " ~ relation
        ~ " where " ~ runs_after(after)
    ) -%}
    {%- if result.rows | length == 0 or result.columns[0].values()[0] is none -%}
        {{ return(none) }}
    {%- endif -%}
    {{ return({'run_id': result.columns[0].values()[0], 'ingest_date': result.columns[1].values()[0]}) }}
{%- endmacro %}

{#- The window of runs of `upstream` (a relation whose rows carry _ingest_run_id and ingest_date) that the current
    model has not consumed yet: {'upstream': name, 'after': wm or none, 'upto': wm or none, 'empty': bool}.
    `name` defaults to the upstream's identifier (bronze sources are named by their dataset). `own_rows=false`
    for a model whose rows do not carry _ingest_run_id (a gold MERGE, which a repeated window leaves the same). -#}
{#- Whether the current node is a dbt unit test (its refs and sources are the rows it is given). -#}
{% macro in_unit_test() -%}
    {{ return(model is mapping and model.get('resource_type') == 'unit_test') }}
{%- endmacro %}

{% macro ingest_window(upstream, name=none, own_rows=true) -%}
    {%- set name = name or upstream.identifier -%}
    {%- if not execute or this is none or in_unit_test() -%}
        {#- (A unit test reads its given rows, all of them.) -#}
        {{ return({'upstream': name, 'after': none, 'upto': none, 'empty': false}) }}
    {%- endif -%}
    {%- if is_incremental() and var('assume_watermark', none) is not none -%}
        {{ return({'upstream': name, 'after': var('assume_watermark'), 'upto': var('assume_upto', none),
                   'empty': false}) }}
    {%- endif -%}
    {%- set after = none -%}
    {%- set recovered = none -%}
    {%- if is_incremental() -%}
        {%- set recorded = recorded_upto(this.identifier, name) -%}
        {#- Rows of runs after the recorded watermark: a build that wrote its data and stopped before recording
            (on Athena, where the data and its record are two statements). Not read again; recorded by this build
            (record_windows()), as `recovered`, for the models downstream that wait for this watermark. -#}
        {%- set beyond = newest_run(this, recorded) if own_rows else none -%}
        {%- if beyond is not none -%}
            {%- set recovered = {'after': recorded, 'upto': beyond} -%}
        {%- endif -%}
        {%- set after = beyond if beyond is not none else recorded -%}
    {%- endif -%}
    {%- set upto = newest_run(upstream, after) -%}
    {#- A first or full build reads everything (an upstream without rows reads as nothing anyway). -#}
    {%- set window = {'upstream': name, 'after': after, 'upto': upto, 'empty': upto is none and is_incremental()} -%}
    {%- if recovered is not none -%}
        {%- do window.update({'recovered': recovered}) -%}
    {%- endif -%}
    {{ return(window) }}
{%- endmacro %}

{#- The predicate selecting rows of ingest runs after `watermark` ({'run_id', 'ingest_date'}), with literal
    bounds: the date prunes partitions, the run id makes the cut exact. `true` for none (read everything). -#}
{% macro runs_after(watermark) -%}
    {%- if watermark is none -%}
        true
    {%- else -%}
        ingest_date >= date '{{ watermark.ingest_date }}' and _ingest_run_id > '{{ watermark.run_id }}'
    {%- endif -%}
{%- endmacro %}

{#- The predicate selecting rows of ingest runs after `after` and up to `upto` (either none: unbounded on that
    side), with literal bounds; `true` when both are none. -#}
{% macro runs_between(after, upto) -%}
    {%- set parts = [] -%}
    {%- if after is not none -%}
        {%- do parts.append(runs_after(after)) -%}
    {%- endif -%}
    {%- if upto is not none -%}
        {%- do parts.append("ingest_date <= date '" ~ upto.ingest_date ~ "' and _ingest_run_id <= '" ~ upto.run_id
                            ~ "'") -%}
    {%- endif -%}
    {{- parts | join(' and ') if parts else 'true' -}}
{%- endmacro %}

{#- The where-clause of a window from ingest_window(), with literal bounds, followed by the window as a comment
    for record_windows(). `false` for an empty window; `true` on a first or full build with no upper bound. -#}
{% macro window_filter(window) -%}
    {%- if not execute -%}
        true
    {%- elif window.empty -%}
        false
    {%- else -%}
        {{ runs_between(window.after, window.upto) }}
    {%- endif -%}
    {{- window_marker(window) -}}
{%- endmacro %}

{#- ` /* lakehouse:window {...} */`: the window, readable back from the compiled SQL by windows_in(). -#}
{% macro window_marker(window, kind='window') -%}
    {%- if execute %}{% do remember_window(window, kind) %} /* lakehouse:{{ kind }} {{ tojson(window) }} */{% endif -%}
{%- endmacro %}

{#- The windows (or, with kind='touched', the touched-dates records) written into `compiled_sql` by
    window_marker(), one per upstream. -#}
{% macro windows_in(compiled_sql, kind='window') -%}
    {%- set found = {} -%}
    {%- for text in modules.re.findall('/[*] lakehouse:' ~ kind ~ ' ([{].*?[}]) [*]/', compiled_sql or '') -%}
        {%- set window = fromjson(text) -%}
        {%- do found.update({window.upstream: window}) -%}
    {%- endfor -%}
    {{ return(found.values() | list) }}
{%- endmacro %}

{#- The compiled SQL of the node being built (hooks and materializations see it as `sql`). -#}
{% macro this_compiled_sql() -%}
    {{ return(sql if sql is defined and sql is not none else '') }}
{%- endmacro %}

{% macro _watermark_literal(value) -%}
    {{- "'" ~ value ~ "'" if value is not none else 'null' -}}
{%- endmacro %}

{% macro _watermark_date(value) -%}
    {{- "date '" ~ value ~ "'" if value is not none else 'null' -}}
{%- endmacro %}

{#- One row of ops.model_watermarks, as a select. -#}
{% macro _watermark_row(kind, upstream, after, upto, touched) -%}
    select
        '{{ this.identifier }}',
        '{{ upstream }}',
        '{{ kind }}',
        {{ _watermark_literal(after.run_id if after else none) }},
        {{ _watermark_date(after.ingest_date if after else none) }},
        {{ _watermark_literal(upto.run_id if upto else none) }},
        {{ _watermark_date(upto.ingest_date if upto else none) }},
        {{ _watermark_literal(touched | join(',') if touched is not none else none) }},
        '{{ invocation_id }}',
        cast(current_timestamp as {{ timestamp_type() }})
{%- endmacro %}

{% macro _insert_watermark_rows(rows) -%}
    insert into {{ watermark_relation() }} (
        model_name, upstream_name, kind, after_run_id, after_ingest_date, upto_run_id, upto_ingest_date,
        touched_dates, invocation_id, recorded_at
    )
    {{ rows | join('\nunion all\n') }}
{%- endmacro %}

{#- Project-wide post-hook of every incremental model: record each non-empty window the build read (the dates
    a gold model rebuilt go with it, for its tests). Renders nothing when there is nothing to record. -#}
{% macro record_windows() -%}
    {%- if execute and model is defined and config.get('materialized') == 'incremental' -%}
        {%- set rows = [] -%}
        {%- for window in windows_in(this_compiled_sql()) -%}
            {%- if not window.empty and window.upto is not none -%}
                {%- do rows.append(_watermark_row('consumed', window.upstream, window.after, window.upto,
                                                  window.get('dates'))) -%}
            {%- elif window.get('recovered') -%}
                {#- Nothing new, but the runs a stopped build wrote and did not record: recorded now, or the models
                    that wait for this watermark (rebuild_window(), day_versions_window()) stay behind until new runs
                    come. -#}
                {%- do rows.append(_watermark_row('consumed', window.upstream, window.recovered.after,
                                                  window.recovered.upto, none)) -%}
            {%- endif -%}
        {%- endfor -%}
        {%- if rows -%}
            {{ _insert_watermark_rows(rows) }}
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}

{#- Project-wide pre-hook of silver models: record the dates the build is about to touch (touched_dates()).
    Before the data, because a MERGE replaces the old dates of its keys, and they must not be lost if the
    build stops between the two. Renders nothing for a model that logs no dates. -#}
{% macro record_touched() -%}
    {%- if execute and model is defined -%}
        {%- set rows = [] -%}
        {%- for touched in windows_in(this_compiled_sql(), 'touched') if touched.upto is not none -%}
            {%- do rows.append(_watermark_row('touched', touched.upstream, touched.after, touched.upto,
                                              touched.dates)) -%}
        {%- endfor -%}
        {%- if rows -%}
            {{ _insert_watermark_rows(rows) }}
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}

{#- The dates (values of `date_column`) a build of a keyed current model touches: the dates of the new versions
    in `window` over `versions`, and the current dates of their keys in this model (a correction can move a key
    to another date, and the old date loses a row). Written into the compiled SQL (marker `touched`) for
    record_touched() and the bounded MERGE; returned as a list of 'YYYY-MM-DD', or none for "every date"
    (a first or full build).

    Cost: finding the current dates of the new keys reads the key and date columns of the whole model, the one
    read of a keyed build that grows with history (about 1/5 of the table's bytes here).

    With `key_index` (a key directory of `versions`: hash_bigint() of the key as `key_hash`, `date_column`,
    `_ingest_run_id` and `ingest_date`, for every version; silver.user_event_keys), that read is the directory
    instead: the dates of every version whose key hash matches a new key's. It is a superset of the current dates
    (a key's current row is one of its versions; an older version's date or a 64-bit hash collision only adds a
    date to rebuild, never loses one). Versions the directory has not indexed yet (its recorded watermark lags
    this model's, when it was left out of a build) are looked up in `versions` directly, on the key, bounded to
    their runs. -#}
{% macro touched_dates(window, versions, key, date_column, key_index=none) -%}
    {%- if not execute or this is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set dates = none -%}
    {%- if window.empty -%}
        {%- set dates = [] -%}
    {%- elif var('assume_changed_dates', none) is not none -%}
        {%- set dates = var('assume_changed_dates') | map('string') | list -%}
    {%- elif is_incremental() and (key_index is none or load_relation(key_index) is none) -%}
        {%- set dates = column_values(
            "select distinct cast(touched_date as varchar) from (select " ~ date_column ~ " as touched_date from "
            ~ versions ~ " where " ~ window_filter(window)
            ~ " union all select existing." ~ date_column ~ " from " ~ this ~ " as existing where existing." ~ key
            ~ " in (select " ~ key ~ " from " ~ versions ~ " where " ~ window_filter(window) ~ ")) as touched"
            ~ " where touched_date is not null order by 1"
        ) -%}
    {%- elif is_incremental() -%}
        {%- set new_versions = " from " ~ versions ~ " where " ~ window_filter(window) -%}
        {%- set lookups = [
            "select " ~ date_column ~ " as touched_date" ~ new_versions,
            "select indexed." ~ date_column ~ " from " ~ key_index ~ " as indexed where indexed.key_hash in (select "
            ~ hash_bigint(key) ~ new_versions ~ ")"] -%}
        {#- The versions this model merged before that the directory has not indexed: runs after its watermark, up
            to this model's. None when the directory was built in the same build (its watermark is the newest). -#}
        {%- set indexed_upto = recorded_upto(key_index.identifier, versions.identifier) -%}
        {%- if window.after is not none and (indexed_upto is none or indexed_upto.run_id < window.after.run_id) -%}
            {%- do lookups.append("select " ~ date_column ~ " from " ~ versions ~ " where "
                ~ runs_between(indexed_upto, window.after) ~ " and " ~ key ~ " in (select " ~ key ~ new_versions
                ~ ")") -%}
        {%- endif -%}
        {%- set dates = column_values(
            "select distinct cast(touched_date as varchar) from (" ~ lookups | join(' union all ')
            ~ ") as touched where touched_date is not null order by 1"
        ) -%}
    {%- endif -%}
    {{ return(dates) }}
{%- endmacro %}

{#- ` /* lakehouse:touched {...} */` for the dates from touched_dates(); empty for an empty window. -#}
{% macro touched_marker(window, dates) -%}
    {%- if execute and not window.empty -%}
        {{ window_marker({'upstream': window.upstream, 'after': window.after, 'upto': window.upto,
                          'dates': dates}, 'touched') }}
    {%- endif -%}
{%- endmacro %}

{#- `column in (date '…', …)` for a list of dates; `true` for none (every date) and `false` for an empty list. -#}
{% macro date_filter(column, dates) -%}
    {%- if dates is none -%}
        true
    {%- elif dates | length == 0 -%}
        false
    {%- else -%}
        {{ column }} in (
            {%- for value in dates %}date '{{ value }}'{% if not loop.last %}, {% endif %}{% endfor -%}
        )
    {%- endif -%}
{%- endmacro %}

{#- Like date_filter(), but for whole calendar months: the rows of every month that contains one of `dates`,
    as date ranges (which Athena can prune partitions on). -#}
{% macro month_filter(column, dates) -%}
    {%- if dates is none -%}
        true
    {%- else -%}
        {%- set months = [] -%}
        {%- for value in dates -%}
            {%- if value[:7] not in months %}{% do months.append(value[:7]) %}{% endif -%}
        {%- endfor -%}
        {%- if months | length == 0 -%}
            false
        {%- else -%}
            (
            {%- for month in months | sort -%}
                {%- set year, month_number = month.split('-') | map('int') | list -%}
                {%- set next_month = '%04d-%02d' | format(year + (month_number // 12), month_number % 12 + 1) -%}
                {%- if not loop.first %} or {% endif -%}
                ({{ column }} >= date '{{ month }}-01' and {{ column }} < date '{{ next_month }}-01')
            {%- endfor -%}
            )
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}
