{#- Every bronze web_logs record is accounted for exactly once: it is checked once (silver.web_logs_checked),
    and it is the record kept for its request in silver.web_requests, or it is in silver.web_requests_rejected,
    or it is a removed duplicate (valid, and its request is in silver through another record). So
        bronze rows = checked rows = silver rows + rejected rows + duplicates removed.
    Returns the records that break this (lost, placed twice, or a checked/silver/rejected row with no bronze
    record behind it), and the records whose outcome disagrees with the reason silver.web_logs_checked gave them
    (rejected without a reason, kept with one). That is a check of where each record went, not of the rules:
    the reasons come from the same checked model the outcomes were built from, so a wrong rule passes here. The
    rules are checked against an independent computation (tests/python/oracle/, counts per reason and the kept
    rows) and by the unit tests of the checked models.
    In `dbt build`, only the records of the runs the build read, and their outcomes (macros/tests/scope.sql);
    a duplicate's kept request is looked up in the event dates those records fall on.
    Each relation is named once, so each is read once (Trino inlines a CTE wherever it is named): bronze, checked,
    kept and rejected are stacked and grouped by record, and each record's failures come from one pass over the
    groups (one row per record and check). -#}
{%- set scoped = reconciliation_is_scoped('web_logs', ref('web_logs_checked'),
                                          [ref('web_logs_checked'), ref('web_requests'), ref('web_requests_rejected')]) %}
with bronze_records as (
    select
        _source_file,
        _record_number
    from {{ bronze_source('web_logs') }}
    where {{ bronze_scope_filter('web_logs', ref('web_logs_checked')) if scoped else 'true' }}
),

validated as (
    select
        _source_file,
        _record_number,
        reject_reason,
        {{ web_request_id() }} as request_id
    from {{ ref('web_logs_checked') }}
    where {{ scope_filter(ref('web_logs_checked')) if scoped else 'true' }}
),

kept as (
    select
        _source_file,
        _record_number
    from {{ ref('web_requests') }}
    where {{ scope_filter(ref('web_requests')) if scoped else 'true' }}
),

kept_requests as (
    select request_id
    from {{ ref('web_requests') }}
    where {{ touched_scope_filter(ref('web_requests'), 'event_date') if scoped else 'true' }}
),

rejected as (
    select
        _source_file,
        _record_number
    from {{ ref('web_requests_rejected') }}
    where {{ scope_filter(ref('web_requests_rejected')) if scoped else 'true' }}
),

record_rows as (
    -- One row per record and relation it is in; grouped below, so that each relation is read once. Each relation
    -- counts in its own column; only the checked rows carry a reject reason and a request id.
    {%- set counted = {'bronze_records': 'bronze_rows', 'validated': 'checked_rows', 'kept': 'kept_rows',
                       'rejected': 'rejected_rows'} %}
    {%- for relation, counter in counted.items() %}
    select
        _source_file,
        _record_number,
        {%- for column in counted.values() %}
        {{ 1 if column == counter else 0 }} as {{ column }},
        {%- endfor %}
        {%- if relation == 'validated' %}
        reject_reason,
        request_id
        {%- else %}
        cast(null as varchar) as reject_reason,
        cast(null as varchar) as request_id
        {%- endif %}
    from {{ relation }}
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
),

records as (
    select
        _source_file,
        _record_number,
        sum(bronze_rows) > 0 as in_bronze,
        sum(checked_rows) as times_checked,
        min(reject_reason) as reject_reason,
        min(request_id) as request_id,
        sum(kept_rows) > 0 as is_kept,
        sum(rejected_rows) > 0 as is_rejected
    from record_rows
    group by _source_file, _record_number
),

classified as (
    select
        _source_file,
        _record_number,
        in_bronze,
        times_checked,
        reject_reason,
        is_kept,
        is_rejected,
        coalesce(
            times_checked > 0
            and reject_reason is null
            and not is_kept
            and request_id in (select kept_requests.request_id from kept_requests),
            false
        ) as is_duplicate
    from records
),

record_failures as (
    select
        _source_file,
        _record_number,
        case
            when times_checked = 0 then null
            when not (is_kept or is_rejected or is_duplicate) then 'lost: in no outcome'
            when is_kept and is_rejected then 'placed twice: kept and rejected'
            when is_rejected and reject_reason is null then 'rejected although checked gave it no reason'
            when is_kept and reject_reason is not null then 'kept although checked rejected it: ' || reject_reason
        end as outcome_failure,
        case
            when in_bronze and times_checked = 0 then 'lost: not checked'
            when times_checked > 1 then 'checked ' || cast(times_checked as varchar) || ' times'
        end as check_failure,
        case when times_checked > 0 and not in_bronze then 'checked row with no bronze record' end as checked_orphan,
        case when is_kept and not in_bronze then 'silver row with no bronze record' end as kept_orphan,
        case when is_rejected and not in_bronze then 'rejected row with no bronze record' end as rejected_orphan
    from classified
),

-- One row per record and check (a record may fail more than one), without reading the record's inputs again.
failures as (
    select
        record_failures._source_file,
        record_failures._record_number,
        case record_checks.check_number
            when 1 then record_failures.outcome_failure
            when 2 then record_failures.check_failure
            when 3 then record_failures.checked_orphan
            when 4 then record_failures.kept_orphan
            when 5 then record_failures.rejected_orphan
        end as failure
    from record_failures
    cross join (values (1), (2), (3), (4), (5)) as record_checks (check_number)
)

select
    _source_file,
    _record_number,
    failure
from failures
where failure is not null
