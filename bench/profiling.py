"""What a model's incremental SELECT reads: DuckDB's JSON profile of its compiled SQL, scan by scan."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

_PARTITION = re.compile(r"ingest_date=(\d{4}-\d{2}-\d{2})")


@dataclass
class Scan:
    source: str  # "bronze:<dataset>" for Parquet, else the table name
    rows_scanned: int
    files_scanned: int | None = None  # Parquet only
    files_total: int | None = None
    partitions: int | None = None  # distinct ingest_date partitions among the files read


@dataclass
class Profile:
    model: str
    seconds: float
    scans: list[Scan]

    def bronze(self) -> list[Scan]:
        return [s for s in self.scans if s.source.startswith("bronze:")]

    def tables(self) -> list[Scan]:
        return [s for s in self.scans if not s.source.startswith("bronze:")]


def _scans(node: dict[str, Any], found: list[Scan]) -> None:
    info = node.get("extra_info") or {}
    if node.get("type") == "TABLE_SCAN":
        function = str(info.get("Function", "")).strip()
        rows = int(node.get("rows_scanned") or node.get("operator_rows_scanned") or 0)
        if function == "READ_PARQUET":
            names = str(info.get("Filename(s)", ""))
            dataset = re.search(r"/bronze/([^/]+)/", names)
            scanning = str(info.get("Scanning Files", ""))
            files_scanned, _, files_total = scanning.partition("/")
            found.append(Scan(
                source=f"bronze:{dataset.group(1) if dataset else '?'}", rows_scanned=rows,
                files_scanned=int(files_scanned) if files_scanned.isdigit() else int(info.get("Total Files Read", 0)),
                files_total=int(files_total) if files_total.isdigit() else None,
                partitions=len(set(_PARTITION.findall(names)))))
        elif info.get("Table"):  # a warehouse table; table functions such as range() are not reads
            found.append(Scan(source=str(info["Table"]).strip(), rows_scanned=rows))
    for child in node.get("children", []):
        _scans(child, found)


def profile_select(warehouse: Path, model: str, sql: str, out: Path) -> Profile:
    """Run `sql` (a compiled model SELECT) read-only against the warehouse under DuckDB's profiler."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        con.execute("set enable_progress_bar = false")
        con.execute("set enable_profiling = 'json'")
        con.execute("set profiling_mode = 'detailed'")
        con.execute(f"set profiling_output = '{out}'")
        con.execute(sql).fetchall()
        con.execute("set enable_profiling = 'no_output'")  # stop, so later statements keep the profile
    data = json.loads(out.read_text())
    scans: list[Scan] = []
    for node in data.get("operator", []) if isinstance(data.get("operator"), list) else [data]:
        _scans(node, scans)
    return Profile(model=model, seconds=float(data.get("query", {}).get("total_time", 0.0)), scans=scans)


def compiled_models(target: Path, layer: str) -> dict[str, str]:
    """model name -> compiled SELECT, from `dbt compile` output under target/compiled/."""
    root = target / "compiled" / "lakehouse" / "models" / layer
    # Data tests and unit tests are compiled under <schema file>.yml/ folders: not models.
    return {p.stem: p.read_text() for p in sorted(root.rglob("*.sql"))
            if not any(part.endswith(".yml") for part in p.relative_to(root).parts)}
