{#- Gold models recompute whole dates. To know which dates changed since their last build, they keep
    the newest silver `_ingest_run_id` they have seen in `ops.incremental_watermarks` (append-only:
    the current value is the max per model). The row is written by a post-hook, after the model's
    data, so the watermark can lag the data but never run ahead of it; a lag only recomputes a date
    again, which is idempotent. Silver is written only by dbt, and dbt builds run one at a time, so
    nothing can change silver between a gold model's read and its post-hook. -#}

{% macro watermark_relation() -%}
    {{ return(api.Relation.create(database=target.database, schema=watermark_schema(),
                                  identifier='incremental_watermarks')) }}
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
        watermark_run_id varchar,
        watermark_ingest_date date,
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
        watermark_run_id string,
        watermark_ingest_date date,
        recorded_at timestamp
    )
    location '{{ target.s3_data_dir.rstrip("/") }}/{{ watermark_schema() }}/incremental_watermarks/'
    tblproperties ('table_type' = 'ICEBERG', 'format' = 'parquet')
{%- endmacro %}

{#- The watermark recorded for the current model over `upstream`, as {'run_id', 'ingest_date'}, or none. -#}
{% macro recorded_watermark(upstream) -%}
    {%- if not execute -%}
        {{ return(none) }}
    {%- endif -%}
    {%- if var('assume_watermark', none) is not none -%}
        {{ return(var('assume_watermark')) }}
    {%- endif -%}
    {%- set result = run_query(
        "select watermark_run_id, cast(watermark_ingest_date as varchar) from " ~ watermark_relation()
        ~ " where model_name = '" ~ this.identifier ~ "' and upstream_name = '" ~ upstream.identifier ~ "'"
        ~ " order by watermark_run_id desc limit 1"
    ) -%}
    {%- if result.rows | length == 0 or result.columns[0].values()[0] is none -%}
        {{ return(none) }}
    {%- endif -%}
    {{ return({'run_id': result.columns[0].values()[0], 'ingest_date': result.columns[1].values()[0]}) }}
{%- endmacro %}

{#- post-hook of a gold model: record the newest run of each upstream silver model it has now seen. -#}
{% macro record_watermark(upstream) -%}
    insert into {{ watermark_relation() }} (
        model_name, upstream_name, watermark_run_id, watermark_ingest_date, recorded_at
    )
    select
        '{{ this.identifier }}',
        '{{ upstream.identifier }}',
        max(_ingest_run_id),
        max(ingest_date),
        cast(current_timestamp as {{ timestamp_type() }})
    from {{ upstream }}
    having max(_ingest_run_id) is not null
{%- endmacro %}

{#- The dates (values of `date_column` in `upstream`) that received rows since this model's last build,
    as a list of 'YYYY-MM-DD' strings; none means "every date" (first build, full refresh, or no
    watermark yet). -#}
{% macro changed_dates(upstream, date_column) -%}
    {%- if not execute or this is none or not is_incremental() -%}
        {{ return(none) }}
    {%- endif -%}
    {%- if var('assume_changed_dates', none) is not none -%}
        {{ return(var('assume_changed_dates') | map('string') | list) }}
    {%- endif -%}
    {%- set watermark = recorded_watermark(upstream) -%}
    {%- if watermark is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set result = run_query(
        "select distinct cast(" ~ date_column ~ " as varchar) from " ~ upstream
        ~ " where " ~ runs_after(watermark) ~ " order by 1"
    ) -%}
    {{ return(result.columns[0].values() | list) }}
{%- endmacro %}

{#- `column in (date '...', ...)` for a list from changed_dates(); `true` for none (every date) and
    `false` for an empty list (nothing changed). -#}
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

{#- For gold over a keyed silver model whose records can be corrected (a later delivery replaces an
    earlier one, and may move it to another date): the dates to rebuild are the dates of EVERY version
    of each key that received a new version since this model's watermark - the new date and the old
    one both. `versions` is the append-only versions model (one row per valid bronze record). -#}
{% macro changed_dates_of_versions(versions, key, date_column) -%}
    {%- if not execute or this is none or not is_incremental() -%}
        {{ return(none) }}
    {%- endif -%}
    {%- if var('assume_changed_dates', none) is not none -%}
        {{ return(var('assume_changed_dates') | map('string') | list) }}
    {%- endif -%}
    {%- set watermark = recorded_watermark(versions) -%}
    {%- if watermark is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set result = run_query(
        "select distinct cast(" ~ date_column ~ " as varchar) from " ~ versions
        ~ " where " ~ key ~ " in (select " ~ key ~ " from " ~ versions
        ~ " where " ~ runs_after(watermark) ~ ") order by 1"
    ) -%}
    {{ return(result.columns[0].values() | list) }}
{%- endmacro %}

{#- `<predicate>` selecting the rows of `upstream` that arrived since this model recorded its watermark over
    it, with literal bounds; `true` on a first or full build, or when no watermark is recorded yet. -#}
{% macro rows_since_watermark(upstream) -%}
    {{ runs_after(recorded_watermark(upstream) if execute and this is not none and is_incremental() else none) }}
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

{#- pre-hook of a date-grain gold model: delete every date about to be rebuilt, before the model appends
    the recomputed rows. Deleting by the list of changed dates (not by the dates present in the new rows)
    also clears a date that no longer has any row - e.g. when a correction moved its only transaction
    away. Locally the hook and the append run in one transaction; on Athena (Iceberg) a failure between
    them leaves the watermark unmoved, so the next build recomputes the same dates. -#}
{% macro delete_dates_to_rebuild(date_column, dates) -%}
    {%- if dates is not none and dates | length > 0 -%}
        delete from {{ this }} where {{ date_filter(date_column, dates) }}
    {%- elif dates is none and execute and this is not none and is_incremental() -%}
        delete from {{ this }} where true
    {%- endif -%}
{%- endmacro %}

{#- The same for a month-grain model with integer `year` and `month` columns. -#}
{% macro delete_months_to_rebuild(dates) -%}
    {%- if dates is none -%}
        {%- if execute and this is not none and is_incremental() -%}
            delete from {{ this }} where true
        {%- endif -%}
    {%- elif dates | length > 0 -%}
        {%- set months = [] -%}
        {%- for value in dates -%}
            {%- set month_key = value[:4] ~ value[5:7] -%}
            {%- if month_key not in months %}{% do months.append(month_key) %}{% endif -%}
        {%- endfor -%}
        delete from {{ this }} where year * 100 + month in ({{ months | sort | join(', ') }})
    {%- endif -%}
{%- endmacro %}
