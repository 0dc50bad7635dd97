{#- Schema drift is kept, never mixed up with the contract: `_extra` is null or a JSON object of the columns a
    file had beyond its contract, so no contract column may appear in it (the ingest would then have put a
    real value aside and left its column null). Reads `_extra` with the portable `json_text` macro.
    Returns the offending bronze records. -#}
{%- set datasets = ['web_logs', 'sales_transactions', 'customers', 'user_events'] -%}
{%- for dataset in datasets %}
{%- set node = graph.sources.get('source.' ~ project_name ~ '.bronze.' ~ dataset) -%}
{%- set contract_columns = [] -%}
{%- if node -%}
    {%- for name in node.columns if not name.startswith('_') and name != 'ingest_date' -%}
        {%- do contract_columns.append(name) -%}
    {%- endfor -%}
{%- endif %}
select
    '{{ dataset }}' as dataset,
    _source_file,
    _record_number,
    _extra
from {{ bronze_source(dataset) }}
where
    _extra is not null
    and (
        {%- for name in contract_columns %}
        {{ json_text('_extra', '$.' ~ name) }} is not null
        {%- if not loop.last %} or{% endif %}
        {%- else %}
        false
        {%- endfor %}
    )
{%- if not loop.last %}
union all
{% endif %}
{%- endfor %}
