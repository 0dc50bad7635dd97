"""Entity-grain gold (user_features, customer_segments: one row per user or customer, as of a date) is rebuilt whole
when something is new upstream, and left alone, reading nothing, when nothing is (rebuild_when_changed() in
macros/incremental/rebuild.sql). A build with the var `as_of_date` rebuilds it as of that date, and the next build
without the var rebuilds it again as of the default date, even with nothing new.

Batch 1: u1 views on 2026-11-01, u2 on 2026-11-03. Expectations are written out by hand.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import duckdb
import pytest

from tests.python.harness import REPO, Workspace

pytestmark = [pytest.mark.e2e, pytest.mark.spark]

FEATURES = ("select user_id, view_count, days_since_last_event, cast(as_of_date as varchar) "
            "from gold.user_features order by user_id")


def event(event_id: str, user: str, at: str) -> str:
    return json.dumps({"event_id": event_id, "user_id": user, "session_id": "s1", "event_type": "view",
                       "product_id": "P1", "category": "Books", "price": None, "event_timestamp": at})


def rows(workspace: Workspace, sql: str) -> list[tuple]:
    with duckdb.connect(str(workspace.warehouse), read_only=True) as con:
        return con.execute(sql).fetchall()


def compiled(workspace: Workspace, name: str = "user_features.sql") -> str:
    return next((workspace.target / "compiled").rglob(name)).read_text()


RELATIONSHIP = "relationships_user_features_*"  # its file name is shortened with a hash


def test_entity_tables_rebuild_only_on_change_and_return_from_an_as_of_date(tmp_path: Path) -> None:
    workspace = Workspace.under(tmp_path)
    events = workspace.lake / "raw" / "user_events"
    events.mkdir(parents=True)
    (events / "day1.jsonl").write_text(
        event("E1", "u1", "2026-11-01T10:00:00Z") + "\n" + event("E2", "u2", "2026-11-03T10:00:00Z") + "\n")
    workspace.make("pipeline")
    expected = [("u1", 1, 2, "2026-11-03"), ("u2", 1, 0, "2026-11-03")]
    assert rows(workspace, FEATURES) == expected

    # Nothing new: the model reads nothing (its filter renders `false`), and the table is left as it is.
    workspace.make("pipeline")
    assert "and false" in compiled(workspace), compiled(workspace)
    assert rows(workspace, FEATURES) == expected
    # Its relationships test reads neither the model nor user_events.
    relationship = compiled(workspace, RELATIONSHIP)
    assert "is not null and false" in relationship and "where false" in relationship, relationship

    # As of 2026-11-02: u2's event is after it; u1 is one day back.
    dbt = [str(REPO / ".venv" / "bin" / "dbt"), "build", "--select", "user_features", "--exclude-resource-type",
           "unit_test"]
    workspace.run([*dbt, "--vars", "{as_of_date: '2026-11-02'}"])
    assert rows(workspace, FEATURES) == [("u1", 1, 1, "2026-11-02")]
    workspace.run([*dbt, "--vars", "{as_of_date: '2026-11-02'}"])  # the same again: still rebuilt, still as of it
    assert rows(workspace, FEATURES) == [("u1", 1, 1, "2026-11-02")]

    # Without the var and with nothing new, the next build is a rebuild as of the default date, then no-ops again.
    workspace.make("pipeline")
    assert "and false" not in compiled(workspace)
    assert rows(workspace, FEATURES) == expected
    workspace.make("pipeline")
    assert "and false" in compiled(workspace)
    assert rows(workspace, FEATURES) == expected

    # A new event for u2 rebuilds it: as of 2026-11-04.
    (events / "day2.jsonl").write_text(event("E3", "u2", "2026-11-04T09:00:00Z") + "\n")
    workspace.make("pipeline")
    assert rows(workspace, FEATURES) == [("u1", 1, 3, "2026-11-04"), ("u2", 2, 0, "2026-11-04")]
    # Its relationships test checks the users whose last event is on the date user_events touched, against
    # user_events on that date only (u1, last seen on 2026-11-01, was checked by the build that touched that date).
    relationship = compiled(workspace, RELATIONSHIP)
    assert "cast(last_event_at as date) in (date '2026-11-04')" in relationship, relationship
    assert "event_date in (date '2026-11-04')" in relationship, relationship
    with duckdb.connect(str(workspace.warehouse), read_only=True) as con:
        assert con.execute(relationship).fetchall() == []
        # The scoped test fails on a user of that date whom user_events does not have there.
        child = re.search(r"from (\S+)\s+where user_id is not null", relationship)
        assert child, relationship
        orphan = relationship.replace(child.group(0), (
            "from (select user_id, last_event_at from " + child.group(1) + " union all select 'u404', timestamp "
            "'2026-11-04 08:00:00') as with_an_orphan where user_id is not null"), 1)
        assert con.execute(orphan).fetchall() == [("u404",)]

