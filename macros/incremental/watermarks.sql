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
        watermark_run_id varchar,
        watermark_ingest_date date,
        recorded_at timestamp
    )
{%- endmacro %}

{% macro athena__create_watermark_table() -%}
    create table if not exists {{ watermark_relation() }} (
        model_name string,
        watermark_run_id string,
        watermark_ingest_date date,
        recorded_at timestamp(6)
    )
    location '{{ target.s3_data_dir.rstrip("/") }}/{{ watermark_schema() }}/incremental_watermarks/'
    tblproperties ('table_type' = 'ICEBERG', 'format' = 'parquet')
{%- endmacro %}

{#- The watermark recorded for the current model, as {'run_id', 'ingest_date'}, or none. -#}
{% macro recorded_watermark() -%}
    {%- if not execute -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set result = run_query(
        "select watermark_run_id, cast(watermark_ingest_date as varchar) from " ~ watermark_relation()
        ~ " where model_name = '" ~ this.identifier ~ "' order by watermark_run_id desc limit 1"
    ) -%}
    {%- if result.rows | length == 0 or result.columns[0].values()[0] is none -%}
        {{ return(none) }}
    {%- endif -%}
    {{ return({'run_id': result.columns[0].values()[0], 'ingest_date': result.columns[1].values()[0]}) }}
{%- endmacro %}

{#- post-hook of a gold model: record the newest silver run it has now seen. -#}
{% macro record_watermark(upstream) -%}
    insert into {{ watermark_relation() }} (model_name, watermark_run_id, watermark_ingest_date, recorded_at)
    select
        '{{ this.identifier }}',
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
    {%- if not execute or not is_incremental() -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set watermark = recorded_watermark() -%}
    {%- if watermark is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set result = run_query(
        "select distinct cast(" ~ date_column ~ " as varchar) from " ~ upstream
        ~ " where ingest_date >= date '" ~ watermark.ingest_date ~ "'"
        ~ " and _ingest_run_id > '" ~ watermark.run_id ~ "' order by 1"
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
