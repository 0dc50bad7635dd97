"""`python -m bench [--quick] [--only ingest,incremental,scale,athena]`: measure, then write bench/results.md.

Full sizes by default (1M and 10M rows for ingest, 7/30/90 days of history, 10M rows at scale, the same histories
on the local Athena); --quick runs the same code paths at tiny sizes, for development. Scratch data goes to
bench/work/ (gitignored).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

from bench import athena_bytes, incremental, ingest, scale
from bench.procs import REPO, base_env, log
from bench.profiling import Profile, Scan
from bench.report import render

SECTIONS = ("ingest", "incremental", "scale", "athena")


@dataclass(frozen=True)
class Sizes:
    ingest_rows: tuple[int, ...]
    histories: tuple[int, ...]
    rows_per_day: int
    scale_rows: int
    repeats: int


FULL = Sizes(ingest_rows=(1_000_000, 10_000_000), histories=(7, 30, 90), rows_per_day=2000,
             scale_rows=10_000_000, repeats=2)
QUICK = Sizes(ingest_rows=(20_000, 50_000), histories=(2, 4), rows_per_day=60, scale_rows=50_000, repeats=1)


def machine() -> dict[str, str]:
    mem = next((line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
                if line.startswith("MemTotal:")), "0")
    java = subprocess.run(["java", "-version"], capture_output=True, text=True, env=base_env(), check=False)
    return {
        "cores": str(os.cpu_count()),
        "ram": f"{int(mem) / 2**20:.1f} GiB",
        "os": platform.platform(),
        "python": platform.python_version(),
        "duckdb": version("duckdb"),
        "pyspark": version("pyspark"),
        "dbt-core": version("dbt-core"),
        "dbt-duckdb": version("dbt-duckdb"),
        "java": (java.stderr.splitlines() or ["?"])[0],
    }


def write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def load_results(path: Path) -> tuple[dict, list, list, scale.ScaleFigure | None, list]:
    """The figures of a results.json written by a bench run (for --render-only)."""
    raw = json.loads(path.read_text())
    ingest_figures = [ingest.IngestFigure(**f, workspace=None) for f in raw["ingest"]]
    history_figures = []
    for f in raw["incremental"]:
        profiles = {layer: [Profile(p["model"], p["seconds"], [Scan(**s) for s in p["scans"]])
                            for p in f.pop(layer)] for layer in ("silver_profiles", "gold_profiles")}
        history_figures.append(incremental.HistoryFigure(**f, **profiles))
    scale_figure = scale.ScaleFigure(**raw["scale"]) if raw["scale"] else None
    return raw["meta"], ingest_figures, history_figures, scale_figure, athena_bytes.from_json(raw.get("athena") or [])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, same code paths (development)")
    parser.add_argument("--only", default=",".join(SECTIONS), help="comma-separated: ingest,incremental,scale,athena")
    parser.add_argument("--work", type=Path, default=REPO / "bench" / "work", help="scratch folder")
    parser.add_argument("--output", type=Path, default=REPO / "bench" / "results.md")
    parser.add_argument("--repeats", type=int,
                        help="repeats of each timed incremental dbt command, and of the ingest job and DuckDB's "
                        "COPY (the best run counts)")
    parser.add_argument("--ingest-rows", help="override: comma-separated row counts of the ingest section")
    parser.add_argument("--histories", help="override: comma-separated days of history (the first is the base)")
    parser.add_argument("--rows-per-day", type=int, help="override: sample rows a day in the incremental section")
    parser.add_argument("--scale-rows", type=int, help="override: web-log rows of the scale section")
    parser.add_argument("--render-only", type=Path, metavar="RESULTS_JSON",
                        help="measure nothing: write --output again from a bench run's results.json")
    args = parser.parse_args(argv)
    if args.render_only:
        meta, ingest_figures, history_figures, scale_figure, athena_figures = load_results(args.render_only)
        write_atomically(args.output, render(meta, ingest_figures, history_figures, scale_figure, athena_figures))
        log(f"bench: wrote {args.output} from {args.render_only}")
        return 0
    only = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = sorted(set(only) - set(SECTIONS))
    if unknown:
        parser.error(f"unknown section(s) {', '.join(unknown)}; choose among {', '.join(SECTIONS)}")
    sizes = QUICK if args.quick else FULL
    sizes = Sizes(
        ingest_rows=tuple(int(n) for n in args.ingest_rows.split(",")) if args.ingest_rows else sizes.ingest_rows,
        histories=tuple(int(n) for n in args.histories.split(",")) if args.histories else sizes.histories,
        rows_per_day=args.rows_per_day or sizes.rows_per_day,
        scale_rows=args.scale_rows or sizes.scale_rows,
        repeats=sizes.repeats,
    )
    repeats = args.repeats or sizes.repeats
    work = (args.work / ("quick" if args.quick else "full")).resolve()
    work.mkdir(parents=True, exist_ok=True)
    command = "make bench" + (f" BENCH_ARGS='{shlex.join(sys.argv[1:])}'" if sys.argv[1:] else "")
    started_at = datetime.now(UTC)
    started = time.perf_counter()
    load_before = os.getloadavg()
    log(f"bench: sections {', '.join(only)}, {'quick' if args.quick else 'full'} sizes, scratch in {work}")

    ingest_figures, history_figures, scale_figure, athena_figures = [], [], None, []
    if "ingest" in only:
        ingest_figures = ingest.run_section(work / "ingest", list(sizes.ingest_rows), repeats)
    if "incremental" in only:
        history_figures = incremental.run_section(work / "incremental", list(sizes.histories), sizes.rows_per_day,
                                                  repeats)
    if "scale" in only:
        reuse = next((f for f in ingest_figures if f.fmt == "csv" and f.rows == sizes.scale_rows), None)
        scale_figure = scale.run_section(work / "ingest", sizes.scale_rows, reuse)
    if "athena" in only:
        athena_figures = athena_bytes.run_section(work / "athena", list(sizes.histories), sizes.rows_per_day)

    meta = {
        "command": command, "started_at": started_at.strftime("%Y-%m-%d %H:%M UTC"),
        "seconds": time.perf_counter() - started, "quick": args.quick, "sections": only,
        "load_before": load_before, "load_after": os.getloadavg(), "machine": machine(), "repeats": repeats,
        "rows_per_day": sizes.rows_per_day,
    }
    write_atomically(args.output, render(meta, ingest_figures, history_figures, scale_figure, athena_figures))
    raw = {"meta": meta, "ingest": [{k: v for k, v in f.__dict__.items() if k != "workspace"} for f in ingest_figures],
           "incremental": incremental.to_json(history_figures),
           "scale": scale_figure.__dict__ if scale_figure else None, "athena": athena_bytes.to_json(athena_figures)}
    raw_path = work / f"results-{'-'.join(only)}.json"
    raw_path.write_text(json.dumps(raw, indent=2, default=str) + "\n")
    log(f"bench: wrote {args.output} in {meta['seconds'] / 60:.1f} min (raw figures: {raw_path})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
