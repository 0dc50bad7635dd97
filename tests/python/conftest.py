"""Shared fixtures: one local SparkSession for the whole test session, and a throwaway lake."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

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


@dataclass
class Lake:
    """A lake folder for one dataset, with helpers to deliver raw files and run the ingest job."""

    root: Path
    dataset: str = "web_logs"
    # Each run starts one minute after the previous one, so run ids always increase.
    clock: datetime = datetime(2024, 1, 2, 3, 4, 5, 123456, tzinfo=UTC)

    @property
    def raw(self) -> Path:
        return self.root / "raw" / self.dataset

    @property
    def bronze(self) -> Path:
        return self.root / "bronze" / self.dataset

    @property
    def quarantine(self) -> Path:
        return self.root / "quarantine" / self.dataset

    def deliver(self, relative: str, content: str | bytes) -> Path:
        """Write a raw file byte for byte (str is UTF-8 encoded, line ends untouched)."""
        path = self.raw / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
        return path

    def paths(self) -> Any:
        from glue_ingest.run import DatasetPaths

        return DatasetPaths.under_lake_root(str(self.root), self.dataset)

    def next_start(self) -> datetime:
        self.clock += timedelta(minutes=1)
        return self.clock

    def ingest(
        self,
        spark: Any,
        ingest_date: date = date(2024, 1, 2),
        started_at: datetime | None = None,
        **options: Any,
    ) -> Any:
        from glue_ingest.run import IngestOptions, ingest_dataset

        start = started_at or self.next_start()
        return ingest_dataset(spark, self.dataset, self.paths(), ingest_date, start, IngestOptions(**options))

    def parquet_files(self, layer: str = "bronze") -> list[Path]:
        return sorted((self.bronze if layer == "bronze" else self.quarantine).glob("ingest_date=*/*.parquet"))

    def duckdb_rows(self, layer: str = "bronze", columns: str = "*") -> list[tuple]:
        import duckdb

        folder = self.bronze if layer == "bronze" else self.quarantine
        if not self.parquet_files(layer):
            return []
        files = f"{folder}/ingest_date=*/*.parquet"
        sql = f"select {columns} from read_parquet('{files}', hive_partitioning=true)"
        return duckdb.sql(sql).fetchall()


@pytest.fixture
def lake(tmp_path: Path) -> Lake:
    return Lake(tmp_path / "lake")


@pytest.fixture(scope="session")
def demo_lake(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The whole pipeline once, on a small sample of every dataset, plus the docs site: for tests that only read
    what a user would see after `make demo` (charts, data-quality report, docs site). Do not write to it."""
    from tests.python.harness import Workspace

    workspace = Workspace.under(tmp_path_factory.mktemp("demo"))
    workspace.run([".venv/bin/python", "-m", "sample_data", "--lake-root", str(workspace.lake), "--days", "5",
                   "--rows-per-day", "400", "--seed", "11"])
    workspace.make("pipeline")
    workspace.make("docs")
    return workspace
