"""Shared fixtures: one local SparkSession for the whole test session, a throwaway lake, and the demo's lake.

The lake itself is testkit.Lake, the one harness of the tests and the bench."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from testkit import Lake

os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
os.environ.setdefault("PYARROW_IGNORE_TIMEZONE", "1")


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[2]")
        .appName("tests")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture
def lake(tmp_path: Path) -> Lake:
    return Lake(tmp_path / "lake")


@pytest.fixture(scope="session")
def demo_lake(tmp_path_factory: pytest.TempPathFactory) -> Lake:
    """The whole pipeline once, on a small sample of every dataset, plus the docs site: for tests that only read
    what a user would see after `make demo` (charts, data-quality report, docs site). Do not write to it."""
    lake = Lake.under(tmp_path_factory.mktemp("demo"))
    lake.run(["python", "-m", "sample_data", "--lake-root", str(lake.root), "--days", "5", "--rows-per-day", "400",
              "--seed", "11"])
    lake.make("pipeline")
    lake.make("docs")
    return lake
