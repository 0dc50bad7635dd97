with product_revenue as (
    select
        product_id,
        sum(revenue) as revenue,
        sum(units_sold) as units_sold
    from {{ ref('sales_summary') }}
    group by product_id
),

top_products as (
    select
        product_id,
        revenue,
        units_sold
    from product_revenue
    order by revenue desc, product_id asc
    limit {{ var('chart_top_products') }}
),

product_names as (
    select
        product_id,
        max(product_name) as product_name
    from {{ ref('sales_enriched') }}
    where product_id in (select top_products.product_id from top_products)
    group by product_id
)

select
    top_products.product_id,
    product_names.product_name,
    top_products.revenue,
    top_products.units_sold
from top_products
left join product_names
    on top_products.product_id = product_names.product_id
order by top_products.revenue desc, top_products.product_id asc
