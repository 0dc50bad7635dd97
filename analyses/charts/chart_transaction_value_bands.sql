{%- set edges = var('chart_value_band_edges') %}
with banded as (
    select
        total_amount,
        case
            {%- for edge in edges %}
            when total_amount < {{ edge }} then {{ loop.index0 }}
            {%- endfor %}
            else {{ edges | length }}
        end as value_band
    from {{ ref('sales_enriched') }}
)

select
    value_band,
    count(*) as transaction_count,
    sum(total_amount) as revenue
from banded
group by value_band
order by value_band asc
