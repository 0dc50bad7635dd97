"""The bronze-to-silver reconciliation tests find every kind of accounting failure they name.

A clean build of hand-written web_logs and sales files passes. Then silver is broken by hand, one record per kind of
failure, and the full check (`--vars '{full_checks: true}'`, what `make check-all` runs) must return exactly the
records broken, each with its reason. The expected rows are written here from the tampering, record by record; the
bronze file names are read from bronze, which the tests do not produce.

Both reconciliations name each relation once, so a build reads each once
(tests/dbt/reconcile_web_logs_bronze_to_silver.sql, macros/tests/reconciliation.sql): this test shows that the
single pass still finds each failure.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import duckdb
import pytest

from testkit import Lake

pytestmark = [pytest.mark.e2e, pytest.mark.spark]

WEB_HEADER = "event_time,user_id,endpoint,status_code,response_ms,user_agent\n"
SALES_HEADER = ("transaction_id,transaction_date,store_id,store_name,city,region,product_id,product_name,"
                "category,customer_id,quantity,unit_price,total_amount,payment_method\n")


def web_log(minute: int, status: int = 200) -> str:
    return f"2026-10-01T10:{minute:02d}:00Z,u{minute},/api/items,{status},12,agent\n"


def sale(transaction_id: str, quantity: int = 2) -> str:
    return f"{transaction_id},2026-10-01,S1,Store,City,North,P1,Pen,Office,C1,{quantity},1.50,3.00,card\n"


def failures(lake: Lake, test: str) -> Counter:
    with duckdb.connect(str(lake.warehouse), read_only=True) as con:
        (schema,) = con.execute("select table_schema from information_schema.tables "
                                f"where table_name = '{test}'").fetchone()
        return Counter(con.execute(f"select _source_file, _record_number, failure from {schema}.{test}").fetchall())


def test_each_accounting_failure_is_found_with_its_record(tmp_path: Path, spark: Any) -> None:
    lake = Lake.under(tmp_path)
    # Records 1-6 are valid requests; 7 and 8 are rejected (status code out of range). Record numbers count data
    # lines from 1.
    lake.deliver("day1.csv", WEB_HEADER + "".join(web_log(m) for m in range(1, 7))
                 + web_log(7, status=999) + web_log(8, status=999), dataset="web_logs")
    lake.deliver("day1.csv", SALES_HEADER + sale("T1") + sale("T2") + sale("T3") + sale("T4")
                 + sale("B1", quantity=0), dataset="sales_transactions")
    lake.ingest(spark, dataset="web_logs")
    lake.ingest(spark, dataset="sales_transactions")
    tests = "reconcile_web_logs_bronze_to_silver reconcile_sales_transactions_bronze_to_silver"
    # The two datasets' models and the two tests; raises if a test fails: the clean build reconciles.
    lake.dbt("build", "--select", " ".join(f"+{test}" for test in tests.split()), "--indirect-selection", "cautious")

    with duckdb.connect() as con:  # bronze as the ingest job wrote it: one file each, records numbered from 1
        def bronze(dataset: str, column: str) -> list[tuple]:
            return con.execute(f"select _source_file, _record_number, {column} from read_parquet("
                               f"'{lake.root / 'bronze'}/{dataset}/*/*.parquet') order by 2").fetchall()
        web_records, sales_records = bronze("web_logs", "user_id"), bronze("sales_transactions", "transaction_id")
    web, sales = web_records[0][0], sales_records[0][0]
    assert web_records == [(web, n, f"u{n}") for n in range(1, 9)], web_records
    assert sales_records == [(sales, n, t) for n, t in enumerate(["T1", "T2", "T3", "T4", "B1"], 1)], sales_records

    with duckdb.connect(str(lake.warehouse)) as con:
        def run(sql: str, rows: int = 1) -> None:
            changed = con.execute(sql).fetchall()[0][0]
            assert changed == rows, (sql, changed)

        # web_logs
        run(f"delete from silver.web_requests where _source_file = '{web}' and _record_number = 1")
        run(f"update silver.web_requests_rejected set _record_number = 2 "
            f"where _source_file = '{web}' and _record_number = 7")
        run(f"update silver.web_requests_rejected set _source_file = 'nowhere.csv' "
            f"where _source_file = '{web}' and _record_number = 8")
        run(f"update silver.web_requests set _record_number = 999 where _source_file = '{web}' and _record_number = 3")
        run(f"insert into silver.web_logs_checked select * from silver.web_logs_checked "
            f"where _source_file = '{web}' and _record_number = 4")
        run(f"delete from silver.web_logs_checked where _source_file = '{web}' and _record_number = 6")
        # sales_transactions: data lines 1-4 are T1-T4, line 5 is B1 (rejected: quantity 0)
        run("delete from silver.sales_transaction_versions where transaction_id = 'T1'")
        run(f"update silver.sales_transactions_rejected set _record_number = 2 where _source_file = '{sales}'")
        run("insert into silver.sales_transactions select * from silver.sales_transactions where transaction_id = 'T3'")
        run("update silver.sales_transaction_versions set _record_number = 999 where transaction_id = 'T4'")

    lake.dbt("test", "--select", tests, "--vars", "{full_checks: true}", check=False)

    assert failures(lake, "reconcile_web_logs_bronze_to_silver") == Counter({
        (web, 1, "lost: in no outcome"): 1,  # its kept row deleted, and no other record keeps its request
        (web, 2, "placed twice: kept and rejected"): 1,
        (web, 7, "lost: in no outcome"): 1,  # its rejected row now names record 2
        (web, 8, "lost: in no outcome"): 1,  # its rejected row now names a file bronze does not have
        ("nowhere.csv", 8, "rejected row with no bronze record"): 1,
        (web, 999, "silver row with no bronze record"): 1,  # record 3's kept row, renumbered: 3 is then a duplicate
        (web, 4, "checked 2 times"): 1,
        (web, 6, "lost: not checked"): 1,
    })
    assert failures(lake, "reconcile_sales_transactions_bronze_to_silver") == Counter({
        (sales, 1, "lost: in no outcome"): 1,  # T1's version deleted
        (sales, 1, "current row that is not a version"): 1,
        (sales, 2, "placed 2 times"): 1,  # T2 is a version, and B1's rejected row now names T2's record
        (sales, 5, "lost: in no outcome"): 1,  # B1
        (sales, 3, "current row of a key with 2 current rows"): 2,  # T3 twice in current
        (sales, 4, "lost: in no outcome"): 1,  # T4's version renumbered
        (sales, 4, "current row that is not a version"): 1,
        (sales, 999, "outcome row with no bronze record"): 1,
        (None, None, "current holds 4 keys, versions 3"): 1,  # T1 has no version left
    })
