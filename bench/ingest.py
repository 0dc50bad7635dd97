"""Figure 5: ingest throughput of the Spark job against DuckDB `COPY ... TO parquet` on the same files."""

from __future__ import annotations

import re
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from bench import data
from bench.procs import BIN, Lake, dir_bytes, ingest, log, run

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
    workspace: Lake
    # Spark's floor (bench/spark_floor.py): text reader, from_csv / from_json, zstd Parquet; wall, JVM start included
    floor_seconds: float = 0.0
    # Arrow's floor (`arrow_floor`): pyarrow reads the file and writes zstd Parquet, 2 threads, in this process
    arrow_seconds: float = 0.0
    stages: dict[str, float] = field(default_factory=dict)  # the job's wall time by stage (see `job_stages`)

    @property
    def ratio(self) -> float:
        return self.spark_seconds / self.duckdb_seconds

    @property
    def steady_ratio(self) -> float:
        return self.spark_steady_seconds / self.duckdb_seconds

    @property
    def floor_ratio(self) -> float:
        return self.floor_seconds / self.duckdb_seconds if self.floor_seconds else float("nan")


# What the job's log says each stage took (stage.py and run.py log them).
_STAGE_PATTERNS = {
    # CSV: the Arrow path's survey, and Spark's pre-pass of the files it cannot take
    "pre-pass": r"(?:pre-pass over|survey of) .* in ([0-9.]+) s",
    "records read whole": r"read and counted the records of .* in ([0-9.]+) s",
    # The Arrow path's write, and Spark's
    "bronze write": r"(?:read with pyarrow: .* staged in .* file\(s\) in|bronze written to staging in) ([0-9.]+) s",
    "quarantine write": r"quarantine written to staging in ([0-9.]+) s",
}
STAGES = ("process and Spark start", *_STAGE_PATTERNS, "planning, read-back, commit")


def job_stages(log_text: str, wall: float, steady: float) -> dict[str, float]:
    """The job's wall time by stage: start (wall less the dataset run), the logged stages, and the rest of
    the dataset run (listing, planning, reading the staged counts back, the commit and the run summary)."""
    stages = {"process and Spark start": wall - steady}
    for name, pattern in _STAGE_PATTERNS.items():
        stages[name] = sum(float(m) for m in re.findall(pattern, log_text))
    stages["planning, read-back, commit"] = steady - sum(stages[n] for n in _STAGE_PATTERNS)
    return stages


def arrow_floor(fmt: str, source: Path, out: Path) -> float:
    """Seconds for pyarrow (the JSON reader's vectorised UDF uses it already) to read the file and write zstd
    Parquet on 2 threads: what a task that parsed its split with Arrow, rather than Spark's row-at-a-time
    functions, could approach. CSV as text columns; JSON with inferred types (numbers as doubles, so not
    exact: a floor, not a reader)."""
    import pyarrow as pa
    import pyarrow.csv as pa_csv
    import pyarrow.json as pa_json
    import pyarrow.parquet as pq

    pa.set_cpu_count(CORES)
    pa.set_io_thread_count(CORES)
    out.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    if fmt == "csv":
        with open(source, encoding="utf-8") as f:
            columns = f.readline().rstrip("\r\n").split(",")
        table = pa_csv.read_csv(source, convert_options=pa_csv.ConvertOptions(
            column_types={c: pa.string() for c in columns}, strings_can_be_null=False))
    else:
        table = pa_json.read_json(source)
    pq.write_table(table, out, compression="zstd")
    seconds = time.perf_counter() - started
    out.unlink()
    return seconds


def spark_floor(work: Path, fmt: str, dataset: str, source: Path) -> float:
    """Wall seconds of bench/spark_floor.py on the file (a fresh process, as the job is)."""
    ws = Lake.under(work / f"floor-{dataset}")
    out = ws.root.parent / "out"
    command = [str(BIN / "python"), "-m", "bench.spark_floor", "--format", fmt, "--source", str(source),
               "--out", str(out), "--dataset", dataset]
    result = run(command, ws.env(**env_2_cores()), ws.command_logs / f"floor-{fmt}.log")
    shutil.rmtree(out, ignore_errors=True)
    return result.seconds


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


def warm_cache(path: Path) -> None:
    """Read the file once, so that every contestant starts from the page cache: the one measured first would
    otherwise pay the disk reads the next one is spared (on this machine the cache keeps only a few GB)."""
    with open(path, "rb") as f:
        while f.read(16 * 1024 * 1024):
            pass


def measure(work: Path, fmt: str, rows: int, repeats: int = 1) -> IngestFigure:
    """The job and DuckDB's COPY, each the best of `repeats` runs (the machine is shared: the fastest run is the
    one least disturbed), then Spark's floor and pyarrow once."""
    case = next(c for c in CASES if c[0] == fmt)
    _, dataset, _, name, source_template = case
    source = source_file(work, fmt, rows)
    best = None
    for attempt in range(1, repeats + 1):
        ws = Lake.under(work / f"{dataset}-{rows}").fresh()
        raw = ws.root / "raw" / dataset / name
        raw.parent.mkdir(parents=True)
        raw.hardlink_to(source)
        log(f"ingest: {rows:,} {fmt} rows with the Spark job (run {attempt} of {repeats}) ...")
        warm_cache(source)
        result = ingest(ws, f"ingest-{dataset}-{rows}", dataset=dataset, **env_2_cores())
        summary = ws.run_summaries()[-1]
        if best is None or result.seconds < best[0].seconds:
            best = (result, summary, dir_bytes(ws.root / "bronze" / dataset, ".parquet"))
    assert best is not None
    result, summary, bronze_bytes = best
    totals = summary["totals"]
    if totals["records_read"] != rows:
        raise RuntimeError(f"the ingest read {totals['records_read']} records of {source}, expected {rows}")
    columns = ", ".join(f"'{c}': 'VARCHAR'" for c in USER_EVENTS_COLUMNS)
    source_sql = source_template.format(path=source, columns=columns)
    log(f"ingest: {rows:,} {fmt} rows with DuckDB COPY ...")
    out = work / "duckdb-out" / f"{dataset}-{rows}.parquet"
    duck_seconds = float("inf")
    for _ in range(repeats):
        warm_cache(source)
        duck_seconds = min(duck_seconds, duckdb_copy(source_sql, out))
    log(f"ingest: {rows:,} {fmt} rows with Spark's floor (text reader, parse, write) ...")
    warm_cache(source)
    floor_seconds = spark_floor(work, fmt, dataset, source)
    log(f"ingest: {rows:,} {fmt} rows with pyarrow (read, write) ...")
    warm_cache(source)
    arrow_seconds = arrow_floor(fmt, source, work / "duckdb-out" / f"{dataset}-{rows}-arrow.parquet")
    figure = IngestFigure(
        fmt=fmt, dataset=dataset, rows=rows, raw_bytes=source.stat().st_size, spark_seconds=result.seconds,
        spark_steady_seconds=summary["duration_seconds"], spark_peak_rss=result.peak_tree_rss,
        records_written=totals["records_written"], records_quarantined=totals["records_quarantined"],
        bronze_bytes=bronze_bytes, duckdb_seconds=duck_seconds,
        duckdb_bytes=out.stat().st_size, workspace=ws, floor_seconds=floor_seconds,
        arrow_seconds=arrow_seconds,
        stages=job_stages(result.output, result.seconds, summary["duration_seconds"]))
    log(f"ingest: {fmt} {rows:,} rows: spark {figure.spark_seconds:.1f} s "
        f"(steady {figure.spark_steady_seconds:.1f} s), Spark's floor {floor_seconds:.1f} s, "
        f"duckdb {duck_seconds:.1f} s, ratio {figure.ratio:.1f}")
    out.unlink()
    return figure


def run_section(work: Path, sizes: list[int], repeats: int = 1) -> list[IngestFigure]:
    return [measure(work, fmt, rows, repeats) for rows in sizes for fmt in ("csv", "json")]
