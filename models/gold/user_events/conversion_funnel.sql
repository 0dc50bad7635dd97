{#- Views, carts and purchases per day and product, with the view-to-cart and cart-to-purchase rates
    (doubles; null when the denominator is 0). Incremental by whole dates: a build recomputes every event_date that holds a version of an event
    delivered since the last build (late and corrected events included). -#}
{{ config(**rebuild_by_date(upstream='user_events', date_column='event_date')) }}

with events as (
    select *
    from {{ ref('user_events') }}
    where {{ rebuild_filter() }}
),

per_product as (
    select
        event_date,
        product_id,
        sum(case when event_type = 'view' then 1 else 0 end) as views,
        sum(case when event_type = 'add_to_cart' then 1 else 0 end) as carts,
        sum(case when event_type = 'purchase' then 1 else 0 end) as purchases
    from events
    where product_id is not null
    group by event_date, product_id
)

select
    event_date,
    product_id,
    cast(views as bigint) as views,
    cast(carts as bigint) as carts,
    cast(purchases as bigint) as purchases,
    {{ safe_divide('carts', 'views') }} as view_to_cart_rate,
    {{ safe_divide('purchases', 'carts') }} as cart_to_purchase_rate
from per_product
where views + carts + purchases > 0
