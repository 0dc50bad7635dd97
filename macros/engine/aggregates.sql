{#- Engine-specific arithmetic and aggregates used by gold models. -#}

{#- numerator / denominator as a double, null when the denominator is 0 or null.
    Casting both sides keeps Trino from doing integer division (bigint / bigint truncates there). -#}
{% macro safe_divide(numerator, denominator) -%}
    {{ return(adapter.dispatch('safe_divide')(numerator, denominator)) }}
{%- endmacro %}

{% macro default__safe_divide(numerator, denominator) -%}
    case
        when {{ denominator }} is null or {{ denominator }} = 0 then null
        else cast({{ numerator }} as double) / cast({{ denominator }} as double)
    end
{%- endmacro %}

{#- The 95th percentile of `expr` as a double.
    DuckDB: exact, `quantile_cont` (linear interpolation between the two nearest ranks).
    Athena: `approx_percentile` (a quantile digest; approximate, rank error around 1%). -#}
{% macro approx_p95(expr) -%}
    {{ return(adapter.dispatch('approx_p95')(expr)) }}
{%- endmacro %}

{% macro duckdb__approx_p95(expr) -%}
    cast(quantile_cont({{ expr }}, 0.95) as double)
{%- endmacro %}

{% macro athena__approx_p95(expr) -%}
    cast(approx_percentile({{ expr }}, 0.95) as double)
{%- endmacro %}
