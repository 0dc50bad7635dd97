"""End to end, through the user's own commands: `make pipeline` on a lake of dirty sample data, with
the results compared to an independent computation from the raw files (tests/python/oracle).

Scenario: 4 days arrive and are built; 2 more days arrive (new files, late rows for earlier days, a
re-delivered file) and are built incrementally; a third run has nothing new. After every step the lake
must match the oracle exactly, and the incremental warehouse must equal a --full-refresh build.
"""

from __future__ import annotations

import json
import math
import re
import shutil
from datetime import date
from pathlib import Path

import duckdb
import pytest

from sample_data import generate_web_logs
from testkit import Lake, Result
from tests.python.oracle import web_logs as oracle

pytestmark = [pytest.mark.e2e, pytest.mark.spark]

ROWS_PER_DAY = 1500
SEED = 7
METRIC_COLUMNS = [
    "event_date", "endpoint", "total_requests", "error_requests", "error_rate",
    "avg_response_ms", "max_response_ms", "p95_response_ms",
]


def make(target: str, lake: Path, tmp: Path) -> Result:
    return Lake(lake, tmp / "dbt-target", tmp / "dbt-logs").make(target)


def query(lake: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(lake / "warehouse.duckdb"), read_only=True) as con:
        return con.execute(sql).fetchall()


def parquet_count(folder: Path) -> int:
    if not any(folder.glob("ingest_date=*/*.parquet")):
        return 0
    with duckdb.connect() as con:
        return con.execute(f"select count(*) from read_parquet('{folder}/ingest_date=*/*.parquet')").fetchone()[0]


def gold_rows(lake: Path) -> list[tuple]:
    return query(lake, f"select {', '.join(METRIC_COLUMNS)} from gold.daily_endpoint_metrics order by 1, 2")


TRAFFIC_COLUMNS = [
    "event_date", "total_requests", "distinct_users", "ok_requests", "client_error_requests",
    "server_error_requests", "server_error_rate",
]


def assert_rows_close(actual: list[tuple], expected: list[tuple], what: str,
                      columns: list[str] = METRIC_COLUMNS) -> None:
    assert len(actual) == len(expected), f"{what}: {len(actual)} rows, expected {len(expected)}"
    for got, want in zip(actual, expected, strict=True):
        for name, a, b in zip(columns, got, want, strict=True):
            if isinstance(b, float):
                assert math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9), f"{what} {want[:2]} {name}: {a} != {b}"
            else:
                assert a == b, f"{what} {want[:2]} {name}: {a!r} != {b!r}"


def assert_lake_matches_oracle(lake: Path) -> oracle.OracleResult:
    expected = oracle.compute(lake / "raw" / "web_logs")
    bronze = parquet_count(lake / "bronze" / "web_logs")
    quarantined = parquet_count(lake / "quarantine" / "web_logs")
    assert quarantined == expected.quarantined, "records quarantined at ingest"
    assert bronze + quarantined == expected.raw_records, "every raw record is in bronze or in quarantine"

    rejected = dict(query(lake, "select reject_reason, count(*) from silver.web_requests_rejected group by 1"))
    assert rejected == expected.rejected, "silver rejects by reason"
    silver = query(lake, "select count(*) from silver.web_requests")[0][0]
    assert silver == len(expected.silver_rows), "silver requests"
    assert bronze == silver + sum(rejected.values()) + expected.duplicates_removed, "bronze reconciles"

    # The kept silver rows themselves, field by field (event_at as naive UTC).
    silver_rows = query(
        lake,
        "select event_at, event_date, user_id, endpoint, status_code, response_ms, user_agent "
        "from silver.web_requests",
    )
    expected_rows = [
        (r["event_at"].replace(tzinfo=None), r["event_date"], r["user_id"], r["endpoint"],
         r["status_code"], r["response_ms"], r["user_agent"])
        for r in expected.silver_rows
    ]
    key = lambda row: tuple("" if v is None else str(v) for v in row)  # noqa: E731
    assert sorted(silver_rows, key=key) == sorted(expected_rows, key=key), "silver rows"

    expected_gold = [tuple(r[c] for c in METRIC_COLUMNS) for r in expected.daily_endpoint_metrics]
    assert_rows_close(gold_rows(lake), expected_gold, "gold.daily_endpoint_metrics")
    traffic = query(lake, f"select {', '.join(TRAFFIC_COLUMNS)} from gold.daily_web_traffic order by 1")
    expected_traffic = [tuple(r[c] for c in TRAFFIC_COLUMNS) for r in expected.daily_web_traffic]
    assert expected_traffic, "the oracle found no traffic"
    assert_rows_close(traffic, expected_traffic, "gold.daily_web_traffic", TRAFFIC_COLUMNS)
    return expected


def full_refresh_copy(lake: Path, tmp: Path) -> Path:
    """A second lake with the same raw and bronze, whose warehouse is built with --full-refresh."""
    other = tmp / "full-refresh-lake"
    other.mkdir()
    for folder in ("raw", "bronze", "quarantine"):
        shutil.copytree(lake / folder, other / folder)
    Lake(other, tmp / "dbt-target-fr", tmp / "dbt-logs-fr").dbt("build", "--full-refresh")
    return other


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("e2e")


def test_pipeline_incremental_equals_oracle_and_full_refresh(workdir: Path) -> None:
    lake = workdir / "lake"
    raw = lake / "raw"

    # Day 1-4 arrive.
    generate_web_logs(raw, days=4, rows_per_day=ROWS_PER_DAY, seed=SEED, start_date=date(2026, 11, 1))
    make("pipeline", lake, workdir)
    first = assert_lake_matches_oracle(lake)
    assert first.quarantined > 0 and first.rejected and first.duplicates_removed > 0, "the sample data is dirty"

    # Day 5-6 arrive, with late rows for days built before.
    raw_files_before = {p for p in raw.rglob("*") if p.is_file()}
    generate_web_logs(raw, days=2, rows_per_day=ROWS_PER_DAY, seed=SEED + 1, start_date=date(2026, 11, 5))
    new_files = {p for p in raw.rglob("*") if p.is_file()} - raw_files_before
    assert new_files, "the second delivery adds files"
    bronze_before = parquet_count(lake / "bronze" / "web_logs")
    quarantine_before = parquet_count(lake / "quarantine" / "web_logs")
    gold_before = {row[:2]: row for row in gold_rows(lake)}

    make("pipeline", lake, workdir)
    second = assert_lake_matches_oracle(lake)
    # Only the new files were ingested: bronze grew by exactly their readable records.
    new_records = second.raw_records - first.raw_records
    grown = (parquet_count(lake / "bronze" / "web_logs") - bronze_before
             + parquet_count(lake / "quarantine" / "web_logs") - quarantine_before)
    assert grown == new_records
    # Late rows changed dates that existed before, and those dates were recomputed.
    gold_after = {row[:2]: row for row in gold_rows(lake)}
    changed_earlier = [key for key, row in gold_before.items() if gold_after.get(key) != row]
    assert changed_earlier, "late arrivals updated dates built before"

    # Nothing new: nothing changes.
    snapshot = (parquet_count(lake / "bronze" / "web_logs"), gold_rows(lake),
                query(lake, "select count(*) from silver.web_requests"),
                query(lake, "select count(*) from silver.web_requests_rejected"))
    make("pipeline", lake, workdir)
    assert snapshot == (parquet_count(lake / "bronze" / "web_logs"), gold_rows(lake),
                        query(lake, "select count(*) from silver.web_requests"),
                        query(lake, "select count(*) from silver.web_requests_rejected"))

    # The incremental warehouse equals a full refresh over the same bronze, table by table.
    other = full_refresh_copy(lake, workdir)
    for table, order in [
        ("gold.daily_endpoint_metrics", "event_date, endpoint"),
        ("silver.web_requests", "request_id"),
        ("silver.web_requests_rejected", "_source_file, _record_number"),
    ]:
        sql = f"select * from {table} order by {order}"
        assert query(lake, sql) == query(other, sql), f"{table}: incremental != full refresh"


def test_documented_columns_are_the_built_columns(workdir: Path) -> None:
    """Every model's YAML lists exactly the columns of the relation dbt built, in order."""
    manifest = json.loads((workdir / "dbt-target" / "manifest.json").read_text())
    lake = workdir / "lake"
    checked = 0
    for node in manifest["nodes"].values():
        if node["resource_type"] not in ("model", "snapshot"):
            continue
        built = [row[0] for row in query(
            lake,
            "select column_name from information_schema.columns "
            f"where table_schema = '{node['schema']}' and table_name = '{node['alias']}' order by ordinal_position",
        )]
        assert built == list(node["columns"]), f"{node['name']}: built {built}, documented {list(node['columns'])}"
        checked += 1
    assert checked >= 3


def test_incremental_bounds_are_literals(workdir: Path) -> None:
    """After the incremental runs above, the compiled silver SQL filters bronze with literal bounds, or with `false`
    when the last run found no new ingest run (its window is empty: it reads nothing)."""
    compiled = workdir / "dbt-target" / "compiled" / "lakehouse" / "models" / "silver" / "web_logs"
    bounds = r"where (false|ingest_date >= date '\d{4}-\d{2}-\d{2}' and _ingest_run_id > '\d{8}T\d{12}Z')"
    sql = (compiled / "web_logs_checked.sql").read_text()  # the one reader of bronze
    bronze_read = sql[sql.index("read_parquet("):sql.index("),")]
    assert re.search(bounds, bronze_read), bronze_read
    assert "select max" not in bronze_read.lower()
    for model in ("web_requests.sql", "web_requests_rejected.sql"):  # they read what it checked, with bounds too
        sql = (compiled / model).read_text()
        assert "read_parquet(" not in sql, model
        checked_read = sql[sql.index('"silver"."web_logs_checked"'):]
        assert re.match(r'"silver"\."web_logs_checked"\s+' + bounds, checked_read), checked_read[:300]
        assert "select max" not in checked_read.lower()
    gold = (workdir / "dbt-target" / "compiled" / "lakehouse" / "models" / "gold" / "web_logs"
            / "daily_endpoint_metrics.sql").read_text()
    assert re.search(r"where (false|event_date in \(date '\d{4}-\d{2}-\d{2}'(, date '[0-9-]+')*\))", gold), gold


def test_a_no_op_build_reconciles_without_reading_silver(workdir: Path) -> None:
    """The last build above found nothing new, so its reconciliation of web_logs read no bronze and no silver: every
    relation it reads is filtered with `false` (macros/tests/scope.sql)."""
    sql = (workdir / "dbt-target" / "compiled" / "lakehouse" / "tests" / "dbt"
           / "reconcile_web_logs_bronze_to_silver.sql").read_text()
    for cte in ("bronze_records", "kept", "kept_requests", "rejected"):
        match = re.search(rf"\b{cte} as \((.*?)\n\)", sql, re.DOTALL)
        assert match, f"no CTE {cte} in {sql}"
        assert re.search(r"\bwhere\s+false\s*$", match.group(1).strip()), f"{cte} reads rows: {match.group(1)}"


def test_a_no_op_build_tests_no_row_of_a_keyed_gold_model(workdir: Path) -> None:
    """sales_enriched read two empty windows in the last build and merged nothing: each of its generic tests keeps no
    row (`where (false)`), where before it tested the whole table (2.9 MB of a 4.0 MB no-op build on the local Athena
    at 90 days, bench/results.md)."""
    compiled = workdir / "dbt-target" / "compiled" / "lakehouse" / "models" / "gold" / "sales" / "_sales__models.yml"
    tests = [path for path in compiled.glob("*.sql") if "sales_enriched" in path.name]
    assert len(tests) >= 5, sorted(path.name for path in compiled.glob("*.sql"))
    for path in tests:
        sql = path.read_text()
        assert re.search(r"sales_enriched\S* where \(false\)\) dbt_subquery", sql), f"{path.name} reads rows:\n{sql}"


def test_dbt_compile_shows_the_next_build_s_window(workdir: Path) -> None:
    """`dbt compile` after an ingest shows the SQL the next build runs: the window of the new run, with both bounds.
    It once showed `where false` (bronze, a read_parquet() relation, was taken for a table not built yet), and the
    bench profiled those empty SELECTs. On a copy of the lake, after the tests above that read its compiled SQL."""
    lake = workdir / "compile-lake"
    for folder in ("raw", "bronze", "quarantine", "warehouse.duckdb"):
        source = workdir / "lake" / folder
        (shutil.copytree if source.is_dir() else shutil.copy2)(source, lake / folder)
    generate_web_logs(lake / "raw", days=1, rows_per_day=50, seed=SEED + 2, start_date=date(2026, 11, 7))
    copy = Lake(lake, workdir / "dbt-target-compile", workdir / "dbt-logs-compile")
    copy.make("ingest")
    with duckdb.connect() as con:
        [(new_run, checked_up_to)] = con.execute(
            f"select max(_ingest_run_id), (select max(_ingest_run_id) from read_parquet('{lake}/bronze/web_logs/"
            "ingest_date=*/*.parquet') where _ingest_run_id < (select max(_ingest_run_id) from read_parquet("
            f"'{lake}/bronze/web_logs/ingest_date=*/*.parquet'))) from read_parquet('{lake}/bronze/web_logs/"
            "ingest_date=*/*.parquet')").fetchall()
    copy.dbt("compile", "-s", "web_logs_checked")
    sql = (workdir / "dbt-target-compile" / "compiled" / "lakehouse" / "models" / "silver" / "web_logs"
           / "web_logs_checked.sql").read_text()
    bronze_read = sql[sql.index("read_parquet("):sql.index("),")]
    # From the run the last build read up to, to the run just ingested.
    assert re.search(rf"where ingest_date >= date '[0-9-]+' and _ingest_run_id > '{checked_up_to}' and "
                     rf"ingest_date <= date '[0-9-]+' and _ingest_run_id <= '{new_run}'", bronze_read), bronze_read


def test_docs_site_generates_with_lineage_from_bronze_to_gold(demo_lake: Lake) -> None:
    """`make docs` on a built lake (the shared demo lake, every dataset): the site, and a catalog and manifest
    that connect each bronze source to the gold tables built from it."""
    target = demo_lake.target
    assert (target / "index.html").stat().st_size > 100_000
    catalog = json.loads((target / "catalog.json").read_text())
    assert "model.lakehouse.daily_endpoint_metrics" in catalog["nodes"]
    manifest = json.loads((target / "manifest.json").read_text())
    children = manifest["child_map"]

    def downstream(node: str) -> set[str]:
        seen, todo = set(), [node]
        while todo:
            for child in children.get(todo.pop(), []):
                if child not in seen:
                    seen.add(child)
                    todo.append(child)
        return seen

    expected = {
        "web_logs": {"daily_endpoint_metrics"},
        "sales_transactions": {"sales_enriched", "sales_summary", "sales_days", "customer_segments"},
        "customers": {"sales_enriched", "customer_segments"},
        "user_events": {"user_features", "user_days", "conversion_funnel", "hourly_revenue", "top_products",
                        "category_performance", "user_activity"},
    }
    for dataset, gold_models in expected.items():
        reached = {n.split(".")[-1] for n in downstream(f"source.lakehouse.bronze.{dataset}") if n.startswith("model.")}
        assert gold_models <= reached, f"bronze.{dataset} does not lead to {gold_models - reached}"
