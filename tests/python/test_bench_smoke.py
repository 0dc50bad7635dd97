"""The bench's measuring parts that need neither Spark nor dbt (a whole `--quick` bench run takes minutes).

- What a model's SELECT reads comes from DuckDB's JSON profile (bench/profiling.py): checked on a small
  hive-partitioned Parquet set and a table whose contents are known, so a DuckDB upgrade that renames the
  profile's fields fails here rather than silently reporting zeros in bench/results.md.
- History days are built from raw files by the date in their name (bench/history.py).
- The generated big files (bench/data.py) have the contract columns and the requested number of records.
"""

from __future__ import annotations

import csv
import json
from datetime import date
from pathlib import Path

import duckdb
import pytest
import yaml

from bench import data
from bench.history import day_of, files_by_day
from bench.incremental import HistoryFigure
from bench.ingest import STAGES, job_stages
from bench.profiling import Profile, Scan, profile_select
from bench.report import _silver_reads_new_only

REPO = Path(__file__).resolve().parents[2]


def _contract_columns(dataset: str) -> list[str]:
    contract = yaml.safe_load((REPO / "glue_ingest" / "contracts" / f"{dataset}.yml").read_text())
    return [c["name"] for c in contract["columns"]]


def test_profile_counts_partitions_files_and_rows(tmp_path: Path) -> None:
    bronze = tmp_path / "lake" / "bronze" / "web_logs"
    sizes = {"2026-11-01": 300, "2026-11-02": 200, "2026-11-03": 70}
    warehouse = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        for day, rows in sizes.items():
            (bronze / f"ingest_date={day}").mkdir(parents=True)
            con.execute(f"copy (select range as x from range({rows})) "
                        f"to '{bronze}/ingest_date={day}/part-0.parquet' (format parquet)")
        con.execute("create schema silver")
        con.execute("create table silver.things as select range as k from range(1234)")
    sql = (f"select count(*) from read_parquet('{bronze}/ingest_date=*/*.parquet', hive_partitioning = true) "
           "where ingest_date >= date '2026-11-03' "
           "union all select count(*) from silver.things where k in (select x from range(5) as t(x))")
    profile = profile_select(warehouse, "m", sql, tmp_path / "profile.json")

    [parquet] = profile.bronze()
    assert (parquet.source, parquet.files_scanned, parquet.files_total, parquet.partitions) == (
        "bronze:web_logs", 1, 3, 1), parquet
    assert parquet.rows_scanned == sizes["2026-11-03"]
    [table] = profile.tables()
    assert table.source.endswith("things") and table.rows_scanned == 1234, table


def _history(profiles: list[Profile]) -> HistoryFigure:
    return HistoryFigure(days=7, rows_per_day=10, bronze_rows={}, bronze_files={},
                         new_day_rows={"web_logs": 10, "customers": 2}, ingest_seconds=1.0, ingest_steady_seconds=1.0,
                         run_seconds=[1.0], build_seconds=[1.0], node_seconds={}, node_kinds={},
                         silver_profiles=profiles)


def _reads(dataset: str, rows: int, partitions: int = 2) -> Profile:
    return Profile(model=f"{dataset}_checked", seconds=0.1,
                   scans=[Scan(f"bronze:{dataset}", rows, files_scanned=partitions, files_total=9,
                               partitions=partitions)])


def test_silver_reads_new_only_needs_the_new_day_read_and_nothing_more() -> None:
    assert _silver_reads_new_only(_history([_reads("web_logs", 10), _reads("customers", 2)]))
    # More rows than the new day, or a third partition: an old day was read.
    assert not _silver_reads_new_only(_history([_reads("web_logs", 11), _reads("customers", 2)]))
    assert not _silver_reads_new_only(_history([_reads("web_logs", 10, partitions=3), _reads("customers", 2)]))
    # Reading nothing proves nothing: a dataset whose new day no profile read (an empty window at compile time,
    # as once when `dbt compile` took the bronze source for a table not built yet).
    assert not _silver_reads_new_only(_history([_reads("web_logs", 10)]))
    assert not _silver_reads_new_only(_history([]))


def test_history_days_come_from_file_names(tmp_path: Path) -> None:
    start = date(2026, 11, 1)
    names = {
        "sales_transactions/2026/10/sales_transactions_2026-08-02_to_2026-10-31_backfill.csv": 0,
        "customers/2026/11/customers_2026-11-01_snapshot.jsonl": 0,
        "web_logs/2026/11/web_logs_2026-11-01.csv": 0,
        "web_logs/2026/12/web_logs_2026-12-05.csv": 34,
    }
    for name in names:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x")
    assert {str(p.relative_to(tmp_path)): day_of(p, start) for p in tmp_path.rglob("*.*")} == names
    assert sorted(files_by_day(tmp_path, start)) == [0, 34]
    with pytest.raises(ValueError, match="no date"):
        day_of(tmp_path / "undated.csv", start)


def test_generated_files_have_the_contract_columns(tmp_path: Path) -> None:
    csv_path, json_path = tmp_path / "w.csv", tmp_path / "u.jsonl"
    data.web_logs_csv(csv_path, 1000)
    data.user_events_json(json_path, 1000)
    with csv_path.open(newline="") as f:
        records = list(csv.reader(f))
    assert records[0] == _contract_columns("web_logs")
    assert len(records) == 1001 and all(len(r) == 6 for r in records)
    lines = json_path.read_text().splitlines()
    assert len(lines) == 1000
    assert all(list(json.loads(line)) == _contract_columns("user_events") for line in lines)


def test_job_stages_come_from_the_ingest_log() -> None:
    # Log lines as stage.py writes them: the Arrow path's survey and Spark's pre-pass of the CSV files it cannot
    # take, the Arrow path's write and Spark's, one quarantine.
    log_text = "\n".join([
        "... INFO glue_ingest.stage: dataset d: survey of 4 CSV file(s) in 1.0 s: 9 split(s), 3 file(s) read "
        "with pyarrow, 1 with Spark (quoting that pyarrow reads otherwise)",
        "... INFO glue_ingest.stage: dataset d: pre-pass over 1 file(s) in 2.0 s: 6 split(s), 10 line(s); ...",
        "... INFO glue_ingest.stage: dataset d: 3 CSV file(s) read with pyarrow: 900 record(s) staged in 3 file(s) "
        "in 4.0 s",
        "... INFO glue_ingest.stage: dataset d: bronze written to staging in 6.0 s",
        "... INFO glue_ingest.stage: dataset d: quarantine written to staging in 1.5 s",
    ])
    stages = job_stages(log_text, wall=20.0, steady=16.0)
    assert stages == {"process and Spark start": 4.0, "pre-pass": 3.0, "records read whole": 0.0,
                      "bronze write": 10.0, "quarantine write": 1.5, "planning, read-back, commit": 1.5}
    assert list(stages) == list(STAGES)


def test_athena_statements_are_billed_and_attributed_as_athena_and_dbt_athena_would(tmp_path: Path) -> None:
    from bench.athena_bytes import BUILD, MB, figure_of, owners, read_statements
    from bench.report import athena_section, athena_summary

    def comment(node: str) -> str:  # dbt-athena's query comment (query_headers._AthenaQueryComment)
        return f'-- /* {{"app": "dbt", "dbt_version": "1.11.0", "node_id": "{node}"}} */\n'

    records = [
        ("SELECT", "DML", "SUCCEEDED", 1, comment("model.p.orders") + "select 1"),
        ("CTAS", "DML", "SUCCEEDED", 10 * MB + 1, comment("model.p.orders") + "create table x as select 1"),
        ("HIVE_DDL", "DDL", "SUCCEEDED", 0, "alter table x add columns (y int)"),
        ("SELECT", "DML", "SUCCEEDED", 3 * MB, comment("test.p.unique_orders_id.abc") + "select count(*)"),
        ("SELECT", "DML", "FAILED", 5 * MB, comment("unit_test.p.orders.t1") + "select 2"),
        ("SELECT", "DML", "SUCCEEDED", 20 * MB, comment("model.p.customers") + "select 3"),
    ]
    log = tmp_path / "statements.jsonl"
    # Bytes per table: the CTAS read 4 MB of bronze and the rest elsewhere; the test read 1 MB of bronze.
    tables = {1: {"hive.dev_bronze.orders": 4 * MB, "awsdatacatalog.dev_silver.x": 6 * MB + 1},
              3: {"hive.dev_bronze.orders": MB, "awsdatacatalog.dev_ops.model_watermarks": 2 * MB}}
    log.write_text("".join(json.dumps({"kind": k, "statement_type": t, "state": st, "bytes_scanned": b,
                                       "rows_scanned": 7, "query": q, "bytes_by_table": tables.get(i, {})}) + "\n"
                           for i, (k, t, st, b, q) in enumerate(records)))
    statements = read_statements(log, start=1)  # the first line is before the measured build
    assert [s.node for s in statements] == [
        "model.p.orders", None, "test.p.unique_orders_id.abc", "unit_test.p.orders.t1", "model.p.customers"]
    # At least 10 MB a query, rounded up to the megabyte; DDL and failures are free.
    assert [s.billed for s in statements] == [11 * MB, 0, 10 * MB, 0, 20 * MB]
    manifest = {
        "nodes": {"model.p.orders": {}, "model.p.customers": {},
                  "test.p.unique_orders_id.abc": {"attached_node": "model.p.orders",
                                                   "depends_on": {"nodes": ["model.p.orders"]}}},
        "unit_tests": {"unit_test.p.orders.t1": {"depends_on": {"nodes": ["model.p.orders"]}}},
    }
    figure = figure_of(7, statements, owners(manifest))
    # A model's SELECTs are its lookups (windows, touched dates); its CTAS is its body.
    assert {k: (v.statements, v.bytes, v.billed) for k, v in figure.models.items()} == {
        "orders": (1, 10 * MB + 1, 11 * MB)}
    assert {k: (v.statements, v.bytes, v.billed) for k, v in figure.hooks.items()} == {
        "customers": (1, 20 * MB, 20 * MB)}
    assert {k: (v.statements, v.bytes, v.billed) for k, v in figure.tests.items()} == {"orders": (2, 8 * MB, 10 * MB)}
    assert (figure.build.statements, figure.build.bytes, figure.failed) == (1, 0, 1)
    assert figure.total().bytes == 38 * MB + 1
    assert figure.bronze_bytes == 5 * MB
    figure.bronze_new_bytes = 4 * MB
    text = "\n".join(athena_section([figure, figure]))
    assert "| 7 | 5.000 | 4.000 | 1.25 |" in text
    assert "| 7 | 5 | 38.00 | 1.00 | 41 |" in text
    assert "| `customers` | 0.00 / 20.00 / 0.00 | 0.00 / 20.00 / 0.00 | 1.00 |" in text
    assert f"| *{BUILD}* | 0.00 | 0.00 |" in text
    # A no-op build is reported on its own line, not as a history length: 38 MB in all, 20 MB the most for one model
    # (customers; orders is 10 MB + 1 byte for the model and 8 MB for its tests, 18 MB).
    noop = figure_of(7, statements, owners(manifest))
    noop.noop = True
    text = "\n".join(athena_section([figure, figure, noop]))
    assert text.count("| 7 | 5 | 38.00 |") == 2
    assert "A **no-op build** (nothing new, right after the 7-day build): 5 statements, 38.00 MB scanned in all; " \
           "the most for one model (with its tests) is 20.000 MB (`customers`)." in text

    # What grows, at 90 days: customers by 10 MB (a read it declares a rule behind), orders' tests by 2 MB. Without
    # customers, 18 MB + 1 byte at 7 days and 20 MB + 1 byte at 90.
    log.write_text(log.read_text() + "".join(
        json.dumps({"kind": "SELECT", "statement_type": "DML", "state": "SUCCEEDED", "bytes_scanned": b,
                    "rows_scanned": 1, "query": comment(node) + "select 4"}) + "\n"
        for node, b in (("model.p.customers", 10 * MB), ("test.p.unique_orders_id.abc", 2 * MB))))
    longer = figure_of(90, read_statements(log, start=1), owners(manifest))
    for f in (figure, longer):
        f.history_reads = {"customers": "Every customer's whole history, by rule."}
    text = "\n".join(athena_section([figure, longer]))
    assert "| `customers` | 20.00 | 30.00 | +10.00 | Every customer's whole history, by rule. |" in text
    assert "| `orders` | 18.00 | 20.00 | +2.00 | - |" in text
    assert "the build scans 18.00 MB with 7 days of history and 20.00 MB with 90: **1.11x**." in text
    summary = "\n".join(athena_summary([figure, longer]))
    assert "(**1.32x**, over the 1.3x goal)" in summary and "18.0 and 20.0 MB (**1.11x**, within" in summary
