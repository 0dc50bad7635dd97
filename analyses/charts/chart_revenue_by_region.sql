select
    region,
    sum(revenue) as revenue,
    sum(transaction_count) as transaction_count
from {{ ref('sales_summary') }}
group by region
order by revenue desc, region asc
