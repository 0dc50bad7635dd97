{#- Layers map to schemas by name: `silver`, `gold`, ... locally (DuckDB), and to one Glue database
    per layer and environment on Athena (`<lake_env>_silver`, e.g. dev_silver / prod_silver).
    dbt's default would prefix the target schema (`main_silver`); we want the layer names as-is. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {{ return(adapter.dispatch('generate_schema_name')(custom_schema_name, node)) }}
{%- endmacro %}

{% macro default__generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema | trim }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}

{% macro athena__generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema | trim }}
    {%- else -%}
        {{ lake_database(custom_schema_name) }}
    {%- endif -%}
{%- endmacro %}

{#- The Glue database of a layer on Athena: `<LAKE_ENV>_<layer>` (LAKE_ENV defaults to dev). -#}
{% macro lake_database(layer) -%}
    {{ env_var('LAKE_ENV', 'dev') ~ '_' ~ layer }}
{%- endmacro %}
