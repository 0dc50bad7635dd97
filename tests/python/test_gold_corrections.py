"""A correction can empty a date: the gold rows of the date it left must disappear, not linger.

Batch 1 sells T1 in September and T2 in October, and has event E1 on 2026-11-01 and E2 on 2026-11-02.
Batch 2 corrects T1 into October and re-delivers E1 with a 2026-11-02 timestamp. After the incremental
build, September and 2026-11-01 have no gold rows left; the expectations are written out by hand.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
import pytest

from testkit import Lake, close_duckdb

pytestmark = [pytest.mark.e2e, pytest.mark.spark]

SALES_HEADER = ("transaction_id,transaction_date,store_id,store_name,city,region,product_id,product_name,"
                "category,customer_id,quantity,unit_price,total_amount,payment_method\n")


def event(event_id: str, at: str, product: str) -> str:
    return json.dumps({"event_id": event_id, "user_id": "u1", "session_id": "s1", "event_type": "view",
                       "product_id": product, "category": "Books", "price": None, "event_timestamp": at})


def pipeline(lake: Lake, spark: Any) -> None:
    """`make pipeline`'s two steps, in this process: the ingest job on each dataset, then `dbt build`."""
    for dataset in ("sales_transactions", "user_events"):
        lake.ingest(spark, dataset=dataset)
    lake.dbt("build")


def ingest_sales(lake: Lake, spark: Any, name: str, *rows: str) -> None:
    """Deliver one sales_transactions CSV file (the header and `rows`) and ingest it."""
    sales = lake.root / "raw" / "sales_transactions"
    sales.mkdir(parents=True, exist_ok=True)
    (sales / name).write_text(SALES_HEADER + "".join(f"{row}\n" for row in rows))
    lake.ingest(spark, dataset="sales_transactions")


def test_a_correction_that_empties_a_date_removes_its_gold_rows(tmp_path: Path, spark: Any) -> None:
    lake = Lake.under(tmp_path)
    sales = lake.root / "raw" / "sales_transactions"
    events = lake.root / "raw" / "user_events"
    sales.mkdir(parents=True)
    events.mkdir(parents=True)
    (sales / "day1.csv").write_text(
        SALES_HEADER
        + "T1,2026-09-15,S1,Store,City,North,P1,Pen,Office,C1,2,1.50,3.00,card\n"
        + "T2,2026-10-01,S1,Store,City,North,P1,Pen,Office,C1,1,1.50,1.50,card\n"
    )
    (events / "day1.jsonl").write_text(
        event("E1", "2026-11-01T10:00:00Z", "P1") + "\n" + event("E2", "2026-11-02T10:00:00Z", "P2") + "\n"
    )
    pipeline(lake, spark)
    assert lake.query("select year, month, transaction_count from gold.sales_summary order by 1, 2") == [
        (2026, 9, 1), (2026, 10, 1)]
    assert lake.query("select event_date::varchar, events from gold.user_activity order by 1") == [
        ("2026-11-01", 1), ("2026-11-02", 1)]

    correction = "T1,2026-10-20,S1,Store,City,North,P1,Pen,Office,C1,2,1.50,3.00,card\n"
    (sales / "day2.csv").write_text(SALES_HEADER + correction)
    (events / "day2.jsonl").write_text(event("E1", "2026-11-02T11:00:00Z", "P1") + "\n")
    pipeline(lake, spark)

    summary = "select year, month, transaction_count, units_sold, revenue::varchar from gold.sales_summary"
    assert lake.query(summary) == [(2026, 10, 2, 3, "4.50")]
    assert lake.query("select event_date::varchar, active_users, events from gold.user_activity") == [
        ("2026-11-02", 1, 2)]
    for table in ("conversion_funnel", "top_products", "category_performance"):
        assert lake.query(f"select distinct event_date::varchar from gold.{table}") == [("2026-11-02",)], table
    assert lake.query("select product_rank, product_id, views from gold.top_products order by 1") == [
        (1, "P1", 1), (2, "P2", 1)]


def test_a_correction_is_found_while_the_key_directory_lags(tmp_path: Path, spark: Any) -> None:
    """silver.user_events finds the current date of a re-delivered event in the key directory user_event_keys. A
    build that leaves the directory out (`--exclude user_event_keys`) leaves it behind; the next build must still
    find the old date of an event the directory has not indexed, or the event would end up with two rows.

    E3 arrives on 2026-11-03 in a build without the directory, then is re-delivered on 2026-11-04 in another."""
    lake = Lake.under(tmp_path)
    events = lake.root / "raw" / "user_events"
    events.mkdir(parents=True)
    (events / "day1.jsonl").write_text(
        event("E1", "2026-11-01T10:00:00Z", "P1") + "\n" + event("E2", "2026-11-02T10:00:00Z", "P2") + "\n")
    lake.ingest(spark, dataset="user_events")
    lake.dbt("build")

    (events / "day2.jsonl").write_text(event("E3", "2026-11-03T10:00:00Z", "P3") + "\n")
    lake.ingest(spark, dataset="user_events")
    lake.dbt("build", "--exclude", "user_event_keys")
    assert lake.query("select count(*) from silver.user_event_keys") == [(2,)]  # E3 not indexed

    (events / "day3.jsonl").write_text(event("E3", "2026-11-04T09:00:00Z", "P3") + "\n")
    lake.ingest(spark, dataset="user_events")
    lake.dbt("build", "--exclude", "user_event_keys")

    expected_events = [("E1", "2026-11-01"), ("E2", "2026-11-02"), ("E3", "2026-11-04")]
    expected_activity = [("2026-11-01", 1), ("2026-11-02", 1), ("2026-11-04", 1)]
    assert lake.query("select event_id, event_date::varchar from silver.user_events order by 1") == expected_events
    assert lake.query("select event_date::varchar, events from gold.user_activity order by 1") == expected_activity

    # The directory catches up in the next build, and covers every delivery.
    lake.dbt("build")
    assert lake.query("select event_date::varchar from silver.user_event_keys order by 1") == [
        ("2026-11-01",), ("2026-11-02",), ("2026-11-03",), ("2026-11-04",)]
    assert lake.query("select event_id, event_date::varchar from silver.user_events order by 1") == expected_events


def test_sales_summary_waits_for_the_days_it_adds_up(tmp_path: Path, spark: Any) -> None:
    """gold.sales_summary adds up gold.sales_days per month. A build that leaves sales_days out (`--exclude
    sales_days`) must not let sales_summary take the new dates from the stale days (and then count them as done):
    it waits, and the next build rebuilds both.

    Batch 1 sells T1 on 2026-10-01 (3.00). Batch 2 sells T2 on 2026-10-02 (1.50) and moves T1 to 2026-11-05."""
    lake = Lake.under(tmp_path)
    ingest_sales(lake, spark, "day1.csv", "T1,2026-10-01,S1,Store,City,North,P1,Pen,Office,C1,2,1.50,3.00,card")
    lake.dbt("build")
    summary = "select year, month, transaction_count, revenue::varchar from gold.sales_summary order by 1, 2"
    assert lake.query(summary) == [(2026, 10, 1, "3.00")]

    ingest_sales(lake, spark, "day2.csv", "T2,2026-10-02,S1,Store,City,North,P1,Pen,Office,C1,1,1.50,1.50,card",
                 "T1,2026-11-05,S1,Store,City,North,P1,Pen,Office,C1,2,1.50,3.00,card")
    lake.dbt("build", "--exclude", "sales_days")
    assert lake.query(summary) == [(2026, 10, 1, "3.00")]  # as it was: sales_days has not rebuilt the dates

    lake.dbt("build")
    assert lake.query(summary) == [(2026, 10, 1, "1.50"), (2026, 11, 1, "3.00")]
    assert lake.query("select transaction_date::varchar, transaction_count, revenue::varchar from gold.sales_days "
                      "order by 1") == [("2026-10-02", 1, "1.50"), ("2026-11-05", 1, "3.00")]


def test_a_build_stopped_before_its_record_is_recorded_by_the_rerun(tmp_path: Path, spark: Any) -> None:
    """On Athena a model's data and its watermark record are two statements, so a build can stop between them (the
    local Athena's stopped-build test once did, after silver.sales_transactions' MERGE). The rerun finds the model's
    own rows past its record and does not read those runs again; it must record them, or the models that wait for its
    watermark (ops.customer_day_versions, and through it gold.customer_segments) stay behind until new data comes.
    On DuckDB the two commit together, so the missing record is made by hand: batch 2 is built up to
    silver.sales_transactions, and its record deleted.

    Batch 1 sells T1 to C1 on 2026-10-01 (3.00); batch 2 sells T2 to C1 on 2026-10-02 (1.50)."""
    lake = Lake.under(tmp_path)
    ingest_sales(lake, spark, "day1.csv", "T1,2026-10-01,S1,Store,City,North,P1,Pen,Office,C1,2,1.50,3.00,card")
    lake.dbt("build")
    segments = "select customer_id, transaction_count, total_revenue::varchar from gold.customer_segments"
    assert lake.query(segments) == [("C1", 1, "3.00")]

    ingest_sales(lake, spark, "day2.csv", "T2,2026-10-02,S1,Store,City,North,P1,Pen,Office,C1,1,1.50,1.50,card")
    lake.dbt("build", "--select", "+sales_transactions", "--indirect-selection", "cautious")
    record = ("from ops.model_watermarks where model_name = 'sales_transactions' and kind = 'consumed' "
              "and upto_run_id = (select max(_ingest_run_id) from silver.sales_transactions)")
    close_duckdb()
    with duckdb.connect(str(lake.warehouse)) as con:
        assert con.execute(f"delete {record}").fetchone() == (1,)  # the build "stopped" before recording

    lake.dbt("build")
    assert lake.query(segments) == [("C1", 2, "4.50")]
    assert lake.query(f"select count(*) {record}") == [(1,)]  # recorded by the rerun
    # The runs the "stopped" build wrote were never tested with it: the rerun tests sales_transactions in full.
    compiled = next((lake.target / "compiled").rglob("accepted_range_sales_transactions_quantity__1.sql")).read_text()
    assert "dbt_subquery" not in compiled, compiled  # no scope: neither `false` nor a run bound
    assert lake.query("select transaction_date::varchar, revenue::varchar from gold.sales_days order by 1") == [
        ("2026-10-01", "3.00"), ("2026-10-02", "1.50")]
