"""The Spark session: the settings bronze depends on, and a local session when not on Glue."""

from __future__ import annotations

import importlib.util
import logging
import os
import sys

from pyspark.sql import SparkSession

from glue_ingest.stage import COMPRESSION

log = logging.getLogger(__name__)


def configure_session(spark: SparkSession) -> None:
    """Session settings bronze depends on, whoever built the session (Glue, local, tests)."""
    spark.conf.set("spark.sql.session.timeZone", "UTC")
    spark.conf.set("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS")
    spark.conf.set("spark.sql.parquet.compression.codec", COMPRESSION)


def on_glue() -> bool:
    return importlib.util.find_spec("awsglue") is not None


def build_local_session() -> SparkSession:
    # Python workers (the JSON reader's parser) run this interpreter, which has glue_ingest, rather
    # than whatever `python3` is first on the PATH.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    return (
        SparkSession.builder.master(os.environ.get("SPARK_MASTER", "local[*]"))
        .appName("glue_ingest")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS")
        .config("spark.sql.parquet.compression.codec", COMPRESSION)
        .config("spark.sql.shuffle.partitions", str(max(2, os.cpu_count() or 2)))
        .getOrCreate()
    )


def quiet_csv_warnings(spark: SparkSession) -> None:
    """Spark warns on every CSV read given a two-character lineSep, which CRLF files need (it keeps
    CRLF inside quoted values as delivered); the limitation it warns about does not apply to us."""
    try:
        jvm = spark.sparkContext._jvm
        level = jvm.org.apache.logging.log4j.Level.ERROR
        jvm.org.apache.logging.log4j.core.config.Configurator.setLevel(
            "org.apache.spark.sql.catalyst.csv.CSVOptions", level
        )
    except Exception:  # only cosmetics: never fail a run for it
        log.debug("could not quiet Spark's CSVOptions warnings", exc_info=True)
