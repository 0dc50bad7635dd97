"""A build's data tests check what the build added; `make check-all` checks everything (macros/tests/scope.sql).

Batch 1 sells T1 and T2. Then T1's silver row is broken by hand (quantity -5, which `accepted_range` on
sales_transactions.quantity refuses). Batch 2 sells T3. Its incremental build passes: its tests read only the runs
it read, and T1 is not one of them. The compiled test carries exactly the window recorded for the build in
ops.model_watermarks, and the `relationships` test of the month-grain gold.sales_summary reads its parent,
gold.sales_days, on the rebuilt month only. `make check-all` then reads every row, and fails on T1, on a product
of gold that its parent does not have, and on a day's revenue that no longer adds up (reconcile_gold_totals).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pytest

from testkit import Lake

pytestmark = [pytest.mark.e2e, pytest.mark.spark]

SALES_HEADER = ("transaction_id,transaction_date,store_id,store_name,city,region,product_id,product_name,"
                "category,customer_id,quantity,unit_price,total_amount,payment_method\n")
TEST = "accepted_range_sales_transactions_quantity__1"
RELATIONSHIP = "relationships_sales_summary_*"  # the file name is shortened with a hash
NOVEMBER = "transaction_date >= date '2026-11-01' and transaction_date < date '2026-12-01'"


def sale(transaction_id: str, day: str) -> str:
    return f"{transaction_id},{day},S1,Store,City,North,P1,Pen,Office,C1,2,1.50,3.00,card\n"


def pipeline(lake: Lake, spark: Any) -> None:
    """`make pipeline`'s two steps, in this process: the ingest job on sales_transactions, then `dbt build`."""
    lake.ingest(spark, dataset="sales_transactions")
    lake.dbt("build")


def test_a_build_tests_its_new_rows_and_check_all_tests_every_row(tmp_path: Path, spark: Any) -> None:
    lake = Lake.under(tmp_path)
    sales = lake.root / "raw" / "sales_transactions"
    sales.mkdir(parents=True)
    (sales / "day1.csv").write_text(SALES_HEADER + sale("T1", "2026-10-01") + sale("T2", "2026-10-02"))
    pipeline(lake, spark)
    with duckdb.connect(str(lake.warehouse)) as con:
        con.execute("update silver.sales_transactions set quantity = -5 where transaction_id = 'T1'")
        (first_run,) = con.execute("select max(_ingest_run_id) from silver.sales_transactions").fetchone()

    # In November: sales_summary rebuilds only November, so T1's October is not recomputed from the broken row.
    (sales / "day2.csv").write_text(SALES_HEADER + sale("T3", "2026-11-03"))
    pipeline(lake, spark)  # raises if the build fails

    with duckdb.connect(str(lake.warehouse), read_only=True) as con:
        windows = con.execute(
            "select after_run_id, upto_run_id from ops.model_watermarks where model_name = 'sales_transactions' "
            "and kind = 'consumed' order by recorded_at").fetchall()
        assert con.execute("select count(*) from silver.sales_transactions").fetchone() == (3,)
    assert windows[0][0] is None and windows[1][0] == first_run, windows
    compiled = next((lake.target / "compiled").rglob(f"{TEST}.sql")).read_text()
    assert f"_ingest_run_id > '{first_run}'" in compiled, compiled
    relationship = next((lake.target / "compiled").rglob(RELATIONSHIP)).read_text()
    assert NOVEMBER in relationship and "2026-10" not in relationship, relationship

    with duckdb.connect(str(lake.warehouse)) as con:  # an orphan in gold: the relationships test must fail
        con.execute("update gold.sales_summary set product_id = 'P404' where month = 11")
        # A day's revenue off by 1.00: sales_days no longer adds up to silver on that date, nor sales_summary (not
        # rebuilt) to sales_days on that month.
        con.execute("update gold.sales_days set revenue = revenue + 1 where transaction_date = date '2026-11-03'")

    full = lake.make("check-all", ok=None)  # the weekly command, as it is typed
    assert full.returncode != 0
    assert f"Failure in test {TEST}" in full.output, full.tail(3000)
    assert "Failure in test relationships_sales_summary_product_id" in full.output, full.tail(3000)
    with duckdb.connect(str(lake.warehouse), read_only=True) as con:
        (schema,) = con.execute("select table_schema from information_schema.tables "
                                "where table_name = 'reconcile_gold_totals'").fetchone()
        differing = con.execute(f"select measure, silver_total, gold_total from {schema}.reconcile_gold_totals "
                                "order by measure").fetchall()
    assert [(m, float(s), float(g)) for m, s, g in differing] == [
        ("sales_days.revenue", 9.0, 10.0),  # every day (a full check): T1, T2 and T3, 3.00 each; T3's day +1
        ("sales_summary.revenue", 10.0, 9.0),
    ], differing
    compiled = next((lake.target / "compiled").rglob(f"{TEST}.sql")).read_text()
    assert "_ingest_run_id >" not in compiled, compiled
    relationship = next((lake.target / "compiled").rglob(RELATIONSHIP)).read_text()
    assert "transaction_date" not in relationship, relationship
