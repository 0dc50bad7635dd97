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

{#- Whole days from `start_date` to `end_date` (end - start) as an integer. -#}
{% macro days_between(start_date, end_date) -%}
    {{ return(adapter.dispatch('days_between')(start_date, end_date)) }}
{%- endmacro %}

{% macro duckdb__days_between(start_date, end_date) -%}
    date_diff('day', cast({{ start_date }} as date), cast({{ end_date }} as date))
{%- endmacro %}

{% macro athena__days_between(start_date, end_date) -%}
    date_diff('day', cast({{ start_date }} as date), cast({{ end_date }} as date))
{%- endmacro %}

{#- The as-of date of entity-grain gold models: the dbt var `as_of_date` (YYYY-MM-DD) when given, else the
    greatest value of `default_column` in `relation`. Renders a scalar SQL expression. -#}
{% macro as_of_date(relation, default_column) -%}
    {%- if var('as_of_date', none) -%}
        date '{{ var("as_of_date") }}'
    {%- else -%}
        (select max({{ default_column }}) from {{ relation }})
    {%- endif -%}
{%- endmacro %}
