{#- Accounting checks for keyed datasets, used by the singular tests in tests/dbt/.
    Every bronze record must end in exactly one outcome relation (the versions model when it passes the
    rules, the rejected model when it does not), and no outcome row may lack its bronze record. The current
    model must hold exactly one row per key of the versions model, each row being one of its versions.
    Returns one row per failure.

    In `dbt build` the checks cover what the build added (macros/tests/scope.sql): the bronze records of the
    runs it read, their outcomes, and the current rows it wrote (each one of the build's versions, one per key).
    The key count of the whole current model against the whole versions model is part of the full check
    (`make check-all`).

    Bronze, each outcome and the current model are named once in the query, so each is read once: Trino (Athena)
    inlines a CTE wherever it is named, so a CTE named twice is a second scan of its table. Bronze and the outcomes
    are stacked and grouped by record, which finds lost records, records placed twice and outcome rows without a
    bronze record in one pass. (The versions model, one of the outcomes, is read a second time for the current-row
    check; the full check also counts the keys of the whole current and versions models.) -#}
{% macro bronze_accounting_failures(dataset, checked, outcomes, versions, current, key) -%}
{#- Scoped only when this build read the same new runs into every model checked; otherwise everything is checked. -#}
{%- set scoped = reconciliation_is_scoped(dataset, checked, [checked] + outcomes + [current]) %}
with record_rows as (
    -- One row per bronze record and per outcome row; grouped below, so that each relation is read once.
    select
        _source_file,
        _record_number,
        1 as bronze_rows,
        0 as outcome_rows
    from {{ bronze_source(dataset) }}
    where {{ bronze_scope_filter(dataset, checked) if scoped else 'true' }}
    {%- for outcome in outcomes %}
    union all
    select
        _source_file,
        _record_number,
        0 as bronze_rows,
        1 as outcome_rows
    from {{ outcome }}
    where {{ scope_filter(outcome) if scoped else 'true' }}
    {%- endfor %}
),

accounted as (
    select
        _source_file,
        _record_number,
        sum(bronze_rows) > 0 as in_bronze,
        sum(outcome_rows) as times_placed
    from record_rows
    group by _source_file, _record_number
),

current_rows as (
    select
        {{ key }} as record_key,
        _source_file,
        _record_number,
        count(*) over (partition by {{ key }}) as rows_of_key
    from {{ current }}
    where {{ scope_filter(current) if scoped else 'true' }}
),

current_checked as (
    select
        current_rows.record_key,
        current_rows._source_file,
        current_rows._record_number,
        current_rows.rows_of_key,
        versions._source_file is not null as is_version
    from current_rows
    left join (
        select
            _source_file,
            _record_number
        from {{ versions }}
        where {{ scope_filter(current) if scoped else 'true' }}
    ) as versions
        on
            current_rows._source_file = versions._source_file
            and current_rows._record_number = versions._record_number
)

select
    _source_file,
    _record_number,
    case
        when times_placed = 0 then 'lost: in no outcome'
        when not in_bronze and times_placed > 1
            then 'outcome row with no bronze record, placed ' || cast(times_placed as varchar) || ' times'
        when not in_bronze then 'outcome row with no bronze record'
        else 'placed ' || cast(times_placed as varchar) || ' times'
    end as failure
from accounted
where times_placed <> 1 or not in_bronze
union all
select
    _source_file,
    _record_number,
    case
        when not is_version then 'current row that is not a version'
        else 'current row of a key with ' || cast(rows_of_key as varchar) || ' current rows'
    end as failure
from current_checked
where not is_version or rows_of_key > 1
{%- if not scoped %}
union all
select
    cast(null as varchar) as _source_file,
    cast(null as bigint) as _record_number,
    'current holds ' || cast(current_keys as varchar) || ' keys, versions ' || cast(version_keys as varchar)
        as failure
from (
    select
        (select count(distinct {{ key }}) from {{ current }}) as current_keys,
        (select count(distinct {{ key }}) from {{ versions }}) as version_keys
) as key_counts
where current_keys <> version_keys
{%- endif %}
{%- endmacro %}
