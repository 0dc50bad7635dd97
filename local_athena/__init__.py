"""The local Athena: dbt-athena, unchanged, over Trino 476 (the engine Athena v3 is built on) with real
Iceberg tables, and moto for S3, Glue, STS and the Athena API's bookkeeping. No AWS account, no Docker.

Modules:
    install   download Trino once into a cache outside the repository, check it, keep only its plugins we use
    java      find a Java 24+ for Trino (Spark keeps its Java 17)
    trino     Trino's configuration, its process and a minimal client of its HTTP protocol
    hive_ddl  Athena's Hive DDL (backticks, CREATE EXTERNAL TABLE, ALTER ... COLUMNS, MSCK, ...) carried out on Trino
    front     the Athena API (StartQueryExecution, GetQueryExecution, GetQueryResults, ...) in front of Trino
    stack     moto + Trino + the front for one $LAKE_ROOT: start, stop, status
    bronze    bronze Parquet and its Glue registration on the emulated S3
    compare   every silver and gold table on the local Athena against the local DuckDB build
    cli       `python -m local_athena ...`, behind `make athena-local`, `athena-query` and `athena-local-stop`
"""
