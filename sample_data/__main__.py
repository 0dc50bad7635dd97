"""Command line: write sample raw data into a lake and say what was planted.

    python -m sample_data --lake-root DIR --days N --rows-per-day M --seed S
                          [--start-date YYYY-MM-DD] [--dataset web_logs]

Data files go to DIR/raw/<dataset>/...; the summary (files, rows, planted dirt, expected counts)
is printed and written to DIR/sample_data_report.json — never into raw/, which the ingest reads whole.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

from sample_data.web_logs import DEFAULT_START_DATE, MIN_ROWS_PER_DAY, generate_web_logs

GENERATORS = {"web_logs": generate_web_logs}


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m sample_data", description=__doc__.splitlines()[0])
    parser.add_argument("--lake-root", type=Path, required=True, help="the lake; files go to LAKE_ROOT/raw/")
    parser.add_argument("--days", type=int, default=14, help="number of daily files (default 14)")
    parser.add_argument(
        "--rows-per-day", type=int, default=20_000,
        help=f"records in each daily file, dirt included (default 20000, min {MIN_ROWS_PER_DAY})",
    )
    parser.add_argument("--seed", type=int, default=42, help="seed: same arguments, same bytes (default 42)")
    parser.add_argument("--start-date", type=date.fromisoformat, default=DEFAULT_START_DATE,
                        help=f"first day, YYYY-MM-DD (default {DEFAULT_START_DATE.isoformat()})")
    parser.add_argument("--dataset", choices=sorted(GENERATORS), default="web_logs")
    return parser.parse_args(argv)


def _print_summary(summary: dict[str, Any], seconds: float, report: Path) -> None:
    files = summary["files"]
    print(f"sample_data: wrote {len(files)} {summary['dataset']} files, "
          f"{summary['records_written']} records, under {summary['raw_dir']} in {seconds:.1f} s")
    for f in files:
        features = f" [{', '.join(f['features'])}]" if f["features"] else ""
        print(f"  {f['path']}: {f['records']} records{features}")
    print("planted:")
    for name, value in summary["planted"].items():
        if isinstance(value, dict):
            print(f"  {name}: " + ", ".join(f"{k}={v}" for k, v in value.items()))
        else:
            print(f"  {name}: {value}")
    print("incidents:")
    for incident in summary["incidents"]:
        print(f"  {incident['start']} {incident['kind']} on {incident['endpoint']}"
              f" for {incident['minutes']} min")
    expected = summary["expected"]
    print("expected from the product rules (this run's files alone): "
          + ", ".join(f"{k}={v}" for k, v in expected.items() if k != "rejected"))
    print("  rejected: " + ", ".join(f"{k}={v}" for k, v in expected["rejected"].items()))
    print(f"report: {report}")


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    lake_root = args.lake_root.resolve()
    started = time.perf_counter()
    try:
        summary = GENERATORS[args.dataset](lake_root / "raw", args.days, args.rows_per_day, args.seed,
                                           args.start_date)
    except (ValueError, FileExistsError) as exc:
        print(f"sample_data: error: {exc}", file=sys.stderr)
        return 2
    seconds = time.perf_counter() - started
    report = lake_root / "sample_data_report.json"
    tmp = report.with_name(f".{report.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, report)
    _print_summary(summary, seconds, report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
