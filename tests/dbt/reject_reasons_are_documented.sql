{#- Every reject_reason a silver *_rejected model holds is documented in the seed reject_reasons (layer
    silver, same dataset): returns the rejected rows whose reason the seed lacks, with their source record.
    In `dbt build`, the rows the build added (macros/tests/scope.sql). -#}
with rejected as (
    select
        'web_logs' as dataset,
        'web_requests_rejected' as rejected_model,
        reject_reason,
        _source_file,
        _record_number
    from {{ ref('web_requests_rejected') }}
    where {{ scope_filter(ref('web_requests_rejected')) }}
    union all
    select
        'sales_transactions' as dataset,
        'sales_transactions_rejected' as rejected_model,
        reject_reason,
        _source_file,
        _record_number
    from {{ ref('sales_transactions_rejected') }}
    where {{ scope_filter(ref('sales_transactions_rejected')) }}
    union all
    select
        'customers' as dataset,
        'customers_rejected' as rejected_model,
        reject_reason,
        _source_file,
        _record_number
    from {{ ref('customers_rejected') }}
    where {{ scope_filter(ref('customers_rejected')) }}
    union all
    select
        'user_events' as dataset,
        'user_events_rejected' as rejected_model,
        reject_reason,
        _source_file,
        _record_number
    from {{ ref('user_events_rejected') }}
    where {{ scope_filter(ref('user_events_rejected')) }}
),

documented as (
    select
        dataset,
        reason
    from {{ ref('reject_reasons') }}
    where layer = 'silver'
)

select
    rejected.dataset,
    rejected.rejected_model,
    rejected.reject_reason,
    rejected._source_file,
    rejected._record_number
from rejected
where
    not exists (
        select 1 from documented
        where
            documented.dataset = rejected.dataset
            and documented.reason = rejected.reject_reason
    )
