{#- A predicate: the JSON text `extra_column` of a bronze record of `dataset` holds a value for one of the
    dataset's contract columns (schema drift must only ever hold columns beyond the contract). -#}
{% macro extra_holds_a_contract_column(extra_column, dataset) -%}
    {%- set node = (graph.get('sources') or {}).get('source.' ~ project_name ~ '.bronze.' ~ dataset) -%}
    {%- set checks = [] -%}
    {%- for name in (node.columns if node else {}) if not name.startswith('_') and name != 'ingest_date' -%}
        {%- do checks.append(json_text(extra_column, '$.' ~ name) ~ ' is not null') -%}
    {%- endfor -%}
    {{ checks | join(' or ') if checks else 'false' }}
{%- endmacro %}
