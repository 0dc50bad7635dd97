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
    a duplicate's kept request is looked up in the event dates those records fall on. -#}
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
        _record_number,
        request_id
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

classified as (
    select
        validated._source_file,
        validated._record_number,
        validated.reject_reason,
        kept._source_file is not null as is_kept,
        rejected._source_file is not null as is_rejected,
        validated.reject_reason is null
        and kept._source_file is null
        and validated.request_id in (select kept_requests.request_id from kept_requests)
            as is_duplicate
    from validated
    left join kept
        on
            validated._source_file = kept._source_file
            and validated._record_number = kept._record_number
    left join rejected
        on
            validated._source_file = rejected._source_file
            and validated._record_number = rejected._record_number
),

bronze_failures as (
    select
        _source_file,
        _record_number,
        case
            when not (is_kept or is_rejected or is_duplicate) then 'lost: in no outcome'
            when is_kept and is_rejected then 'placed twice: kept and rejected'
            when is_rejected and reject_reason is null then 'rejected although checked gave it no reason'
            when is_kept and reject_reason is not null then 'kept although checked rejected it: ' || reject_reason
        end as failure
    from classified
),

checked_failures as (
    select
        bronze_records._source_file,
        bronze_records._record_number,
        'lost: not checked' as failure
    from bronze_records
    where
        not exists (
            select 1 from validated
            where
                validated._source_file = bronze_records._source_file
                and validated._record_number = bronze_records._record_number
        )
    union all
    select
        _source_file,
        _record_number,
        'checked ' || cast(count(*) as varchar) || ' times' as failure
    from validated
    group by _source_file, _record_number
    having count(*) > 1
    union all
    select
        _source_file,
        _record_number,
        'checked row with no bronze record' as failure
    from validated
    where
        not exists (
            select 1 from bronze_records
            where
                bronze_records._source_file = validated._source_file
                and bronze_records._record_number = validated._record_number
        )
),

orphan_failures as (
    select
        _source_file,
        _record_number,
        'silver row with no bronze record' as failure
    from kept
    where
        not exists (
            select 1 from bronze_records
            where
                bronze_records._source_file = kept._source_file
                and bronze_records._record_number = kept._record_number
        )
    union all
    select
        _source_file,
        _record_number,
        'rejected row with no bronze record' as failure
    from rejected
    where
        not exists (
            select 1 from bronze_records
            where
                bronze_records._source_file = rejected._source_file
                and bronze_records._record_number = rejected._record_number
        )
)

select * from bronze_failures
where failure is not null
union all
select * from checked_failures
union all
select * from orphan_failures
