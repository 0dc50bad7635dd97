{#- Iceberg table maintenance on Athena, as a run-operation (not on every build):
        dbt run-operation iceberg_maintenance --target athena
        dbt run-operation iceberg_maintenance --target athena --args '{vacuum: false}'
    OPTIMIZE ... REWRITE DATA USING BIN_PACK compacts the small files that frequent incremental MERGEs
    and appends leave behind; VACUUM expires old snapshots and deletes unreferenced files (per the
    table's vacuum_max_snapshot_age_seconds). Run it daily or weekly, outside the build window. -#}
{% macro iceberg_maintenance(vacuum=true) %}
    {%- if target.type != 'athena' -%}
        {{ log("iceberg_maintenance: nothing to do on the " ~ target.type ~ " target (Athena/Iceberg only)", info=true) }}
        {{ return(none) }}
    {%- endif -%}
    {%- for node in graph.nodes.values()
        if node.resource_type in ['model', 'snapshot'] and node.config.get('table_type') == 'iceberg' -%}
        {%- set relation = adapter.get_relation(node.database, node.schema, node.alias) -%}
        {%- if relation is none -%}
            {{ log("iceberg_maintenance: " ~ node.schema ~ "." ~ node.alias ~ " not built yet, skipped", info=true) }}
        {%- else -%}
            {{ log("iceberg_maintenance: optimizing " ~ relation, info=true) }}
            {%- do run_query("optimize " ~ relation ~ " rewrite data using bin_pack") -%}
            {%- if vacuum -%}
                {{ log("iceberg_maintenance: vacuuming " ~ relation, info=true) }}
                {%- do run_query("vacuum " ~ relation) -%}
            {%- endif -%}
        {%- endif -%}
    {%- endfor -%}
{% endmacro %}
