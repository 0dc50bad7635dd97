select
    event_hour,
    sum(purchases) as purchases,
    sum(revenue) as revenue,
    min(event_date) as first_date,
    max(event_date) as last_date
from {{ ref('hourly_revenue') }}
group by event_hour
order by event_hour asc
