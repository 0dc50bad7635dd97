"""Spark's floor for the ingest: the least any Spark job can do with the file, timed as the job is.

`python -m bench.spark_floor --format csv|json --source F --out D` reads the file with the text reader,
split as the job splits it, parses each line with the built-in function the job uses (`from_csv`, or
`from_json` into a map, then one column per contract key) and writes zstd Parquet: no record numbers,
no checks, no lineage columns, no pre-pass, no commit. Same process start, same session settings
(`glue_ingest.session`), same two cores. The job can be no faster than this; what it costs above it is
the price of its guarantees.
"""

from __future__ import annotations

import argparse
import os
import time

from glue_ingest.contracts import load_contract
from glue_ingest.read import csv_ddl, csv_line_options
from glue_ingest.run import IngestOptions, split_bytes
from glue_ingest.session import build_local_session, configure_session


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--format", choices=("csv", "json"), required=True)
    parser.add_argument("--source", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--dataset", required=True, help="whose contract names the JSON columns")
    args = parser.parse_args()

    from pyspark.sql import functions as F

    spark = build_local_session()
    configure_session(spark)
    # The split size the job would take for this file, on as many cores (run.ingest_dataset).
    split = split_bytes(os.path.getsize(args.source), spark.sparkContext.defaultParallelism, IngestOptions())
    spark.conf.set("spark.sql.files.maxPartitionBytes", str(split))
    started = time.perf_counter()
    value = F.col("value")
    lines = spark.read.text(args.source)
    if args.format == "csv":
        with open(args.source, encoding="utf-8") as f:
            width = len(f.readline().split(","))
        parsed = lines.select(F.from_csv(value, csv_ddl(width), csv_line_options()).alias("p")).select("p.*")
    else:
        columns = load_contract(args.dataset).column_names
        as_map = F.from_json(value, "map<string,string>").alias("m")
        parsed = lines.select(as_map).select(*[F.col("m")[c].alias(c) for c in columns])
    parsed.write.mode("overwrite").parquet(args.out)
    print(f"spark floor: {args.format} parsed and written in {time.perf_counter() - started:.1f} s", flush=True)
    spark.stop()


if __name__ == "__main__":
    main()
