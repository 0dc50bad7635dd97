"""Figure 6: the cost of one new day, incrementally, on 7, 30 and 90 days of history.

One chain of daily ingest runs (sample data, every dataset, one `ingest_date` partition a day) is built up
to the longest history; at each history length H the lake is built with `dbt build` and copied. Then, on each
copy, the next day arrives: its ingest (a fresh `python -m glue_ingest` process, as the daily job), then
`dbt run` (models only) and `dbt build` (models + data tests, as `make pipeline`) on separate copies of the same
state, each repeated; the fastest repeat counts. A further copy builds the models wave by wave in the order of the
DAG (a model after everything it reads), and runs each model's compiled incremental SELECT under DuckDB's
profiler just before its wave is built, so every window holds the new day: the bronze files, partitions and rows
it reads, and the rows it reads in warehouse tables.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb

from bench.history import deliver, files_by_day
from bench.procs import BIN, Lake, dbt, ingest, log, run
from bench.profiling import Profile, compiled_models, profile_select

START = date(2026, 11, 1)
# The incremental models, profiled wave by wave; ops (the day versions kept for gold) is reported with gold.
LAYERS = ("silver", "ops", "gold")


@dataclass
class HistoryFigure:
    days: int
    rows_per_day: int
    bronze_rows: dict[str, int]  # per dataset, before the new day
    bronze_files: dict[str, int]
    new_day_rows: dict[str, int]  # bronze rows the new day's ingest wrote, per dataset
    ingest_seconds: float  # fresh process, JVM start included
    ingest_steady_seconds: float  # sum of the run summaries' durations
    run_seconds: list[float]  # dbt run (models only), per repeat
    build_seconds: list[float]  # dbt build (models + tests), per repeat
    node_seconds: dict[str, float]  # per dbt node of the fastest build: execution time
    node_kinds: dict[str, str]
    silver_profiles: list[Profile] = field(default_factory=list)
    gold_profiles: list[Profile] = field(default_factory=list)
    history_build_seconds: float = 0.0

    @property
    def run_best(self) -> float:
        return min(self.run_seconds)

    @property
    def build_best(self) -> float:
        return min(self.build_seconds)


def _bronze_counts(ws: Lake) -> tuple[dict[str, int], dict[str, int]]:
    rows, files = {}, {}
    with duckdb.connect() as con:
        for folder in sorted((ws.root / "bronze").iterdir()):
            found = list(folder.glob("ingest_date=*/*.parquet"))
            files[folder.name] = len(found)
            rows[folder.name] = con.execute(
                f"select count(*) from read_parquet('{folder}/ingest_date=*/*.parquet')").fetchone()[0] if found else 0
    return rows, files


def _node_times(ws: Lake) -> tuple[dict[str, float], dict[str, str]]:
    times, kinds = {}, {}
    for r in ws.run_results():
        name = r["unique_id"].split(".", 2)[-1]
        times[name] = float(r.get("execution_time") or 0.0)
        kinds[name] = r["unique_id"].split(".", 1)[0]
    return times, kinds


def _waves(ws: Lake) -> list[list[tuple[str, str]]]:
    """The models of LAYERS as (layer, name), in waves: a model's wave follows those of every model it reads."""
    nodes = json.loads((ws.target / "manifest.json").read_text())["nodes"]
    layer_of = {uid: n["fqn"][1] for uid, n in nodes.items()  # fqn: project, folder under models/, ...
                if n["resource_type"] == "model" and n["fqn"][1] in LAYERS}
    depth: dict[str, int] = {}

    def wave(uid: str) -> int:
        if uid not in depth:
            depth[uid] = 1 + max((wave(d) for d in nodes[uid]["depends_on"]["nodes"] if d in layer_of), default=-1)
        return depth[uid]

    waves: list[list[tuple[str, str]]] = [[] for _ in range(1 + max(map(wave, layer_of), default=-1))]
    for uid in sorted(layer_of):
        waves[depth[uid]].append((layer_of[uid], nodes[uid]["name"]))
    return waves


def _profile_waves(ws: Lake, out: Path) -> dict[str, list[Profile]]:
    """Build the incremental models wave by wave, profiling each wave's compiled SELECTs just before it runs
    (`dbt compile`, then `dbt run`, of the wave): each model reads its upstreams with the new day in them."""
    dbt(ws, "parse", "parse")  # the manifest of this state, for the DAG
    profiles: dict[str, list[Profile]] = {layer: [] for layer in LAYERS}
    for i, models in enumerate(_waves(ws)):
        names = [name for _, name in models]
        dbt(ws, f"compile-wave{i}", "compile", "-s", *names)
        compiled = {layer: compiled_models(ws.target, layer) for layer in {layer for layer, _ in models}}
        for layer, name in models:
            profiles[layer].append(profile_select(ws.warehouse, name, compiled[layer][name],
                                                  out / f"{layer}-{name}.json"))
        dbt(ws, f"run-wave{i}", "run", "-s", *names)
    for found in profiles.values():
        found.sort(key=lambda p: p.model)
    return profiles


def generate(work: Path, days: int, rows_per_day: int) -> Path:
    source = work / f"sample-{days}d-{rows_per_day}"
    if not (source / "sample_data_report.json").exists():
        log(f"incremental: generating {days} days of sample data, {rows_per_day} rows a day ...")
        run([str(BIN / "python"), "-m", "sample_data", "--lake-root", str(source), "--days", str(days),
             "--rows-per-day", str(rows_per_day), "--seed", "7", "--start-date", START.isoformat()],
            {**__import__("os").environ}, work / f"sample-{days}d.log")
    return source / "raw"


def run_section(work: Path, histories: list[int], rows_per_day: int, repeats: int) -> list[HistoryFigure]:
    histories = sorted(histories)
    raw = generate(work, histories[-1] + 1, rows_per_day)
    by_day = files_by_day(raw, START)
    chain = Lake.under(work / "chain").fresh()
    built_up_to = 0
    copies: dict[int, tuple[Lake, float]] = {}
    for days in histories:
        started = time.perf_counter()
        log(f"incremental: ingesting history days {built_up_to}..{days - 1} (one run a day and dataset) ...")
        run([str(BIN / "python"), "-m", "bench.history", "--lake", str(chain.root), "--source", str(raw),
             "--start", START.isoformat(), "--from-day", str(built_up_to), "--to-day", str(days)],
            chain.env(), chain.command_logs / f"history-{built_up_to}-{days}.log")
        built_up_to = days
        log(f"incremental: dbt build of {days} days of history ...")
        dbt(chain, f"build-history-{days}", "build")
        copies[days] = (chain.copy_to(work / f"h{days}"), time.perf_counter() - started)

    figures = []
    for days in histories:
        ws, history_seconds = copies[days]
        bronze_rows, bronze_files = _bronze_counts(ws)
        before = len(ws.run_summaries())
        deliver(raw, ws.root, by_day.get(days, []))
        log(f"incremental: {days} days of history: ingesting the new day ...")
        ingested = ingest(ws, f"ingest-day-{days}", ingest_date=(START + timedelta(days=days)).isoformat())
        summaries = ws.run_summaries()[before:]
        new_rows = {s["dataset"]: s["totals"]["records_written"] for s in summaries}
        copies_run = [ws.copy_to(work / f"h{days}-run{i}") for i in range(repeats)]
        copies_build = [ws.copy_to(work / f"h{days}-build{i}") for i in range(repeats)]
        prof = ws.copy_to(work / f"h{days}-profile")
        run_seconds, build_seconds = [], []
        best_build: Lake | None = None
        for i in range(repeats):
            log(f"incremental: {days} days of history: dbt run, then dbt build (repeat {i + 1}/{repeats}) ...")
            run_seconds.append(dbt(copies_run[i], f"run-{days}", "run").seconds)
            build_seconds.append(dbt(copies_build[i], f"build-{days}", "build").seconds)
            if build_seconds[-1] == min(build_seconds):
                best_build = copies_build[i]
        assert best_build is not None
        node_seconds, node_kinds = _node_times(best_build)
        log(f"incremental: {days} days of history: profiling each incremental SELECT, building wave by wave ...")
        profiles = _profile_waves(prof, prof.root.parent / "profiles")
        silver, gold = profiles["silver"], profiles["ops"] + profiles["gold"]
        figures.append(HistoryFigure(
            days=days, rows_per_day=rows_per_day, bronze_rows=bronze_rows, bronze_files=bronze_files,
            new_day_rows=new_rows, ingest_seconds=ingested.seconds,
            ingest_steady_seconds=sum(s["duration_seconds"] for s in summaries), run_seconds=run_seconds,
            build_seconds=build_seconds, node_seconds=node_seconds, node_kinds=node_kinds,
            silver_profiles=silver, gold_profiles=gold, history_build_seconds=history_seconds))
        log(f"incremental: {days} days: ingest {ingested.seconds:.1f} s, dbt run {min(run_seconds):.1f} s, "
            f"dbt build {min(build_seconds):.1f} s")
    return figures


def to_json(figures: list[HistoryFigure]) -> list[dict[str, Any]]:
    return json.loads(json.dumps([f.__dict__ for f in figures], default=lambda o: o.__dict__))
