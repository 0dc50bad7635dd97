{#- Schema drift is kept, never mixed up with the contract: `_extra` is null or a JSON object of the columns a
    file had beyond its contract, so no contract column may appear in it (the ingest would then have put a
    real value aside and left its column null). Reads `_extra` with the portable `json_text` macro.
    Returns the offending bronze records. -#}
{%- for dataset in ['web_logs', 'sales_transactions', 'customers', 'user_events'] %}
{%- if not loop.first %}
union all
{%- endif %}
select
    '{{ dataset }}' as dataset,
    _source_file,
    _record_number,
    _extra
from {{ bronze_source(dataset) }}
where _extra is not null and ({{ extra_holds_a_contract_column('_extra', dataset) }})
{%- endfor %}
