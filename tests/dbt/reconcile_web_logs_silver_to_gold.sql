{#- Gold totals equal silver totals: per event_date, the requests and errors in
    gold.daily_endpoint_metrics add up to the rows of silver.web_requests. Returns the dates that differ.
    In `dbt build`, the dates the build rebuilt (macros/tests/scope.sql). -#}
with silver_totals as (
    select
        event_date,
        count(*) as requests,
        sum(case when status_code >= 400 then 1 else 0 end) as errors
    from {{ ref('web_requests') }}
    where {{ scope_filter(ref('daily_endpoint_metrics')) }}
    group by event_date
),

gold_totals as (
    select
        event_date,
        sum(total_requests) as requests,
        sum(error_requests) as errors
    from {{ ref('daily_endpoint_metrics') }}
    where {{ scope_filter(ref('daily_endpoint_metrics')) }}
    group by event_date
)

select
    silver_totals.requests as silver_requests,
    gold_totals.requests as gold_requests,
    silver_totals.errors as silver_errors,
    gold_totals.errors as gold_errors,
    coalesce(silver_totals.event_date, gold_totals.event_date) as event_date
from silver_totals
full outer join gold_totals
    on silver_totals.event_date = gold_totals.event_date
where
    silver_totals.requests is distinct from gold_totals.requests
    or silver_totals.errors is distinct from gold_totals.errors
