{#- Reading bronze: the Parquet written by glue_ingest, one Hive partition per ingest day.

    Every bronze record carries `_ingest_run_id` (a sortable UTC timestamp, one per ingest run) and
    sits in the partition `ingest_date` of its run; the ingest job guarantees that a later run never
    has an earlier ingest_date. An incremental silver model therefore reads the window
        ingest_date >= '<date of its watermark>' and _ingest_run_id > '<its watermark>' (and <= the newest run)
    with the bounds rendered as literals: the dates prune partitions (a subquery there would make
    Athena scan every partition, dbt-athena #418), the run ids make the cut exact (watermarks.sql). -#}

{#- The bronze relation of a dataset. Locally, a dataset that has no Parquet files yet reads as an
    empty relation with the source's declared columns, so its models build empty instead of failing. -#}
{% macro bronze_source(dataset) -%}
    {{ return(adapter.dispatch('bronze_source')(dataset)) }}
{%- endmacro %}

{% macro default__bronze_source(dataset) -%}
    {{ return(source('bronze', dataset)) }}
{%- endmacro %}

{% macro duckdb__bronze_source(dataset) -%}
    {%- set relation = source('bronze', dataset) -%}
    {%- if not execute -%}
        {{ return(relation) }}
    {%- endif -%}
    {%- set location = modules.re.search("read_parquet[(]'([^']+)'", relation | string) -%}
    {%- if location is none -%}
        {{ return(relation) }}
    {%- endif -%}
    {%- set found = run_query("select count(*) from glob('" ~ location.group(1) ~ "')") -%}
    {%- if found.columns[0].values()[0] > 0 -%}
        {{ return(relation) }}
    {%- endif -%}
    {%- set node = graph.sources['source.' ~ project_name ~ '.bronze.' ~ dataset] -%}
    {{ log("bronze." ~ dataset ~ " has no files yet under " ~ location.group(1) ~ ": reading it as empty", info=true) }}
    {%- set columns = [] -%}
    {%- for name, column in node.columns.items() -%}
        {%- do columns.append("cast(null as " ~ column.data_type ~ ") as " ~ name) -%}
    {%- endfor -%}
    {{ return("(select " ~ columns | join(", ") ~ " where false)") }}
{%- endmacro %}

{#- The window of bronze runs of `dataset` the current model has not consumed yet (see watermarks.sql). -#}
{% macro bronze_window(dataset) -%}
    {{ return(ingest_window(bronze_source(dataset), 'bronze.' ~ dataset)) }}
{%- endmacro %}
