{#- Bounding the Iceberg MERGE of the keyed silver models (Athena) to the partitions it can touch.

    A keyed model (`sales_transactions`, `user_events`) MERGEs its new current rows into the target on the
    key. Without a bound in the ON clause, Athena reads every data file of the target to find matches: the
    cost grows with history. The bound cannot be a static `incremental_predicates` config: the dates a run
    touches are known only at run time, and a correction can move a key to another date, so they are the
    dates of the new rows *and* the target dates of the keys being replaced. (A bound on the new dates alone
    would miss the old row, insert a second row for the key and break uniqueness.)

    So dbt-athena's `iceberg_merge` is wrapped here (a root-project macro of the same name takes precedence
    over the adapter's). The wrapper takes those dates from the model's compiled SQL, where the keyed silver
    models write them (touched_dates() in macros/incremental/watermarks.sql: one query over the key and date
    columns, also logged for gold), or else asks the target for them, renders them as literals,
    `target.<column> in (date '…', …)`, appends that to the model's `incremental_predicates`, and calls the adapter's own `iceberg_merge`. The column is the source column of
    the model's first `partitioned_by` entry (`event_date`, or `transaction_date` of
    `month(transaction_date)`). A model that is not partitioned, or a run touching more than
    `merge_bound_max_values` (var, default 1000) dates or a null date, merges unbounded: correct, just
    not pruned. -#}

{% macro iceberg_merge(on_schema_change, tmp_relation, target_relation, unique_key, incremental_predicates,
                       existing_relation, delete_condition, update_condition, insert_condition, force_batch,
                       statement_name="main") %}
    {%- if rebuild_declaration() is not none -%}
        {#- A date-grain gold model: its dates are replaced in one MERGE (macros/incremental/rebuild.sql). -#}
        {{ return(athena_replace_units(tmp_relation, target_relation, existing_relation, on_schema_change)) }}
    {%- endif -%}
    {%- set predicates = (incremental_predicates or []) | list -%}
    {%- set column = merge_bound_column(config.get('partitioned_by')) -%}
    {%- if column and unique_key is string -%}
        {%- do predicates.extend(merge_target_bounds(tmp_relation, target_relation, unique_key, column)) -%}
    {%- endif -%}
    {{ return(dbt.iceberg_merge(
        on_schema_change=on_schema_change, tmp_relation=tmp_relation, target_relation=target_relation,
        unique_key=unique_key, incremental_predicates=(predicates if predicates else none),
        existing_relation=existing_relation, delete_condition=delete_condition,
        update_condition=update_condition, insert_condition=insert_condition, force_batch=force_batch,
        statement_name=statement_name)) }}
{% endmacro %}

{#- `event_date` -> event_date; `month(transaction_date)` -> transaction_date; none when not partitioned or when
    the partition is not a plain or temporal transform of one column (bucket(), truncate()). -#}
{% macro merge_bound_column(partitioned_by) -%}
    {%- if not partitioned_by -%}{{ return(none) }}{%- endif -%}
    {%- set first = (partitioned_by if partitioned_by is string else partitioned_by[0]) | trim -%}
    {%- set match = modules.re.fullmatch('(?:(?:year|month|day|hour)[(] *)?([A-Za-z0-9_]+) *[)]?', first) -%}
    {{ return(match.group(1) if match else none) }}
{%- endmacro %}

{#- The query for the dates a MERGE of `source` into `target` on `key` touches: the new rows' dates and the
    current dates of the keys they replace. Reads only the key and date columns of the target. -#}
{% macro merge_target_bounds_sql(source, target, key, column) -%}
    select distinct bound_value
    from (
        select cast({{ column }} as varchar) as bound_value from {{ source }}
        union all
        select cast(existing.{{ column }} as varchar) as bound_value
        from {{ target }} as existing
        where existing.{{ key }} in (select incoming.{{ key }} from {{ source }} as incoming)
    ) as touched
    order by bound_value
{%- endmacro %}

{#- ["target.<column> in (date '…', …)"], or [] when the merge cannot be bounded safely (no rows, a null
    date, or too many dates). -#}
{% macro merge_target_bounds(source, target, key, column, max_values=none) -%}
    {%- if not execute -%}{{ return([]) }}{%- endif -%}
    {#- A keyed silver model wrote the dates its build touches into its compiled SQL (touched_dates()): the
        same dates, without asking the target again. -#}
    {%- set touched = windows_in(this_compiled_sql(), 'touched') -%}
    {%- if touched and touched[0].dates is not none -%}
        {%- set values = touched[0].dates -%}
    {%- else -%}
        {%- set values = column_values(merge_target_bounds_sql(source, target, key, column)) -%}
    {%- endif -%}
    {%- set limit = (max_values or var('merge_bound_max_values', 1000)) | int -%}
    {%- if values | length == 0 or none in values or values | length > limit -%}
        {{ return([]) }}
    {%- endif -%}
    {%- set literals = [] -%}
    {%- for value in values -%}
        {%- do literals.append("date '" ~ value ~ "'") -%}
    {%- endfor -%}
    {{ return(["target." ~ column ~ " in (" ~ literals | join(", ") ~ ")"]) }}
{%- endmacro %}
