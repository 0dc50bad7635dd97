"""Raw files to bronze Parquet: the ingest job that runs as an AWS Glue 5 job and under local Spark."""
