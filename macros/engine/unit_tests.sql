{#- A unit test first creates an empty table with the model's columns, to learn their types (dbt's `unit`
    materialization, through get_create_table_as_sql). dbt-athena makes it a Hive table, and Athena's Hive tables
    keep timestamps in milliseconds only: a model with a timestamp(6) column fails there with "Incorrect
    timestamp precision for timestamp(6)" (seen on the local Athena). Unit tests take no table_type config, so on
    Athena their table is made an Iceberg table here, in its own folder of the data dir. Models and tests keep
    dbt-athena's own create_table_as. -#}
{#- A build killed during a unit test leaves its table behind, and dbt's `unit` materialization does not drop it:
    the next build's CTAS then fails with TABLE_ALREADY_EXISTS (seen on the local Athena, test_local_athena.py's
    stopped build). So an existing one is dropped first. -#}
{% macro athena__get_create_table_as_sql(temporary, relation, sql) -%}
    {%- if model is mapping and model.get('resource_type') == 'unit_test' -%}
        {%- set left_behind = adapter.get_relation(database=relation.database, schema=relation.schema,
                                                   identifier=relation.identifier) if execute else none -%}
        {%- if left_behind is not none -%}
            {%- do log("dropping " ~ left_behind ~ ", left behind by an interrupted build", info=true) -%}
            {%- do drop_relation(left_behind) -%}
        {%- endif %}
        create table {{ relation }}
        with (
            table_type = 'iceberg',
            is_external = false,
            location = '{{ target.s3_data_dir.rstrip("/") }}/{{ relation.schema }}/{{ relation.identifier }}/{{ invocation_id }}',
            format = 'parquet'
        )
        as
        {{ sql }}
    {%- else -%}
        {{ return(create_table_as(temporary, relation, sql)) }}
    {%- endif -%}
{%- endmacro %}
