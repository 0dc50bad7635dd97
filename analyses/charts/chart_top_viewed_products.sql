{#- Not gold.top_products: that is a top 10 per day, which cannot be summed over days (a product just out of one
    day's top 10 would lose those views), and its latest day may be a thin day of late events. #}
select
    product_id,
    sum(views) as views,
    sum(carts) as carts,
    sum(purchases) as purchases
from {{ ref('conversion_funnel') }}
group by product_id
order by views desc, product_id asc
limit {{ var('chart_top_products') }}
