"""The bad-input matrix: every class of bad input, followed from the raw bytes through silver.

One lake for the whole module. Each case delivers its raw files under its own folder of a dataset's raw
folder (`raw/<dataset>/<case>/...`), so its records are told apart everywhere by `_source_file` lineage.
`make pipeline` runs twice, as a user would run it: once on every case's first delivery, then again after
the second deliveries (a file re-delivered under the same path, the same content under a new name, late
data). Then, per case, the test measures where each record ended up and compares it with counts written
by hand from the bytes below:

    raw       records delivered (a file delivered twice counts twice)
    bronze    rows in bronze/<dataset>/ingest_date=*/*.parquet
    quarantine  records in quarantine/<dataset>/ (a file quarantined whole is one row standing for all
              its records; how many, the run summary says)
    skipped   records of re-delivered files that the ingest skipped as already ingested (its run summary)
    rejected  rows in silver.<model>_rejected
    duplicate web_logs: valid records not kept because the same request is in silver through another
              record; keyed datasets: valid versions (in *_versions) that are not the current row
    silver    rows in the current silver table (web_requests, sales_transactions, user_events, customers)

and the counts must reconcile exactly: raw = bronze + quarantine + skipped, bronze = silver + rejected +
duplicate, per case. The quarantine and reject reasons are compared too.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import duckdb
import pytest

from testkit import Lake

pytestmark = [pytest.mark.e2e, pytest.mark.spark]

H = "event_time,user_id,endpoint,status_code,response_ms,user_agent"
SH = ("transaction_id,transaction_date,store_id,store_name,city,region,product_id,product_name,category,"
      "customer_id,quantity,unit_price,total_amount,payment_method")
WRONG_6 = "wrong field count: expected 6 fields"
WRONG_14 = "wrong field count: expected 14 fields"
UTF8 = "invalid UTF-8"

# Silver tables per dataset: (current, versions or None, rejected, key or None).
SILVER = {
    "web_logs": ("web_requests", None, "web_requests_rejected", None),
    "sales_transactions": ("sales_transactions", "sales_transaction_versions", "sales_transactions_rejected",
                           "transaction_id"),
    "user_events": ("user_events", "user_event_versions", "user_events_rejected", "event_id"),
    "customers": ("customers", "customer_versions", "customers_rejected", "customer_id"),
}


class Expect(NamedTuple):
    raw: int
    bronze: int
    quarantine: int = 0
    skipped: int = 0
    rejected: int = 0
    duplicate: int = 0
    silver: int = 0


@dataclass(frozen=True)
class Case:
    name: str
    dataset: str
    files: dict[str, str | bytes]  # delivered before the first `make pipeline`; str is written as UTF-8
    expect: Expect
    quarantine_reasons: dict[str, int] = field(default_factory=dict)  # reason -> records
    reject_reasons: dict[str, int] = field(default_factory=dict)
    run2: dict[str, str | bytes] = field(default_factory=dict)  # delivered between the two runs


def lines(*rows: str, end: str = "\n") -> str:
    return "".join(row + end for row in rows)


SAME_PATH_WEB = lines(H, "2024-03-01T13:00:00Z,sp1,/sp,200,1,ua", "2024-03-01T13:00:01Z,sp2,/sp,200,2,ua")
NEW_NAME_WEB = lines(H, "2024-03-01T14:00:00Z,nn1,/nn,200,1,ua", "2024-03-01T14:00:01Z,nn2,/nn,200,2,ua")
NEW_NAME_SALES = lines(SH, "NN-1,2024-03-01,S1,Store,City,North,P1,Pen,Office,C1,2,1.50,3.00,card",
                       "NN-2,2024-03-01,S1,Store,City,North,P1,Pen,Office,C1,1,1.50,1.50,card")
TRUNCATED_ARRAY = (
    '[\n  {"event_id": "e1", "user_id": "u1", "event_type": "view", "event_timestamp": "t1"},\n'
    '  {"event_id": "e2", "user_id"'
)

CASES = [
    # --- wrong column count: malformed CSV lines go to quarantine at ingest ---
    Case("wrong_column_count_web", "web_logs",
         {"a.csv": lines(H,
                         "2024-03-01T10:00:00Z,wcc1,/wcc,200,10,ua",
                         "2024-03-01T10:00:01Z,wcc2,/wcc,200",
                         "2024-03-01T10:00:02Z,wcc3,/wcc,200,10,ua,extra",
                         "2024-03-01T10:00:03Z,wcc4,/wcc,200,10,ua")},
         Expect(raw=4, bronze=2, quarantine=2, silver=2),
         quarantine_reasons={WRONG_6: 2}),
    Case("wrong_column_count_sales", "sales_transactions",
         {"a.csv": lines(SH,
                         "WCC-1,2024-03-01,S1,Store,City,North,P1,Pen,Office,C1,2,1.50,3.00,card",
                         "WCC-2,2024-03-01,S1,Store,City,North,P1,Pen,Office,C1,2,1.50,3.00",
                         "WCC-3,2024-03-01,S1,Store,City,North,P1,Pen,Office,C1,2,1.50,3.00,card,extra")},
         Expect(raw=3, bronze=1, quarantine=2, silver=1),
         quarantine_reasons={WRONG_14: 2}),
    # --- bad types: loaded as text into bronze, rejected by silver with the first rule broken ---
    Case("bad_types_web", "web_logs",
         {"a.csv": lines(H,
                         "2024-03-01T11:00:00Z,bt1,/bt,200.0,5,ua",
                         "2024-03-01T11:00:00Z,bt2,/bt,abc,5,ua",
                         "2024-03-01T11:00:00Z,bt3,/bt,700,5,ua",
                         "2024-03-01T11:00:00Z,bt4,/bt,200,1.5,ua",
                         "2024-03-01T11:00:00Z,bt5,/bt,200,-3,ua",
                         "2024-03-01T11:00:00Z,,/bt,200,5,ua",
                         "2024-03-01T11:00:00Z,bt7,bt,200,5,ua",
                         "2024-03-01T11:00:00Z,bt8, ,200,5,ua",
                         "2024-03-01T11:00:00Z,bt9,/bt, 404 ,7,ua")},
         Expect(raw=9, bronze=9, rejected=8, silver=1),
         reject_reasons={"invalid_status_code": 2, "status_code_out_of_range": 1, "invalid_response_ms": 1,
                         "negative_response_ms": 1, "missing_user_id": 1, "endpoint_not_absolute": 1,
                         "missing_endpoint": 1}),
    Case("bad_types_sales", "sales_transactions",
         {"a.csv": lines(SH,
                         "BT-1,2024-03-01,S1,Store,City,North,P1,Pen,Office,C1,2,1.50,3.00,card",
                         "BT-2,2024-03-01,S1,Store,City,North,P1,Pen,Office,C1,2.0,1.50,3.00,card",
                         "BT-3,2024-03-01,S1,Store,City,North,P1,Pen,Office,C1,0,1.50,0.00,card",
                         "BT-4,2024-03-01,S1,Store,City,North,P1,Pen,Office,C1,2,1.505,3.01,card",
                         "BT-5,2024-03-01,S1,Store,City,North,P1,Pen,Office,C1,2,-1.50,-3.00,card",
                         "BT-6,2024-03-01,S1,Store,City,North,P1,Pen,Office,C1,2,1.50,3.02,card",
                         "BT-7,2024-03-01,S1,Store,City,North,P1,Pen,Office,C1,2,1.50,3.01,card",
                         "BT-8,2024-03-01,S1,Store,City,North,P1,Pen,Office,C1,two,1.50,3.00,card",
                         "BT-9,2024-03-01,S1,Store,City,,P1,Pen,Office,C1,2,1.50,3.00,card",
                         ",2024-03-01,S1,Store,City,North,P1,Pen,Office,C1,2,1.50,3.00,card",
                         "BT-11,2024-02-30,S1,Store,City,North,P1,Pen,Office,C1,2,1.50,3.00,card")},
         Expect(raw=11, bronze=11, rejected=9, silver=2),
         reject_reasons={"invalid_quantity": 2, "non_positive_quantity": 1, "invalid_unit_price": 1,
                         "negative_unit_price": 1, "amount_mismatch": 1, "missing_region": 1,
                         "missing_transaction_id": 1, "invalid_transaction_date": 1}),
    Case("bad_types_events", "user_events",
         {"a.jsonl": lines(
             '{"event_id":"bt-e1","user_id":"u1","event_type":" VIEW ","event_timestamp":"2024-03-01T10:00:00Z"}',
             '{"event_id":"bt-e2","user_id":"u1","event_type":"hover","event_timestamp":"2024-03-01T10:00:00Z"}',
             '{"event_id":"bt-e3","user_id":"u1","event_type":"purchase","event_timestamp":"2024-03-01T10:00:00Z"}',
             '{"event_id":"bt-e4","user_id":"u1","event_type":"purchase","price":"12.345",'
             '"event_timestamp":"2024-03-01T10:00:00Z"}',
             '{"event_id":"bt-e5","user_id":"u1","event_type":"purchase","price":-1,'
             '"event_timestamp":"2024-03-01T10:00:00Z"}',
             '{"event_id":"bt-e6","user_id":"u1","event_type":"view","price":1e2,'
             '"event_timestamp":"2024-03-01T10:00:00Z"}',
             '{"event_id":"bt-e7","user_id":"","event_type":"view","event_timestamp":"2024-03-01T10:00:00Z"}',
             '{"event_id":"bt-e8","user_id":"u1","event_type":"purchase","price":12.5,"category":"Books",'
             '"event_timestamp":"2024-03-01T10:00:00Z"}',
             '{"event_id":"bt-e9","user_id":"u1","event_type":"view","event_timestamp":"yesterday"}')},
         Expect(raw=9, bronze=9, rejected=7, silver=2),
         reject_reasons={"invalid_event_type": 1, "missing_purchase_price": 1, "invalid_price": 2,
                         "negative_price": 1, "missing_user_id": 1, "invalid_event_timestamp": 1}),
    Case("bad_types_customers", "customers",
         {"a.jsonl": lines(
             '{"customer_id":"bt-c1","customer_name":"A","updated_at":"2024-03-01T10:00:00+01:00",'
             '"signup_date":"2023-01-15"}',
             '{"customer_id":"bt-c2","updated_at":"2024-03-01"}',
             '{"customer_id":"bt-c3","updated_at":"2024-03-01T10:00:00Z","signup_date":"2023-02-30"}',
             '{"customer_id":"bt-c4","updated_at":"2024-03-01T10:00:00Z","signup_date":"15/01/2023"}',
             '{"customer_id":" ","updated_at":"2024-03-01T10:00:00Z"}',
             # bt-c1 again, updated earlier (08:00Z < 09:00Z): a superseded version, not the current row.
             '{"customer_id":"bt-c1","customer_name":"A2","updated_at":"2024-03-01T08:00:00Z"}')},
         Expect(raw=6, bronze=6, rejected=4, duplicate=1, silver=1),
         reject_reasons={"invalid_updated_at": 1, "invalid_signup_date": 2, "missing_customer_id": 1}),
    # --- bad timestamps and offsets: converted to UTC; the same instant written differently is one request ---
    Case("bad_timestamps_web", "web_logs",
         {"a.csv": lines(H,
                         "2024-03-02T23:30:00-02:00,ts1,/ts,200,1,ua",
                         "2024-03-02 10:00:00.123456Z,ts2,/ts,200,1,ua",
                         "2024-03-02T10:00:00+05:30,ts3,/ts,200,1,ua",
                         "2024-03-02T24:00:00Z,ts4,/ts,200,1,ua",
                         "2024-02-30T10:00:00Z,ts5,/ts,200,1,ua",
                         "2024-03-02T10:00:00+0200,ts6,/ts,200,1,ua",
                         "03/02/2024 10:00,ts7,/ts,200,1,ua",
                         "2024-03-02T12:00:00+02:00,ts8,/ts,200,1,ua",
                         "2024-03-02T10:00:00Z,ts8,/ts,200,1,ua",
                         "2024-03-02T10:00:00,ts8,/ts,200,1,ua")},
         Expect(raw=10, bronze=10, rejected=4, duplicate=2, silver=4),
         reject_reasons={"invalid_event_time": 4}),
    # --- BOM, CRLF, quoting, unicode: read exactly, nothing lost ---
    Case("bom_web", "web_logs",
         {"a.csv": "\ufeff" + lines(H, "2024-03-01T15:00:00Z,bom1,/bom,200,1,ua",
                                    "2024-03-01T15:00:01Z,bom2,/bom,200,2,ua")},
         Expect(raw=2, bronze=2, silver=2)),
    Case("bom_events", "user_events",
         {"a.jsonl": "\ufeff" + lines(
             '{"event_id":"bom-e1","user_id":"u1","event_type":"view","event_timestamp":"2024-03-01T10:00:00Z"}',
             '{"event_id":"bom-e2","user_id":"u1","event_type":"click","event_timestamp":"2024-03-01T10:00:01Z"}')},
         Expect(raw=2, bronze=2, silver=2)),
    Case("crlf_web", "web_logs",
         {"a.csv": lines(H, "2024-03-01T16:00:00Z,crlf1,/crlf,200,1,ua", "2024-03-01T16:00:01Z,crlf2,/crlf,200,2,",
                         end="\r\n")},
         Expect(raw=2, bronze=2, silver=2)),
    Case("crlf_sales", "sales_transactions",
         {"a.csv": lines(SH, "CRLF-1,2024-03-01,S1,Store,City,North,P1,Pen,Office,C1,2,1.50,3.00,card",
                         end="\r\n")},
         Expect(raw=1, bronze=1, silver=1)),
    Case("quoted_web", "web_logs",
         {"a.csv": H + "\n"
                   + '2024-03-01T17:00:00Z,q1,/q,200,1,"Mozilla/5.0 (X11, Linux)"\n'
                   + '2024-03-01T17:00:01Z,q2,/q,200,2,"line one\nline two"\n'
                   + '"2024-03-01T17:00:02Z","q3","/q","200","3","say ""hi"", bye"\n'},
         Expect(raw=3, bronze=3, silver=3)),
    Case("quoted_sales", "sales_transactions",
         {"a.csv": SH + "\n"
                   + 'Q-1,2024-03-01,S1,"Smith, Jones & Co",City,North,P1,"Pen\nblue",Office,C1,2,1.50,3.00,card\n'},
         Expect(raw=1, bronze=1, silver=1)),
    Case("unicode_web", "web_logs",
         {"a.csv": lines(H, "2024-03-01T18:00:00Z,Zoë,/café/日本,200,1,😀 agent")},
         Expect(raw=1, bronze=1, silver=1)),
    Case("unicode_customers", "customers",
         {"u.jsonl": lines('{"customer_id":"uni-c1","customer_name":"Zoë 😀 日本","updated_at":"2024-03-01T10:00:00Z"}',
                           '{"customer_id":"uni-c2","customer_name":"Zo\\u00eb \\ud83d\\ude00",'
                           '"updated_at":"2024-03-01T10:00:00Z"}')},
         Expect(raw=2, bronze=2, silver=2)),
    # --- empty files: a no-op ---
    Case("empty_web", "web_logs", {"empty.csv": b"", "header_only.csv": H + "\n"}, Expect(raw=0, bronze=0)),
    Case("empty_events", "user_events", {"empty.json": b"", "empty_array.json": "[ ]\n", "blank.jsonl": "\n\r\n"},
         Expect(raw=0, bronze=0)),
    # --- missing and extra columns ---
    Case("missing_column_web", "web_logs",
         {"no_required.csv": lines("event_time,user_id,user_agent", "2024-03-01T19:00:00Z,mc1,ua",
                                   "2024-03-01T19:00:01Z,mc2,ua"),
          "no_optional.csv": lines("event_time,user_id,endpoint,status_code,response_ms",
                                   "2024-03-01T19:00:02Z,mc3,/mc,200,1")},
         Expect(raw=3, bronze=1, quarantine=2, silver=1),
         quarantine_reasons={"missing required column(s): endpoint, status_code, response_ms": 2}),
    Case("missing_column_customers", "customers",
         {"no_id.jsonl": lines('{"customer_name":"A","updated_at":"2024-03-01T10:00:00Z"}',
                               '{"customer_name":"B","updated_at":"2024-03-01T10:00:00Z"}')},
         Expect(raw=2, bronze=0, quarantine=2),
         quarantine_reasons={"missing required column(s): customer_id": 2}),
    Case("missing_column_events", "user_events",
         {"a.jsonl": lines(
             '{"event_id":"mc-e1","user_id":"u1","event_type":"view","event_timestamp":"2024-03-01T10:00:00Z"}',
             '{"event_id":"mc-e2","event_type":"view","event_timestamp":"2024-03-01T10:00:00Z"}')},
         Expect(raw=2, bronze=2, rejected=1, silver=1),
         reject_reasons={"missing_user_id": 1}),
    Case("extra_column_web", "web_logs",
         {"a.csv": lines(H + ",region", "2024-03-01T20:00:00Z,ec1,/ec,200,1,ua,eu")},
         Expect(raw=1, bronze=1, silver=1)),
    Case("extra_column_sales", "sales_transactions",
         {"a.csv": lines(SH + ",loyalty_id",
                         "EC-1,2024-03-01,S1,Store,City,North,P1,Pen,Office,C1,2,1.50,3.00,card,L9")},
         Expect(raw=1, bronze=1, silver=1)),
    # --- JSON arrays and broken JSON ---
    Case("json_array_events", "user_events",
         {"batch.json": '[\n  {"event_id": "ja-e1", "user_id": "u1", "event_type": "view",'
                        ' "event_timestamp": "2024-03-01T10:00:00Z"},\n'
                        '  null,\n'
                        '  {"event_id": "ja-e3", "user_id": "u1", "event_type": "add_to_cart",'
                        ' "event_timestamp": "2024-03-01T10:00:01Z"},\n'
                        '  {"event_id": "ja-e4", "user_id": "u2", "event_type": "purchase", "price": 9.99,'
                        ' "category": "Books", "event_timestamp": "2024-03-01T10:00:02Z"}\n]\n'},
         Expect(raw=4, bronze=3, quarantine=1, silver=3),
         quarantine_reasons={"invalid JSON: expected an object, got null": 1}),
    Case("json_array_customers", "customers",
         {"c.json": '[{"customer_id":"ja-c1","customer_name":"Old","updated_at":"2024-03-01T10:00:00Z"},'
                    '{"customer_id":"ja-c1","customer_name":"New","updated_at":"2024-03-02T10:00:00Z"}]'},
         Expect(raw=2, bronze=2, duplicate=1, silver=1)),
    Case("broken_json_events", "user_events",
         {"broken.ndjson": lines(
             '{"event_id":"bj-e1","user_id":"u1","event_type":"view","event_timestamp":"2024-03-01T10:00:00Z"}',
             '{"event_id":"bj-e2","user_id":}',
             "[1,2]",
             '{"event_id":"bj-e4","user_id":"u1","event_type":"view","event_timestamp":"2024-03-01T10:00:00Z"} x',
             '{"event_id":"bj-e5","user_id":"u1","event_type":"view","event_timestamp":"2024-03-01T10:00:00Z"}')},
         Expect(raw=5, bronze=2, quarantine=3, silver=2),
         quarantine_reasons={"invalid JSON: Expecting value": 1, "invalid JSON: expected an object, got an array": 1,
                             "invalid JSON: Extra data": 1}),
    Case("broken_json_array_events", "user_events",
         # Where the elements of a truncated array begin cannot be told: the ingest reads it as one record.
         {"cut.json": TRUNCATED_ARRAY},
         Expect(raw=1, bronze=0, quarantine=1),
         quarantine_reasons={"invalid JSON: Expecting ':' delimiter at line 3 column 31": 1}),
    # --- non-UTF-8 bytes (latin-1 written as such) ---
    Case("non_utf8_web", "web_logs",
         {"a.csv": H.encode() + b"\n2024-03-01T21:00:00Z,caf\xe9,/nu,200,1,ua\n"
                   + b"2024-03-01T21:00:01Z,nu2,/nu,200,1,ua\n"},
         Expect(raw=2, bronze=1, quarantine=1, silver=1),
         quarantine_reasons={UTF8: 1}),
    Case("non_utf8_events", "user_events",
         {"a.jsonl": b'{"event_id":"nu-e1","user_id":"Jos\xe9","event_type":"view",'
                     b'"event_timestamp":"2024-03-01T10:00:00Z"}\n'
                     b'{"event_id":"nu-e2","user_id":"u1","event_type":"view",'
                     b'"event_timestamp":"2024-03-01T10:00:00Z"}\n'},
         Expect(raw=2, bronze=1, quarantine=1, silver=1),
         quarantine_reasons={UTF8: 1}),
    # --- re-delivered files ---
    Case("redelivered_same_path_web", "web_logs",  # skipped by the manifest: in bronze once
         {"a.csv": SAME_PATH_WEB}, Expect(raw=4, bronze=2, skipped=2, silver=2), run2={"a.csv": SAME_PATH_WEB}),
    Case("redelivered_new_name_web", "web_logs",  # ingested again; silver keeps the first record of a request
         {"orig.csv": NEW_NAME_WEB}, Expect(raw=4, bronze=4, duplicate=2, silver=2),
         run2={"copy_of_orig.csv": NEW_NAME_WEB}),
    Case("redelivered_new_name_sales", "sales_transactions",  # ingested again; the later run is the current row
         {"orig.csv": NEW_NAME_SALES}, Expect(raw=4, bronze=4, duplicate=2, silver=2),
         run2={"copy_of_orig.csv": NEW_NAME_SALES}),
    # --- late data: dates with no other case's data, so gold can be checked whole ---
    Case("late_data_web", "web_logs",
         {"day1.csv": lines(H, "2024-02-10T08:00:00Z,late1,/late,200,100,ua",
                            "2024-02-10T09:00:00Z,late2,/late,500,200,ua",
                            "2024-02-14T09:00:00Z,late3,/late,200,50,ua")},
         Expect(raw=5, bronze=5, silver=5),
         run2={"day2.csv": lines(H, "2024-02-15T09:00:00Z,late4,/late,200,60,ua",
                                 "2024-02-10T10:00:00Z,late5,/late,404,300,ua")}),
    Case("late_data_events", "user_events",
         {"day1.jsonl": lines(
             '{"event_id":"late-e1","user_id":"lu1","session_id":"ls1","event_type":"view",'
             '"event_timestamp":"2024-02-10T08:00:00Z"}',
             '{"event_id":"late-e2","user_id":"lu1","session_id":"ls2","event_type":"view",'
             '"event_timestamp":"2024-02-14T08:00:00Z"}')},
         Expect(raw=4, bronze=4, silver=4),
         run2={"day2.jsonl": lines(
             '{"event_id":"late-e3","user_id":"lu1","session_id":"ls3","event_type":"view",'
             '"event_timestamp":"2024-02-15T08:00:00Z"}',
             '{"event_id":"late-e4","user_id":"lu2","session_id":"ls4","event_type":"click",'
             '"event_timestamp":"2024-02-10T23:59:59Z"}')}),
]
BY_NAME = {case.name: case for case in CASES}
assert len(BY_NAME) == len(CASES), "case names must be unique"

GOLD_LATE_WEB = ("select event_date::varchar, total_requests, error_requests, max_response_ms"
                 " from gold.daily_endpoint_metrics where endpoint = '/late' order by 1")
GOLD_LATE_EVENTS = ("select event_date::varchar, active_users, sessions, events from gold.user_activity"
                    " where event_date between date '2024-02-01' and date '2024-02-29' order by 1")


@dataclass
class Matrix:
    workspace: Lake
    outputs: list[str]  # stdout of each `make pipeline`
    gold_after_run1: dict[str, list[tuple]]
    connection: duckdb.DuckDBPyConnection | None = None  # opened after both runs (dbt needs the write lock)

    @property
    def lake(self) -> Path:
        return self.workspace.root

    def summaries(self, dataset: str) -> list[dict[str, Any]]:
        """The ingest's run summaries of a dataset, oldest first (a run with nothing new writes none)."""
        folder = self.lake / "bronze" / dataset / "_runs"
        return [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))]

    def query(self, sql: str, *params: Any) -> list[tuple]:
        """Read the warehouse (and bronze/quarantine Parquet) through one read-only connection per module."""
        if self.connection is None:
            self.connection = duckdb.connect(str(self.workspace.warehouse), read_only=True)
            self.connection.execute("set TimeZone = 'UTC'")
        return self.connection.execute(sql, list(params)).fetchall()


def deliver(lake: Path, case: Case, files: dict[str, str | bytes]) -> None:
    for name, content in files.items():
        path = lake / "raw" / case.dataset / case.name / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)


@pytest.fixture(scope="module")
def matrix(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Matrix]:
    workspace = Lake.under(tmp_path_factory.mktemp("bad_input_matrix"))
    for case in CASES:
        deliver(workspace.root, case, case.files)
    first = workspace.make("pipeline").stdout
    snapshot = {sql: workspace.query(sql) for sql in (GOLD_LATE_WEB, GOLD_LATE_EVENTS)}
    for case in CASES:
        deliver(workspace.root, case, case.run2)
    second = workspace.make("pipeline").stdout
    matrix = Matrix(workspace, [first, second], snapshot)
    yield matrix
    if matrix.connection is not None:
        matrix.connection.close()


def bronze_sql(lake: Path, dataset: str) -> str:
    return f"read_parquet('{lake}/bronze/{dataset}/ingest_date=*/*.parquet', hive_partitioning=true)"


def measure(matrix: Matrix, case: Case) -> tuple[Expect, Counter[str], Counter[str]]:
    """Where the records of a case ended up, read from the lake: counts, quarantine reasons, reject reasons."""
    lake, dataset, prefix = matrix.lake, case.dataset, f"{case.name}/%"
    current, versions, rejected_table, key = SILVER[dataset]

    # The ingest's own account of the case's files: each path ingested by exactly one run.
    summaries = matrix.summaries(dataset)
    entries = [f for s in summaries for f in s["files"] if f["path"].startswith(f"{case.name}/")]
    paths = [f["path"] for f in entries]
    assert sorted(paths) == sorted(set(paths)), f"{case.name}: a file ingested twice: {paths}"
    expected_paths = {f"{case.name}/{name}" for name in {**case.files, **case.run2}}
    assert set(paths) == expected_paths, f"{case.name}: files ingested {sorted(paths)}, delivered {expected_paths}"
    by_path = {f["path"]: f for f in entries}
    for f in entries:
        assert f["records_read"] == f["records_written"] + f["records_quarantined"], f"{case.name}: {f}"

    # Files the test delivered again under the same path: the second run must report them skipped.
    redelivered = [f"{case.name}/{name}" for name in case.run2 if name in case.files]
    skipped_in_run2 = set(summaries[-1]["skipped"]) if redelivered else set()
    skipped = sum(by_path[p]["records_read"] for p in redelivered if p in skipped_in_run2)
    assert set(redelivered) <= skipped_in_run2, f"{case.name}: re-delivered {redelivered} not reported skipped"

    has_bronze = any((lake / "bronze" / dataset).glob("ingest_date=*/*.parquet"))
    bronze = (matrix.query(f"select count(*) from {bronze_sql(lake, dataset)} where _source_file like ?", prefix)[0][0]
              if has_bronze else 0)
    quarantine_rows: list[tuple] = []
    if any((lake / "quarantine" / dataset).glob("ingest_date=*/*.parquet")):
        quarantine_rows = matrix.query(
            f"select _source_file, _record_number, reason from read_parquet('{lake}/quarantine/{dataset}/"
            "ingest_date=*/*.parquet', hive_partitioning=true) where _source_file like ?", prefix)
    quarantine_reasons: Counter[str] = Counter()
    for source_file, record_number, reason in quarantine_rows:
        entry = by_path[source_file]
        if record_number is None:  # quarantined whole: one row standing for all the file's records
            assert entry["quarantined_whole"] == reason, f"{case.name}: {entry} vs {reason!r}"
            assert entry["records_written"] == 0, f"{case.name}: {entry}"
            quarantine_reasons[reason] += entry["records_quarantined"]
        else:
            quarantine_reasons[reason] += 1
    quarantine = sum(quarantine_reasons.values())
    assert quarantine == sum(f["records_quarantined"] for f in entries), f"{case.name}: quarantine vs summaries"
    assert bronze == sum(f["records_written"] for f in entries), f"{case.name}: bronze vs summaries"

    silver = matrix.query(f"select count(*) from silver.{current} where _source_file like ?", prefix)[0][0]
    reject_reasons: Counter[str] = Counter(dict(matrix.query(
        f"select reject_reason, count(*) from silver.{rejected_table} where _source_file like ? group by 1", prefix)))
    if versions is None:
        duplicate = web_duplicates(matrix, prefix) if has_bronze else 0
    else:
        # A version that is not the current row of its key, while its key has a current row.
        duplicate = matrix.query(
            f"select count(*) from silver.{versions} as v where v._source_file like ?"
            f" and not exists (select 1 from silver.{current} as c"
            "   where c._source_file = v._source_file and c._record_number = v._record_number)"
            f" and exists (select 1 from silver.{current} as c where c.{key} = v.{key})", prefix)[0][0]
    counts = Expect(raw=bronze + quarantine + skipped, bronze=bronze, quarantine=quarantine, skipped=skipped,
                    rejected=sum(reject_reasons.values()), duplicate=duplicate, silver=silver)
    return counts, quarantine_reasons, reject_reasons


def web_duplicates(matrix: Matrix, prefix: str) -> int:
    """Bronze web_logs records of a case neither kept nor rejected, whose request (all six fields, trimmed, the
    time as an instant) is in silver.web_requests through another record. Parsed here with plain casts, not
    the project's macros: the twin is found independently."""
    return matrix.query(
        f"""
        select count(*)
        from {bronze_sql(matrix.lake, 'web_logs')} as b
        where b._source_file like ?
            and not exists (select 1 from silver.web_requests as s
                            where s._source_file = b._source_file and s._record_number = b._record_number)
            and not exists (select 1 from silver.web_requests_rejected as r
                            where r._source_file = b._source_file and r._record_number = b._record_number)
            and exists (
                select 1 from silver.web_requests as s
                where s.user_id = trim(b.user_id) and s.endpoint = trim(b.endpoint)
                    and s.status_code = try_cast(trim(b.status_code) as integer)
                    and s.response_ms = try_cast(trim(b.response_ms) as bigint)
                    and s.user_agent is not distinct from nullif(trim(b.user_agent), '')
                    and s.event_at = timezone('UTC', try_cast(trim(b.event_time) as timestamptz))
            )
        """, prefix)[0][0]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_every_record_is_accounted_for(matrix: Matrix, case: Case) -> None:
    counts, quarantine_reasons, reject_reasons = measure(matrix, case)
    # The hand-written expectations must themselves reconcile.
    e = case.expect
    assert e.raw == e.bronze + e.quarantine + e.skipped, f"{case.name}: expectation does not reconcile"
    assert e.bronze == e.silver + e.rejected + e.duplicate, f"{case.name}: expectation does not reconcile"
    assert sum(case.quarantine_reasons.values()) == e.quarantine and sum(case.reject_reasons.values()) == e.rejected

    assert counts == e, f"{case.name}: measured {counts._asdict()}, expected {e._asdict()}"
    # Measured independently per outcome, so an exact sum means no record was lost or placed twice.
    assert counts.bronze == counts.silver + counts.rejected + counts.duplicate, f"{case.name}: {counts}"
    assert dict(quarantine_reasons) == case.quarantine_reasons, case.name
    assert dict(reject_reasons) == case.reject_reasons, case.name


def test_a_file_quarantined_whole_is_a_warning_not_a_failure(matrix: Matrix) -> None:
    # `make ingest` turns the ingest's exit status 3 into this line (make also echoes the recipe, which holds
    # the same words inside an `echo`: only a line that starts with them is the warning itself).
    warning = ">> warning: some raw files were quarantined whole"
    first, second = ([line for line in out.splitlines() if line.startswith(warning)] for out in matrix.outputs)
    assert first == [f"{warning}; see {matrix.lake}/quarantine/"], matrix.outputs[0][-3000:]
    assert second == [], matrix.outputs[1][-3000:]  # the second run quarantines nothing whole


def test_late_data_moves_exactly_its_gold_date(matrix: Matrix) -> None:
    # web_logs: 2024-02-10 had two requests (one error, max 200 ms); the late 404 of 300 ms joins it.
    assert matrix.gold_after_run1[GOLD_LATE_WEB] == [("2024-02-10", 2, 1, 200), ("2024-02-14", 1, 0, 50)]
    assert matrix.query(GOLD_LATE_WEB) == [
        ("2024-02-10", 3, 2, 300), ("2024-02-14", 1, 0, 50), ("2024-02-15", 1, 0, 60)]
    # user_events: a late event of a new user and session on 2024-02-10.
    assert matrix.gold_after_run1[GOLD_LATE_EVENTS] == [("2024-02-10", 1, 1, 1), ("2024-02-14", 1, 1, 1)]
    assert matrix.query(GOLD_LATE_EVENTS) == [
        ("2024-02-10", 2, 2, 2), ("2024-02-14", 1, 1, 1), ("2024-02-15", 1, 1, 1)]


def test_offsets_become_utc_instants_and_dates(matrix: Matrix) -> None:
    rows = matrix.query("select _record_number, strftime(event_at, '%Y-%m-%d %H:%M:%S.%f'), event_date::varchar"
                        " from silver.web_requests where _source_file = 'bad_timestamps_web/a.csv' order by 1")
    assert rows == [
        (1, "2024-03-03 01:30:00.000000", "2024-03-03"),  # 23:30 at -02:00 is the next UTC day
        (2, "2024-03-02 10:00:00.123456", "2024-03-02"),
        (3, "2024-03-02 04:30:00.000000", "2024-03-02"),
        (8, "2024-03-02 10:00:00.000000", "2024-03-02"),  # 9 and 10 are the same instant: duplicates
    ]


TEXT_CHECKS = [
    # (case, silver query over the case's rows ordered by record, expected rows written out by hand)
    ("bom_web", "select user_id, endpoint from silver.web_requests", [("bom1", "/bom"), ("bom2", "/bom")]),
    ("bom_events", "select event_id, event_type from silver.user_events", [("bom-e1", "view"), ("bom-e2", "click")]),
    ("crlf_web", "select user_id, user_agent from silver.web_requests", [("crlf1", "ua"), ("crlf2", None)]),
    ("crlf_sales", "select transaction_id, payment_method from silver.sales_transactions", [("CRLF-1", "card")]),
    ("quoted_web", "select user_id, user_agent from silver.web_requests",
     [("q1", "Mozilla/5.0 (X11, Linux)"), ("q2", "line one\nline two"), ("q3", 'say "hi", bye')]),
    ("quoted_sales", "select store_name, product_name, quantity from silver.sales_transactions",
     [("Smith, Jones & Co", "Pen\nblue", 2)]),
    ("unicode_web", "select user_id, endpoint, user_agent from silver.web_requests",
     [("Zo\u00eb", "/caf\u00e9/\u65e5\u672c", "\U0001f600 agent")]),
    ("unicode_customers", "select customer_id, customer_name from silver.customers",
     [("uni-c1", "Zo\u00eb \U0001f600 \u65e5\u672c"), ("uni-c2", "Zo\u00eb \U0001f600")]),
    ("json_array_customers", "select customer_id, customer_name from silver.customers", [("ja-c1", "New")]),
    ("bad_types_customers", "select customer_id, customer_name from silver.customers", [("bt-c1", "A")]),
    ("bad_types_sales", "select transaction_id, total_amount::varchar from silver.sales_transactions",
     [("BT-1", "3.00"), ("BT-7", "3.01")]),
    ("bad_types_events", "select event_id, event_type, price::varchar from silver.user_events",
     [("bt-e1", "view", None), ("bt-e8", "purchase", "12.50")]),
    ("redelivered_new_name_web", "select _source_file from silver.web_requests",  # the first record is kept
     [("redelivered_new_name_web/orig.csv",)] * 2),
    ("redelivered_new_name_sales", "select _source_file from silver.sales_transactions",  # the later run wins
     [("redelivered_new_name_sales/copy_of_orig.csv",)] * 2),
]


@pytest.mark.parametrize(("case", "sql", "expected"), TEXT_CHECKS, ids=[c[0] for c in TEXT_CHECKS])
def test_values_reach_silver_exactly(matrix: Matrix, case: str, sql: str, expected: list[tuple]) -> None:
    assert case in BY_NAME
    rows = matrix.query(f"{sql} where _source_file like ? order by _source_file, _record_number", f"{case}/%")
    assert rows == expected


def test_extra_columns_are_kept_in_bronze(matrix: Matrix) -> None:
    extras = {}
    for dataset in ("web_logs", "sales_transactions"):
        extras.update(dict(matrix.query(f"select _source_file, _extra from {bronze_sql(matrix.lake, dataset)}"
                                        " where _source_file like 'extra_column_%'")))
    assert {k: json.loads(v) for k, v in extras.items()} == {
        "extra_column_web/a.csv": {"region": "eu"}, "extra_column_sales/a.csv": {"loyalty_id": "L9"}}
