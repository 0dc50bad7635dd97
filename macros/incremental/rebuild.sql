{#- Date-grain gold models: recompute whole dates (or months) from silver, and replace them atomically.

    A model declares what it is built from, once, in its config:

        {{ config(**rebuild_by_date(upstream='user_events', date_column='event_date')) }}

        select ... from {{ ref('user_events') }} where {{ rebuild_filter() }} ...

    - `upstream` is the model it reads. Each build of a silver model logs the dates it touched (ops.model_watermarks,
      kind 'touched': the new rows' dates and, for a keyed model, the old dates of the keys it replaced). The gold
      model rebuilds the dates logged since its own watermark: one small query on the ops table, nothing read from
      silver to find them. The upstream can also be a date-grain gold model rebuilt by day (gold.sales_summary
      reads gold.sales_days): then the dates are those its silver upstream logged, as far as it has rebuilt them.
    - `rebuild_filter()` renders those dates as literals (`event_date in (date '…', …)`, or month ranges for
      `grain='month'`), so Athena prunes silver's partitions. On a first or full build it renders `true`.
    - The rebuilt dates replace the old ones in one statement: on Athena one Iceberg MERGE (one commit) that
      deletes every row of those dates and inserts the recomputed rows; on DuckDB a delete and an insert in one
      transaction. A reader sees the old dates or the new ones, never a date missing, and a build stopped before
      the statement leaves the previous gold. A date whose rows all moved away is deleted (nothing recomputed).
    - A month-grain model (`grain='month'`) has integer `year` and `month` columns and rebuilds every month that
      holds a touched date.

    More than `partitions_limit` (100) units to replace (a first build over a long history is a CTAS, not this)
    are replaced in batches of that many, each batch atomic. -#}

{#- The config of a date-grain gold model: `config(**rebuild_by_date(...))`. -#}
{% macro rebuild_by_date(upstream, date_column, grain='day') -%}
    {%- if grain not in ('day', 'month') -%}
        {{ exceptions.raise_compiler_error("rebuild_by_date: grain must be 'day' or 'month', not '" ~ grain ~ "'") }}
    {%- endif -%}
    {{ return({
        'incremental_strategy': 'merge' if target.type == 'athena' else 'replace_dates',
        'unique_key': date_column if grain == 'day' else ['year', 'month'],
        'meta': {'rebuild': {'upstream': upstream, 'date_column': date_column, 'grain': grain}},
    }) }}
{%- endmacro %}

{#- The config of an entity-grain gold model (one row per user, per customer): `config(**rebuild_when_changed(
    upstreams=['sales_transactions', 'customers'], unique_key='customer_id'))` plus `where {{ changed_filter() }}` in
    its body. Every row can change when anything upstream changes (recency is measured to the latest date), so a
    build that finds new runs in any upstream recomputes the whole table, and replaces it in one statement (on
    Athena one Iceberg MERGE that deletes every old row and inserts the new ones: one commit, where dbt-athena's
    table materialization renames the old table away and the new one in, with no table between the two). A build
    that finds nothing new reads nothing and writes nothing. A build with the var `as_of_date` always recomputes,
    and so does the first build after it, back to the default as of date. -#}
{% macro rebuild_when_changed(upstreams, unique_key) -%}
    {{ return({
        'materialized': 'incremental',
        'incremental_strategy': 'merge' if target.type == 'athena' else 'replace_dates',
        'unique_key': unique_key,
        'meta': {'rebuild': {'upstreams': upstreams, 'grain': 'all'}},
    }) }}
{%- endmacro %}

{#- The where-clause of an entity-grain model (rebuild_when_changed()): `true` when it is rebuilt, `false` when
    nothing is new upstream, followed by its windows as comments (record_windows() records them). -#}
{% macro changed_filter() -%}
    {%- if in_unit_test() -%}
        {{ return('true') }}
    {%- endif -%}
    {%- set declaration = rebuild_declaration() or {} -%}
    {%- set as_of = var('as_of_date', none) -%}
    {%- set after_as_of = execute and is_incremental() and as_of is none and last_build_had_as_of() -%}
    {%- set state = namespace(changed=not is_incremental() or as_of is not none or after_as_of, markers='') -%}
    {%- for upstream in declaration.get('upstreams', []) -%}
        {%- set relation = ref(upstream) -%}
        {%- if not execute -%}
            {%- set window = {'empty': false} -%}
        {%- elif as_of is not none or after_as_of -%}
            {#- Recorded under another name with the var, so that the next build without it sees the table is as of
                another date; recorded in full, so that it is the newest record of the model. -#}
            {%- set upto = newest_run(relation, none) -%}
            {%- set window = {'upstream': upstream ~ ('@as_of' if as_of is not none else ''), 'after': none,
                              'upto': upto, 'empty': upto is none} -%}
        {%- else -%}
            {%- set window = ingest_window(relation, own_rows=false) -%}
        {%- endif -%}
        {%- if not window.empty %}{% set state.changed = true %}{% endif -%}
        {%- if execute %}{% set state.markers = state.markers ~ window_marker(window) %}{% endif -%}
    {%- endfor -%}
    {{- 'true' if state.changed else 'false' -}}{{ state.markers }}
{%- endmacro %}

{#- Whether an entity-grain model is rebuilt, given the windows changed_filter() wrote (its compiled SQL, or its node):
    a window with new runs, or the var `as_of_date`. -#}
{% macro entity_rebuilt(windows) -%}
    {{ return(var('as_of_date', none) is not none or windows | rejectattr('empty') | list | length > 0) }}
{%- endmacro %}

{#- Whether the newest window recorded for the current model was read with the var `as_of_date`. -#}
{% macro last_build_had_as_of() -%}
    {%- if unbuilt_at_compile(watermark_relation()) -%}
        {{ return(false) }}
    {%- endif -%}
    {%- set names = column_values(
        "select upstream_name from " ~ watermark_relation() ~ " where model_name = '" ~ this.identifier
        ~ "' and kind = 'consumed' order by recorded_at desc limit 1") -%}
    {{ return(names | length > 0 and names[0].endswith('@as_of')) }}
{%- endmacro %}

{#- The declaration of the current model, or none. -#}
{% macro rebuild_declaration() -%}
    {%- set meta = config.get('meta') or {} -%}
    {{ return(meta.get('rebuild')) }}
{%- endmacro %}

{#- When the model `name` is a date-grain gold model rebuilt by day (rebuild_by_date()): {'name', 'upstream': the
    silver model it rebuilds from}; otherwise none. -#}
{% macro rebuilt_upstream(name) -%}
    {%- set node = model_node_of(ref(name)) -%}
    {%- set declaration = (node.config.meta or {}).get('rebuild') if node is not none else none -%}
    {%- if declaration and declaration.get('grain') == 'day' and declaration.get('upstream') -%}
        {{ return({'name': name, 'upstream': declaration.upstream}) }}
    {%- endif -%}
    {{ return(none) }}
{%- endmacro %}

{#- The dates the current gold model rebuilds: {'upstream', 'after', 'upto', 'empty', 'dates'}, `dates` being a
    sorted list of 'YYYY-MM-DD' or none for every date (a first or full build, or no watermark yet). -#}
{% macro rebuild_window() -%}
    {%- if not execute or this is none -%}
        {{ return({'upstream': none, 'after': none, 'upto': none, 'empty': false, 'dates': none}) }}
    {%- endif -%}
    {%- set declaration = rebuild_declaration() -%}
    {%- if declaration is none -%}
        {{ exceptions.raise_compiler_error(
            "rebuild_filter() needs the model's declaration: config(**rebuild_by_date(upstream=..., date_column=...))"
        ) }}
    {%- endif -%}
    {%- set upstream = declaration.upstream -%}
    {#- Read from a date-grain gold model (gold.sales_summary from gold.sales_days): rebuild the dates its silver
        upstream touched, as far as that model has rebuilt them, so that this model never reads a date of it that is
        yet to be rebuilt (a build of this model alone, `dbt build -s`, waits for the next build of that model). -#}
    {%- set via = rebuilt_upstream(upstream) -%}
    {%- if via is not none -%}
        {%- set upstream = via.upstream -%}
    {%- endif -%}
    {%- if is_incremental() and var('assume_changed_dates', none) is not none -%}
        {{ return({'upstream': upstream, 'after': var('assume_watermark', none), 'upto': var('assume_upto', none),
                   'empty': false, 'dates': var('assume_changed_dates') | map('string') | list}) }}
    {%- endif -%}
    {%- set after = recorded_upto(this.identifier, upstream) if is_incremental() else none -%}
    {%- set cap = none -%}
    {%- if via is not none -%}
        {%- set cap = recorded_upto(via.name, upstream) -%}
        {%- if after is not none and (cap is none or cap.run_id <= after.run_id) -%}
            {{ return({'upstream': upstream, 'after': after, 'upto': cap, 'empty': true, 'dates': []}) }}
        {%- elif cap is none -%}
            {#- That model has recorded nothing yet: read all of it, and record nothing either. -#}
            {{ return({'upstream': upstream, 'after': none, 'upto': none, 'empty': false, 'dates': none}) }}
        {%- endif -%}
    {%- endif -%}
    {%- set touched = touched_since(upstream, after, cap) -%}
    {%- if after is none or touched.dates is none -%}
        {{ return({'upstream': upstream, 'after': after, 'upto': touched.upto, 'empty': false, 'dates': none}) }}
    {%- endif -%}
    {{ return({'upstream': upstream, 'after': after, 'upto': touched.upto, 'empty': touched.dates | length == 0,
               'dates': touched.dates}) }}
{%- endmacro %}

{#- The dates the silver model `upstream` logged as touched by its builds after `after` (a watermark, or none for
    every build) and up to `upto` (none: the newest): {'upto': the newest of those builds' watermarks or none,
    'dates': sorted 'YYYY-MM-DD' list, or none when one of them touched every date}. One small query on the ops
    table. -#}
{% macro touched_since(upstream, after, upto=none) -%}
    {%- if unbuilt_at_compile(watermark_relation()) -%}
        {{ return({'upto': none, 'dates': []}) }}
    {%- endif -%}
    {%- set result = run_query(
        "select upto_run_id, cast(upto_ingest_date as varchar), touched_dates from " ~ watermark_relation()
        ~ " where model_name = '" ~ upstream ~ "' and kind = 'touched' and upto_run_id is not null"
        ~ (" and upto_run_id > '" ~ after.run_id ~ "'" if after is not none else "")
        ~ (" and upto_run_id <= '" ~ upto.run_id ~ "'" if upto is not none else "")
        ~ " order by upto_run_id"
    ) -%}
    {%- set found = namespace(upto=none, every_date=false) -%}
    {%- set dates = [] -%}
    {%- for row in result.rows -%}
        {%- set found.upto = {'run_id': row[0], 'ingest_date': row[1]} -%}
        {%- if row[2] is none -%}
            {%- set found.every_date = true -%}
        {%- else -%}
            {%- for value in row[2].split(',') if value and value not in dates -%}
                {%- do dates.append(value) -%}
            {%- endfor -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return({'upto': found.upto, 'dates': none if found.every_date else dates | sort}) }}
{%- endmacro %}

{#- The where-clause on the upstream's date column that selects the dates to rebuild, with the window as a
    comment for record_windows() and the replacement. -#}
{% macro rebuild_filter(column=none) -%}
    {%- if not execute -%}
        true
    {%- else -%}
        {%- set window = rebuild_window() -%}
        {%- set declaration = rebuild_declaration() or {} -%}
        {%- set column = column or declaration.date_column -%}
        {%- if declaration.grain == 'month' -%}
            {{ month_filter(column, window.dates) }}
        {%- else -%}
            {{ date_filter(column, window.dates) }}
        {%- endif -%}
        {{- window_marker(window) -}}
    {%- endif -%}
{%- endmacro %}

{#- The unit of replacement of a row, as varchar: its date, or for a month-grain model year * 100 + month. -#}
{% macro rebuild_unit_sql(declaration, prefix='') -%}
    {%- if declaration.grain == 'all' -%}
        'all'
    {%- elif declaration.grain == 'month' -%}
        cast({{ prefix }}year * 100 + {{ prefix }}month as varchar)
    {%- else -%}
        cast({{ prefix }}{{ declaration.date_column }} as varchar)
    {%- endif -%}
{%- endmacro %}

{#- The units (see rebuild_unit_sql) a build replaces: from the dates in the compiled SQL's window, or, when
    that is every date, every unit in the recomputed rows and in the target. -#}
{% macro units_to_replace(declaration, recomputed, target_relation) -%}
    {%- set windows = windows_in(this_compiled_sql()) -%}
    {%- if declaration.grain == 'all' -%}
        {#- The whole table, when changed_filter() rendered `true`: a window with new runs, or the as of date. -#}
        {{ return(['all'] if entity_rebuilt(windows) else []) }}
    {%- endif -%}
    {%- set dates = windows[0].dates if windows else none -%}
    {%- if dates is none -%}
        {{ return(column_values(
            "select " ~ rebuild_unit_sql(declaration) ~ " from " ~ recomputed
            ~ " union select " ~ rebuild_unit_sql(declaration) ~ " from " ~ target_relation ~ " order by 1"
        ) | reject('none') | list) }}
    {%- endif -%}
    {%- set units = [] -%}
    {%- for value in dates -%}
        {%- set unit = (value[:4] ~ value[5:7]) if declaration.grain == 'month' else value -%}
        {%- if unit not in units %}{% do units.append(unit) %}{% endif -%}
    {%- endfor -%}
    {{ return(units | sort) }}
{%- endmacro %}

{#- A predicate on the target's partition column that keeps the replacement to the units' partitions. -#}
{% macro rebuild_prune_sql(declaration, units) -%}
    {%- if declaration.grain == 'all' -%}
        true
    {%- elif declaration.grain == 'month' -%}
        {%- set years = [] -%}
        {%- for unit in units if unit[:4] not in years %}{% do years.append(unit[:4]) %}{% endfor -%}
        target.year in ({{ years | join(', ') }})
    {%- else -%}
        target.{{ declaration.date_column }} in (
            {%- for unit in units %}date '{{ unit }}'{% if not loop.last %}, {% endif %}{% endfor -%}
        )
    {%- endif -%}
{%- endmacro %}

{#- Athena: one MERGE that replaces `units` of the target with the recomputed rows of those units. Its source has
    one row per unit to delete (`lakehouse_unit`) and one per recomputed row (`lakehouse_new_row`): a target row of
    a replaced unit matches exactly its unit's row and is deleted, a recomputed row matches nothing and is
    inserted. One statement, one Iceberg commit. -#}
{% macro replace_units_merge_sql(declaration, recomputed, target_relation, columns, units) -%}
    {%- set quoted = columns | map(attribute='quoted') | list -%}
merge into {{ target_relation }} as target
using (
    select
        recomputed.*,
        units.unit as lakehouse_unit
    from (values (cast(null as varchar)){% for unit in units %}, ('{{ unit }}'){% endfor %}) as units (unit)
    left join (
        select
            {{ quoted | join(', ') }},
            true as lakehouse_new_row
        from {{ recomputed }}
        where {{ rebuild_unit_sql(declaration) }} in ('{{ units | join("', '") }}')
    ) as recomputed
        on units.unit is null
) as src
    on src.lakehouse_unit is not null
    and {{ rebuild_unit_sql(declaration, 'target.') }} = src.lakehouse_unit
    and {{ rebuild_prune_sql(declaration, units) }}
when matched then delete
when not matched and src.lakehouse_new_row then
    insert ({{ quoted | join(', ') }})
    values ({% for column in quoted %}src.{{ column }}{% if not loop.last %}, {% endif %}{% endfor %})
{%- endmacro %}

{#- Called by the project's iceberg_merge (macros/engine/merge_bounds.sql) for a declared model: runs the
    replacement, in batches of at most `partitions_limit` units, and returns the statement dbt runs as `main`. -#}
{% macro athena_replace_units(tmp_relation, target_relation, existing_relation, on_schema_change) -%}
    {%- set declaration = rebuild_declaration() -%}
    {%- set columns = process_schema_changes(on_schema_change, tmp_relation, existing_relation) -%}
    {%- if not columns -%}
        {%- set columns = adapter.get_columns_in_relation(target_relation) -%}
    {%- endif -%}
    {%- set units = units_to_replace(declaration, tmp_relation, target_relation) -%}
    {%- set limit = (config.get('partitions_limit') or 100) | int -%}
    {%- for batch in units | batch(limit) -%}
        {%- if declaration.grain == 'all' -%}
            {%- do log(this.identifier ~ ": replacing every row in one MERGE", info=true) -%}
        {%- else -%}
            {%- do log(this.identifier ~ ": replacing " ~ batch | length ~ " " ~ declaration.grain ~ "(s) " ~ batch[0]
                       ~ " .. " ~ batch[-1] ~ " in one MERGE", info=true) -%}
        {%- endif -%}
        {%- do run_query(replace_units_merge_sql(declaration, tmp_relation, target_relation, columns, batch)) -%}
    {%- endfor -%}
    {{ return("select '" ~ units | length ~ " " ~ declaration.grain ~ "(s) replaced'") }}
{%- endmacro %}

{#- DuckDB: the incremental strategy `replace_dates` (config from rebuild_by_date()). The delete and the insert
    run in the model's transaction, so they commit together. -#}
{% macro get_incremental_replace_dates_sql(arg_dict) -%}
    {%- set declaration = rebuild_declaration() -%}
    {%- set target_relation = arg_dict['target_relation'] -%}
    {%- set recomputed = arg_dict['temp_relation'] -%}
    {%- set quoted = arg_dict['dest_columns'] | map(attribute='quoted') | list -%}
    {%- set units = units_to_replace(declaration, recomputed, target_relation) -%}
    {%- if units -%}
    delete from {{ target_relation }}
    where {{ rebuild_unit_sql(declaration) }} in ('{{ units | join("', '") }}');
    {% endif -%}
    insert into {{ target_relation }} ({{ quoted | join(', ') }})
    select {{ quoted | join(', ') }}
    from {{ recomputed }}
{%- endmacro %}
