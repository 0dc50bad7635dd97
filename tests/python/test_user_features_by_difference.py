"""gold.user_features is kept by difference (macros/incremental/day_versions.sql): an incremental build adds the
rebuilt dates of gold.user_days, as they are now minus as they were (ops.user_day_versions), to its own rows.

Batch 1: u1 views on 2026-11-01 (E1) and buys on 2026-11-03 (E2, 5.00); u2 views on 2026-11-02 (E3); u3 clicks on
2026-11-01 (E4) and views on 2026-11-02 (E5).
Batch 2 corrects three events and adds one:
- E1 moves to 2026-11-04 09:00: u1's first day, 2026-11-01, is left without u1, so u1 is summed again from every date;
- E3 moves to 2026-11-01 07:00: u2's only day, 2026-11-02, empties (its last day), so u2 is summed again;
- E5 becomes a 7.00 purchase at the same time: u3's last event changes type, on a date that still holds u3;
- u4 adds to cart on 2026-11-04 (E6): a new user.
The expectations are written out by hand. Then stopped builds: a build that wrote user_features but not its
watermark, a batch appended but not recorded, and a build that left ops.user_day_versions out; a full rebuild; and
a full build of silver.user_events that moves an event.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import duckdb
import pytest

from testkit import Lake

pytestmark = [pytest.mark.e2e, pytest.mark.spark]

FEATURES = ("select user_id, view_count, click_count, cart_count, purchase_count, total_spend::varchar, "
            "first_event_at::varchar, last_event_at::varchar, last_event_type, days_since_last_event, "
            "as_of_date::varchar from gold.user_features order by user_id")
ONLY_WHAT_IS_READ = ("--indirect-selection", "cautious", "--exclude", "test_type:singular")


def event(event_id: str, user: str, kind: str, at: str, price: float | None = None) -> str:
    return json.dumps({"event_id": event_id, "user_id": user, "session_id": "s1", "event_type": kind,
                       "product_id": "P1", "category": "Books", "price": price, "event_timestamp": at})


def pipeline(lake: Lake, spark: Any, *exclude: str) -> None:
    lake.ingest(spark, dataset="user_events")
    lake.dbt("build", "--select", "+user_features+", *ONLY_WHAT_IS_READ,
             *(["--exclude", *exclude] if exclude else []))


def window(lake: Lake) -> dict[str, Any]:
    sql = next((lake.target / "compiled").rglob("user_features.sql")).read_text()
    found = re.search(r"/\* lakehouse:window (\{.*?\}) \*/", sql)
    assert found, sql
    return json.loads(found[1])


def execute(lake: Lake, sql: str) -> None:
    lake.query("select 1")  # closes dbt's connection to the warehouse
    with duckdb.connect(str(lake.warehouse)) as con:
        con.execute(sql)


AFTER_BATCH_1 = [
    ("u1", 1, 0, 0, 1, "5.00", "2026-11-01 10:00:00", "2026-11-03 12:00:00", "purchase", 0, "2026-11-03"),
    ("u2", 1, 0, 0, 0, "0.00", "2026-11-02 09:00:00", "2026-11-02 09:00:00", "view", 1, "2026-11-03"),
    ("u3", 1, 1, 0, 0, "0.00", "2026-11-01 08:00:00", "2026-11-02 08:00:00", "view", 1, "2026-11-03"),
]
AFTER_BATCH_2 = [
    ("u1", 1, 0, 0, 1, "5.00", "2026-11-03 12:00:00", "2026-11-04 09:00:00", "view", 0, "2026-11-04"),
    ("u2", 1, 0, 0, 0, "0.00", "2026-11-01 07:00:00", "2026-11-01 07:00:00", "view", 3, "2026-11-04"),
    ("u3", 0, 1, 0, 1, "7.00", "2026-11-01 08:00:00", "2026-11-02 08:00:00", "purchase", 2, "2026-11-04"),
    ("u4", 0, 0, 1, 0, "0.00", "2026-11-04 10:00:00", "2026-11-04 10:00:00", "add_to_cart", 0, "2026-11-04"),
]


def test_user_features_adds_the_rebuilt_dates_and_sums_again_the_users_a_correction_moved(
        tmp_path: Path, spark: Any) -> None:
    lake = Lake.under(tmp_path)
    events = lake.root / "raw" / "user_events"
    events.mkdir(parents=True)
    (events / "day1.jsonl").write_text("\n".join([
        event("E1", "u1", "view", "2026-11-01T10:00:00Z"),
        event("E2", "u1", "purchase", "2026-11-03T12:00:00Z", 5.0),
        event("E3", "u2", "view", "2026-11-02T09:00:00Z"),
        event("E4", "u3", "click", "2026-11-01T08:00:00Z"),
        event("E5", "u3", "view", "2026-11-02T08:00:00Z"),
    ]) + "\n")
    pipeline(lake, spark)
    assert window(lake)["mode"] == "full"
    assert lake.query(FEATURES) == AFTER_BATCH_1

    (events / "day2.jsonl").write_text("\n".join([
        event("E1", "u1", "view", "2026-11-04T09:00:00Z"),
        event("E3", "u2", "view", "2026-11-01T07:00:00Z"),
        event("E5", "u3", "purchase", "2026-11-02T08:00:00Z", 7.0),
        event("E6", "u4", "add_to_cart", "2026-11-04T10:00:00Z"),
    ]) + "\n")
    pipeline(lake, spark)
    built = window(lake)
    # A delta build over the three dates the batch touched (2026-11-03 is not one); u1 and u2 are summed again, u3
    # and u4 are not.
    assert (built["mode"], built["dates"], built["recompute"]) == (
        "delta", ["2026-11-01", "2026-11-02", "2026-11-04"], ["u1", "u2"]), built
    assert lake.query(FEATURES) == AFTER_BATCH_2
    # Every row carries the batch it reflects: the newest run of user_events.
    newest = lake.query("select max(_ingest_run_id) from silver.user_events")
    assert lake.query("select distinct _ingest_run_id from gold.user_features") == newest

    # A build stopped after writing user_features, before recording its watermark: the next build must not add the
    # same batch again (the table's own `_ingest_run_id` says what it holds).
    execute(lake, "delete from ops.model_watermarks where model_name = 'user_features' and recorded_at = "
                  "(select max(recorded_at) from ops.model_watermarks where model_name = 'user_features')")
    lake.dbt("build", "--select", "user_features", *ONLY_WHAT_IS_READ)
    assert window(lake)["mode"] == "none"
    assert lake.query(FEATURES) == AFTER_BATCH_2

    # A batch of ops.user_day_versions appended by a build stopped before recording it: not appended twice.
    execute(lake, "delete from ops.model_watermarks where model_name = 'user_day_versions' and recorded_at = "
                  "(select max(recorded_at) from ops.model_watermarks where model_name = 'user_day_versions')")
    batches = lake.query("select _ingest_run_id, count(*) from ops.user_day_versions group by 1 order by 1")
    lake.dbt("build", "--select", "user_day_versions", "user_features", *ONLY_WHAT_IS_READ)
    assert lake.query("select _ingest_run_id, count(*) from ops.user_day_versions group by 1 order by 1") == batches
    assert lake.query(FEATURES) == AFTER_BATCH_2

    # A build that leaves the versions out: user_features sees no new batch and stays as it was; the next build
    # copies every date user_days rebuilt meanwhile, and user_features adds it.
    (events / "day3.jsonl").write_text(event("E7", "u2", "click", "2026-11-05T10:00:00Z") + "\n")
    pipeline(lake, spark, "user_day_versions")
    assert lake.query(FEATURES) == AFTER_BATCH_2
    pipeline(lake, spark)
    assert window(lake)["mode"] == "delta"
    features = lake.query(FEATURES)
    assert features[1] == ("u2", 1, 1, 0, 0, "0.00", "2026-11-01 07:00:00", "2026-11-05 10:00:00", "click", 0,
                           "2026-11-05")
    assert [row[9] for row in features] == [1, 0, 3, 1]  # everyone's recency moved to 2026-11-05

    # And it is what a full rebuild gives.
    lake.dbt("run", "--full-refresh", "--select", "user_day_versions", "user_features")
    assert window(lake)["mode"] == "full"
    assert lake.query(FEATURES) == features

    # A full build of silver.user_events that brings a correction: user_days rebuilds every date, and the versions
    # copy every date into their existing table. E4 (u3's click) moves from 2026-11-01 to 2026-11-03, so the copy
    # must say that u3 left 2026-11-01, or u3's old day there would still count.
    (events / "day4.jsonl").write_text(event("E4", "u3", "click", "2026-11-03T08:00:00Z") + "\n")
    lake.ingest(spark, dataset="user_events")
    lake.dbt("run", "--select", "user_events_checked", "user_event_versions", "user_event_keys")
    lake.dbt("run", "--full-refresh", "--select", "user_events")
    lake.dbt("build", "--select", "+user_features+", *ONLY_WHAT_IS_READ)
    assert lake.query("select is_full_copy, is_removed from ops.user_day_versions where user_id = 'u3' and "
                      "event_date = date '2026-11-01' order by _ingest_run_id") == [(True, False), (True, True)]
    assert lake.query(FEATURES)[2] == ("u3", 0, 1, 0, 1, "7.00", "2026-11-02 08:00:00", "2026-11-03 08:00:00",
                                       "click", 2, "2026-11-05")
