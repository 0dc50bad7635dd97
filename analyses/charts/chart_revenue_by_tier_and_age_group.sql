select
    coalesce(membership_tier, 'unknown') as membership_tier,
    coalesce(age_group, 'unknown') as age_group,
    sum(total_amount) as revenue,
    count(*) as transaction_count
from {{ ref('sales_enriched') }}
group by coalesce(membership_tier, 'unknown'), coalesce(age_group, 'unknown')
order by membership_tier asc, age_group asc
