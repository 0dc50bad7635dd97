{#- Keyed silver models keep every valid delivery of a record in an append-only `*_versions` model and
    derive the current row per key from it. An incremental build takes the keys that received new
    versions and picks the winner among those new versions and the key's current row: because the
    current row already beat every older version, this equals picking among all versions, so the result
    is the same as a full refresh whatever the batching. -#}

{#- The winning row per key among `candidates` (a CTE name): the first row by `order_by`
    (a SQL order-by list where the winner sorts first). -#}
{% macro pick_current_version(candidates, key, order_by, columns) -%}
    select {{ columns | join(', ') }}
    from (
        select
            {{ candidates }}.*,
            row_number() over (partition by {{ key }} order by {{ order_by }}) as version_rank
        from {{ candidates }}
    ) as ranked_versions
    where version_rank = 1
{%- endmacro %}
