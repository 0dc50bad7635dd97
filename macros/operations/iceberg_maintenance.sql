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
            {%- set name = adapter.quote(relation.schema) ~ "." ~ adapter.quote(relation.identifier) -%}
            {#- Athena ends an OPTIMIZE or VACUUM that has more work than one run may do with
                ICEBERG_OPTIMIZE_MORE_RUNS_NEEDED / ICEBERG_VACUUM_MORE_RUNS_NEEDED, exactly on the fragmented
                tables this operation exists for. dbt-athena's own helper runs the statement again until it
                finishes; a plain run_query would fail the operation there. -#}
            {{ log("iceberg_maintenance: optimizing " ~ name, info=true) }}
            {%- do adapter.run_operation_with_potential_multiple_runs(
                "optimize " ~ name ~ " rewrite data using bin_pack", "optimize") -%}
            {%- if vacuum -%}
                {{ log("iceberg_maintenance: vacuuming " ~ name, info=true) }}
                {%- do adapter.run_operation_with_potential_multiple_runs("vacuum " ~ name, "vacuum") -%}
            {%- endif -%}
        {%- endif -%}
    {%- endfor -%}
{% endmacro %}
