{#- Reading bronze: the Parquet written by glue_ingest, one Hive partition per ingest day.

    Every bronze record carries `_ingest_run_id` (a sortable UTC timestamp, one per ingest run) and
    sits in the partition `ingest_date` of its run; the ingest job guarantees that a later run never
    has an earlier ingest_date. An incremental silver model therefore reads
        ingest_date >= '<date of its newest row>' and _ingest_run_id > '<its newest run id>'
    with both bounds rendered as literals: the first prunes partitions (a subquery there would make
    Athena scan every partition, dbt-athena #418), the second makes the cut exact. -#}

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

{#- The newest ingest run a model has consumed, read from the model's own rows:
    {'run_id': '...', 'ingest_date': 'YYYY-MM-DD'}, or none on a first or full build.
    Deriving it from the model's rows (not from separate state) keeps it exact: a run that is
    committed to bronze while dbt runs is simply picked up next time. -#}
{% macro consumed_watermark(relation=this) -%}
    {%- if not execute or this is none or not is_incremental() -%}
        {{ return(none) }}
    {%- endif -%}
    {%- if var('assume_watermark', none) is not none -%}
        {{ return(var('assume_watermark')) }}
    {%- endif -%}
    {%- set result = run_query(
        "select max(_ingest_run_id), cast(max(ingest_date) as varchar) from " ~ relation
    ) -%}
    {%- set run_id = result.columns[0].values()[0] if result.rows | length > 0 else none -%}
    {%- if run_id is none -%}
        {{ return(none) }}
    {%- endif -%}
    {{ return({'run_id': run_id, 'ingest_date': result.columns[1].values()[0]}) }}
{%- endmacro %}

{#- For reviewing and checking the incremental SQL offline (no warehouse to ask), the var `assume_watermark`
    ({'run_id': ..., 'ingest_date': ...}) stands in for every watermark, and `assume_changed_dates` (a list
    of 'YYYY-MM-DD') for every list of dates to rebuild:
        dbt compile --target athena --vars '{assume_watermark: {run_id: 20261123T000000000000Z,
            ingest_date: 2026-11-23}, assume_changed_dates: [2026-11-22, 2026-11-23]}'

    The where-clause that selects the bronze records a model has not consumed yet, with literal bounds.
    Renders `true` on a first or full build. -#}
{% macro new_ingest_runs(relation=this) -%}
    {{ runs_after(consumed_watermark(relation)) }}
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
