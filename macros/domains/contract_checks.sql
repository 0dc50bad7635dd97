{#- Generic checks, generated from the dataset contracts (glue_ingest/contracts/*.yml).

    Each contract column says what silver parses its delivered text as (`parsed_as`), whether it is `required`,
    and for a string optionally `normalize: lower` and `allowed_values`. scripts/contracts_to_dbt.py copies these
    into macros/generated/contracts.sql (`contract_of()`), where these macros read them, and into the meta of the
    bronze source's columns, where the docs site shows them. A `<dataset>_checked` model (models/silver/<dataset>/) is then:

        parsed as ({{ parse_contract_columns('user_events', 'bronze_records') }}),
        checked as (
            select *, {{ contract_reject_reason('user_events', column_rules, row_rules) }} as reject_reason
            from parsed
        )

    with only the business rules written by hand. The generic rules, per column:
    - the text is trimmed, and an empty text is missing (`<column>_text`; `raw_<column>` keeps it as delivered);
    - `<column>` is the text parsed as `parsed_as`: null when missing or when it does not parse;
    - a required string that is missing: `missing_<column>`;
    - a string with `allowed_values` that is missing or not one of them: `invalid_<column>`;
    - any other required column that is missing or does not parse, or an optional one that is present and does
      not parse: `invalid_<column>`.
    A record gets the first reason it breaks, in this order: the required columns in contract order, then the
    optional ones, each column's generic check followed by its business rules; then the rules on the whole row. -#}

{#- `text` (trimmed, empty as null) parsed as `parsed_as`. -#}
{% macro parse_as(parsed_as, text) -%}
    {%- if parsed_as == 'string' -%}
        {{ text }}
    {%- elif parsed_as == 'integer' -%}
        {{ parse_integer(text) }}
    {%- elif parsed_as == 'decimal(18,2)' -%}
        {{ parse_decimal(text) }}
    {%- elif parsed_as == 'timestamp' -%}
        {{ parse_iso_timestamp(text) }}
    {%- elif parsed_as == 'date' -%}
        case when {{ matches_regex(text, '[0-9]{4}-[0-9]{2}-[0-9]{2}') }} then try_cast({{ text }} as date) end
    {%- elif parsed_as == 'date_or_timestamp' -%}
        {{ parse_iso_date(text) }}
    {%- else -%}
        {{ exceptions.raise_compiler_error("parse_as: unknown parsed_as '" ~ parsed_as ~ "'") }}
    {%- endif -%}
{%- endmacro %}

{#- A select over `records` (bronze columns) with, for every contract column, `raw_<column>` (as delivered),
    `<column>_text` (trimmed, empty as null, normalized) and `<column>` (parsed), and the lineage columns. -#}
{% macro parse_contract_columns(dataset, records) -%}
    {%- set columns = contract_of(dataset) -%}
    select
        *
        {%- for column in columns %},
        {{ parse_as(column.parsed_as, column.name ~ '_text') }} as {{ column.name }}
        {%- endfor %}
    from (
        select
            {%- for column in columns %}
            {{ column.name }} as raw_{{ column.name }},
            {%- set text = "nullif(trim(" ~ column.name ~ "), '')" %}
            {{ 'lower(' ~ text ~ ')' if column.get('normalize') == 'lower' else text }} as {{ column.name }}_text,
            {%- endfor %}
            _source_file,
            _record_number,
            _ingest_run_id,
            ingest_date
        from {{ records }}
    ) as trimmed
{%- endmacro %}

{#- The generic check of one contract column (an entry of contract_of()), as a `when ... then '<reason>'`, or ''
    when it has none. -#}
{% macro contract_check(column) -%}
    {%- if column.get('allowed_values') -%}
        when {{ column.name }} is null or {{ column.name }} not in ('{{ column.allowed_values | join("', '") }}')
            then 'invalid_{{ column.name }}'
    {%- elif column.parsed_as == 'string' -%}
        {%- if column.required %}when {{ column.name }} is null then 'missing_{{ column.name }}'{% endif -%}
    {%- elif column.required -%}
        when {{ column.name }} is null then 'invalid_{{ column.name }}'
    {%- else -%}
        when {{ column.name }}_text is not null and {{ column.name }} is null then 'invalid_{{ column.name }}'
    {%- endif -%}
{%- endmacro %}

{#- `case ... end`: the first rule a record of `dataset` breaks, or null. `column_rules` maps a contract column to its
    business rules, a list of (condition, reason) checked right after the column's generic check; `row_rules`
    is a list of (condition, reason) checked last. Conditions use the parsed columns. -#}
{% macro contract_reject_reason(dataset, column_rules={}, row_rules=[]) -%}
    {%- set columns = contract_of(dataset) -%}
    {%- set known = columns | map(attribute='name') | list -%}
    {%- for name in column_rules if name not in known -%}
        {{ exceptions.raise_compiler_error("contract_reject_reason: '" ~ name ~ "' is not a contract column of "
                                           ~ dataset) }}
    {%- endfor -%}
    case
        {%- for column in (columns | selectattr('required') | list) + (columns | rejectattr('required') | list) %}
        {%- set generic = contract_check(column) | trim %}
        {%- if generic %}
        {{ generic }}
        {%- endif %}
        {%- for condition, reason in column_rules.get(column.name, []) %}
        when {{ condition }} then '{{ reason }}'
        {%- endfor %}
        {%- endfor %}
        {%- for condition, reason in row_rules %}
        when {{ condition }} then '{{ reason }}'
        {%- endfor %}
    end
{%- endmacro %}
