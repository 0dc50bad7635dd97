{#- Accounting checks for keyed datasets, used by the singular tests in tests/dbt/.
    Every bronze record must end in exactly one outcome relation (the versions model when it passes the
    rules, the rejected model when it does not), and no outcome row may lack its bronze record. The current
    model must hold exactly one row per key of the versions model, each row being one of its versions.
    Returns one row per failure.

    In `dbt build` the checks cover what the build added (macros/tests/scope.sql): the bronze records of the
    runs it read, their outcomes, and the current rows it wrote (each one of the build's versions, one per key).
    The key count of the whole current model against the whole versions model is part of the full check
    (`make check-all`). -#}
{% macro bronze_accounting_failures(dataset, checked, outcomes, versions, current, key) -%}
{#- Scoped only when this build read the same new runs into every model checked; otherwise everything is checked. -#}
{%- set scoped = reconciliation_is_scoped(dataset, checked, [checked] + outcomes + [current]) %}
with bronze_records as (
    select
        _source_file,
        _record_number
    from {{ bronze_source(dataset) }}
    where {{ bronze_scope_filter(dataset, checked) if scoped else 'true' }}
),

outcome_records as (
    {%- for outcome in outcomes %}
    select
        _source_file,
        _record_number
    from {{ outcome }}
    where {{ scope_filter(outcome) if scoped else 'true' }}
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
),

placements as (
    select
        _source_file,
        _record_number,
        count(*) as times_placed
    from outcome_records
    group by _source_file, _record_number
),

current_rows as (
    select
        {{ key }} as record_key,
        _source_file,
        _record_number
    from {{ current }}
    where {{ scope_filter(current) if scoped else 'true' }}
)

select
    bronze_records._source_file,
    bronze_records._record_number,
    'lost: in no outcome' as failure
from bronze_records
left join placements
    on
        bronze_records._source_file = placements._source_file
        and bronze_records._record_number = placements._record_number
where placements._source_file is null
union all
select
    _source_file,
    _record_number,
    'placed ' || cast(times_placed as varchar) || ' times' as failure
from placements
where times_placed > 1
union all
select
    placements._source_file,
    placements._record_number,
    'outcome row with no bronze record' as failure
from placements
left join bronze_records
    on
        placements._source_file = bronze_records._source_file
        and placements._record_number = bronze_records._record_number
where bronze_records._source_file is null
union all
select
    current_rows._source_file,
    current_rows._record_number,
    'current row that is not a version' as failure
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
where versions._source_file is null
{%- if scoped %}
union all
select
    cast(null as varchar) as _source_file,
    cast(null as bigint) as _record_number,
    'current rows of this build hold ' || cast(count(*) as varchar) || ' rows for '
        || cast(count(distinct record_key) as varchar) || ' keys' as failure
from current_rows
having count(*) <> count(distinct record_key)
{% else %}
union all
select
    cast(null as varchar) as _source_file,
    cast(null as bigint) as _record_number,
    'current holds ' || cast(current_keys as varchar) || ' keys, versions ' || cast(version_keys as varchar)
        as failure
from (
    select
        (select count(distinct record_key) from current_rows) as current_keys,
        (select count(*) from current_rows) as current_count,
        (select count(distinct {{ key }}) from {{ versions }}) as version_keys
) as key_counts
where current_keys <> version_keys or current_count <> current_keys
{%- endif %}
{%- endmacro %}
