"""gold.customer_segments is kept by difference (macros/incremental/day_versions.sql): an incremental build adds the
touched dates' per-customer counts and revenue, as they are now minus as they were (ops.customer_day_versions), to
its own rows, and reads tier and age group from silver.customers whenever it rewrites them.

Batch 1: C1 buys on 2026-09-15 (T1, 3.00) and 2026-10-01 (T2, 1.50); C2 on 2026-10-01 (T3, 10.00); C1 is a
bronze customer.
Batch 2 corrects T1 to 2026-10-20, which empties C1's first day (C1 is summed again from every date), and C3 buys
on 2026-10-21 (T4, 5.00).
Batch 3 brings no sale, only C1 moving to gold: every row is rewritten from the table's own rows, tier included.
The expectations are written out by hand.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from testkit import Lake

pytestmark = [pytest.mark.e2e, pytest.mark.spark]

SALES_HEADER = ("transaction_id,transaction_date,store_id,store_name,city,region,product_id,product_name,"
                "category,customer_id,quantity,unit_price,total_amount,payment_method\n")
SEGMENTS = ("select customer_id, first_purchase_date::varchar, last_purchase_date::varchar, transaction_count, "
            "total_revenue::varchar, membership_tier, segment, as_of_date::varchar from gold.customer_segments "
            "order by customer_id")
ONLY_WHAT_IS_READ = ("--indirect-selection", "cautious", "--exclude", "test_type:singular")


def sale(transaction_id: str, day: str, customer: str, amount: str) -> str:
    return f"{transaction_id},{day},S1,Store,City,North,P1,Pen,Office,{customer},1,{amount},{amount},card\n"


def customer(tier: str, updated_at: str) -> str:
    return json.dumps({"customer_id": "C1", "customer_name": "Ada", "age_group": "25-34", "membership_tier": tier,
                       "signup_date": "2026-01-01", "updated_at": updated_at}) + "\n"


def pipeline(lake: Lake, spark: Any) -> None:
    for dataset in ("sales_transactions", "customers"):
        lake.ingest(spark, dataset=dataset)
    lake.dbt("build", "--select", "+customer_segments+", *ONLY_WHAT_IS_READ)


def windows(lake: Lake) -> dict[str, dict[str, Any]]:
    sql = next((lake.target / "compiled").rglob("customer_segments.sql")).read_text()
    return {w["upstream"]: w for w in map(json.loads, re.findall(r"/\* lakehouse:window (\{.*?\}) \*/", sql))}


def test_customer_segments_adds_the_touched_dates_and_rewrites_tiers(tmp_path: Path, spark: Any) -> None:
    lake = Lake.under(tmp_path)
    sales = lake.root / "raw" / "sales_transactions"
    customers = lake.root / "raw" / "customers"
    sales.mkdir(parents=True)
    customers.mkdir(parents=True)
    (sales / "day1.csv").write_text(SALES_HEADER + sale("T1", "2026-09-15", "C1", "3.00")
                                    + sale("T2", "2026-10-01", "C1", "1.50") + sale("T3", "2026-10-01", "C2", "10.00"))
    (customers / "day1.jsonl").write_text(customer("bronze", "2026-10-01T00:00:00Z"))
    pipeline(lake, spark)
    assert windows(lake)["sales_transactions"]["mode"] == "full"
    assert lake.query(SEGMENTS) == [
        ("C1", "2026-09-15", "2026-10-01", 2, "4.50", "bronze", "new", "2026-10-01"),
        ("C2", "2026-10-01", "2026-10-01", 1, "10.00", None, "new", "2026-10-01"),
    ]

    (sales / "day2.csv").write_text(SALES_HEADER + sale("T1", "2026-10-20", "C1", "3.00")
                                    + sale("T4", "2026-10-21", "C3", "5.00"))
    pipeline(lake, spark)
    built = windows(lake)["sales_transactions"]
    assert (built["mode"], built["dates"], built["recompute"]) == (
        "delta", ["2026-09-15", "2026-10-20", "2026-10-21"], ["C1"]), built
    after_batch_2 = [
        ("C1", "2026-10-01", "2026-10-20", 2, "4.50", "bronze", "new", "2026-10-21"),
        ("C2", "2026-10-01", "2026-10-01", 1, "10.00", None, "new", "2026-10-21"),
        ("C3", "2026-10-21", "2026-10-21", 1, "5.00", None, "new", "2026-10-21"),
    ]
    assert lake.query(SEGMENTS) == after_batch_2

    (customers / "day3.jsonl").write_text(customer("gold", "2026-10-22T00:00:00Z"))
    pipeline(lake, spark)
    built = windows(lake)
    assert (built["sales_transactions"]["mode"], built["sales_transactions"]["empty"]) == ("delta", True), built
    assert not built["customers"]["empty"], built
    assert lake.query(SEGMENTS) == [(row[0], *row[1:5], "gold" if row[0] == "C1" else row[5], *row[6:])
                                    for row in after_batch_2]

    # Nothing new: nothing read, nothing written.
    pipeline(lake, spark)
    built = windows(lake)
    assert built["sales_transactions"]["mode"] == "none" and built["customers"]["empty"], built

    # And it is what a full rebuild gives.
    expected = lake.query(SEGMENTS)
    lake.dbt("run", "--full-refresh", "--select", "customer_day_versions", "customer_segments")
    assert windows(lake)["sales_transactions"]["mode"] == "full"
    assert lake.query(SEGMENTS) == expected
