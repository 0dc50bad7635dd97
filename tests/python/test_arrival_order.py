"""Arrival-order property: however the raw files arrive, the incremental warehouse equals a full refresh.

Every case (one seed) takes the same pool of raw files (sample data for every dataset, with its planted late
events, corrections, re-deliveries and bad rows, plus extra late events, corrections and re-delivered copies
written here), shuffles it, cuts it into 2-4 batches, sometimes adds an empty batch, and sometimes ingests two
batches in a row on the same ingest_date. After each batch it ingests and runs dbt incrementally; after the last
it reads every silver and gold table, runs `dbt run --full-refresh` on the same lake and reads them again. The two
reads must be identical: the same tables, the same rows, doubles equal to a relative tolerance of 1e-9. Every gold
table must be non-empty in the full build, so that an everything-empty bug cannot pass.

Speed. The Spark ingest of a batch costs about 3 s of CPU per dataset, which for ten cases of a few batches is
more than this test's whole budget, so most cases replay the ingest: the pool is ingested once by the real job
(one run per dataset), and a batch's bronze is then that run's records of the batch's files, stamped with the
batch's run id, ingested-at time and ingest_date partition, exactly as the job writes them. The first case of a
session, and every tenth one (ARRIVAL_ORDER_REAL_INGEST=1 or 0: every case, none), runs the real ingest job for
every batch instead, and checks that each run's bronze equals its replay column for column: the replay is faithful.
dbt runs in this process with the project parsed once (testkit: `lake.dbt(..., manifest=True)`), persist_docs
switched off in that in-memory manifest (column comments, ~20% of a run's cost, and no data), and `dbt run` (models
only: the data tests are other tests' business, and the comparison here is the check).

Environment:
    ARRIVAL_ORDER_BATCHINGS=N   number of cases (default 10; `make soak` runs 100 from a random first seed)
    ARRIVAL_ORDER_SEED=S        first seed (alone, it runs exactly that one case: how to reproduce a failure)
    ARRIVAL_ORDER_REAL_INGEST=1 run the real ingest job for every batch of every case (0: for none)
"""

from __future__ import annotations

import contextlib
import csv
import json
import math
import os
import random
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import duckdb
import pytest

from testkit import CommandFailed, Lake, close_duckdb

pytestmark = [pytest.mark.spark, pytest.mark.e2e]

REPO = Path(__file__).resolve().parents[2]
REL_TOL = 1e-9  # doubles: relative tolerance between the incremental and the full-refresh warehouse
ABS_TOL = 1e-12  # ... and absolute, for values that should be 0
POOL_DAYS, POOL_ROWS_PER_DAY, POOL_SEED = 4, 60, 5

_batchings = os.environ.get("ARRIVAL_ORDER_BATCHINGS")
_first_seed = os.environ.get("ARRIVAL_ORDER_SEED")
BATCHINGS = int(_batchings) if _batchings else (1 if _first_seed else 10)
if BATCHINGS < 1:
    raise pytest.UsageError(f"ARRIVAL_ORDER_BATCHINGS={_batchings}: the property test needs at least one case")
FIRST_SEED = int(_first_seed) if _first_seed else (random.SystemRandom().randrange(10**6) if _batchings else 0)
SEEDS = list(range(FIRST_SEED, FIRST_SEED + BATCHINGS))
REAL_INGEST = os.environ.get("ARRIVAL_ORDER_REAL_INGEST")  # "1": every case, "0": none, unset: every tenth


# --- dbt in this process ------------------------------------------------------------------------------------


def dbt_run(lake: Lake, *args: str, context: str = "") -> None:
    """`dbt run` (models only) on `lake`, in this process, on the project parsed once per lake path with
    persist_docs off (testkit.dbt). A failure names the nodes that failed, after `context`."""
    try:
        lake.dbt("run", "--threads", "4", "--quiet", *args, manifest=True, persist_docs=False)
    except CommandFailed as failed:
        raise CommandFailed(f"{context}{failed}") from None


# --- reading and comparing warehouses ------------------------------------------------------------------------

Tables = dict[str, tuple[list[str], list[tuple]]]


def read_tables(warehouse: Path, schemas: tuple[str, ...] = ("silver", "gold")) -> Tables:
    """Every table and view of `schemas`: qualified name -> (columns, rows sorted)."""
    tables: Tables = {}
    if not warehouse.exists():
        return tables
    with duckdb.connect(str(warehouse), read_only=True) as con:
        names = con.execute(
            "select table_schema, table_name from information_schema.tables where table_schema in ("
            + ", ".join(f"'{s}'" for s in schemas) + ") order by 1, 2"
        ).fetchall()
        for schema, table in names:
            result = con.execute(f'select * from "{schema}"."{table}"')
            columns = [d[0] for d in result.description]
            tables[f"{schema}.{table}"] = (columns, sorted(result.fetchall(), key=_sort_key))
    return tables


def _sort_key(row: tuple) -> tuple:
    # Exact values first, doubles last and rounded: rows equal up to the tolerance sort alike.
    exact = tuple((0, "") if v is None else (1, repr(v)) for v in row if not isinstance(v, float))
    floats = tuple((0, "") if math.isnan(v) else (1, f"{v:.6e}") for v in row if isinstance(v, float))
    return exact + floats


def _values_equal(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=REL_TOL, abs_tol=ABS_TOL)
    return type(a) is type(b) and a == b


def diff_tables(actual: Tables, expected: Tables, actual_name: str, expected_name: str, limit: int = 8) -> list[str]:
    """Human-readable differences between two reads (empty when equal within the tolerance for doubles)."""
    problems = []
    for name in sorted(set(actual) | set(expected)):
        if name not in actual or name not in expected:
            problems.append(f"{name}: only in {actual_name if name in actual else expected_name}")
            continue
        (columns, rows), (want_columns, want_rows) = actual[name], expected[name]
        if columns != want_columns:
            problems.append(f"{name}: columns {columns} in {actual_name}, {want_columns} in {expected_name}")
            continue
        if len(rows) != len(want_rows):
            extra = [r for r in rows if r not in want_rows][:3]
            missing = [r for r in want_rows if r not in rows][:3]
            problems.append(f"{name}: {len(rows)} rows in {actual_name}, {len(want_rows)} in {expected_name}; "
                            f"e.g. only in {actual_name}: {extra}; only in {expected_name}: {missing}")
            continue
        for got, want in zip(rows, want_rows, strict=True):
            bad = [c for c, a, b in zip(columns, got, want, strict=True) if not _values_equal(a, b)]
            if bad:
                problems.append(f"{name}: row differs in {bad}:\n    {actual_name}:   {got}\n    "
                                f"{expected_name}: {want}")
                break
    return problems[:limit] + ([f"... and {len(problems) - limit} more"] if len(problems) > limit else [])


# --- the pool of raw files --------------------------------------------------------------------------------------

RawFile = tuple[str, str]  # (dataset, path relative to raw/<dataset>/)


def raw_files(raw: Path) -> list[RawFile]:
    return sorted((p.relative_to(raw).parts[0], "/".join(p.relative_to(raw).parts[1:]))
                  for p in raw.rglob("*") if p.is_file())


def generate_sample(lake: Path, days: int, rows_per_day: int, seed: int) -> None:
    from sample_data.__main__ import main

    with contextlib.redirect_stdout(None):
        status = main(["--lake-root", str(lake), "--days", str(days), "--rows-per-day", str(rows_per_day),
                       "--seed", str(seed)])
    assert status == 0, "sample_data failed"


def _csv_rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or []), [row for row in reader if None not in row and None not in row.values()]


def _json_records(path: Path) -> list[dict[str, Any]]:
    text = path.read_text(encoding="utf-8")
    if text.lstrip().startswith("["):
        return [r for r in json.loads(text) if isinstance(r, dict)]
    records = []
    for line in text.splitlines():
        with contextlib.suppress(ValueError):
            record = json.loads(line)
            if isinstance(record, dict):
                records.append(record)
    return records


def _write_csv(path: Path, header: list[str], rows: list[dict[str, str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)


def _write_jsonl(path: Path, records: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")


def add_extra_deliveries(raw: Path, rng: random.Random) -> None:
    """More of what makes arrival order matter, on top of what sample_data plants: late web requests for
    every day, sales corrections that move transactions to another date (one of them invalid), events
    re-delivered with another timestamp and type, customer changes both newer and older than the current
    version, and re-delivered copies of whole files under new names."""
    day_files = sorted((raw / "web_logs").rglob("web_logs_*.csv"))
    late = []
    for path in day_files:
        _, rows = _csv_rows(path)
        for row in rng.sample(rows, min(4, len(rows))):
            late.append({**row, "user_id": f"late_{rng.randrange(10**6)}", "response_ms": str(rng.randrange(1, 900)),
                         "user_agent": row.get("user_agent") or ""})
    _write_csv(raw / "web_logs/late/web_logs_late_arrivals.csv",
               ["event_time", "user_id", "endpoint", "status_code", "response_ms", "user_agent"], late)

    header, sales = [], []
    for path in sorted((raw / "sales_transactions").rglob("*.csv")):
        header, rows = _csv_rows(path)
        sales += rows
    valid = []
    for row in sales:
        with contextlib.suppress(InvalidOperation, ValueError):
            if row["quantity"].isdigit() and int(row["quantity"]) > 0 and Decimal(row["unit_price"]) >= 0:
                valid.append(row)
    dates = sorted({r["transaction_date"][:10] for r in valid if len(r["transaction_date"]) >= 10})
    corrections = []
    for row in rng.sample(valid, 10):
        quantity = int(row["quantity"]) + 1
        corrections.append({**row, "transaction_date": rng.choice(dates), "quantity": str(quantity),
                            "total_amount": str(Decimal(row["unit_price"].strip()) * quantity)})
    corrections.append({**rng.choice(valid), "quantity": "0"})  # invalid: must never replace the valid version
    _write_csv(raw / "sales_transactions/corrections/sales_corrections.csv", header, corrections)

    events = [e for p in sorted((raw / "user_events").rglob("*.json*")) for e in _json_records(p)
              if isinstance(e.get("event_id"), str) and e.get("user_id")]
    moved = []
    for event in rng.sample(events, 12):
        when = datetime(2026, 11, rng.randrange(1, POOL_DAYS + 1), rng.randrange(24), rng.randrange(60), tzinfo=UTC)
        kind = rng.choice(["view", "click", "add_to_cart", "purchase"])
        moved.append({**event, "event_type": kind, "event_timestamp": when.isoformat().replace("+00:00", "Z"),
                      "price": event.get("price") if kind != "purchase" else event.get("price") or 9.99})
    _write_jsonl(raw / "user_events/corrections/user_events_redelivered_changed.jsonl", moved)

    customers = [c for p in sorted((raw / "customers").rglob("*.json*")) for c in _json_records(p)
                 if isinstance(c.get("customer_id"), str)]
    changes = []
    for i, customer in enumerate(rng.sample(customers, 8)):
        updated = "2026-11-20T00:00:00Z" if i % 2 == 0 else "2020-01-01T00:00:00Z"  # newer wins, older does not
        changes.append({**customer, "membership_tier": rng.choice(["bronze", "silver", "gold", "platinum"]),
                        "updated_at": updated})
    _write_jsonl(raw / "customers/changes/customers_late_changes.jsonl", changes)

    for dataset in ("web_logs", "sales_transactions", "user_events"):
        source = rng.choice([p for p in sorted((raw / dataset).rglob("*")) if p.is_file()])
        copy = raw / dataset / "redelivered" / f"again_{source.name}"
        copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, copy)


@dataclass
class Pool:
    raw: Path
    files: list[RawFile]
    units: Path  # a lake where the real ingest job ingested the whole pool, one run per dataset


@pytest.fixture(scope="module")
def pool(tmp_path_factory: pytest.TempPathFactory, spark: Any) -> Pool:
    from glue_ingest.contracts import available_datasets
    from glue_ingest.run import DatasetPaths, ingest_dataset

    folder = tmp_path_factory.mktemp("arrival-pool")
    generate_sample(folder, POOL_DAYS, POOL_ROWS_PER_DAY, POOL_SEED)
    add_extra_deliveries(folder / "raw", random.Random(POOL_SEED))
    files = raw_files(folder / "raw")
    assert {d for d, _ in files} == set(available_datasets()), "the pool has files of every dataset"
    units = folder / "units"
    shutil.copytree(folder / "raw", units / "raw")
    for i, dataset in enumerate(available_datasets()):
        ingest_dataset(spark, dataset, DatasetPaths.under_lake_root(str(units), dataset), date(2026, 1, 1),
                       datetime(2026, 1, 1, 0, i, tzinfo=UTC))
    return Pool(folder / "raw", files, units)


@pytest.fixture(scope="module")
def dbt_lake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lake]:
    """The one lake path dbt works on in this session (its parsed project renders LAKE_ROOT into the bronze
    sources, so the manifest parsed once is only valid for it); every case empties it first."""
    work = tmp_path_factory.getbasetemp() / "dbt-in-process"
    work.mkdir(exist_ok=True)
    yield Lake(work / "lake", work / "target", work / "logs")
    close_duckdb()


# --- batchings ---------------------------------------------------------------------------------------------------


@dataclass
class Batch:
    files: list[RawFile]
    ingest_date: date
    started: dict[str, datetime] = field(default_factory=dict)  # dataset -> start of its ingest run

    def describe(self) -> str:
        return (f"ingest_date {self.ingest_date}: " + (", ".join(f"{d}/{p}" for d, p in self.files) or "(empty)"))


def plan_batching(seed: int, files: list[RawFile], datasets: list[str]) -> list[Batch]:
    """The pool shuffled and cut into 2-4 batches, sometimes with an empty batch; each batch's ingest_date is
    the previous one's or the next day (never earlier, as the ingest job requires)."""
    rng = random.Random(seed)
    order = list(files)
    rng.shuffle(order)
    count = rng.choice([2, 3, 3, 4])
    cuts = sorted(rng.sample(range(1, len(order)), count - 1))
    parts = [order[a:b] for a, b in zip([0, *cuts], [*cuts, len(order)], strict=True)]
    if rng.random() < 0.4:
        parts.insert(rng.randrange(len(parts) + 1), [])
    batches, day, clock = [], date(2026, 12, 1), datetime(2026, 1, 2, tzinfo=UTC)
    for i, part in enumerate(parts):
        if i > 0 and rng.random() < 0.5:
            day += timedelta(days=1)
        batch = Batch(sorted(part), day)
        for dataset in datasets:
            clock += timedelta(minutes=1)
            batch.started[dataset] = clock
        batches.append(batch)
    return batches


def run_id_of(started: datetime) -> str:
    from glue_ingest.run import new_run_id

    return new_run_id(started)


def _replay_sql(units: Path, dataset: str, paths: list[str], started: datetime) -> str:
    files = f"{units}/bronze/{dataset}/ingest_date=*/*.parquet"
    listed = ", ".join("'" + p.replace("'", "''") + "'" for p in paths)
    stamp = started.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")
    return (f"select * replace ('{run_id_of(started)}' as _ingest_run_id, timestamp '{stamp}' as _ingested_at) "
            f"from read_parquet('{files}', hive_partitioning = false) where _source_file in ({listed}) "
            "order by _source_file, _record_number")


def replay_ingest(units: Path, lake: Path, dataset: str, paths: list[str], started: datetime, day: date) -> None:
    """Bronze of one ingest run of `paths`, as the job writes it, from the job's own run over the whole pool."""
    sql = _replay_sql(units, dataset, paths, started)
    with duckdb.connect() as con:
        if con.execute(f"select count(*) from ({sql})").fetchone()[0] == 0:
            return  # every record quarantined: the job writes no bronze file either
        partition = lake / "bronze" / dataset / f"ingest_date={day.isoformat()}"
        partition.mkdir(parents=True, exist_ok=True)
        target = partition / f"{run_id_of(started)}_00000.zstd.parquet"
        con.execute(f"copy ({sql}) to '{target}' (format parquet, compression zstd)")


def check_replay_is_faithful(units: Path, lake: Path, dataset: str, paths: list[str], started: datetime,
                             day: date) -> None:
    """The real job's bronze for this run equals the replay of it, column for column and row for row."""
    real = sorted((lake / "bronze" / dataset / f"ingest_date={day.isoformat()}").glob(f"{run_id_of(started)}_*"))
    sql = _replay_sql(units, dataset, paths, started)
    with duckdb.connect() as con:
        replayed = con.execute(sql).fetchall()
        if not real:
            assert not replayed, f"{dataset}: the job wrote no bronze for {paths}, the replay has {len(replayed)} rows"
            return
        files = "[" + ", ".join(f"'{p}'" for p in real) + "]"
        real_sql = (f"select * from read_parquet({files}, hive_partitioning = false) "
                    "order by _source_file, _record_number")
        real_schema = con.execute(f"describe {real_sql}").fetchall()
        replay_schema = con.execute(f"describe {sql}").fetchall()
        assert real_schema == replay_schema, f"{dataset}: replay schema {replay_schema} != job's {real_schema}"
        assert con.execute(real_sql).fetchall() == replayed, f"{dataset}: replayed bronze != the job's for {paths}"


def deliver(pool: Pool, lake: Path, files: list[RawFile]) -> None:
    for dataset, path in files:
        target = lake / "raw" / dataset / path
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(pool.raw / dataset / path, target)


# --- the property ---------------------------------------------------------------------------------------------------


def _case_id(seed: int) -> str:
    return f"seed={seed}"


@pytest.mark.parametrize("seed", SEEDS, ids=_case_id)
def test_incremental_equals_full_refresh_whatever_the_arrival_order(
    seed: int, pool: Pool, dbt_lake: Lake, spark: Any
) -> None:
    from glue_ingest.contracts import available_datasets
    from glue_ingest.run import DatasetPaths, ingest_dataset

    datasets = available_datasets()
    batches = plan_batching(seed, pool.files, datasets)
    real_ingest = REAL_INGEST == "1" or (REAL_INGEST != "0" and (seed - FIRST_SEED) % 10 == 0)
    plan = "\n".join(f"  batch {i}: {b.describe()}" for i, b in enumerate(batches, start=1))
    rerun = (f"re-run just this case: ARRIVAL_ORDER_SEED={seed} ARRIVAL_ORDER_REAL_INGEST={int(real_ingest)}"
             " .venv/bin/python -m pytest tests/python/test_arrival_order.py")

    def fail(message: str) -> None:
        pytest.fail(f"arrival-order property failed for seed {seed} "
                    f"({'real' if real_ingest else 'replayed'} ingest):\n{message}\nbatching:\n{plan}\n{rerun}",
                    pytrace=False)

    lake = dbt_lake.root
    close_duckdb()
    shutil.rmtree(lake, ignore_errors=True)
    lake.mkdir(parents=True)
    try:
        for i, batch in enumerate(batches, start=1):
            deliver(pool, lake, batch.files)
            for dataset in datasets:
                paths = [p for d, p in batch.files if d == dataset]
                started = batch.started[dataset]
                if real_ingest:
                    ingest_dataset(spark, dataset, DatasetPaths.under_lake_root(str(lake), dataset),
                                   batch.ingest_date, started)
                    check_replay_is_faithful(pool.units, lake, dataset, paths, started, batch.ingest_date)
                elif paths:
                    replay_ingest(pool.units, lake, dataset, paths, started, batch.ingest_date)
            dbt_run(dbt_lake, context=f"seed {seed}, batch {i}: ")
    except (AssertionError, pytest.fail.Exception) as exc:
        fail(str(exc))
    except Exception as exc:  # the ingest job's own errors too: with the seed
        fail(f"{type(exc).__name__}: {exc}")

    incremental = read_tables(lake / "warehouse.duckdb")
    dbt_run(dbt_lake, "--full-refresh", context=f"seed {seed}, full refresh: ")
    full = read_tables(lake / "warehouse.duckdb")

    gold = [name for name in full if name.startswith("gold.")]
    empty = [name for name in gold if not full[name][1]]
    if len(gold) < 5 or empty:
        fail(f"the full build must fill every gold table: gold tables {gold}, empty {empty}")
    problems = diff_tables(incremental, full, "incremental", "full refresh")
    if problems:
        fail("incremental != full refresh:\n" + "\n".join(problems))
