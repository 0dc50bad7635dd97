"""bench/results.md from the measured figures: tables, ratios and a plain explanation of each."""

from __future__ import annotations

from typing import Any

from bench.athena_bytes import BUILD, MB, PRICE_PER_TB, AthenaFigure, NodeCost
from bench.incremental import HistoryFigure
from bench.ingest import STAGES, IngestFigure
from bench.profiling import Profile
from bench.scale import ScaleFigure

TARGET_RATIO = 1.3


def _mb(n: int) -> str:
    return f"{n / 1e6:,.1f}"


def _mib(n: int) -> str:
    return f"{n / 2**20:,.0f}"


def _rate(rows: int, seconds: float) -> str:
    return f"{rows / seconds:,.0f}" if seconds > 0 else "-"


def _table(header: list[str], rows: list[list[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return lines + [""]


def _ratio(value: float, base: float) -> float:
    return value / base if base > 0 else float("nan")


def summary_lines(ingest: list[IngestFigure], history: list[HistoryFigure]) -> list[str]:
    lines = []
    if history:
        base, rest = history[0], history[1:]
        runs = ", ".join(f"{h.days} d {_ratio(h.run_best, base.run_best):.2f}" for h in rest)
        builds = ", ".join(f"{h.days} d {_ratio(h.build_best, base.build_best):.2f}" for h in rest)
        ingests = ", ".join(f"{h.days} d {_ratio(h.ingest_seconds, base.ingest_seconds):.2f}" for h in rest)
        worst_run = max((_ratio(h.run_best, base.run_best) for h in rest), default=1.0)
        worst_build = max((_ratio(h.build_best, base.build_best) for h in rest), default=1.0)
        lines.append(f"- **Incremental cost vs history** (one new day; ratio to {base.days} days of history, "
                     f"target <= {TARGET_RATIO}): `dbt run` {runs}; `dbt build` (models + tests) {builds}; "
                     f"ingest {ingests}. The cost claim is `dbt run` (the models): "
                     f"{'met' if worst_run <= TARGET_RATIO else 'MISSED'} (worst {worst_run:.2f}); `dbt build` "
                     f"{'met' if worst_build <= TARGET_RATIO else 'missed'} (worst {worst_build:.2f}), its data "
                     f"tests scan whole tables by design. Sum of the models' own execution times in `dbt build`: "
                     + ", ".join(f"{h.days} d {_ratio(_model_seconds(h), _model_seconds(base)):.2f}" for h in rest)
                     + " (the rest of a dbt command is start-up, parsing and per-node overhead).")
        reads_new_only = all(_silver_reads_new_only(h) for h in history)
        lines.append(f"- **Silver reads new bronze only**: "
                     f"{'yes' if reads_new_only else 'NO'}: "
                     + ("every silver model's bronze scans produced only the new day's rows, from at most two "
                        "partitions (the new one and the last consumed one, re-opened by the inclusive date bound "
                        "and emptied by the run-id bound), at every history length."
                        if reads_new_only else "some silver bronze scan read more than the new day, or not all of "
                        "it (figure 6)."))
    for f in ingest:
        lines.append(f"- **Ingest {f.fmt}, {f.rows:,} rows**: Spark job {f.spark_seconds:.1f} s "
                     f"({_rate(f.rows, f.spark_seconds)} rows/s), DuckDB COPY {f.duckdb_seconds:.1f} s "
                     f"({_rate(f.rows, f.duckdb_seconds)} rows/s): ratio **{f.ratio:.1f}x** "
                     f"({f.steady_ratio:.1f}x without JVM start); bronze is {f.bronze_bytes / f.raw_bytes:.2f} "
                     f"of the raw bytes."
                     + (f" Spark's own floor on the file (read, parse, write: nothing else) is "
                        f"{f.floor_seconds:.1f} s, "
                        f"{f.floor_ratio:.1f}x DuckDB: the job is {f.spark_seconds / f.floor_seconds:.1f}x its floor."
                        if f.floor_seconds else ""))
    return lines


def _silver_reads_new_only(h: HistoryFigure) -> bool:
    """Every silver bronze scan produced at most the new day's rows of its dataset, from at most two partitions:
    the new one and the last consumed one, which the inclusive `ingest_date >=` bound re-opens (a later run of
    the same day writes to it) and the run-id bound then filters to nothing. And the new day's rows of every
    dataset were read: a profile that read no bronze (an empty window) proves nothing."""
    read: dict[str, int] = {}
    for p in h.silver_profiles:
        for s in p.bronze():
            dataset = s.source.split(":", 1)[1]
            read[dataset] = read.get(dataset, 0) + s.rows_scanned
            if (s.partitions or 0) > 2 or s.rows_scanned > h.new_day_rows.get(dataset, 0):
                return False
    return all(read.get(dataset, 0) >= rows for dataset, rows in h.new_day_rows.items())


def _model_seconds(h: HistoryFigure) -> float:
    return sum(t for n, t in h.node_seconds.items() if h.node_kinds.get(n) == "model")


def ingest_section(figures: list[IngestFigure], repeats: int = 1) -> list[str]:
    lines = ["## 5. Ingest throughput", "",
             "The Spark ingest job (`python -m glue_ingest --lake_root L --dataset <ds>`, a fresh process per run, "
             "`local[2]`) against DuckDB `COPY (select * from read_csv(..., all_varchar) / read_json(..., "
             "newline_delimited)) TO ... (FORMAT parquet, zstd)` on the same file, one after the other in the "
             "same run. *Wall* is the whole job (process, JVM and Spark start included); *steady* is the "
             "dataset run alone (`duration_seconds` in its run summary). Ratio = Spark time / DuckDB time. "
             f"The job and DuckDB are each the best of {repeats} run(s) (`--repeats`), each from a file read into "
             "the page cache just before.", ""]
    rows = [[f.fmt, f"{f.rows:,}", _mb(f.raw_bytes), f"{f.spark_seconds:.1f}", _rate(f.rows, f.spark_seconds),
             f"{f.spark_steady_seconds:.1f}", _rate(f.rows, f.spark_steady_seconds), f"{f.duckdb_seconds:.1f}",
             _rate(f.rows, f.duckdb_seconds), f"**{f.ratio:.1f}**", f"{f.steady_ratio:.1f}", _mb(f.bronze_bytes),
             f"{f.bronze_bytes / f.raw_bytes:.2f}", f"{f.duckdb_bytes / f.raw_bytes:.2f}", _mib(f.spark_peak_rss)]
            for f in figures]
    lines += _table(["format", "rows", "raw MB", "Spark wall s", "rows/s", "steady s", "rows/s", "DuckDB s",
                     "rows/s", "ratio (wall)", "ratio (steady)", "bronze MB", "bronze/raw", "DuckDB parquet/raw",
                     "Spark peak RSS MiB"], rows)
    lines += _stage_table(figures)
    lines += [
        "Why the gap, stage by stage: the job reads every file twice and DuckDB once. CSV: Spark only hands "
        "out the splits; a survey task counts the lines of each split and checks that pyarrow reads every line "
        "as Spark's parser would (else the file goes to Spark's readers), which numbers the records without a "
        "shuffle; a write task parses blocks of lines with pyarrow, checks them (field count, UTF-8) and writes "
        "zstd Parquet (`glue_ingest/stage_arrow.py`). JSON lines take the same path: the survey counts the lines "
        "of each split (and the blank ones), and the write task reads blocks of lines with `pyarrow.json` where a "
        "pattern proves a line a flat object without escapes (numbers and literals quoted first, so their text is "
        "kept), and the other lines with the exact Python parser (`glue_ingest/read/arrow_json.py`). Both write "
        "the lineage columns (`_source_file`, `_record_number`, "
        "`_ingest_run_id`, `_ingested_at`, `_extra`) on every row, which DuckDB's Parquet has none of. Reading "
        "the staged counts back and the commit take a second or two. Spark's floor is the bound on what a job "
        "that parses with Spark can reach: its text reader, `from_csv` / `from_json` (interpreted, no generated "
        "code) and Parquet writer alone cost several times DuckDB's vectorised readers per row, and a fresh "
        "process pays the JIT warm-up of each of them.", "",
        "Files: DuckDB-generated (`bench/data.py`) with the contract columns, mixed ISO-8601 forms, padded and "
        "empty values, about 0.3% of rows that silver rejects and 0.2% exact duplicates; the Python sample "
        "generator would take minutes and gigabytes for 10M rows.", ""]
    return lines


def _stage_table(figures: list[IngestFigure]) -> list[str]:
    """The job's wall time by stage, and Spark's floor (bench/spark_floor.py), each against DuckDB's COPY."""
    measured = [f for f in figures if f.stages]
    if not measured:
        return []
    lines = ["The job's wall time by stage (from its log), next to Spark's floor: a fresh process that reads the "
             "file with the same text reader and splits, parses each line with the same built-in function "
             "(`from_csv`; `from_json` into a map, one column per key) and writes zstd Parquet, with no record "
             "numbers, checks, lineage columns, pre-pass or commit (`bench/spark_floor.py`). Seconds, and in "
             "brackets the multiple of DuckDB's COPY of the same file. The pyarrow row is what a task that parses "
             "its split with Arrow (vectorised, as DuckDB is; the job does) could approach: pyarrow reads "
             "the file and writes zstd Parquet on 2 threads (CSV as text; JSON with inferred types, so numbers "
             "are not kept exact: a floor, not a reader).", ""]
    header = ["stage"] + [f"{f.fmt} {f.rows:,} rows" for f in measured]
    stage_names = [s for s in STAGES if any(f.stages.get(s) for f in measured)]
    rows = [[s] + [f"{f.stages.get(s, 0.0):.1f} ({f.stages.get(s, 0.0) / f.duckdb_seconds:.1f}x)" for f in measured]
            for s in stage_names]
    rows.append(["**whole job**"] + [f"**{f.spark_seconds:.1f} ({f.ratio:.1f}x)**" for f in measured])
    rows.append(["Spark's floor, whole process"] + [
        f"{f.floor_seconds:.1f} ({f.floor_ratio:.1f}x)" if f.floor_seconds else "-" for f in measured])
    rows.append(["pyarrow read and write, in process (no Spark)"] + [
        f"{f.arrow_seconds:.1f} ({f.arrow_seconds / f.duckdb_seconds:.1f}x)" if f.arrow_seconds else "-"
        for f in measured])
    rows.append(["DuckDB COPY"] + [f"{f.duckdb_seconds:.1f} (1.0x)" for f in measured])
    return lines + _table(header, rows)


def _scan_text(p: Profile, new_rows: int | None) -> tuple[str, str]:
    bronze = p.bronze()
    if bronze:
        files = "+".join(f"{s.files_scanned}/{s.files_total}" for s in bronze)
        parts = "+".join(str(s.partitions) for s in bronze)
        rows = sum(s.rows_scanned for s in bronze)
        b = f"{files} files, {parts} partition(s), {rows:,} rows" + (f" (new day: {new_rows:,})"
                                                                       if new_rows is not None else "")
    else:
        b = "-"
    tables = "; ".join(f"{s.source.split('.')[-1]} {s.rows_scanned:,}" for s in p.tables()) or "-"
    return b, tables


def incremental_section(figures: list[HistoryFigure], meta: dict[str, Any]) -> list[str]:
    base = figures[0]
    lines = ["## 6. Incremental cost is flat in history", "",
             f"Sample data (`python -m sample_data`, every dataset, {meta['rows_per_day']:,} rows a day, dirty), "
             "ingested one run a day and dataset (one `ingest_date` partition a day), built with `dbt build` at "
             f"{', '.join(str(f.days) for f in figures)} days; then one new day on each: its ingest (a fresh "
             "process), `dbt run` (models only) and `dbt build` (models + every data test, as `make pipeline`), "
             f"each on its own copy of the same state, best of {meta['repeats']}. Ratios are against "
             f"{base.days} days.", ""]
    rows = []
    for f in figures:
        rows.append([f.days, f"{sum(f.bronze_rows.values()):,}", sum(f.bronze_files.values()),
                     f"{sum(f.new_day_rows.values()):,}",
                     f"{f.ingest_seconds:.1f}", f"{_ratio(f.ingest_seconds, base.ingest_seconds):.2f}",
                     f"{f.ingest_steady_seconds:.1f}",
                     f"{_ratio(f.ingest_steady_seconds, base.ingest_steady_seconds):.2f}",
                     " / ".join(f"{s:.1f}" for s in f.run_seconds), f"**{_ratio(f.run_best, base.run_best):.2f}**",
                     " / ".join(f"{s:.1f}" for s in f.build_seconds),
                     f"**{_ratio(f.build_best, base.build_best):.2f}**"])
    lines += _table(["history days", "bronze rows", "bronze files", "new-day rows", "ingest s", "ratio",
                     "ingest steady s", "ratio", "dbt run s", "ratio", "dbt build s", "ratio"], rows)

    lines += ["### Bronze and tables read by each silver model in the incremental run", "",
              "Each silver model's compiled incremental SELECT run under DuckDB's profiler "
              "(`profiling_mode = 'detailed'`) in the state just before it is built: after the new day's ingest, "
              "the models are compiled, profiled and built wave by wave in the order of the DAG, so each one reads "
              "upstreams that hold the new day. Parquet files scanned of those present, distinct `ingest_date` "
              "partitions among them, rows the scan produced; then the rows scanned in warehouse tables (the "
              "model's upstream models and its own table). Only the `*_checked` models read bronze.", ""]
    header = ["model"] + [f"{f.days} d: bronze read" for f in figures] + [f"{f.days} d: tables read (rows)"
                                                                         for f in figures]
    rows = []
    for model in [p.model for p in base.silver_profiles]:
        cells_b, cells_t = [], []
        for f in figures:
            p = next((x for x in f.silver_profiles if x.model == model), None)
            if p is None:
                cells_b.append("?")
                cells_t.append("?")
                continue
            b, t = _scan_text(p, f.new_day_rows.get(p.bronze()[0].source.split(":", 1)[1]) if p.bronze() else None)
            cells_b.append(b)
            cells_t.append(t)
        rows.append([model, *cells_b, *cells_t])
    lines += _table(header, rows)

    lines += ["### Gold (and ops) models: what their incremental SELECT reads", "",
              "Profiled the same way, each just before it is built (so the changed dates are the new day's); "
              "`ops.*_day_versions` are the daily versions the entity-grain gold models are kept by. The change "
              "detection itself (`rebuild_window()`, a query on `ops.model_watermarks`) runs at "
              "compile time and is in the node times below, not here.", ""]
    header = ["model"] + [f"{f.days} d: rows scanned (table rows)" for f in figures]
    rows = []
    for model in [p.model for p in base.gold_profiles]:
        cells = []
        for f in figures:
            p = next((x for x in f.gold_profiles if x.model == model), None)
            cells.append(_scan_text(p, None)[1] if p else "?")
        rows.append([model, *cells])
    lines += _table(header, rows)

    last = figures[-1]
    lines += [f"### What grows with history (dbt build node times, {base.days} d vs {last.days} d)", ""]
    by_kind: dict[str, list[float]] = {}
    for name, kind in last.node_kinds.items():
        first = base.node_seconds.get(name, 0.0)
        acc = by_kind.setdefault(kind, [0.0, 0.0])
        acc[0] += first
        acc[1] += last.node_seconds.get(name, 0.0)
    lines += _table(["node kind", f"sum s at {base.days} d", f"sum s at {last.days} d", "ratio"],
                    [[k, f"{a:.1f}", f"{b:.1f}", f"{_ratio(b, a):.2f}"] for k, (a, b) in sorted(by_kind.items())])
    growth = sorted(((last.node_seconds.get(n, 0.0) - base.node_seconds.get(n, 0.0), n) for n in last.node_seconds),
                    reverse=True)[:10]
    lines += _table(["node (top 10 by added seconds)", "kind", f"{base.days} d s", f"{last.days} d s", "added s"],
                    [[n, last.node_kinds.get(n, "?"), f"{base.node_seconds.get(n, 0.0):.2f}",
                      f"{last.node_seconds.get(n, 0.0):.2f}", f"{d:+.2f}"] for d, n in growth])
    lines += _incremental_explanation(figures)
    return lines


def _incremental_explanation(figures: list[HistoryFigure]) -> list[str]:
    base, last = figures[0], figures[-1]
    new_only = all(_silver_reads_new_only(h) for h in figures)
    run_ratio = _ratio(last.run_best, base.run_best)
    build_ratio = _ratio(last.build_best, base.build_best)
    table_growth = []
    for p_last in last.silver_profiles + last.gold_profiles:
        p_base = next((p for p in base.silver_profiles + base.gold_profiles if p.model == p_last.model), None)
        if p_base is None:
            continue
        a = sum(s.rows_scanned for s in p_base.tables())
        b = sum(s.rows_scanned for s in p_last.tables())
        if b > a * 1.5 and b - a > 1000:
            table_growth.append(f"`{p_last.model}` ({a:,} -> {b:,} rows)")
    text = [
        "What this shows:", "",
        "- Silver's bronze reads are "
        + ("the new day's rows only at every history length" if new_only
           else "NOT limited to the new day (see the table)") + ": "
        "the literal `ingest_date >=` bound prunes partitions to the last consumed one and the new one (the "
        "bound is inclusive because a later run on the same day writes to the same partition), and the run-id "
        "bound, pushed into the Parquet scan, cuts the rows exactly.",
        f"- `dbt run` on {last.days} days costs {run_ratio:.2f}x the {base.days}-day run "
        f"({'within' if run_ratio <= TARGET_RATIO else 'over'} the {TARGET_RATIO} target); `dbt build` "
        f"{build_ratio:.2f}x ({'within' if build_ratio <= TARGET_RATIO else 'over'}); the models' own execution "
        f"times in `dbt build` sum to {_ratio(_model_seconds(last), _model_seconds(base)):.2f}x. At these sizes "
        "most of a run is fixed cost (dbt start and parse, one query per model for watermarks, connection setup), so "
        "the ratios mostly measure that fixed cost; the scans below are what would grow with data.",
        "- Reads that grow with history (warehouse tables, not bronze): "
        + (", ".join(table_growth) if table_growth else "none above 1.5x")
        + ". The known suspect: the keyed current models (`sales_transactions`, `user_events`) look up the "
        "current dates of the touched keys in their own table (`touched_dates()`, the key and date columns; "
        "`user_events` in its key directory `user_event_keys`, an 8-byte hash and a date per delivery), a "
        "scan of the whole table that cannot be pruned by key (zone maps do not help with random keys); "
        "`customers` looks up its touched keys' current rows. (The entity-grain gold tables `customer_segments` "
        "and `user_features` are kept by difference, from the touched dates only.)",
        "- The ingest of one day is flat: a fresh process whose time is JVM start plus the day's files; "
        "the manifest listing grows by one file a day.", ""]
    return text


def scale_section(f: ScaleFigure) -> list[str]:
    lines = ["## 7. Scale", "",
             f"The whole pipeline on {f.rows:,} web-log rows (one CSV, {_mb(f.raw_bytes)} MB, 10 event dates): "
             "the ingest job (`local[2]`), then `dbt build` (models and every data test; DuckDB with 2 threads). "
             "Peak memory is the resident set of the whole process tree (JVM, Python workers, dbt and DuckDB), "
             "sampled every 0.2 s." + (f" The ingest is the {f.rows:,}-row CSV run of figure 5, measured in this "
                                        "same bench run (not repeated)." if f.reused_ingest else ""), ""]
    lines += _table(["step", "wall s", "peak RSS MiB"],
                    [["ingest (Spark)", f"{f.ingest_seconds:.0f}", _mib(f.ingest_peak_rss)],
                     ["dbt build", f"{f.dbt_seconds:.0f}", _mib(f.dbt_peak_rss)],
                     ["**pipeline**", f"**{f.total_seconds:.0f}** ({f.total_seconds / 60:.1f} min)",
                      f"**{_mib(f.peak_rss)}**"]])
    lines += [f"Result: {f.silver_rows:,} rows in `silver.web_requests`, {f.gold_rows:,} in "
              "`gold.daily_endpoint_metrics`.", ""]
    return lines


def _times(value: float, base: float) -> str:
    return f"{value / base:.2f}" if base > 0 else "-"


def _model_bytes(figure: AthenaFigure, name: str) -> int:
    """A model's bytes in a build: its body, its lookups and hooks, and its tests."""
    return sum(part.get(name, NodeCost()).bytes for part in (figure.models, figure.hooks, figure.tests))


def athena_summary(figures: list[AthenaFigure]) -> list[str]:
    noops = [f for f in figures if f.noop]
    figures = [f for f in figures if not f.noop]
    if not figures:
        return []
    first, last = figures[0].total(), figures[-1].total()
    noop = [""]
    if noops:
        models = len({*noops[0].models, *noops[0].hooks, *noops[0].tests}) or 1
        noop = [f" A no-op build scans {noops[0].total().bytes / MB:,.2f} MB "
                f"({noops[0].total().bytes / MB / models:,.2f} MB per model, {models} models)."]
    if figures[-1].bronze_new_bytes:
        noop[0] += (f" Bronze read by a build is {figures[0].bronze_bytes / max(figures[0].bronze_new_bytes, 1):.2f}x"
                    f" the new day's bronze partitions with {figures[0].days} days of history and "
                    f"{figures[-1].bronze_bytes / max(figures[-1].bronze_new_bytes, 1):.2f}x with {figures[-1].days}.")
    ratio = last.bytes / max(first.bytes, 1)
    rest = _undeclared_bytes(figures[0]), _undeclared_bytes(figures[-1])
    declared = _declared(figures[-1])
    rest_text = ""
    if declared:
        rest_ratio = rest[1] / max(rest[0], 1)
        rest_text = (f" Without the models that declare a read the product's rules need ({', '.join(declared)}: "
                     f"see the table of what grows), {rest[0] / MB:,.1f} and {rest[1] / MB:,.1f} MB "
                     f"(**{rest_ratio:.2f}x**, {'within' if rest_ratio <= TARGET_RATIO else 'over'} the "
                     f"{TARGET_RATIO}x goal).")
    return [f"- **Bytes scanned per incremental build on the local Athena**: {first.bytes / MB:,.1f} MB with "
            f"{figures[0].days} days of history, {last.bytes / MB:,.1f} MB with {figures[-1].days} "
            f"(**{_times(last.bytes, first.bytes)}x**, {'within' if ratio <= TARGET_RATIO else 'over'} the "
            f"{TARGET_RATIO}x goal), in {last.statements} statements; Athena would bill "
            f"{last.billed / MB:,.0f} MB (${last.billed / 1e12 * PRICE_PER_TB:.4f}) a build, its 10 MB minimum a "
            "query being most of it at these sizes." + rest_text + noop[0]]


def _declared(figure: AthenaFigure) -> list[str]:
    """The models of `figure` that declare a history read (meta `history_read`), sorted."""
    return sorted(name for name in figure.history_reads if _model_bytes(figure, name))


def _undeclared_bytes(figure: AthenaFigure) -> int:
    """A build's bytes without those of the models that declare a history read (body, lookups, tests)."""
    return figure.total().bytes - sum(_model_bytes(figure, name) for name in _declared(figure))


def _growth_lines(base: AthenaFigure, last: AthenaFigure) -> list[str]:
    """What grows from the first history length to the last, model by model, and the reason each declares."""
    growing = sorted(((_model_bytes(last, n) - _model_bytes(base, n), n) for n in {*last.models, *last.hooks,
                      *last.tests}), reverse=True)
    growing = [(grown, name) for grown, name in growing if grown > 0.05 * MB]
    if not growing:
        return []
    lines = [f"**What grows** from {base.days} to {last.days} days of history (models whose bytes grew by more "
             "than 0.05 MB), with the reason a model declares in its YAML (`meta.history_read`) when a rule of the "
             "product needs the read:", ""]
    lines += _table(["model", f"{base.days} d MB", f"{last.days} d MB", "grew MB", "declared history read"],
                    [[f"`{name}`", f"{_model_bytes(base, name) / MB:,.2f}", f"{_model_bytes(last, name) / MB:,.2f}",
                      f"+{grown / MB:,.2f}", last.history_reads.get(name, "-")] for grown, name in growing])
    declared = _declared(last)
    if declared:
        first, rest = _undeclared_bytes(base), _undeclared_bytes(last)
        lines += [f"Without the models that declare one ({', '.join(f'`{n}`' for n in declared)}: every statement "
                  f"of theirs, flat parts included), the build scans {first / MB:,.2f} MB with {base.days} days of "
                  f"history and {rest / MB:,.2f} MB with {last.days}: **{rest / max(first, 1):.2f}x**.", ""]
    return lines


def athena_section(figures: list[AthenaFigure]) -> list[str]:
    """Figure 7: bytes scanned on the local Athena by the incremental build of one new day."""
    noops = [f for f in figures if f.noop]
    figures = [f for f in figures if not f.noop]
    base = figures[0]
    lines = ["## 7. Bytes scanned on the local Athena, per incremental build", "",
             "One new day on top of each history length, built with `dbt build --target athena` on the local Athena "
             "(dbt-athena over Trino 476 with Iceberg, `local_athena`). Bytes are Trino's physical input bytes of "
             "every statement dbt sent (`$LAKE_ROOT/.athena-local/statements.jsonl`), attributed to a model by the "
             "node in dbt-athena's query comment; a test counts for the model it is attached to. *Billed* is what "
             f"Athena would bill: at least 10 MB a query, rounded up to the megabyte, DDL free; dollars at "
             f"${PRICE_PER_TB:.0f} per TB. (The sample data is small: the 10 MB minimum makes billed bytes a count "
             "of statements here, so *scanned* is the figure that shows growth.) At these sizes *scanned* counts "
             "files, not columns: every data file is far under Trino's `parquet.small-file-threshold` (3 MB), so "
             "Trino reads each file it opens whole, and a query on two columns of a table costs the bytes of every "
             "file it opens. Narrowing the columns a query reads shows only at production file sizes.", ""]
    rows = []
    for f in figures:
        t = f.total()
        rows.append([f"{f.days}", f"{t.statements}", f"{t.bytes / MB:,.2f}",
                     _times(t.bytes, base.total().bytes), f"{t.billed / MB:,.0f}",
                     f"${t.billed / 1e12 * PRICE_PER_TB:.4f}", f"{f.failed}", f"{f.seconds:.0f}"])
    lines += _table(["days of history", "statements", "MB scanned", "vs first", "MB billed", "dollars",
                     "failed", "build s"], rows)
    if any(f.bronze_new_bytes for f in figures):
        lines += ["**Bronze read by the build**, from Trino's bytes per table (every statement of the build, tests "
                  "included), against the size of the new day's bronze partitions (the Parquet files of that "
                  "ingest date): a build reads the new day's partitions only when the two stay together and "
                  "flat in history.", ""]
        lines += _table(["days of history", "bronze MB read", "new day's bronze MB", "read / new day"],
                        [[f"{f.days}", f"{f.bronze_bytes / MB:,.3f}", f"{f.bronze_new_bytes / MB:,.3f}",
                          f"{f.bronze_bytes / f.bronze_new_bytes:.2f}" if f.bronze_new_bytes else "-"]
                         for f in figures])
    last = figures[-1]
    names = sorted({*last.models, *last.hooks, *last.tests}, key=lambda n: -_model_bytes(last, n))
    header = ["model"] + [f"{f.days} d: model / lookups+hooks / tests MB" for f in figures] \
        + [f"{last.days} d vs {base.days} d"]
    table = []
    for name in names:
        cells = [f"`{name}`"]
        for f in figures:
            m, h, t = (f.models.get(name, NodeCost()), f.hooks.get(name, NodeCost()), f.tests.get(name, NodeCost()))
            cells.append(f"{m.bytes / MB:,.2f} / {h.bytes / MB:,.2f} / {t.bytes / MB:,.2f}")
        cells.append(_times(_model_bytes(last, name), _model_bytes(base, name)))
        table.append(cells)
    table.append([f"*{BUILD}*"] + [f"{f.build.bytes / MB:,.2f}" for f in figures]
                 + [_times(last.build.bytes, base.build.bytes)])
    lines += ["Per model (its body's statements, its lookups and hooks, and its tests' statements), ordered by "
              "bytes at the longest history:", ""]
    lines += _table(header, table)
    lines += _growth_lines(base, last)
    for noop in noops:
        per_model = {name: _model_bytes(noop, name) for name in {*noop.models, *noop.hooks, *noop.tests}}
        worst = max(per_model.items(), key=lambda item: item[1]) if per_model else ("-", 0)
        lines += [f"A **no-op build** (nothing new, right after the {noop.days}-day build): "
                  f"{noop.total().statements} statements, {noop.total().bytes / MB:,.2f} MB scanned in all; the most "
                  f"for one model (with its tests) is {worst[1] / MB:,.3f} MB (`{worst[0]}`).", ""]
    return lines


def render(meta: dict[str, Any], ingest: list[IngestFigure], history: list[HistoryFigure],
           scale: ScaleFigure | None, athena: list[AthenaFigure] | None = None) -> str:
    m = meta["machine"]
    lines = ["# Benchmark results", "",
             f"Produced by `{meta['command']}` on {meta['started_at']} in {meta['seconds'] / 60:.1f} min"
             + (" (**--quick: tiny sizes, for development; not the reference figures**)" if meta["quick"] else "")
             + ".", "",
             f"Machine: {m['cores']} cores, {m['ram']} RAM, {m['os']}; Python {m['python']}, DuckDB {m['duckdb']}, "
             f"PySpark {m['pyspark']}, dbt-core {m['dbt-core']}, dbt-duckdb {m['dbt-duckdb']}, {m['java']}. "
             f"Load average (1 min) {meta['load_before'][0]:.1f} at the start and {meta['load_after'][0]:.1f} at "
             "the end: the machine is shared, so absolute times are noisy; the ratios compare measurements of "
             "the same run.", "",
             "## Summary", ""]
    lines += summary_lines(ingest, history) + athena_summary(athena or []) + [""]
    if ingest:
        lines += ingest_section(ingest, int(meta.get("repeats") or 1))
    if history:
        lines += incremental_section(history, meta)
    if scale:
        lines += scale_section(scale)
    if athena:
        lines += athena_section(athena)
    skipped = [s for s in ("ingest", "incremental", "scale", "athena") if s not in meta["sections"]]
    if skipped:
        lines += [f"Not measured in this run (`--only`): {', '.join(skipped)}.", ""]
    return "\n".join(lines).rstrip() + "\n"
