select
    days_since_last_event,
    max(as_of_date) as as_of_date,
    count(*) as user_count
from {{ ref('user_features') }}
group by days_since_last_event
order by days_since_last_event asc
