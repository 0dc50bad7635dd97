{#- JSON access. `json_text(expr, path)`: the scalar at a JSONPath (`$.name`) of a JSON text, as text;
    null when the path is missing or holds an object or array (on DuckDB as on Trino). -#}
{% macro json_text(expr, path) -%}
    {{ return(adapter.dispatch('json_text')(expr, path)) }}
{%- endmacro %}

{% macro duckdb__json_text(expr, path) -%}
    case when json_type({{ expr }}, '{{ path }}') not in ('OBJECT', 'ARRAY')
        then json_extract_string({{ expr }}, '{{ path }}') end
{%- endmacro %}

{% macro athena__json_text(expr, path) -%}
    json_extract_scalar({{ expr }}, '{{ path }}')
{%- endmacro %}
