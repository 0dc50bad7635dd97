"""Entity-grain gold (one row per user or customer, as of a date) is rewritten when something is new upstream, and
left alone, reading nothing, when nothing is (rebuild_when_changed() in macros/incremental/rebuild.sql). A build
with the var `as_of_date` rebuilds it as of that date, and the next build without the var rebuilds it again as of
the default date, even with nothing new. Shown on user_features (kept by difference,
macros/incremental/day_versions.sql), and on the plain recipe of docs/add_a_model.md (changed_filter(), which no
model of the project uses any more: an example model built in a copy of the project).

Batch 1: u1 views on 2026-11-01, u2 on 2026-11-03. Expectations are written out by hand.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import duckdb
import pytest

from testkit import REPO, Lake
from testkit import dbt as _dbt

pytestmark = [pytest.mark.e2e, pytest.mark.spark]

FEATURES = ("select user_id, view_count, days_since_last_event, cast(as_of_date as varchar) "
            "from gold.user_features order by user_id")


def event(event_id: str, user: str, at: str) -> str:
    return json.dumps({"event_id": event_id, "user_id": user, "session_id": "s1", "event_type": "view",
                       "product_id": "P1", "category": "Books", "price": None, "event_timestamp": at})


def compiled(lake: Lake, name: str = "user_features.sql") -> str:
    return next((lake.target / "compiled").rglob(name)).read_text()


def reads_nothing(sql: str) -> bool:
    """Whether user_features' compiled SQL reads nothing: its window is empty and its reads are gated on `false`."""
    return '"empty": true' in sql and re.search(r"where\s+false and", sql) is not None


RELATIONSHIP = "relationships_user_features_*"  # its file name is shortened with a hash


# What this test reads, and no more: the generic tests whose every parent is built (the other datasets have no data,
# and the singular reconciliation tests read every domain). A tenth of the project's nodes.
ONLY_WHAT_IS_READ = ("--indirect-selection", "cautious", "--exclude", "test_type:singular")


def pipeline(lake: Lake, spark: Any) -> None:
    """`make pipeline`'s two steps, in this process: the ingest job on user_events, then `dbt build` of
    user_features and everything upstream of it."""
    lake.ingest(spark, dataset="user_events")
    lake.dbt("build", "--select", "+user_features+", *ONLY_WHAT_IS_READ)


def test_entity_tables_rebuild_only_on_change_and_return_from_an_as_of_date(tmp_path: Path, spark: Any) -> None:
    lake = Lake.under(tmp_path)
    events = lake.root / "raw" / "user_events"
    events.mkdir(parents=True)
    (events / "day1.jsonl").write_text(
        event("E1", "u1", "2026-11-01T10:00:00Z") + "\n" + event("E2", "u2", "2026-11-03T10:00:00Z") + "\n")
    pipeline(lake, spark)
    expected = [("u1", 1, 2, "2026-11-03"), ("u2", 1, 0, "2026-11-03")]
    assert lake.query(FEATURES) == expected

    # Nothing new: the model reads nothing (its filter renders `false`), and the table is left as it is.
    pipeline(lake, spark)
    assert reads_nothing(compiled(lake)), compiled(lake)
    assert lake.query(FEATURES) == expected
    # Its relationships test reads neither the model nor user_events.
    relationship = compiled(lake, RELATIONSHIP)
    assert "is not null and false" in relationship and "where false" in relationship, relationship

    # As of 2026-11-02: u2's event is after it; u1 is one day back.
    build = ["build", "--select", "user_features", "--exclude-resource-type", "unit_test", *ONLY_WHAT_IS_READ,
             "--vars", "{as_of_date: '2026-11-02'}"]
    lake.dbt(*build)
    assert lake.query(FEATURES) == [("u1", 1, 1, "2026-11-02")]
    lake.dbt(*build)  # the same again: still rebuilt, still as of it
    assert lake.query(FEATURES) == [("u1", 1, 1, "2026-11-02")]

    # Without the var and with nothing new, the next build is a rebuild as of the default date, then no-ops again.
    pipeline(lake, spark)
    assert not reads_nothing(compiled(lake))
    assert lake.query(FEATURES) == expected
    pipeline(lake, spark)
    assert reads_nothing(compiled(lake))
    assert lake.query(FEATURES) == expected

    # A new event for u2 rebuilds it: as of 2026-11-04.
    (events / "day2.jsonl").write_text(event("E3", "u2", "2026-11-04T09:00:00Z") + "\n")
    pipeline(lake, spark)
    assert lake.query(FEATURES) == [("u1", 1, 3, "2026-11-04"), ("u2", 2, 0, "2026-11-04")]
    # Its relationships test checks the users whose last event is on the date user_events touched, against
    # user_events on that date only (u1, last seen on 2026-11-01, was checked by the build that touched that date).
    relationship = compiled(lake, RELATIONSHIP)
    assert "cast(last_event_at as date) in (date '2026-11-04')" in relationship, relationship
    assert "event_date in (date '2026-11-04')" in relationship, relationship
    with duckdb.connect(str(lake.warehouse), read_only=True) as con:
        assert con.execute(relationship).fetchall() == []
        # The scoped test fails on a user of that date whom user_events does not have there.
        child = re.search(r"from (\S+)\s+where user_id is not null", relationship)
        assert child, relationship
        orphan = relationship.replace(child.group(0), (
            "from (select user_id, last_event_at from " + child.group(1) + " union all select 'u404', timestamp "
            "'2026-11-04 08:00:00') as with_an_orphan where user_id is not null"), 1)
        assert con.execute(orphan).fetchall() == [("u404",)]



# --- the plain recipe: rebuild_when_changed() and changed_filter() ---------------------------------------------------

PROJECT_FILES = ("dbt_project.yml", "macros", "models", "seeds", "snapshots", "analyses", "tests/dbt")
TOTALS = "select user_id, events, cast(as_of_date as varchar) from gold.user_event_totals order by user_id"


def project_with_the_recipe(folder: Path) -> Path:
    """A copy of the project with the plain recipe's example model (tests/python/fixtures/user_event_totals.sql)."""
    project = folder / "project"
    for name in PROJECT_FILES:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, project / name)
        else:
            (project / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, project / name)
    example = project / "models" / "gold" / "examples" / "user_event_totals.sql"
    example.parent.mkdir(parents=True)
    shutil.copyfile(REPO / "tests" / "python" / "fixtures" / "user_event_totals.sql", example)
    return project


def recipe_build(lake: Lake, project: Path, *args: str) -> None:
    _dbt.invoke(["run", "--select", "+user_event_totals", *args, "--target", "local", "--project-dir", str(project),
                 "--profiles-dir", str(REPO / ".dbt"), "--target-path", str(lake.target), "--log-path",
                 str(lake.logs)], lake.env(DBT_TARGET="local"), None, False, True)


def test_the_plain_entity_recipe_rebuilds_only_on_change_and_returns_from_an_as_of_date(
        tmp_path: Path, spark: Any) -> None:
    """An entity-grain model on the plain recipe of docs/add_a_model.md is recomputed whole when something is new
    upstream, and left alone, reading nothing, when nothing is. A build with the var `as_of_date` rebuilds it as of
    that date, and the next build without the var rebuilds it again as of the default date, even with nothing new."""
    lake = Lake.under(tmp_path)
    project = project_with_the_recipe(tmp_path)
    events = lake.root / "raw" / "user_events"
    events.mkdir(parents=True)
    (events / "day1.jsonl").write_text(
        event("E1", "u1", "2026-11-01T10:00:00Z") + "\n" + event("E2", "u2", "2026-11-03T10:00:00Z") + "\n")
    lake.ingest(spark, dataset="user_events")
    recipe_build(lake, project)
    expected = [("u1", 1, "2026-11-03"), ("u2", 1, "2026-11-03")]
    assert lake.query(TOTALS) == expected

    recipe_build(lake, project)  # nothing new: `false`, the table as it is
    assert "and false" in compiled(lake, "user_event_totals.sql")
    assert lake.query(TOTALS) == expected

    recipe_build(lake, project, "--vars", "{as_of_date: '2026-11-02'}")
    assert lake.query(TOTALS) == [("u1", 1, "2026-11-02")]
    recipe_build(lake, project)  # back to the default date, with nothing new
    assert "and false" not in compiled(lake, "user_event_totals.sql")
    assert lake.query(TOTALS) == expected
    recipe_build(lake, project)
    assert "and false" in compiled(lake, "user_event_totals.sql")

    (events / "day2.jsonl").write_text(event("E3", "u2", "2026-11-04T09:00:00Z") + "\n")
    lake.ingest(spark, dataset="user_events")
    recipe_build(lake, project)
    assert lake.query(TOTALS) == [("u1", 1, "2026-11-04"), ("u2", 2, "2026-11-04")]
