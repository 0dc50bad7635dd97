"""scripts/dq_report.py: the data-quality report after a dbt build, checked against independent numbers.

A private copy of the demo lake (sample data of every dataset, already through `make pipeline`) gets a few
silver.web_requests rows deleted behind dbt's back; `dbt build --select web_requests+` then fails the
bronze-to-silver reconciliation and stores its failing rows in the audit schema, and the report is written.
Expectations: reject counts by reason from the oracles (tests/python/oracle, which read the raw files
themselves), quarantine counts from the oracles' malformed records and the dirt sample_data planted, test
counts from dbt's own run_results.json, and the deleted rows among the stored failing rows.
"""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import duckdb
import pytest

from testkit import Lake
from tests.python.oracle import sales as sales_oracle
from tests.python.oracle import user_events as user_events_oracle
from tests.python.oracle import web_logs as web_logs_oracle

pytestmark = [pytest.mark.e2e, pytest.mark.spark]

STATUS_KEYS = {"pass": "passed", "fail": "failed", "warn": "warned", "error": "errored", "skipped": "skipped"}
DELETED = 3  # silver.web_requests rows deleted before the build


@pytest.fixture(scope="module")
def broken(demo_lake: Lake, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    workspace = Lake.under(tmp_path_factory.mktemp("dq"))
    shutil.copytree(demo_lake.root, workspace.root, ignore=shutil.ignore_patterns("reports"))
    with duckdb.connect(str(workspace.warehouse)) as con:
        deleted = con.execute(
            "select _source_file, _record_number from silver.web_requests order by 1, 2 limit ?", [DELETED]
        ).fetchall()
        con.execute("delete from silver.web_requests where (_source_file, _record_number) in "
                    "(select _source_file, _record_number from silver.web_requests order by 1, 2 limit ?)", [DELETED])
    build = workspace.dbt("build", "--select", "web_requests+", check=False)
    assert not build.success, "the build should fail its reconciliation test"
    result = workspace.run(["python", "scripts/dq_report.py", "--target", "local"])
    reports = workspace.root / "reports"
    return {"workspace": workspace, "deleted": deleted, "stdout": result.stdout,
            "json": json.loads((reports / "data_quality.json").read_text()),
            "markdown": (reports / "data_quality.md").read_text(),
            "run_results": json.loads((workspace.target / "run_results.json").read_text())}


def test_reject_counts_by_reason_equal_the_oracles(broken: dict[str, Any]) -> None:
    raw = broken["workspace"].root / "raw"
    sales = sales_oracle.compute_dir(raw)
    expected = {
        "web_logs": web_logs_oracle.compute(raw / "web_logs").rejected,
        "sales_transactions": sales.sales_transactions.rejected,
        "customers": sales.customers.rejected,
        "user_events": user_events_oracle.compute_dir(raw).user_events.rejected,
    }
    assert all(expected.values()), f"the sample should plant rejects in every dataset: {expected}"
    assert broken["json"]["rejects"] == expected
    for dataset, reasons in expected.items():
        assert f"{dataset} {sum(reasons.values()):,}" in broken["markdown"]


def test_quarantine_counts_equal_the_malformed_records_planted(broken: dict[str, Any]) -> None:
    lake = broken["workspace"].root
    sales = sales_oracle.compute_dir(lake / "raw")
    oracle = {
        "web_logs": web_logs_oracle.compute(lake / "raw" / "web_logs").quarantined,
        "sales_transactions": sales.sales_transactions.quarantined,
        "customers": sales.customers.quarantined,
        "user_events": user_events_oracle.compute_dir(lake / "raw").user_events.quarantined,
    }
    planted = json.loads((lake / "sample_data_report.json").read_text())
    # The dirt sample_data planted that cannot be read at ingest: CSV lines with a wrong field count, broken JSON.
    malformed = {
        "web_logs": ("malformed_by_kind", ("too_few_fields", "too_many_fields"), "wrong field count"),
        "sales_transactions": ("bad_rows_by_kind", ("too_few_fields", "too_many_fields"), "wrong field count"),
        "customers": ("bad_records_by_kind", ("broken_json",), "invalid JSON"),
        "user_events": ("bad_records_by_kind", ("broken_json",), "invalid JSON"),
    }
    quarantine = broken["json"]["quarantine"]
    assert set(quarantine) == set(oracle)
    for dataset, (key, kinds, reason_prefix) in malformed.items():
        planted_count = sum(planted[dataset]["planted"][key].get(kind, 0) for kind in kinds)
        reported = quarantine[dataset]
        assert planted_count > 0
        assert sum(reported.values()) == oracle[dataset] == planted_count, (dataset, reported, oracle, planted_count)
        assert all(reason.startswith(reason_prefix) for reason in reported), (dataset, reported)


def test_test_counts_equal_run_results(broken: dict[str, Any]) -> None:
    run_results = broken["run_results"]
    tests = [r for r in run_results["results"] if r["unique_id"].split(".")[0] in ("test", "unit_test")]
    counts = Counter(STATUS_KEYS[r["status"]] for r in tests)
    reported = broken["json"]["tests"]
    assert {k: reported[k] for k in STATUS_KEYS.values()} == {k: counts[k] for k in STATUS_KEYS.values()}
    assert reported["total"] == len(tests) > 0
    assert counts["failed"] > 0 and counts["passed"] > 0
    assert {f["unique_id"] for f in reported["failures"]} == {
        r["unique_id"] for r in tests if r["status"] in ("fail", "warn", "error")}
    assert broken["json"]["dbt"]["invocation_id"] == run_results["metadata"]["invocation_id"]
    assert broken["json"]["nodes"]["model"] == dict(Counter(
        r["status"] for r in run_results["results"] if r["unique_id"].startswith("model.")))
    first_line = broken["stdout"].splitlines()[0]
    assert f"{counts['passed']} passed, {counts['failed']} failed" in first_line


def test_a_failed_test_links_to_its_stored_failing_rows(broken: dict[str, Any]) -> None:
    failures = {f["test"]: f for f in broken["json"]["tests"]["failures"]}
    failure = failures.get("reconcile_web_logs_bronze_to_silver")
    assert failure is not None, f"the deleted silver rows must fail the reconciliation: {sorted(failures)}"
    assert failure["status"] == "fail"
    assert sorted(failure["models"]) == ["web_logs_checked", "web_requests", "web_requests_rejected"]
    assert failure["stored_in"] == "warehouse.audit.reconcile_web_logs_bronze_to_silver"
    run_result = next(r for r in broken["run_results"]["results"] if r["unique_id"] == failure["unique_id"])
    assert failure["failures"] == run_result["failures"] >= DELETED
    with duckdb.connect(str(broken["workspace"].warehouse), read_only=True) as con:
        stored = con.execute(f"select _source_file, _record_number, failure from {failure['stored_in']}").fetchall()
    assert len(stored) == failure["failures"]
    lost = {(f, n) for f, n, why in stored if why == "lost: in no outcome"}
    assert set(broken["deleted"]) <= lost
    assert f"`select * from {failure['stored_in']}`" in broken["markdown"]
    assert "reconcile_web_logs_bronze_to_silver" in broken["markdown"]
    # The report lists only non-empty audit tables: this one, with its row count.
    assert broken["json"]["row_counts"]["audit"][failure["stored_in"].split(".", 1)[1]] == failure["failures"]


def test_freshness_and_row_counts_per_layer(broken: dict[str, Any]) -> None:
    lake = broken["workspace"].root
    report = broken["json"]
    with duckdb.connect() as con:
        for dataset, fresh in report["freshness"]["ingest"].items():
            files = f"{lake}/bronze/{dataset}/ingest_date=*/*.parquet"
            n, newest = con.execute(f"select count(*), max(_ingested_at) from read_parquet('{files}')").fetchone()
            assert report["row_counts"]["bronze"][f"bronze.{dataset}"] == n > 0
            assert fresh["max_ingested_at"] == newest.isoformat() + "Z"
            assert fresh["age_s"] > 0 and fresh["status"] in ("pass", "warn", "error")
    with duckdb.connect(str(broken["workspace"].warehouse), read_only=True) as con:
        for layer in ("silver", "gold"):
            tables = con.execute("select table_name from information_schema.tables where table_schema = ?",
                                 [layer]).fetchall()
            expected = {f"{layer}.{t}": con.execute(f"select count(*) from {layer}.{t}").fetchone()[0]
                        for (t,) in tables}
            assert report["row_counts"][layer] == expected and expected
    silver_rows = len(web_logs_oracle.compute(lake / "raw" / "web_logs").silver_rows)
    assert report["row_counts"]["silver"]["silver.web_requests"] == silver_rows - DELETED


def test_missing_run_results_is_a_clear_error(tmp_path: Path) -> None:
    workspace = Lake.under(tmp_path)
    result = workspace.run(["python", "scripts/dq_report.py", "--target", "local"], ok=[2], timeout=60)
    assert f"run_results.json not found: {workspace.target}/run_results.json" in result.output
    assert not (workspace.root / "reports").exists()


def test_make_pipeline_writes_the_report_of_its_own_build(demo_lake: Lake) -> None:
    """`make dbt-build` (inside `make pipeline`) writes the report right after the build: it counts every data
    test and unit test of the project, and on the clean demo sample none failed."""
    report = json.loads((demo_lake.root / "reports" / "data_quality.json").read_text())
    manifest = json.loads((demo_lake.target / "manifest.json").read_text())
    expected = sum(1 for n in manifest["nodes"].values() if n["resource_type"] in ("test", "unit_test"))
    expected += len(manifest.get("unit_tests", {}))
    assert report["dbt"]["command"] == "build"
    assert report["tests"]["total"] == expected
    assert report["tests"]["failed"] == report["tests"]["errored"] == 0
    assert (demo_lake.root / "reports" / "data_quality.md").read_text().startswith("#")
