"""A private lake with its own dbt target and log folders: deliver raw files, ingest, run dbt and make, read back.

Two ways to run each step, chosen by what a test is about:
- in this process, where the step is only the means: `ingest(spark)` (the job's own function on a shared
  SparkSession) and `dbt(...)` (dbtRunner);
- as the command a user types, where the command is what is tested: `ingest_cli()` (`python -m glue_ingest`),
  `dbt_cli(...)` (`dbt ...`, as make runs it), `make(target)`, `run([...])`.
Every lake has its own LAKE_ROOT, dbt target folder (dbt's partial-parse state) and log folder, so tests never
share state through them.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from testkit import dbt as _dbt
from testkit.commands import REPO, Result, base_env, run

# The ingest's exit 3: everything was committed, but some file was quarantined whole (README). Not a failure.
INGEST_OK = (0, 3)


@dataclass
class Lake:
    root: Path  # LAKE_ROOT
    target: Path = None  # type: ignore[assignment]  # dbt's target folder (default: dbt-target beside the lake)
    logs: Path = None  # type: ignore[assignment]  # dbt's log folder (default: dbt-logs beside the lake)
    dataset: str = "web_logs"  # the dataset that deliver(), ingest() and the layer helpers act on
    # In-process ingests start one minute after the previous one, so run ids always increase.
    clock: datetime = field(default_factory=lambda: datetime(2024, 1, 2, 3, 4, 5, 123456, tzinfo=UTC))

    def __post_init__(self) -> None:
        self.target = self.target or self.root.parent / "dbt-target"
        self.logs = self.logs or self.root.parent / "dbt-logs"

    @classmethod
    def under(cls, folder: Path, tag: str = "") -> Lake:
        """`folder`/lake, with `folder`/dbt-target[-tag] and `folder`/dbt-logs[-tag]."""
        suffix = f"-{tag}" if tag else ""
        return cls(folder / "lake", folder / f"dbt-target{suffix}", folder / f"dbt-logs{suffix}")

    # --- places --------------------------------------------------------------------------------------------

    @property
    def warehouse(self) -> Path:
        return self.root / "warehouse.duckdb"

    @property
    def raw(self) -> Path:
        return self.root / "raw" / self.dataset

    @property
    def bronze(self) -> Path:
        return self.root / "bronze" / self.dataset

    @property
    def quarantine(self) -> Path:
        return self.root / "quarantine" / self.dataset

    @property
    def command_logs(self) -> Path:
        return self.root.parent / "cmd-logs"

    def env(self, **extra: str) -> dict[str, str]:
        """The environment of this lake's commands; `extra` may override any of it (DBT_TARGET_PATH, say)."""
        return base_env(**{"LAKE_ROOT": str(self.root), "DBT_TARGET_PATH": str(self.target),
                           "DBT_LOG_PATH": str(self.logs), **extra})

    def fresh(self) -> Lake:
        """Empty the lake and its dbt folders."""
        _dbt.close_duckdb()
        for folder in (self.root, self.target, self.logs):
            shutil.rmtree(folder, ignore_errors=True)
        self.root.mkdir(parents=True)
        return self

    def copy_to(self, folder: Path) -> Lake:
        """A copy of the lake and its dbt target folder (the partial-parse state) as Lake.under(folder)."""
        _dbt.close_duckdb()
        other = Lake.under(folder)
        for source, dest in ((self.root, other.root), (self.target, other.target)):
            shutil.rmtree(dest, ignore_errors=True)
            if source.exists():
                shutil.copytree(source, dest)
        return other

    # --- raw files and the ingest ----------------------------------------------------------------------------

    def deliver(self, relative: str, content: str | bytes, dataset: str | None = None) -> Path:
        """Write a raw file byte for byte (str is UTF-8 encoded, line ends untouched)."""
        path = self.root / "raw" / (dataset or self.dataset) / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
        return path

    def paths(self, dataset: str | None = None) -> Any:
        from glue_ingest.run import DatasetPaths

        return DatasetPaths.under_lake_root(str(self.root), dataset or self.dataset)

    def next_start(self) -> datetime:
        self.clock += timedelta(minutes=1)
        return self.clock

    def ingest(self, spark: Any, ingest_date: date = date(2024, 1, 2), started_at: datetime | None = None,
               dataset: str | None = None, **options: Any) -> Any:
        """The ingest job's own function, in this process, on `spark`; returns its run summary."""
        from glue_ingest.run import IngestOptions, ingest_dataset

        start = started_at or self.next_start()
        name = dataset or self.dataset
        return ingest_dataset(spark, name, self.paths(name), ingest_date, start, IngestOptions(**options))

    def ingest_cli(self, dataset: str = "all", ingest_date: str | None = None, *, log: str | None = None,
                   ok: Sequence[int] | None = INGEST_OK, timeout: float | None = 1800, measure_memory: bool = False,
                   **env: str) -> Result:
        """`python -m glue_ingest --lake_root ... --dataset ...`, the command `make ingest` runs."""
        command = ["python", "-m", "glue_ingest", "--lake_root", str(self.root), "--dataset", dataset]
        if ingest_date:
            command += ["--ingest_date", ingest_date]
        return self.run(command, log=log, ok=ok, timeout=timeout, measure_memory=measure_memory, **env)

    # --- dbt, make and other commands ------------------------------------------------------------------------

    def _dbt_flags(self) -> list[str]:
        return ["--project-dir", str(REPO), "--profiles-dir", str(REPO / ".dbt"), "--target-path", str(self.target),
                "--log-path", str(self.logs)]

    def dbt(self, *args: str, check: bool = True, target: str = "local", manifest: bool = False,
            persist_docs: bool = True, **env: str) -> Any:
        """`dbt <args> --target <target>` in this process (testkit.dbt); returns the dbtRunnerResult.

        `manifest=True` reuses one parsed manifest per lake (see testkit.dbt). A failure raises CommandFailed
        unless `check=False`."""
        self.root.mkdir(parents=True, exist_ok=True)  # as `make dbt-build` does: DuckDB creates no folder
        args_ = [*args, "--target", target, *self._dbt_flags()]
        key = (str(self.root), str(self.target), target) if manifest else None
        return _dbt.invoke(args_, self.env(DBT_TARGET=target, **env), key, persist_docs, check)

    def dbt_cli(self, *args: str, target: str = "local", log: str | None = None, ok: Sequence[int] | None = (0,),
                timeout: float | None = 1800, measure_memory: bool = False, **env: str) -> Result:
        """`dbt <args> --target <target>` as `make` runs it: scripts/run_dbt.py, dbt with botocore's service models
        read once per process (tests/python/test_run_dbt.py shows it is the `dbt` command otherwise)."""
        return self.run(["python", "scripts/run_dbt.py", *args, "--target", target], log=log, ok=ok, timeout=timeout,
                        measure_memory=measure_memory, **env)

    def make(self, target: str, *args: str, ok: Sequence[int] | None = (0,), timeout: float = 1800,
             separate_stderr: bool = False, **env: str) -> Result:
        """`make <target> LAKE_ROOT=<lake> <args>`."""
        return self.run(["make", "--no-print-directory", target, f"LAKE_ROOT={self.root}", *args], ok=ok,
                        timeout=timeout, separate_stderr=separate_stderr, **env)

    def run(self, command: Sequence[str], *, log: str | None = None, ok: Sequence[int] | None = (0,),
            timeout: float | None = 1800, measure_memory: bool = False, separate_stderr: bool = False,
            **env: str) -> Result:
        """Any command, in the repository, with this lake's environment. `log` names a file under
        command_logs to keep its output in; a status not in `ok` raises CommandFailed (ok=None: never)."""
        log_file = self.command_logs / f"{log}.log" if log else None
        return run(command, self.env(**env), log_file, ok, timeout, measure_memory, separate_stderr)

    # --- reading back -----------------------------------------------------------------------------------------

    def query(self, sql: str) -> list[tuple]:
        """Rows of `sql` on the lake's DuckDB warehouse, opened read-only."""
        import duckdb

        _dbt.close_duckdb()
        with duckdb.connect(str(self.warehouse), read_only=True) as con:
            return con.execute(sql).fetchall()

    def parquet_files(self, layer: str = "bronze") -> list[Path]:
        return sorted((self.bronze if layer == "bronze" else self.quarantine).glob("ingest_date=*/*.parquet"))

    def duckdb_rows(self, layer: str = "bronze", columns: str = "*") -> list[tuple]:
        """Rows of this dataset's bronze (or quarantine) Parquet, read by DuckDB with the partition column."""
        import duckdb

        folder = self.bronze if layer == "bronze" else self.quarantine
        if not self.parquet_files(layer):
            return []
        files = f"{folder}/ingest_date=*/*.parquet"
        return duckdb.sql(f"select {columns} from read_parquet('{files}', hive_partitioning=true)").fetchall()

    def run_summaries(self) -> list[dict[str, Any]]:
        """Every ingest run summary (bronze/<dataset>/_runs/<run_id>.json), oldest first."""
        found = sorted(self.root.glob("bronze/*/_runs/*.json"), key=lambda p: p.name)
        return [json.loads(p.read_text()) for p in found]

    def run_results(self) -> list[dict[str, Any]]:
        """dbt's per-node results of the last dbt command on this lake (its target folder's run_results.json)."""
        return json.loads((self.target / "run_results.json").read_text())["results"]
