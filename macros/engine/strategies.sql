{#- Incremental strategies per engine, for model configs.
    Keyed models (one row per key, replaced when a newer version arrives): `delete+insert` on DuckDB,
    `merge` on Athena (Iceberg MERGE INTO on the key). Append-only and date-rebuilt models use `append`
    on both (date-rebuilt models delete the dates they rebuild in a pre-hook first). -#}
{% macro upsert_strategy() -%}
    {{ return('merge' if target.type == 'athena' else 'delete+insert') }}
{%- endmacro %}
