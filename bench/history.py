"""Build bronze history fast: one ingest run per day and dataset, as a daily job would, in one warm Spark session.

    python -m bench.history --lake DIR --source RAW_DIR --start YYYY-MM-DD --from-day A --to-day B

Delivers the raw files of day A, runs `glue_ingest` for every dataset with --ingest_date = start + A, then day
A+1, ... up to B-1. `glue_ingest.cli.main` reuses the active SparkSession (as it does in notebooks and tests), so
the JVM starts once instead of once a day; the job is otherwise exactly the one `make ingest` runs.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
import time
from datetime import date, timedelta
from pathlib import Path

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def day_of(path: Path, start: date) -> int:
    """The day a raw file is delivered on: the last date in its name, days after `start` (initial loads: day 0)."""
    found = _DATE.findall(path.name)
    if not found:
        raise ValueError(f"no date in the raw file name {path}")
    return max(0, (date.fromisoformat(found[-1]) - start).days)


def files_by_day(source: Path, start: date) -> dict[int, list[Path]]:
    days: dict[int, list[Path]] = {}
    for path in sorted(source.rglob("*")):
        if path.is_file() and not path.name.startswith("."):
            days.setdefault(day_of(path, start), []).append(path)
    return days


def deliver(source: Path, lake: Path, files: list[Path]) -> None:
    for path in files:
        dest = lake / "raw" / path.relative_to(source)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, dest)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.history", description=__doc__.splitlines()[0])
    parser.add_argument("--lake", type=Path, required=True)
    parser.add_argument("--source", type=Path, required=True, help="raw folder holding every day's files")
    parser.add_argument("--start", type=date.fromisoformat, required=True)
    parser.add_argument("--from-day", type=int, required=True)
    parser.add_argument("--to-day", type=int, required=True)
    args = parser.parse_args(argv)

    from glue_ingest.cli import main as ingest_main
    from glue_ingest.session import build_local_session

    days = files_by_day(args.source, args.start)
    spark = build_local_session()
    spark.sparkContext.setLogLevel("ERROR")
    try:
        for day in range(args.from_day, args.to_day):
            started = time.perf_counter()
            deliver(args.source, args.lake, days.get(day, []))
            ingest_date = (args.start + timedelta(days=day)).isoformat()
            status = ingest_main(["--lake_root", str(args.lake), "--dataset", "all", "--ingest_date", ingest_date])
            if status not in (0, 3):
                print(f"bench.history: the ingest of day {day} ({ingest_date}) failed: exit {status}",
                      file=sys.stderr)
                return 1
            print(f"bench.history: day {day} ({ingest_date}) ingested in {time.perf_counter() - started:.1f} s",
                  flush=True)
    finally:
        spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
