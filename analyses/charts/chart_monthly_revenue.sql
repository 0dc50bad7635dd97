select
    year,
    month,
    sum(revenue) as revenue,
    sum(transaction_count) as transaction_count
from {{ ref('sales_summary') }}
group by year, month
order by year asc, month asc
