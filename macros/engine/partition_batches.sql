{#- Athena: a table written in batches, when one statement would write more than Athena's 100 partitions.

    A CTAS (a first build, a full refresh) that writes more than 100 partitions fails on Athena with
    TOO_MANY_OPEN_PARTITIONS. dbt-athena then calls create_table_as_with_partitions(), which writes the model's
    result to an unpartitioned temporary table and copies it into the target `partitions_limit` partitions at a
    time. Each copy rescans the whole temporary table: a full refresh over ten years of days reads it 37 times.

    This project's version, for a table partitioned by one date column (`event_date`, `ingest_date`), writes the
    temporary table partitioned by month of that column (by year when there are more than 100 months), and cuts
    the batches at month boundaries: each batch reads only its own months, so the copies together read the
    temporary table about once. Each batch is one date range (`column between date '…' and date '…'`). Other
    partitionings keep dbt-athena's macro.

    dbt-athena calls this macro by name, so the project's macro of the same name takes its place; it is not
    dispatched, because it only exists on Athena. -#}
{% macro create_table_as_with_partitions(temporary, relation, compiled_code, language='sql') -%}
    {%- set column = date_partition_column(compiled_code) if language == 'sql' else none -%}
    {%- if column is none -%}
        {%- do return(dbt.create_table_as_with_partitions(temporary, relation, compiled_code, language)) -%}
    {%- endif -%}

    {%- set tmp_relation = api.Relation.create(
        identifier=relation.identifier ~ '__tmp_not_partitioned', schema=relation.schema,
        database=relation.database, s3_path_table_part=relation.identifier ~ '__tmp_not_partitioned',
        type='table') -%}
    {%- do drop_relation(tmp_relation) -%}

    {#- The temporary table, partitioned by month; by year when it has more than 100 months. -#}
    {%- set ns = namespace(unit=none) -%}
    {%- for unit in ['month', 'year'] if ns.unit is none -%}
        {%- set create_sql = create_table_as(temporary, tmp_relation, compiled_code, language, true) -%}
        {%- set create_sql = create_sql.replace(
            'with (', "with (\n      partitioning=ARRAY['" ~ unit ~ "(" ~ column ~ ")'],", 1) -%}
        {%- do log(relation.identifier ~ ": writing the result to " ~ tmp_relation.identifier ~ " by " ~ unit
                   ~ " of " ~ column, info=true) -%}
        {%- if adapter.run_query_with_partitions_limit_catching(create_sql) != 'TOO_MANY_OPEN_PARTITIONS' -%}
            {%- set ns.unit = unit -%}
        {%- else -%}
            {%- do drop_relation(tmp_relation) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if ns.unit is none -%}
        {{ exceptions.raise_compiler_error(relation ~ ": more than 100 distinct years of " ~ column
                                           ~ " to write; Athena cannot write them in one statement") }}
    {%- endif -%}

    {%- set values = run_query("select distinct cast(" ~ adapter.quote(column) ~ " as varchar) from "
                               ~ tmp_relation ~ " order by 1").columns[0].values() | list -%}
    {%- set limit = [1, (config.get('partitions_limit') or 100) | int] | max -%}
    {%- set batches = partition_batches(values, 7 if ns.unit == 'month' else 4, limit) -%}
    {%- set columns_csv = adapter.get_columns_in_relation(tmp_relation) | map(attribute='quoted') | join(', ') -%}
    {%- for batch in batches -%}
        {%- if batch[0] is none -%}
            {%- set predicate = adapter.quote(column) ~ ' is null' -%}
        {%- else -%}
            {%- set predicate = adapter.quote(column) ~ " between date '" ~ batch[0] ~ "' and date '" ~ batch[-1] ~ "'" -%}
        {%- endif -%}
        {%- do log(relation.identifier ~ ": batch " ~ loop.index ~ " of " ~ batches | length ~ ", " ~ batch | length
                   ~ " partition(s) " ~ batch[0] ~ " .. " ~ batch[-1], info=true) -%}
        {%- set batch_sql = "select " ~ columns_csv ~ " from " ~ tmp_relation ~ " where " ~ predicate -%}
        {%- if loop.first -%}
            {%- do run_query(create_table_as(temporary, relation, batch_sql, language)) -%}
        {%- else -%}
            {%- do run_query("insert into " ~ relation ~ " (" ~ columns_csv ~ ") " ~ batch_sql) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- do drop_relation(tmp_relation) -%}
    select 'SUCCESSFULLY CREATED TABLE {{ relation }}'
{%- endmacro %}

{#- The model's partition column when it is an Iceberg table partitioned by exactly one column, untransformed, of
    type date (as `sql` returns it: Athena answers that from the plan, with `where false`, reading nothing); none
    otherwise. -#}
{% macro date_partition_column(sql) -%}
    {%- set partitioned_by = config.get('partitioned_by') or [] -%}
    {%- if config.get('table_type') != 'iceberg' or partitioned_by | length != 1 or '(' in partitioned_by[0] -%}
        {{ return(none) }}
    {%- endif -%}
    {%- for column in get_column_schema_from_query(get_empty_subquery_sql(sql))
        if column.name | lower == partitioned_by[0] | lower and column.dtype | lower == 'date' -%}
        {{ return(partitioned_by[0]) }}
    {%- endfor -%}
    {{ return(none) }}
{%- endmacro %}

{#- Sorted ISO dates (`values`, a null last, as Trino orders them) cut into batches of at most `limit` dates, each
    made of whole units (the dates' first `prefix` characters: 7 for a month, 4 for a year) where a unit fits in
    one batch; a unit larger than `limit` is cut into batches of `limit`. A null value is a batch of its own. -#}
{% macro partition_batches(values, prefix, limit) -%}
    {%- set units = [] -%}
    {%- for value in values if value is not none -%}
        {%- if units and units[-1][0][:prefix] == value[:prefix] -%}
            {%- do units[-1].append(value) -%}
        {%- else -%}
            {%- do units.append([value]) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- set batches = [] -%}
    {%- for unit in units -%}
        {%- if batches and batches[-1] | length + unit | length <= limit -%}
            {%- do batches[-1].extend(unit) -%}
        {%- else -%}
            {%- for chunk in unit | batch(limit) -%}
                {%- do batches.append(chunk | list) -%}
            {%- endfor -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if none in values -%}
        {%- do batches.append([none]) -%}
    {%- endif -%}
    {{ return(batches) }}
{%- endmacro %}
