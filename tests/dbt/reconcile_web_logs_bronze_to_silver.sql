{#- Every bronze web_logs record is accounted for exactly once: it is the record kept for its request in
    silver.web_requests, or it is in silver.web_requests_rejected, or it is a removed duplicate (valid,
    and its request is in silver through another record). So
        bronze rows = silver rows + rejected rows + duplicates removed.
    Returns the records that break this (lost, placed twice, or a silver/rejected row with no bronze
    record behind it).
    In `dbt build`, only the records of the runs the build read, and their outcomes (macros/tests/scope.sql);
    a duplicate's kept request is looked up in the event dates those records fall on. -#}
{%- set scoped = reconciliation_is_scoped('web_logs', ref('web_requests'),
                                          [ref('web_requests'), ref('web_requests_rejected')]) %}
with bronze_records as (
    select *
    from {{ bronze_source('web_logs') }}
    where {{ bronze_scope_filter('web_logs', ref('web_requests')) if scoped else 'true' }}
),

validated as (
    {{ validate_web_logs('bronze_records') }}
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
            when is_rejected and reject_reason is null then 'rejected although it passes every rule'
            when is_kept and reject_reason is not null then 'kept although it breaks ' || reject_reason
        end as failure
    from classified
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
select * from orphan_failures
