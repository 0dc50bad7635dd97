"""Figure 5: ingest throughput of the Spark job against DuckDB `COPY ... TO parquet` on the same files."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import duckdb

from bench import data
from bench.procs import dir_bytes, log
from bench.workspace import Workspace

CORES = 2


def env_2_cores() -> dict[str, str]:
    """Spark on 2 worker threads (local[2]), whatever the machine has."""
    return {"SPARK_MASTER": f"local[{CORES}]"}

CASES = (("csv", "web_logs", data.web_logs_csv, "web_logs.csv",
          "read_csv('{path}', all_varchar = true, header = true)"),
         ("json", "user_events", data.user_events_json, "user_events.jsonl",
          "read_json('{path}', format = 'newline_delimited', columns = {{{columns}}})"))
USER_EVENTS_COLUMNS = ("event_id", "user_id", "session_id", "event_type", "product_id", "category", "price",
                       "event_timestamp")


@dataclass
class IngestFigure:
    fmt: str
    dataset: str
    rows: int
    raw_bytes: int
    spark_seconds: float  # the job's wall time: process, JVM and Spark session start included
    spark_steady_seconds: float  # the dataset run alone, from the run summary (duration_seconds)
    spark_peak_rss: int
    records_written: int
    records_quarantined: int
    bronze_bytes: int
    duckdb_seconds: float
    duckdb_bytes: int
    workspace: Workspace

    @property
    def ratio(self) -> float:
        return self.spark_seconds / self.duckdb_seconds

    @property
    def steady_ratio(self) -> float:
        return self.spark_steady_seconds / self.duckdb_seconds


def source_file(work: Path, fmt: str, rows: int) -> Path:
    for case_fmt, dataset, generate, name, _ in CASES:
        if case_fmt == fmt:
            path = work / "sources" / f"{rows}" / dataset / name
            if not path.exists():
                started = time.perf_counter()
                tmp = path.with_name(f".{path.name}.tmp")
                generate(tmp, rows)
                tmp.rename(path)
                log(f"generated {path} ({path.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - started:.0f} s")
            return path
    raise ValueError(fmt)


def duckdb_copy(source_sql: str, out: Path) -> float:
    """Seconds for DuckDB to read the file and write it as Parquet (zstd, the bronze codec), in one process."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.unlink(missing_ok=True)
    with duckdb.connect() as con:
        con.execute("set enable_progress_bar = false")
        started = time.perf_counter()
        con.execute(f"copy (select * from {source_sql}) to '{out}' (format parquet, compression zstd)")
        return time.perf_counter() - started


def measure(work: Path, fmt: str, rows: int) -> IngestFigure:
    case = next(c for c in CASES if c[0] == fmt)
    _, dataset, _, name, source_template = case
    source = source_file(work, fmt, rows)
    ws = Workspace(work / f"{dataset}-{rows}").fresh()
    raw = ws.lake / "raw" / dataset / name
    raw.parent.mkdir(parents=True)
    raw.hardlink_to(source)
    log(f"ingest: {rows:,} {fmt} rows with the Spark job ...")
    result = ws.ingest(f"ingest-{dataset}-{rows}", dataset=dataset, **env_2_cores())
    summary = ws.run_summaries()[-1]
    totals = summary["totals"]
    if totals["records_read"] != rows:
        raise RuntimeError(f"the ingest read {totals['records_read']} records of {raw}, expected {rows}")
    columns = ", ".join(f"'{c}': 'VARCHAR'" for c in USER_EVENTS_COLUMNS)
    source_sql = source_template.format(path=source, columns=columns)
    log(f"ingest: {rows:,} {fmt} rows with DuckDB COPY ...")
    out = work / "duckdb-out" / f"{dataset}-{rows}.parquet"
    duck_seconds = duckdb_copy(source_sql, out)
    figure = IngestFigure(
        fmt=fmt, dataset=dataset, rows=rows, raw_bytes=source.stat().st_size, spark_seconds=result.seconds,
        spark_steady_seconds=summary["duration_seconds"], spark_peak_rss=result.peak_tree_rss,
        records_written=totals["records_written"], records_quarantined=totals["records_quarantined"],
        bronze_bytes=dir_bytes(ws.lake / "bronze" / dataset, ".parquet"), duckdb_seconds=duck_seconds,
        duckdb_bytes=out.stat().st_size, workspace=ws)
    log(f"ingest: {fmt} {rows:,} rows: spark {figure.spark_seconds:.1f} s "
        f"(steady {figure.spark_steady_seconds:.1f} s), duckdb {duck_seconds:.1f} s, ratio {figure.ratio:.1f}")
    out.unlink()
    return figure


def run_section(work: Path, sizes: list[int]) -> list[IngestFigure]:
    return [measure(work, fmt, rows) for rows in sizes for fmt in ("csv", "json")]
