"""End to end for the retail (sales + customers) and clickstream domains, through `make pipeline`, compared
with independent computations from the raw files (tests/python/oracle/sales.py, user_events.py).

Two deliveries: 4 days, then 2 more days carrying corrections, late events, out-of-order customer updates
and bad rows. After each, every silver and gold table must equal the oracle; after the second, the
incremental warehouse must equal a --full-refresh build of the same bronze.
"""

from __future__ import annotations

import math
import shutil
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest

from sample_data.sales import generate_sales
from sample_data.user_events import generate_user_events
from testkit import Lake
from tests.python.oracle import sales as sales_oracle
from tests.python.oracle import user_events as events_oracle

pytestmark = [pytest.mark.e2e, pytest.mark.spark]

ROWS_PER_DAY = 400
SEED = 11

# (relation, oracle result attribute, grain used to order rows)
SALES_TABLES = [
    ("silver.sales_transactions", "silver_sales_transactions", ["transaction_id"]),
    ("silver.customers", "silver_customers", ["customer_id"]),
    ("gold.sales_enriched", "sales_enriched", ["transaction_id"]),
    ("gold.sales_summary", "sales_summary", ["year", "month", "region", "product_id"]),
    ("gold.sales_days", "sales_days", ["transaction_date", "region", "product_id"]),
    ("gold.customer_segments", "customer_segments", ["customer_id"]),
]
EVENT_TABLES = [
    ("silver.user_events", "silver_user_events", ["event_id"]),
    ("gold.user_features", "user_features", ["user_id"]),
    ("gold.user_days", "user_days", ["event_date", "user_id"]),
    ("gold.conversion_funnel", "conversion_funnel", ["event_date", "product_id"]),
    ("gold.hourly_revenue", "hourly_revenue", ["event_date", "event_hour"]),
    ("gold.top_products", "top_products", ["event_date", "product_rank"]),
    ("gold.category_performance", "category_performance", ["event_date", "category"]),
    ("gold.user_activity", "user_activity", ["event_date"]),
]


def harness(lake: Path, tmp: Path, tag: str) -> Lake:
    return Lake(lake, tmp / f"dbt-target-{tag}", tmp / f"dbt-logs-{tag}")


def table(lake: Path, relation: str, columns: list[str], grain: list[str]) -> list[tuple]:
    with duckdb.connect(str(lake / "warehouse.duckdb"), read_only=True) as con:
        return con.execute(f"select {', '.join(columns)} from {relation} order by {', '.join(grain)}").fetchall()


def normalise(value: Any) -> Any:
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC).replace(tzinfo=None)
    return value


def assert_table_equals(lake: Path, relation: str, expected_rows: list[dict], grain: list[str]) -> None:
    assert expected_rows, f"the oracle has no rows for {relation}: the test data is too small"
    columns = list(expected_rows[0])
    actual = table(lake, relation, columns, grain)
    expected = sorted((tuple(normalise(row[c]) for c in columns) for row in expected_rows),
                      key=lambda row: tuple((v is None, v) for v in (row[columns.index(g)] for g in grain)))
    assert len(actual) == len(expected), f"{relation}: {len(actual)} rows, oracle {len(expected)}"
    for got, want in zip(actual, expected, strict=True):
        for name, a, b in zip(columns, got, want, strict=True):
            if isinstance(b, float) or isinstance(a, float):
                assert (a is None and b is None) or math.isclose(a, b, rel_tol=1e-9), f"{relation} {want} {name}"
            elif isinstance(b, Decimal):
                assert a == b, f"{relation} {want[:3]} {name}: {a!r} != {b!r}"
            else:
                assert a == b, f"{relation} {want[:3]} {name}: {a!r} != {b!r}"


def assert_accounting(lake: Path, accounting: Any, rejected_relation: str) -> None:
    with duckdb.connect(str(lake / "warehouse.duckdb"), read_only=True) as con:
        rejected = dict(con.execute(f"select reject_reason, count(*) from {rejected_relation} group by 1").fetchall())
    assert rejected == accounting.rejected, rejected_relation


def check_against_oracles(lake: Path, batches: list[list[Path]]) -> None:
    def only(datasets: set[str]) -> list[list[Path]]:
        return [[p for p in batch if datasets & set(p.parts)] for batch in batches]

    sales_expected = sales_oracle.compute(only({"sales_transactions", "customers"}), root=lake / "raw")
    events_expected = events_oracle.compute(only({"user_events"}), root=lake / "raw")
    assert_accounting(lake, sales_expected.sales_transactions, "silver.sales_transactions_rejected")
    assert_accounting(lake, sales_expected.customers, "silver.customers_rejected")
    assert_accounting(lake, events_expected.user_events, "silver.user_events_rejected")
    for relation, attribute, grain in SALES_TABLES:
        assert_table_equals(lake, relation, getattr(sales_expected, attribute), grain)
    for relation, attribute, grain in EVENT_TABLES:
        assert_table_equals(lake, relation, getattr(events_expected, attribute), grain)


def raw_files(lake: Path) -> set[Path]:
    return {p for p in (lake / "raw").rglob("*") if p.is_file() and "web_logs" not in p.parts}


def test_domains_match_oracles_incrementally_and_after_full_refresh(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    raw = lake / "raw"
    generate_sales(raw, days=4, rows_per_day=ROWS_PER_DAY, seed=SEED, start_date=date(2026, 11, 1))
    generate_user_events(raw, days=4, rows_per_day=ROWS_PER_DAY, seed=SEED, start_date=date(2026, 11, 1))
    first_batch = sorted(raw_files(lake))
    harness(lake, tmp_path, "inc").make("pipeline")
    check_against_oracles(lake, [first_batch])

    generate_sales(raw, days=2, rows_per_day=ROWS_PER_DAY, seed=SEED, start_date=date(2026, 11, 5))
    generate_user_events(raw, days=2, rows_per_day=ROWS_PER_DAY, seed=SEED, start_date=date(2026, 11, 5))
    second_batch = sorted(raw_files(lake) - set(first_batch))
    assert second_batch
    harness(lake, tmp_path, "inc").make("pipeline")
    check_against_oracles(lake, [first_batch, second_batch])

    # The incremental warehouse equals a full refresh over the same bronze.
    other = tmp_path / "full-refresh-lake"
    other.mkdir()
    for folder in ("raw", "bronze", "quarantine"):
        shutil.copytree(lake / folder, other / folder)
    harness(other, tmp_path, "full").dbt("build", "--full-refresh")
    for relation, _, grain in SALES_TABLES + EVENT_TABLES:
        with duckdb.connect(str(lake / "warehouse.duckdb"), read_only=True) as con:
            columns = [r[0] for r in con.execute(
                "select column_name from information_schema.columns where table_schema || '.' || table_name = ? "
                "order by ordinal_position", [relation]).fetchall()]
        assert table(lake, relation, columns, grain) == table(other, relation, columns, grain), relation
