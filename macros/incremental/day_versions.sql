{#- Entity rollups kept by difference: a per-entity table (one row per user) summed from a date-grain gold model
    (one row per user and day) without reading the whole of it on every build.

    A date-grain gold model replaces whole dates, so the rows a date had before a build are gone after it. Its
    *day versions* model keeps them: an append-only log of every state of every rebuilt date (ops.user_day_versions
    for gold.user_days), one batch per build. A batch is tagged with the ingest run of the upstream it reflects
    (`_ingest_run_id`, `ingest_date`: the watermark the date-grain model had consumed) and holds the rebuilt dates'
    rows, plus a removal row (`is_removed`) for each (date, key) the date had in its previous batch and has no more.
    The state of a (date, key) as of a batch is its newest row up to that batch, unless that row is a removal.

    The rollup (gold.user_features) carries in every row the batch it reflects (its own `_ingest_run_id`: one
    value for the whole table, written in the same statement as the data, so it can never disagree with it). A
    build reads the dates of the batches after that one, and adds, per entity, the (date, key) states as of the
    newest batch minus those as of its own: counts and sums exactly. A first (or last) event is kept when its date
    was not rebuilt, and otherwise taken from the rebuilt dates' newest rows when they reach back (forward) to that
    date; the few entities for which neither holds (a correction emptied their first or last day) are summed again
    from every date. A first or full build, a full copy among the new batches (`is_full_copy`: the versions were
    rebuilt), or the var `as_of_date` sum every date's newest rows.

    Cost: the rollup's own rows and the rebuilt dates' versions, flat in history; summing an entity again reads the
    whole versions model, and happens only when a correction empties its first or last day. -#}

{#- The batch the current day versions model appends: the dates the silver model `touched` logged as touched
    (macros/incremental/watermarks.sql) since this model's last batch, up to the watermark that `source` (the model
    the versions copy: the date-grain gold model, or `touched` itself) has recorded over `source_upstream`, so that
    a batch never runs ahead of what `source` holds. {'upstream', 'after', 'upto', 'empty', 'dates'}: `dates` none
    for a copy of every date (a first or full build, or a full build of `touched`). -#}
{% macro day_versions_window(touched, source, source_upstream) -%}
    {%- if not execute or this is none or in_unit_test() -%}
        {{ return({'upstream': touched, 'after': none, 'upto': none, 'empty': false, 'dates': none}) }}
    {%- endif -%}
    {%- if is_incremental() and var('assume_changed_dates', none) is not none -%}
        {{ return({'upstream': touched, 'after': var('assume_watermark', none), 'upto': var('assume_upto', none),
                   'empty': false, 'dates': var('assume_changed_dates') | map('string') | list}) }}
    {%- endif -%}
    {%- set after = none -%}
    {%- if is_incremental() -%}
        {#- A batch written by a build that stopped before recording it counts as written (no batch twice). -#}
        {%- set recorded = recorded_upto(this.identifier, touched) -%}
        {%- set after = newest_run(this, recorded) or recorded -%}
    {%- endif -%}
    {%- set upto = recorded_upto(source, source_upstream) -%}
    {%- if upto is none or (after is not none and upto.run_id <= after.run_id) -%}
        {{ return({'upstream': touched, 'after': after, 'upto': upto, 'empty': true, 'dates': []}) }}
    {%- endif -%}
    {%- set dates = touched_since(touched, after, upto).dates if after is not none else none -%}
    {{ return({'upstream': touched, 'after': after, 'upto': upto, 'empty': false, 'dates': dates}) }}
{%- endmacro %}

{#- The (date, key) pairs of a day versions `relation` present as of a batch: each pair's newest row among those
    `where` keeps (its dates, and up to the batch), unless that row is a removal. -#}
{% macro day_versions_present_sql(relation, date_column, key, where) -%}
    select
        {{ date_column }},
        {{ key }}
    from (
        select
            {{ date_column }},
            {{ key }},
            is_removed,
            row_number() over (partition by {{ date_column }}, {{ key }} order by _ingest_run_id desc) as batch_rank
        from {{ relation }}
        where {{ where }}
    ) as ranked_versions
    where batch_rank = 1 and not is_removed
{%- endmacro %}

{#- The body of a day versions model's CTE of the (date, key) pairs that each date of `window` had in its newest
    batch so far: a date's rebuilt rows that lack one of them make its removal row. None on a first or full build;
    on a copy of every date into an existing table (after a full build of the silver model) it reads the whole
    table, once. -#}
{% macro day_versions_previous_keys(window, date_column, key) -%}
    {%- if is_incremental() and not window.empty -%}
    {{ day_versions_present_sql(this, date_column, key, date_filter(date_column, window.dates)) }}
    {%- else -%}
    select
        cast(null as date) as {{ date_column }},
        cast(null as varchar) as {{ key }}
    where false
    {%- endif -%}
{%- endmacro %}

{#- The `_ingest_run_id` and `ingest_date` literals of a watermark ({'run_id', 'ingest_date'} or none). -#}
{% macro batch_literals(watermark) -%}
    {%- if watermark is none -%}
        cast(null as varchar) as _ingest_run_id,
        cast(null as date) as ingest_date
    {%- else -%}
        cast('{{ watermark.run_id }}' as varchar) as _ingest_run_id,
        date '{{ watermark.ingest_date }}' as ingest_date
    {%- endif -%}
{%- endmacro %}

{#- What the current rollup reads from `versions` (its day versions model): {'upstream', 'after', 'upto', 'empty',
    'mode', 'dates', 'recompute'}.
    - mode 'delta': add the batches after `after` (its own batch) up to `upto`, on `dates`; `recompute` lists the
      entities to sum again from every date.
    - mode 'full': sum every date's newest rows up to `upto` (a first or full build, a full copy among the new
      batches, the var `as_of_date` or the build after one).
    - mode 'none' (`empty`): no new batch; the table stays as it is. With `refresh` (the model rewrites its rows for
      another upstream), mode 'delta' with no dates instead, still `empty`.
    `key`, `first_column` and `last_column` name the entity key and the timestamps of its first and last event, in
    both models. -#}
{% macro rollup_window(versions, upstream, key, first_column, last_column, date_column='event_date',
                       refresh=false) -%}
    {%- if not execute or this is none or in_unit_test() -%}
        {{ return({'upstream': upstream, 'after': none, 'upto': none, 'empty': false, 'mode': 'full',
                   'dates': none, 'recompute': []}) }}
    {%- endif -%}
    {%- set as_of = var('as_of_date', none) -%}
    {%- set after = none -%}
    {%- if is_incremental() -%}
        {%- set after = var('assume_watermark', none) if var('assume_changed_dates', none) is not none
                        else newest_run(this, none) -%}
    {%- endif -%}
    {%- set full = not is_incremental() or after is none or as_of is not none
                   or (var('assume_changed_dates', none) is none and last_build_had_as_of()) -%}
    {%- set name = upstream ~ ('@as_of' if as_of is not none else '') -%}
    {%- if full -%}
        {%- set upto = newest_run(versions, none) -%}
        {{ return({'upstream': name, 'after': none if as_of is not none else after, 'upto': upto,
                   'empty': upto is none and is_incremental(), 'mode': 'full', 'dates': none, 'recompute': []}) }}
    {%- endif -%}
    {%- if var('assume_changed_dates', none) is not none -%}
        {{ return({'upstream': name, 'after': after, 'upto': var('assume_upto', none), 'empty': false,
                   'mode': 'delta', 'dates': var('assume_changed_dates') | map('string') | list,
                   'recompute': []}) }}
    {%- endif -%}
    {#- The dates of the new batches, the newest batch, and whether one of them is a full copy: read from the batches
        after ours only (their run id statistics skip the older data files). -#}
    {%- set result = run_query(
        "select cast(" ~ date_column ~ " as varchar), max(_ingest_run_id), cast(max(ingest_date) as varchar),"
        ~ " max(case when is_full_copy then 1 else 0 end) from " ~ versions ~ " where " ~ runs_after(after)
        ~ " group by " ~ date_column ~ " order by 1") -%}
    {%- if result.rows | length == 0 -%}
        {#- Nothing new to add. With `refresh` (another upstream changed, so every row is rewritten) a delta of no
            dates: this table's own rows, still as of its own batch. -#}
        {{ return({'upstream': name, 'after': after, 'upto': after if refresh else none, 'empty': true,
                   'mode': 'delta' if refresh else 'none', 'dates': [], 'recompute': []}) }}
    {%- endif -%}
    {%- set state = namespace(upto=none, full=false) -%}
    {%- set dates = [] -%}
    {%- for row in result.rows -%}
        {%- do dates.append(row[0]) -%}
        {%- if state.upto is none or row[1] > state.upto.run_id -%}
            {%- set state.upto = {'run_id': row[1], 'ingest_date': row[2]} -%}
        {%- endif -%}
        {%- if row[3] == 1 %}{% set state.full = true %}{% endif -%}
    {%- endfor -%}
    {%- if state.full -%}
        {{ return({'upstream': name, 'after': after, 'upto': state.upto, 'empty': false, 'mode': 'full',
                   'dates': none, 'recompute': []}) }}
    {%- endif -%}
    {%- set recompute = column_values(rollup_recompute_sql(versions, key, first_column, last_column, date_column,
                                                           dates, state.upto)) -%}
    {%- if recompute | length > 1000 -%}
        {#- (Not a few: summing everyone again is as cheap, and keeps the statement short.) -#}
        {{ return({'upstream': name, 'after': after, 'upto': state.upto, 'empty': false, 'mode': 'full',
                   'dates': none, 'recompute': []}) }}
    {%- endif -%}
    {{ return({'upstream': name, 'after': after, 'upto': state.upto, 'empty': false, 'mode': 'delta',
               'dates': dates, 'recompute': recompute}) }}
{%- endmacro %}

{#- The entities of the current rollup whose first or last event was on a rebuilt date that no longer reaches back
    (forward) to it: no row of theirs, as of `upto`, on that date or before it (after it) among the rebuilt dates. -#}
{% macro rollup_recompute_sql(versions, key, first_column, last_column, date_column, dates, upto) -%}
    with rebuilt as (
        select
            {{ key }},
            min({{ date_column }}) as first_date,
            max({{ date_column }}) as last_date
        from ({{ day_versions_present_sql(versions, date_column, key,
                                          date_filter(date_column, dates) ~ " and _ingest_run_id <= '"
                                          ~ upto.run_id ~ "'") }}) as present
        group by {{ key }}
    )

    select current_rows.{{ key }}
    from {{ this }} as current_rows
    left join rebuilt
        on current_rows.{{ key }} = rebuilt.{{ key }}
    where
        ({{ date_filter('cast(current_rows.' ~ first_column ~ ' as date)', dates) }}
            and (rebuilt.first_date is null or rebuilt.first_date > cast(current_rows.{{ first_column }} as date)))
        or ({{ date_filter('cast(current_rows.' ~ last_column ~ ' as date)', dates) }}
            and (rebuilt.last_date is null or rebuilt.last_date < cast(current_rows.{{ last_column }} as date)))
    order by 1
{%- endmacro %}

{#- Three CTEs of a rollup, `versions`, `batches` and `day_rows`, for a window from rollup_window(): `day_rows` has
    `columns` of `versions` and `sign`, +1 for a (date, key) as it is now (its newest row up to the window's `upto`)
    and -1, in a delta build, for it as the rollup counted it (its newest row up to the rollup's own batch), removal
    rows left out. `versions` reads the window's dates (every date on a full build) and every date of the entities
    summed again, when `read`; `where` narrows it further (the var `as_of_date`) and may end in window markers. -#}
{% macro rollup_signed_rows(window, versions, key, date_column, columns, read='true', where='true') -%}
    {%- set delta = window.mode == 'delta' -%}
    {%- set scope = date_filter(date_column, window.dates) if delta else 'true' -%}
    {%- if window.recompute -%}
        {%- set scope = '(' ~ scope ~ ' or ' ~ key ~ ' in ' ~ rollup_key_list(window) ~ ')' -%}
    {%- endif -%}
versions as (
    -- The day versions this build adds: the rebuilt dates' batches (a delta build) or every date's, up to the newest;
    -- and, for the entities summed again, every date's.
    select
        {{ date_column }},
        {{ key }},
        {%- for column in columns %}
        {{ column }},
        {%- endfor %}
        is_removed,
        _ingest_run_id,
        {{ key ~ ' in ' ~ rollup_key_list(window) if window.recompute else 'false' }} as summed_again
    from {{ versions }}
    where
        {{ read }} and {{ "_ingest_run_id <= '" ~ window.upto.run_id ~ "'" if window.upto is not none else 'true' }}
        and {{ scope }}
        and {{ where }}
),

batches as (
    -- Per key and date: its newest batch, and (a delta build, not for the entities summed again) its newest batch
    -- as of this table's own (null: the key had no row on the date then).
    select
        {{ date_column }},
        {{ key }},
        max(_ingest_run_id) as new_batch,
        {%- if delta %}
        max(case when _ingest_run_id <= '{{ window.after.run_id }}' and not summed_again then _ingest_run_id end)
            as old_batch
        {%- else %}
        cast(null as varchar) as old_batch
        {%- endif %}
    from versions
    group by {{ date_column }}, {{ key }}
),

day_rows as (
    -- +1: a key's day as it is now; -1: as this table counted it.
    select
        {%- for column in [key, date_column] + columns %}
        versions.{{ column }},
        {%- endfor %}
        case when versions._ingest_run_id = batches.new_batch then 1 else -1 end as sign
    from versions
    inner join batches
        on
            versions.{{ date_column }} = batches.{{ date_column }}
            and versions.{{ key }} = batches.{{ key }}
            and (versions._ingest_run_id = batches.new_batch or versions._ingest_run_id = batches.old_batch)
    where not versions.is_removed
)
{%- endmacro %}

{#- `('k1', 'k2', …)`: the entities a window sums again, as a literal list. -#}
{% macro rollup_key_list(window) -%}
    ('{{ window.recompute | join("', '") }}')
{%- endmacro %}

{#- The predicate that keeps a rollup's own rows it carries over: all but the entities summed again. -#}
{% macro rollup_carried_over(window, key) -%}
    {{ key ~ ' not in ' ~ rollup_key_list(window) if window.recompute else 'true' }}
{%- endmacro %}
