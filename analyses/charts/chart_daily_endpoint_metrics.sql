select
    event_date,
    endpoint,
    total_requests,
    error_requests,
    error_rate
from {{ ref('daily_endpoint_metrics') }}
order by event_date asc, endpoint asc
