select
    transaction_date,
    sum(total_amount) as revenue,
    count(*) as transaction_count
from {{ ref('sales_enriched') }}
group by transaction_date
order by transaction_date asc
