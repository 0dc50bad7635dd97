{#- Tests check what the build added.

    In `dbt build`, a data test runs right after its model, in the same dbt process. The model's windows
    (macros/incremental/watermarks.sql) are kept on its node of the invocation's graph when it compiles, and a test
    of that model then reads only the rows of those windows:
    - a silver model (its rows carry `_ingest_run_id`): the rows of runs after the window's `after`, with literal
      bounds (the new partitions only, or on a table partitioned by date the data files whose run id statistics
      match);
    - a date-grain gold model: the dates it rebuilt.
    A model built in full (first build, full refresh), or not built by this invocation (`dbt test` alone), is
    tested in full, as is any model without a window. `make check-all` (the var `full_checks`) tests everything
    in full: a weekly run, for what a scoped test cannot see (a duplicate key between a new row and an old one,
    a record lost in a partition this build did not touch).

    Generic tests reach their model through get_where_subquery(), which dbt lets a project override; it is
    wrapped here, keeping the `where` config. Singular tests call scope_filter() and bronze_scope_filter(). -#}

{#- Keep `window` on the current model's node of the invocation's graph (called by window_marker()). -#}
{% macro remember_window(window, kind='window') -%}
    {%- if execute and model is defined and model.resource_type == 'model' and model.unique_id in graph.nodes -%}
        {%- set node = graph.nodes[model.unique_id] -%}
        {%- if 'lakehouse_windows' not in node -%}
            {%- do node.update({'lakehouse_windows': {}}) -%}
        {%- endif -%}
        {%- do node.lakehouse_windows.update({kind ~ ':' ~ window.upstream: window}) -%}
    {%- endif -%}
{%- endmacro %}

{#- The graph node of the model behind `relation`, or none. -#}
{% macro model_node_of(relation) -%}
    {%- for node in graph.nodes.values()
        if node.resource_type == 'model' and (node.alias or node.name) == relation.identifier
        and node.schema == relation.schema -%}
        {{ return(node) }}
    {%- endfor -%}
    {{ return(none) }}
{%- endmacro %}

{#- The windows this invocation built `relation` with, {'<kind>:<upstream>': window}, or none. -#}
{% macro model_windows(relation) -%}
    {%- if not execute or var('full_checks', false) -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set node = model_node_of(relation) -%}
    {{ return(node.get('lakehouse_windows') if node is not none else none) }}
{%- endmacro %}

{#- The windows in `windows` (from model_windows()) of one kind ('window' or 'touched'), as a list. -#}
{% macro windows_of_kind(windows, kind) -%}
    {%- set found = [] -%}
    {%- for key, window in (windows or {}).items() if key.startswith(kind ~ ':') -%}
        {%- do found.append(window) -%}
    {%- endfor -%}
    {{ return(found) }}
{%- endmacro %}

{#- Whether `windows` (from model_windows()) say this build changed nothing in the model: every window it read was
    empty and it logged no touched dates. -#}
{% macro read_nothing_new(windows) -%}
    {%- set read = windows_of_kind(windows, 'window') -%}
    {{ return(read | length > 0 and not windows_of_kind(windows, 'touched') and not recovered_in(read)
              and read | rejectattr('empty') | list | length == 0) }}
{%- endmacro %}

{#- Whether one of the windows `read` covers runs a stopped build wrote and did not record (ingest_window()'s
    `recovered`): they were never tested. -#}
{% macro recovered_in(read) -%}
    {%- for window in read if window.get('recovered') -%}
        {{ return(true) }}
    {%- endfor -%}
    {{ return(false) }}
{%- endmacro %}

{#- For the reconciliation tests: whether this build read the same new runs of `dataset` into `checked` (its
    `<dataset>_checked` model, the one reader of bronze) and into every one of `relations`, so that all of them
    can be checked on those runs only; otherwise (a first or full build, or models left at different watermarks by
    a build stopped between them) everything is checked. -#}
{% macro reconciliation_is_scoped(dataset, checked, relations) -%}
    {%- if bronze_scope_filter(dataset, checked) | trim == 'true' -%}
        {{ return(false) }}
    {%- endif -%}
    {%- set bronze_window = (model_windows(checked) or {}).get('window:bronze.' ~ dataset) -%}
    {%- for relation in relations -%}
        {%- if test_scope(relation) is none -%}
            {{ return(false) }}
        {%- endif -%}
        {%- for window in windows_of_kind(model_windows(relation), 'window')
            if window.after != bronze_window.after and not window.empty -%}
            {{ return(false) }}
        {%- endfor -%}
    {%- endfor -%}
    {{ return(true) }}
{%- endmacro %}

{#- The predicate that keeps a test of `relation` to what this build added, or none (test it all). -#}
{% macro test_scope(relation) -%}
    {%- set windows = model_windows(relation) -%}
    {%- if not windows -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set node = model_node_of(relation) -%}
    {%- set read = windows_of_kind(windows, 'window') -%}
    {%- set declaration = (node.config.meta or {}).get('rebuild') -%}
    {%- if declaration and declaration.grain == 'all' -%}
        {#- An entity-grain model (rebuild_when_changed()): rebuilt whole, or left alone when nothing was new. -#}
        {{ return(none if entity_rebuilt(read) else 'false') }}
    {%- endif -%}
    {%- set merged = keyed_gold_dates(windows, declaration) -%}
    {%- if merged is not none -%}
        {#- A keyed gold model (sales_enriched): the dates its MERGE was bounded to, on its date column. -#}
        {{ return(date_filter(merged.date_column, merged.dates)) }}
    {%- endif -%}
    {%- if read_nothing_new(windows) -%}
        {{ return('false') }}
    {%- endif -%}
    {%- if recovered_in(read) or read | length != 1 -%}
        {#- (A rerun after a stopped build: the runs that build wrote were never tested; test everything.) -#}
        {{ return(none) }}
    {%- endif -%}
    {%- set window = read[0] -%}
    {%- if declaration -%}
        {%- if window.dates is none -%}
            {{ return(none) }}
        {%- elif declaration.grain == 'month' -%}
            {%- set units = [] -%}
            {%- for value in window.dates if (value[:4] ~ value[5:7]) not in units -%}
                {%- do units.append(value[:4] ~ value[5:7]) -%}
            {%- endfor -%}
            {{ return('year * 100 + month in (' ~ (units | join(', ') if units else 'null') ~ ')') }}
        {%- else -%}
            {{ return(date_filter(declaration.date_column, window.dates)) }}
        {%- endif -%}
    {%- endif -%}
    {%- if '_ingest_run_id' not in node.columns or window.after is none -%}
        {{ return(none) }}
    {%- endif -%}
    {{ return('false' if window.empty else runs_after(window.after)) }}
{%- endmacro %}

{#- The dates a keyed gold model's MERGE was bounded to ({'date_column', 'dates'}, from its `touched` marker
    with a `date_column`), or none. -#}
{% macro keyed_gold_dates(windows, declaration) -%}
    {%- set touched = windows_of_kind(windows, 'touched') -%}
    {%- if declaration or touched | length != 1 or not touched[0].get('date_column') or touched[0].dates is none -%}
        {{ return(none) }}
    {%- endif -%}
    {{ return({'date_column': touched[0].date_column, 'dates': touched[0].dates}) }}
{%- endmacro %}

{#- dbt's get_where_subquery (the relation a generic test reads), scoped to what this build added. -#}
{% macro get_where_subquery(relation) -%}
    {%- set conditions = [] -%}
    {%- set where = config.get('where') -%}
    {%- if where -%}
        {%- do conditions.append('(' ~ where ~ ')') -%}
    {%- endif -%}
    {%- set scope = test_scope(relation) -%}
    {%- if scope is not none -%}
        {%- do conditions.append('(' ~ scope ~ ')') -%}
    {%- endif -%}
    {%- if conditions -%}
        {%- do return("(select * from " ~ relation ~ " where " ~ conditions | join(' and ') ~ ") dbt_subquery") -%}
    {%- endif -%}
    {%- do return(relation) -%}
{%- endmacro %}

{#- For singular tests: the scope of `relation` as a predicate, `true` when it is tested in full. -#}
{% macro scope_filter(relation) -%}
    {{- test_scope(relation) or 'true' -}}
{%- endmacro %}

{#- For singular tests: the bronze records of `dataset` that `model` read in this build (its window over
    bronze), `true` when it was built in full or not in this invocation. -#}
{% macro bronze_scope_filter(dataset, model_relation) -%}
    {%- set windows = model_windows(model_relation) or {} -%}
    {%- set window = windows.get('window:bronze.' ~ dataset) -%}
    {%- if window is none or window.after is none -%}
        true
    {%- elif window.empty -%}
        false
    {%- else -%}
        {{ runs_between(window.after, window.upto) }}
    {%- endif -%}
{%- endmacro %}

{#- For singular tests: the dates `model` touched in this build (its touched dates), on `column`; `false` when the
    build read nothing new into it (every window it read was empty, so it touched no date); `true` when they are
    every date or unknown. -#}
{% macro touched_scope_filter(model_relation, column) -%}
    {%- set windows = model_windows(model_relation) or {} -%}
    {%- set touched = windows_of_kind(windows, 'touched') -%}
    {%- if read_nothing_new(windows) -%}
        false
    {%- elif touched | length != 1 or touched[0].dates is none -%}
        true
    {%- else -%}
        {{ date_filter(column, touched[0].dates) }}
    {%- endif -%}
{%- endmacro %}

{#- For singular tests and `relationships`: the dates a date-grain gold model rebuilt in this build, as a filter on
    `column` of another relation (its silver upstream): `date_filter` for a day-grain model, `month_filter` for a
    month-grain one; for a keyed gold model, the dates its MERGE was bounded to; `true` when it was built in full
    or not in this invocation. -#}
{% macro rebuilt_dates_filter(model_relation, column) -%}
    {%- set windows = model_windows(model_relation) or {} -%}
    {%- set node = model_node_of(model_relation) if windows else none -%}
    {%- set declaration = (node.config.meta or {}).get('rebuild') if node is not none else none -%}
    {%- set merged = keyed_gold_dates(windows, declaration) if node is not none else none -%}
    {%- if merged is not none -%}
        {{ return(date_filter(column, merged.dates)) }}
    {%- endif -%}
    {%- set read = windows_of_kind(windows, 'window') -%}
    {%- if not declaration or declaration.grain == 'all' or read | length != 1 or read[0].dates is none -%}
        true
    {%- elif declaration.grain == 'month' -%}
        {{ month_filter(column, read[0].dates) }}
    {%- else -%}
        {{ date_filter(column, read[0].dates) }}
    {%- endif -%}
{%- endmacro %}

{#- The dates the silver model `upstream` logged as touched (ops.model_watermarks) by the builds that an
    entity-grain model `model_relation` read in this build (its window over `upstream`): a sorted 'YYYY-MM-DD'
    list, [] when that window was empty, none (every date) when the model was built in full, with the var
    `as_of_date`, or not in this invocation. -#}
{% macro upstream_touched_dates(model_relation, upstream) -%}
    {%- set window = (model_windows(model_relation) or {}).get('window:' ~ upstream) -%}
    {%- if window is none or window.after is none -%}
        {{ return(none) }}
    {%- elif window.empty -%}
        {{ return([]) }}
    {%- endif -%}
    {{ return(touched_since(upstream, window.after).dates) }}
{%- endmacro %}

{#- In a generic test: the relation of the model the test is attached to, or none. -#}
{% macro tested_model_relation() -%}
    {%- set node = graph.nodes.get(model.attached_node) if execute and model.attached_node else none -%}
    {%- if node is none -%}
        {{ return(none) }}
    {%- endif -%}
    {{ return(api.Relation.create(database=node.database, schema=node.schema, identifier=node.alias)) }}
{%- endmacro %}
