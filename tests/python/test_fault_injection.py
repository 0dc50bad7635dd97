"""Fault injection: an ingest killed after k published files, an ingest killed with SIGKILL mid-run, and a dbt
build stopped between silver and gold. After re-running, bronze holds every raw record exactly once and the
warehouse equals a clean run's.

The pool (sample data of every dataset, 3 days) arrives in two batches. Batch A is ingested and built cleanly;
the lake is then copied. The clean reference ingests and builds batch B. The faulty lake gets batch B through:

1. `python -m glue_ingest --dataset all` with GLUE_INGEST_FAIL_AFTER_MOVES=1: the first dataset (customers)
   raises after publishing 1 file, before its manifest; the process is SIGKILLed as soon as the second dataset
   (sales_transactions) has started its run, i.e. while Spark stages it;
2. in-process runs that raise after k moves, their bronze split into small files so that k falls mid-dataset:
   web_logs with k=2, user_events with k=3 (each run first rolls back any crash of its dataset before it);
3. clean runs of every dataset (the same start times as the reference, so the same run ids), which roll the
   crashed runs back and ingest their files again;
4. `dbt run --select silver` (a build that stopped after silver), then `dbt run`.

Bronze and quarantine must then equal the reference's, row for row; each record of each raw file must be in
bronze or quarantine exactly once, with record numbers 1..n where n is counted from the raw file here (csv / json);
no staging or unmanifested file may remain; silver and gold must equal the reference's.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest

from testkit import Lake, close_duckdb
from tests.python.test_arrival_order import dbt_run, diff_tables, generate_sample, raw_files, read_tables

pytestmark = [pytest.mark.spark, pytest.mark.e2e]

REPO = Path(__file__).resolve().parents[2]
DAY_A, DAY_B = date(2026, 12, 1), date(2026, 12, 2)
START_A = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)  # in the past: the subprocess's run id (now) sorts after
START_B = datetime(2026, 1, 6, 8, 0, tzinfo=UTC)
LAST_DAY = "2026-11-03"  # batch B: the last day's files


def started(base: datetime, dataset: str) -> datetime:
    from glue_ingest.contracts import available_datasets

    return base + timedelta(minutes=available_datasets().index(dataset))


def deliver(pool: Path, lake: Path, files: list[tuple[str, str]]) -> None:
    for dataset, path in files:
        target = lake / "raw" / dataset / path
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(pool / dataset / path, target)


def ingest(spark: Any, lake: Path, dataset: str, day: date, start: datetime, **options: Any) -> Any:
    from glue_ingest.run import DatasetPaths, IngestOptions, ingest_dataset

    return ingest_dataset(spark, dataset, DatasetPaths.under_lake_root(str(lake), dataset), day, start,
                          IngestOptions(**options))


def layer_rows(lake: Path, layer: str, dataset: str) -> list[tuple]:
    """Every row dbt (or anyone) reads from a layer: the files under ingest_date=*/, sorted."""
    folder = lake / layer / dataset
    if not any(folder.glob("ingest_date=*/*.parquet")):
        return []
    with duckdb.connect() as con:
        return sorted(con.execute(
            f"select * from read_parquet('{folder}/ingest_date=*/*.parquet', hive_partitioning = true)"
        ).fetchall(), key=repr)


def record_numbers(lake: Path, layer: str, dataset: str) -> list[tuple[str, int]]:
    folder = lake / layer / dataset
    if not any(folder.glob("ingest_date=*/*.parquet")):
        return []
    with duckdb.connect() as con:
        return con.execute(f"select _source_file, _record_number from read_parquet('{folder}/ingest_date=*/*.parquet',"
                           " hive_partitioning = false)").fetchall()


def raw_record_count(path: Path) -> int:
    """Records in a raw file, counted here: CSV rows after the header (RFC 4180: quoted newlines are inside a
    record), the elements of a JSON array, or the non-blank lines of JSON lines."""
    text = path.read_bytes().decode("utf-8-sig")
    if path.suffix == ".csv":
        rows = [row for row in csv.reader(io.StringIO(text, newline="")) if row]
        return len(rows) - 1
    if text.lstrip().startswith("["):
        return len(json.loads(text))
    return sum(1 for line in text.splitlines() if line.strip())


def published_files(lake: Path, dataset: str) -> set[str]:
    return {str(p.relative_to(lake)) for layer in ("bronze", "quarantine")
            for p in (lake / layer / dataset).glob("ingest_date=*/*.parquet")}


def manifested_files(lake: Path, dataset: str) -> set[str]:
    found = set()
    for path in (lake / "bronze" / dataset / "_manifest").glob("*.json"):
        manifest = json.loads(path.read_text())
        found |= {f"bronze/{dataset}/{f}" for f in manifest["bronze_files"]}
        found |= {f"quarantine/{dataset}/{f}" for f in manifest["quarantine_files"]}
    return found


def orphans(lake: Path, dataset: str) -> set[str]:
    """Published files that no manifest lists: what a crashed run left behind."""
    return published_files(lake, dataset) - manifested_files(lake, dataset)


def copy_lake(source: Path, target: Path) -> None:
    close_duckdb()
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(source, target)


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory, spark: Any) -> Iterator[dict[str, Any]]:
    """The pool, batch A built cleanly (kept as a copy), and the clean reference after batch B."""
    from glue_ingest.contracts import available_datasets

    folder = tmp_path_factory.mktemp("faults")
    generate_sample(folder, 3, 60, 9)
    pool = folder / "raw"
    files = raw_files(pool)
    batch_b = [f for f in files if LAST_DAY in f[1]]
    batch_a = [f for f in files if f not in batch_b]
    datasets = available_datasets()
    assert {d for d, _ in batch_b} == set(datasets) == {d for d, _ in batch_a}, "both batches touch every dataset"

    work = tmp_path_factory.getbasetemp() / "dbt-in-process"  # the lake path test_arrival_order's dbt uses
    work.mkdir(exist_ok=True)
    dbt = Lake(work / "lake", work / "target", work / "logs")
    lake = dbt.root
    close_duckdb()
    shutil.rmtree(lake, ignore_errors=True)
    deliver(pool, lake, batch_a)
    for dataset in datasets:
        ingest(spark, lake, dataset, DAY_A, started(START_A, dataset))
    dbt_run(dbt, context="batch A: ")
    after_a = folder / "after-a"
    copy_lake(lake, after_a)

    deliver(pool, lake, batch_b)
    for dataset in datasets:
        ingest(spark, lake, dataset, DAY_B, started(START_B, dataset))
    dbt_run(dbt, context="reference, batch B: ")
    close_duckdb()
    yield {
        "dbt": dbt, "pool": pool, "batch_b": batch_b, "after_a": after_a, "datasets": datasets,
        "tables": read_tables(lake / "warehouse.duckdb"),
        "gold_after_a": read_tables(after_a / "warehouse.duckdb", ("gold",)),
        "layers": {(layer, d): layer_rows(lake, layer, d) for layer in ("bronze", "quarantine") for d in datasets},
    }
    close_duckdb()


def run_killed_ingest(lake: Path) -> tuple[int, str]:
    """`python -m glue_ingest --dataset all` with GLUE_INGEST_FAIL_AFTER_MOVES=1, SIGKILLed (with its JVM) once
    the run of sales_transactions, the second dataset, has begun. Returns its exit status and output."""
    marker = lake / "bronze" / "sales_transactions" / "_staging"
    env = {**os.environ, "GLUE_INGEST_FAIL_AFTER_MOVES": "1", "SPARK_LOCAL_IP": "127.0.0.1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "glue_ingest", "--lake_root", str(lake), "--dataset", "all",
         "--ingest_date", DAY_B.isoformat()],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
    )
    deadline = time.monotonic() + 600
    try:
        while not any(marker.glob("*/_RUN_STARTED")):
            if process.poll() is not None or time.monotonic() > deadline:
                output = process.communicate()[0].decode(errors="replace")
                pytest.fail(f"the ingest ended (or hung) before sales_transactions began ({process.returncode}):\n"
                            f"{output[-4000:]}")
            time.sleep(0.02)
        os.killpg(process.pid, signal.SIGKILL)  # the python process and its JVM: the group started here
    finally:
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
        output = process.communicate(timeout=60)[0].decode(errors="replace")
    return process.returncode, output


def test_faults_in_ingest_and_dbt_leave_each_record_once_and_gold_as_a_clean_run(
    reference: dict[str, Any], spark: Any
) -> None:
    from glue_ingest.commit import InjectedFault

    dbt: Lake = reference["dbt"]
    lake, pool, datasets = dbt.root, reference["pool"], reference["datasets"]
    assert datasets == ["customers", "sales_transactions", "user_events", "web_logs"], (
        "this scenario knows the order in which `--dataset all` runs the datasets")
    copy_lake(reference["after_a"], lake)
    deliver(pool, lake, reference["batch_b"])

    # 1. The CLI: customers crashes after 1 published file (the env var), then a SIGKILL during sales_transactions.
    status, output = run_killed_ingest(lake)
    assert status == -signal.SIGKILL, f"the ingest was to be killed, it exited {status}:\n{output[-3000:]}"
    assert "injected failure after 1 moved file" in output, output[-3000:]
    assert len(orphans(lake, "customers")) == 1, "customers' crashed run left exactly 1 published file"
    assert any((lake / "bronze" / "sales_transactions" / "_staging").glob("*/_RUN_STARTED")), (
        "sales_transactions was killed mid-run: its staging is left")
    assert not orphans(lake, "sales_transactions")

    # 2. In-process crashes after k moves (each run first rolls back what the earlier crash left).
    with pytest.raises(InjectedFault):
        ingest(spark, lake, "web_logs", DAY_B, started(START_B, "web_logs") - timedelta(seconds=30),
               fail_after_moves=2, max_records_per_file=20)
    assert len(orphans(lake, "web_logs")) == 2, "web_logs crashed after 2 of its files were published"
    with pytest.raises(InjectedFault):
        ingest(spark, lake, "user_events", DAY_B, started(START_B, "user_events") - timedelta(seconds=30),
               fail_after_moves=3, max_records_per_file=8)
    assert len(orphans(lake, "user_events")) == 3, "user_events crashed after 3 of its files were published"

    # 3. Clean re-runs roll every crash back and ingest the files again, with the reference's run ids.
    for dataset in datasets:
        summary = ingest(spark, lake, dataset, DAY_B, started(START_B, dataset))
        assert summary.status == "committed", f"{dataset}: {summary.status}"
    for dataset in datasets:
        assert not orphans(lake, dataset), f"{dataset}: files of a crashed run remain: {orphans(lake, dataset)}"
        staging = [p for layer in ("bronze", "quarantine") for p in (lake / layer / dataset / "_staging").rglob("*")
                   if p.is_file()]
        assert not staging, f"{dataset}: staging files remain: {staging}"
        for layer in ("bronze", "quarantine"):
            assert layer_rows(lake, layer, dataset) == reference["layers"][(layer, dataset)], (
                f"{layer}/{dataset} differs from the clean run's")
        numbers = record_numbers(lake, "bronze", dataset) + record_numbers(lake, "quarantine", dataset)
        assert len(numbers) == len(set(numbers)), f"{dataset}: a record is in bronze/quarantine twice"
        by_file: dict[str, set[int]] = {}
        for source_file, number in numbers:
            by_file.setdefault(source_file, set()).add(number)
        raw = {p.relative_to(lake / "raw" / dataset).as_posix(): raw_record_count(p)
               for p in (lake / "raw" / dataset).rglob("*") if p.is_file()}
        assert {f: sorted(n) for f, n in by_file.items()} == {f: list(range(1, n + 1)) for f, n in raw.items()}, (
            f"{dataset}: every raw record, once, in bronze or quarantine")

    # 4. A dbt build that stopped after silver, then a whole one.
    dbt_run(dbt, "--select", "silver", context="silver only: ")
    stopped = read_tables(lake / "warehouse.duckdb")
    silver_ref = {k: v for k, v in reference["tables"].items() if k.startswith("silver.")}
    assert not diff_tables({k: v for k, v in stopped.items() if k.startswith("silver.")}, silver_ref,
                           "after silver only", "reference")
    gold_stopped = {k: v for k, v in stopped.items() if k.startswith("gold.")}
    assert not diff_tables(gold_stopped, reference["gold_after_a"], "stopped", "after batch A"), (
        "the stopped build did not touch gold")
    assert diff_tables(reference["gold_after_a"], {k: v for k, v in reference["tables"].items()
                                                   if k.startswith("gold.")}, "after A", "after B"), (
        "batch B changes gold, so the stopped build left it behind")
    dbt_run(dbt, context="after the stopped build: ")
    problems = diff_tables(read_tables(lake / "warehouse.duckdb"), reference["tables"], "after faults", "clean run")
    assert not problems, "warehouse after the faults != the clean run's:\n" + "\n".join(problems)
    gold = [k for k, (_, rows) in reference["tables"].items() if k.startswith("gold.")]
    assert gold and all(reference["tables"][k][1] for k in gold), "every gold table of the clean run has rows"
