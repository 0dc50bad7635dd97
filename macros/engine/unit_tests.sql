{#- A unit test first creates an empty table with the model's columns, to learn their types (dbt's `unit`
    materialization, through get_create_table_as_sql). dbt-athena makes it a Hive table, and Athena's Hive tables
    keep timestamps in milliseconds only: a model with a timestamp(6) column fails there with "Incorrect
    timestamp precision for timestamp(6)" (seen on the local Athena). Unit tests take no table_type config, so on
    Athena their table is made an Iceberg table here, in its own folder of the data dir. Models and tests keep
    dbt-athena's own create_table_as. -#}
{% macro athena__get_create_table_as_sql(temporary, relation, sql) -%}
    {%- if model is mapping and model.get('resource_type') == 'unit_test' -%}
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
