select
    event_date,
    sum(views) as views,
    sum(carts) as carts,
    sum(purchases) as purchases
from {{ ref('conversion_funnel') }}
group by event_date
order by event_date asc
