"""Figure 7: the whole pipeline (ingest + dbt build) on N web-log rows, Spark and DuckDB on 2 cores."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bench import ingest as ingest_section
from bench.procs import Lake, Result, dbt, ingest, log

CORES = ingest_section.CORES


@dataclass
class ScaleFigure:
    rows: int
    raw_bytes: int
    ingest_seconds: float
    ingest_peak_rss: int
    dbt_seconds: float
    dbt_peak_rss: int
    silver_rows: int
    gold_rows: int
    reused_ingest: bool  # the ingest is the throughput section's run of the same file, in this bench run

    @property
    def total_seconds(self) -> float:
        return self.ingest_seconds + self.dbt_seconds

    @property
    def peak_rss(self) -> int:
        return max(self.ingest_peak_rss, self.dbt_peak_rss)


def env_2_cores() -> dict[str, str]:
    # Spark gets 2 worker threads; DuckDB (dbt) is given 2 threads through the profile's `threads: 2` and
    # its own default of one thread per core, which is 2 on the bench machine (reported in the header).
    return {"SPARK_MASTER": f"local[{CORES}]"}


def run_section(work: Path, rows: int, ingested: ingest_section.IngestFigure | None) -> ScaleFigure:
    if ingested is not None and ingested.rows == rows and ingested.fmt == "csv":
        ws = ingested.workspace
        ingest_seconds, ingest_rss, reused = ingested.spark_seconds, ingested.spark_peak_rss, True
        raw_bytes = ingested.raw_bytes
    else:
        source = ingest_section.source_file(work, "csv", rows)
        ws = Lake.under(work / f"scale-{rows}").fresh()
        raw = ws.root / "raw" / "web_logs" / source.name
        raw.parent.mkdir(parents=True)
        raw.hardlink_to(source)
        log(f"scale: ingest of {rows:,} web-log rows ...")
        result: Result = ingest(ws, f"scale-ingest-{rows}", **env_2_cores())
        ingest_seconds, ingest_rss, reused = result.seconds, result.peak_tree_rss, False
        raw_bytes = source.stat().st_size
    log(f"scale: dbt build on {rows:,} web-log rows ...")
    build = dbt(ws, f"scale-build-{rows}", "build", **env_2_cores())
    import duckdb

    with duckdb.connect(str(ws.warehouse), read_only=True) as con:
        silver = con.execute("select count(*) from silver.web_requests").fetchone()[0]
        gold = con.execute("select count(*) from gold.daily_endpoint_metrics").fetchone()[0]
    figure = ScaleFigure(rows=rows, raw_bytes=raw_bytes, ingest_seconds=ingest_seconds, ingest_peak_rss=ingest_rss,
                         dbt_seconds=build.seconds, dbt_peak_rss=build.peak_tree_rss, silver_rows=silver,
                         gold_rows=gold, reused_ingest=reused)
    log(f"scale: {rows:,} rows: ingest {ingest_seconds:.0f} s + dbt build {build.seconds:.0f} s, "
        f"peak RSS {figure.peak_rss / 2**20:.0f} MiB")
    return figure
