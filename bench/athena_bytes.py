"""Figure 7: bytes scanned on the local Athena by an incremental build of one new day, on 7, 30 and 90 days of history.

Athena bills the bytes each query scans, and the workgroup cancels a query past its cutoff: the cost of a build is
its statements' bytes. The local Athena (dbt-athena, unchanged, over Trino with Iceberg; `local_athena`) logs every
statement dbt sent with the physical input bytes and rows Trino's query statistics give for it
(`$LAKE_ROOT/.athena-local/statements.jsonl`). dbt-athena puts a comment with the dbt node on each statement but its
DDL (ALTER, DROP, OPTIMIZE, VACUUM, MSCK), which scans nothing; so each statement's bytes go to a model, to one of
its tests (a test counts for the model it is attached to), or to the build itself. A model's statements are split
into its body (CTAS, MERGE, INSERT) and its lookups and hooks (SELECTs that find its windows and touched dates,
writes to the ops tables).

One chain of daily ingest runs (the incremental section's sample data) is built on one local Athena: history up to
day H-1 is ingested and built (not measured), then day H arrives, is ingested, synced, and `dbt build --target
athena` runs: that build's statements are the figure for H. Then the chain goes on to the next H.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import yaml

from bench.incremental import START, generate
from bench.procs import BIN, REPO, Lake, log, run

MB = 1024 * 1024
MIN_BILLED_BYTES = 10 * MB  # Athena bills at least 10 MB a query, rounded up to the megabyte; DDL is free
PRICE_PER_TB = 5.0  # US dollars per terabyte scanned (us-east-1)
_NODE = re.compile(r'"node_id":\s*"([^"]+)"')
BUILD = "(the build)"  # statements of no node: on-run hooks' own, DDL without a comment


@dataclass
class Statement:
    node: str | None
    kind: str
    statement_type: str
    state: str
    bytes: int
    rows: int
    tables: dict[str, int] = field(default_factory=dict)  # bytes per table read ("catalog.schema.table")
    control: bool = False  # a lookup or a hook: a SELECT (windows, touched dates) or a write to the ops tables

    @property
    def billed(self) -> int:
        """What Athena would bill for the statement: nothing for DDL or a failure, else at least 10 MB, in MB."""
        if self.statement_type == "DDL" or self.state != "SUCCEEDED":
            return 0
        return max(MIN_BILLED_BYTES, -(-self.bytes // MB) * MB)


def read_statements(path: Path, start: int = 0) -> list[Statement]:
    """The statements of statements.jsonl from line `start` on."""
    lines = path.read_text().splitlines()[start:] if path.exists() else []
    found = []
    for line in lines:
        record = json.loads(line)
        match = _NODE.search(record.get("query") or "")
        found.append(Statement(match.group(1) if match else None, record["kind"], record.get("statement_type") or "",
                               record["state"], int(record.get("bytes_scanned") or 0),
                               int(record.get("rows_scanned") or 0), dict(record.get("bytes_by_table") or {}),
                               record["kind"] == "SELECT" or "model_watermarks" in (record.get("query") or "")))
    return found


def owners(manifest: dict[str, Any]) -> dict[str, str]:
    """Node id -> the model it counts for: a model for itself, a test for the model it is attached to (or the first
    model it depends on); other nodes (seeds, operations) for themselves."""
    owner: dict[str, str] = {}
    for unique_id, node in {**manifest.get("nodes", {}), **manifest.get("unit_tests", {})}.items():
        if unique_id.startswith(("test.", "unit_test.")):
            attached = node.get("attached_node") or next(
                (d for d in node.get("depends_on", {}).get("nodes", []) if d.startswith("model.")), None)
            owner[unique_id] = attached or unique_id
        else:
            owner[unique_id] = unique_id
    return owner


@dataclass
class NodeCost:
    statements: int = 0
    bytes: int = 0
    rows: int = 0
    billed: int = 0

    def add(self, s: Statement) -> None:
        self.statements += 1
        self.bytes += s.bytes
        self.rows += s.rows
        self.billed += s.billed


@dataclass
class AthenaFigure:
    days: int
    models: dict[str, NodeCost] = field(default_factory=dict)  # model (short name) -> its body's statements
    hooks: dict[str, NodeCost] = field(default_factory=dict)  # model -> its lookups and hooks (Statement.control)
    tests: dict[str, NodeCost] = field(default_factory=dict)  # model (short name) -> its tests' statements
    build: NodeCost = field(default_factory=NodeCost)
    failed: int = 0
    seconds: float = 0.0
    noop: bool = False  # a build with nothing new, right after the build of `days`
    bronze_bytes: int = 0  # bytes the build read from bronze tables (models and tests)
    bronze_new_bytes: int = 0  # size of the new day's bronze partitions (their Parquet files)
    # model -> why its reads grow with history, as its YAML declares it (`meta: {history_read: ...}`)
    history_reads: dict[str, str] = field(default_factory=dict)

    def total(self) -> NodeCost:
        total = NodeCost()
        for cost in [*self.models.values(), *self.hooks.values(), *self.tests.values(), self.build]:
            total.statements += cost.statements
            total.bytes += cost.bytes
            total.rows += cost.rows
            total.billed += cost.billed
        return total


def _short(unique_id: str) -> str:
    return unique_id.split(".", 2)[-1]


def figure_of(days: int, statements: list[Statement], owner: dict[str, str]) -> AthenaFigure:
    figure = AthenaFigure(days)
    figure.bronze_bytes = sum(size for s in statements for table, size in s.tables.items()
                              if table.split(".")[-2].endswith("_bronze"))
    for s in statements:
        if s.state == "FAILED":
            figure.failed += 1
        if s.node is None or s.node not in owner:
            figure.build.add(s)
            continue
        model = owner[s.node]
        if s.node.startswith(("test.", "unit_test.")):
            bucket = figure.tests
        else:
            bucket = figure.hooks if s.control else figure.models
        bucket.setdefault(_short(model), NodeCost()).add(s)
    return figure


def run_section(work: Path, histories: list[int], rows_per_day: int) -> list[AthenaFigure]:
    histories = sorted(histories)
    raw = generate(work.parent / "incremental", histories[-1] + 1, rows_per_day)
    chain = Lake.under(work / "chain").fresh()
    env = {**chain.env(), "LOCAL_ATHENA_TABLE_BYTES": "1"}  # the stack logs each statement's bytes per table
    python = str(BIN / "python")
    statements_log = chain.root / ".athena-local" / "statements.jsonl"
    manifest_path = chain.root / ".athena-local" / "target" / "manifest.json"

    def athena(name: str, *args: str) -> float:
        return run([python, "-m", "local_athena", *args], env, chain.command_logs / f"{name}.log").seconds

    def ingest(first: int, last: int) -> None:
        run([python, "-m", "bench.history", "--lake", str(chain.root), "--source", str(raw), "--start",
             START.isoformat(), "--from-day", str(first), "--to-day", str(last)], env,
            chain.command_logs / f"history-{first}-{last}.log")
        athena(f"sync-{first}-{last}", "sync-bronze")

    figures = []
    built = 0
    declared = declared_history_reads()
    try:
        log("athena: starting the local Athena ...")
        athena("start", "start")
        for days in histories:
            log(f"athena: history days {built}..{days - 1}: ingest and dbt build (not measured) ...")
            ingest(built, days)
            athena(f"build-history-{days}", "dbt", "build")
            log(f"athena: {days} days of history: day {days} arrives, dbt build --target athena (measured) ...")
            ingest(days, days + 1)
            mark = len(statements_log.read_text().splitlines()) if statements_log.exists() else 0
            seconds = athena(f"build-{days}", "dbt", "build")
            owner = owners(json.loads(manifest_path.read_text()))
            figure = figure_of(days, read_statements(statements_log, mark), owner)
            figure.seconds = seconds
            figure.bronze_new_bytes = new_partition_bytes(chain.root, START + timedelta(days=days))
            figure.history_reads = declared
            figures.append(figure)
            total = figure.total()
            log(f"athena: {days} days: {total.statements} statements, {total.bytes / MB:.1f} MB scanned, "
                f"{total.billed / MB:.0f} MB billed, {figure.failed} failed")
            built = days + 1
        log(f"athena: {histories[-1]} days: nothing new, dbt build --target athena (measured: a no-op build) ...")
        mark = len(statements_log.read_text().splitlines())
        seconds = athena("build-noop", "dbt", "build")
        figure = figure_of(histories[-1], read_statements(statements_log, mark),
                           owners(json.loads(manifest_path.read_text())))
        figure.seconds, figure.noop = seconds, True
        figures.append(figure)
        log(f"athena: no-op build: {figure.total().bytes / MB:.2f} MB scanned")
    finally:
        run([python, "-m", "local_athena", "stop"], env, chain.command_logs / "stop.log", ok=(0, 1, 2))
    return figures


def new_partition_bytes(lake: Path, ingest_date: date) -> int:
    """Bytes of the bronze Parquet files of one ingest date, every dataset."""
    return sum(path.stat().st_size for path in (lake / "bronze").glob(f"*/ingest_date={ingest_date}/*.parquet"))


def declared_history_reads(models: Path = REPO / "models") -> dict[str, str]:
    """Model -> its `meta.history_read`: a read that grows with history because a rule of the product needs it
    (the model's description says so, with its cost), from the YAML files under `models`."""
    declared = {}
    for path in sorted(models.rglob("*.yml")):
        for model in (yaml.safe_load(path.read_text()) or {}).get("models") or []:
            meta = {**(model.get("meta") or {}), **((model.get("config") or {}).get("meta") or {})}
            if meta.get("history_read"):
                declared[model["name"]] = " ".join(str(meta["history_read"]).split())
    return declared


def to_json(figures: list[AthenaFigure]) -> list[dict[str, Any]]:
    return json.loads(json.dumps([f.__dict__ for f in figures], default=lambda o: o.__dict__))


def from_json(raw: list[dict[str, Any]]) -> list[AthenaFigure]:
    out = []
    # figures measured before the declarations were recorded take them from the models as they are now
    declared = declared_history_reads() if any(not f.get("history_reads") for f in raw) else {}
    for f in raw:
        out.append(AthenaFigure(
            days=f["days"], models={k: NodeCost(**v) for k, v in f["models"].items()},
            tests={k: NodeCost(**v) for k, v in f["tests"].items()}, build=NodeCost(**f["build"]),
            hooks={k: NodeCost(**v) for k, v in f.get("hooks", {}).items()},
            failed=f["failed"], seconds=f["seconds"], noop=f.get("noop", False),
            bronze_bytes=f.get("bronze_bytes", 0), bronze_new_bytes=f.get("bronze_new_bytes", 0),
            history_reads=f.get("history_reads") or declared))
    return out

