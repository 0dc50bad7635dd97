"""The sales_transactions, customers and user_events generators and the CLI over all datasets.

Deterministic, never overwriting, and planting every kind of dirt they claim. The files are checked
by reading them back with the csv and json modules rather than by trusting the summaries, except
where a test is about a summary; the oracles are then checked to agree with what was planted.
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import pytest

from sample_data.__main__ import main
from sample_data.sales import generate_sales, plan_sales
from sample_data.user_events import generate_user_events, plan_user_events
from sample_data.web_logs import generate_web_logs
from tests.python.oracle import sales as sales_oracle
from tests.python.oracle import user_events as events_oracle

START = date(2026, 11, 1)
DAYS = 6
ROWS = 800
SEED = 7
BROKEN = object()  # a JSON line that does not parse
EVENT_TYPES = {"view", "click", "add_to_cart", "purchase"}


def _files(raw_dir: Path) -> dict[str, bytes]:
    return {p.relative_to(raw_dir).as_posix(): p.read_bytes() for p in sorted(raw_dir.rglob("*")) if p.is_file()}


def _csv(data: bytes) -> tuple[list[str], list[list[str]]]:
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    return rows[0], [r for r in rows[1:] if r]


def _json(name: str, data: bytes) -> list[Any]:
    """The records of a JSON file: objects, other JSON values, or BROKEN for a line that does not parse."""
    if name.endswith(".json"):
        return json.loads(data)
    out: list[Any] = []
    for line in data.decode("utf-8").splitlines():
        if line.strip():
            try:
                out.append(json.loads(line))
            except ValueError:
                out.append(BROKEN)
    return out


def _utc(text: Any) -> datetime | None:
    """The UTC instant of a valid ISO-8601 timestamp, by the standard library's own parser."""
    if not isinstance(text, str):
        return None
    try:
        parsed = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    if len(text.strip()) <= 10:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _decimal(text: str) -> Decimal | None:
    try:
        return Decimal(text.strip())
    except InvalidOperation:
        return None


def _date(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def _day_of(name: str) -> date:
    return date.fromisoformat(name.rsplit("_", 1)[-1].split(".")[0])


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, dict[str, Any]], dict[str, bytes]]:
    raw_dir = tmp_path_factory.mktemp("lake") / "raw"
    summaries = {**generate_sales(raw_dir, DAYS, ROWS, SEED, START),
                 **generate_user_events(raw_dir, DAYS, ROWS, SEED, START)}
    return raw_dir, summaries, _files(raw_dir)


def _daily(files: dict[str, bytes], dataset: str) -> dict[str, bytes]:
    return {n: d for n, d in files.items() if n.startswith(f"{dataset}/") and not n.endswith(("_backfill.csv",
                                                                                             "_snapshot.jsonl"))}


@pytest.fixture(scope="module")
def sales_rows(generated) -> dict[str, list[list[str]]]:
    _, _, files = generated
    return {n: _csv(d)[1] for n, d in files.items() if n.startswith("sales_transactions/")}


@pytest.fixture(scope="module")
def customer_records(generated) -> dict[str, list[Any]]:
    _, _, files = generated
    return {n: _json(n, d) for n, d in files.items() if n.startswith("customers/")}


@pytest.fixture(scope="module")
def event_records(generated) -> dict[str, list[Any]]:
    _, _, files = generated
    return {n: _json(n, d) for n, d in files.items() if n.startswith("user_events/")}


# -- files -----------------------------------------------------------------------------------------


def test_file_layout_and_sizes(generated) -> None:
    raw_dir, summaries, files = generated
    days = [START + timedelta(days=i) for i in range(DAYS)]
    assert set(_daily(files, "sales_transactions")) == {
        f"sales_transactions/{d:%Y/%m}/sales_transactions_{d.isoformat()}.csv" for d in days}
    assert "sales_transactions/2026/10/sales_transactions_2026-08-03_to_2026-10-31_backfill.csv" in files
    assert set(_daily(files, "customers")) == {
        f"customers/{d:%Y/%m}/customers_{d.isoformat()}.{'json' if i % 3 == 1 else 'jsonl'}"
        for i, d in enumerate(days)}
    assert "customers/2026/11/customers_2026-11-01_snapshot.jsonl" in files
    assert set(_daily(files, "user_events")) == set(files) & {n for n in files if n.startswith("user_events/")}
    assert {n for n in files if n.startswith("user_events/")} == {
        f"user_events/{d:%Y/%m}/user_events_{d.isoformat()}.{'json' if i % 3 == 2 else 'jsonl'}"
        for i, d in enumerate(days)}
    for name, data in _daily(files, "sales_transactions").items():
        assert len(_csv(data)[1]) == ROWS // 4, name
    for name, data in files.items():
        if name.startswith("user_events/"):
            assert len(_json(name, data)) == ROWS, name
    assert not [p for p in raw_dir.rglob("*") if p.name.startswith(".")], "temporary files left behind"
    for dataset, summary in summaries.items():
        assert summary["dataset"] == dataset
        assert {f["path"] for f in summary["files"]} == {n for n in files if n.startswith(f"{dataset}/")}
        assert summary["records_written"] == sum(f["records"] for f in summary["files"])


def test_same_arguments_give_the_same_bytes_and_another_seed_does_not(tmp_path: Path) -> None:
    for plan in (plan_sales, plan_user_events):
        a, b = plan(tmp_path / "a", 3, 200, 11, START), plan(tmp_path / "b", 3, 200, 11, START)
        c = plan(tmp_path / "c", 3, 200, 12, START)
        assert [(o.relpath, o.data) for o in a.outputs] == [(o.relpath, o.data) for o in b.outputs]
        assert [o.relpath for o in a.outputs] == [o.relpath for o in c.outputs]
        assert all(x.data != y.data for x, y in zip(a.outputs, c.outputs, strict=True))
        for summaries in (a.summaries, b.summaries):
            for summary in summaries.values():
                summary.pop("raw_dir")
        assert a.summaries == b.summaries
        assert not (tmp_path / "a").exists(), "planning writes nothing"


@pytest.mark.parametrize("generate", [generate_sales, generate_user_events])
def test_a_later_range_adds_new_files_and_rerunning_is_harmless(tmp_path: Path, generate) -> None:
    raw_dir = tmp_path / "raw"
    generate(raw_dir, 3, 200, 5, START)
    before = _files(raw_dir)
    generate(raw_dir, 3, 200, 5, START)
    assert _files(raw_dir) == before
    generate(raw_dir, 3, 200, 5, START + timedelta(days=3))
    after = _files(raw_dir)
    assert {name: after[name] for name in before} == before
    daily_before = [n for n in before if "_backfill" not in n and "_snapshot" not in n]
    # The initial load (sales backfill, customer snapshot) is the same file: only daily files are new.
    assert len(after) == len(before) + len(daily_before)


@pytest.mark.parametrize("generate", [generate_sales, generate_user_events])
def test_a_conflicting_file_is_an_error_and_nothing_is_written(tmp_path: Path, generate) -> None:
    raw_dir = tmp_path / "raw"
    generate(raw_dir, 2, 200, 5, START)
    before = _files(raw_dir)
    with pytest.raises(FileExistsError):
        generate(raw_dir, 3, 200, 6, START)
    assert _files(raw_dir) == before


def test_an_earlier_start_anchors_the_initial_load_at_the_start(tmp_path: Path) -> None:
    generate_sales(tmp_path, 1, 100, 1, date(2026, 6, 15))
    names = set(_files(tmp_path))
    assert "sales_transactions/2026/06/sales_transactions_2026-03-17_to_2026-06-14_backfill.csv" in names
    assert "customers/2026/06/customers_2026-06-15_snapshot.jsonl" in names


def test_too_few_rows_or_days_are_refused(tmp_path: Path) -> None:
    for generate in (generate_sales, generate_user_events):
        with pytest.raises(ValueError):
            generate(tmp_path, 1, 10, 1, START)
        with pytest.raises(ValueError):
            generate(tmp_path, 0, 1000, 1, START)
    assert not tmp_path.joinpath("sales_transactions").exists()


# -- sales dirt ------------------------------------------------------------------------------------


def test_sales_bad_rows_of_every_kind(generated, sales_rows) -> None:
    _, summary, files = generated
    counts = Counter(len(r) for rows in sales_rows.values() for r in rows)
    assert counts[14] > 0 and any(k < 14 for k in counts) and any(k > 14 for k in counts)
    values: dict[int, set[str]] = defaultdict(set)
    for rows in sales_rows.values():
        for row in rows:
            if len(row) == 14:
                for i, v in enumerate(row):
                    values[i].add(v)
    assert {"2.5", "0", "-1", "abc"} <= values[10]
    assert any(v.startswith("-") for v in values[11])  # negative unit price
    assert any(len(v.strip().split(".")[-1]) == 3 for v in values[11] if "." in v)  # three decimals
    assert "2026-02-30" in values[1]
    assert {"", "   "} <= values[0]
    assert "" in values[2] and "" in values[6] and "" in values[9] and "  " in values[5]
    assert "N/A" in values[12] and any(v.startswith("-") for v in values[12])
    assert any("," in v for v in values[7]) and any('"' in v for v in values[7])  # quoted product names
    assert any(v != v.strip(" ") for v in values[9])  # padded, valid after trimming
    assert summary["sales_transactions"]["planted"]["crlf_files"] >= 1
    assert any(b"\r\n" in d for n, d in files.items() if n.startswith("sales_transactions/"))


def test_sales_amounts_one_cent_off_and_further(sales_rows) -> None:
    diffs = Counter()
    for rows in sales_rows.values():
        for row in rows:
            if len(row) != 14 or not row[10].strip().isdigit():
                continue
            price, total = _decimal(row[11]), _decimal(row[12])
            if price is not None and total is not None and price >= 0 and total >= 0:
                diffs[abs(total - int(row[10]) * price)] += 1
    assert diffs[Decimal("0.01")] >= DAYS
    assert any(d > Decimal("0.01") for d in diffs)
    assert diffs[Decimal("0")] > sum(diffs.values()) * 0.9


def test_transaction_dates_mostly_dates_sometimes_timestamps_with_offsets(sales_rows) -> None:
    dates = [r[1] for rows in sales_rows.values() for r in rows if len(r) == 14]
    plain = sum(1 for d in dates if len(d) == 10)
    assert plain > len(dates) * 0.85
    assert any(d[-6:] in ("-05:00", "-06:00", "-07:00", "-08:00") for d in dates)
    assert any(d.endswith("Z") for d in dates) and any(" " in d.strip() for d in dates)


def test_sales_duplicates_corrections_and_late_rows(generated, sales_rows) -> None:
    _, summaries, files = generated
    daily = sorted(_daily(files, "sales_transactions"))
    lines = [Counter(files[n].decode().replace("\r\n", "\n").splitlines()[1:]) for n in daily]
    assert sum(c - 1 for counter in lines for c in counter.values() if c > 1) >= DAYS // 2  # within a file
    assert any(line in a for a, b in zip(lines, lines[1:], strict=False) for line in b)  # the next day again
    # Corrections: a transaction in two files with another quantity or price.
    seen: dict[str, tuple[str, tuple[str, str]]] = {}
    corrections = 0
    for name in sorted(sales_rows):
        for row in sales_rows[name]:
            if len(row) == 14 and row[0].strip():
                key, values = row[0].strip(), (row[10].strip(), row[11].strip())
                if key in seen and seen[key][0] != name and seen[key][1] != values:
                    corrections += 1
                seen[key] = (name, values)
    planted = summaries["sales_transactions"]["planted"]
    assert corrections >= planted["corrections"] >= DAYS
    assert planted["corrections_valid"] >= 1 and planted["corrections_invalid"] >= 1
    earlier = {r[0].strip() for n in sales_rows if n.endswith("_backfill.csv") for r in sales_rows[n]}
    for name in daily:  # late: sold up to a week before the file (corrections keep their old date)
        day = _day_of(name)
        dates = [_date(r[1]) for r in sales_rows[name] if len(r) == 14 and r[0].strip() not in earlier]
        sold = [d for d in dates if d is not None]
        assert min(sold) < day and max(sold) == day
        assert min(sold) >= day - timedelta(days=7)
        earlier |= {r[0].strip() for r in sales_rows[name]}


def test_some_sales_name_customers_unknown_to_customers(sales_rows, customer_records) -> None:
    known = {r["customer_id"] for records in customer_records.values() for r in records
             if isinstance(r, dict) and isinstance(r.get("customer_id"), str)}
    customers = Counter(r[9].strip() for rows in sales_rows.values() for r in rows if len(r) == 14 and r[9].strip())
    unknown = sum(c for cid, c in customers.items() if cid not in known)
    assert 0.01 * sum(customers.values()) < unknown < 0.08 * sum(customers.values())


# -- customers dirt --------------------------------------------------------------------------------


def test_customer_files_are_json_lines_or_pretty_arrays(generated, customer_records) -> None:
    _, _, files = generated
    arrays = [n for n in files if n.startswith("customers/") and n.endswith(".json")]
    assert arrays and all(files[n].startswith(b"[\n  {\n    ") for n in arrays)
    assert any(BROKEN in records for n, records in customer_records.items() if n.endswith(".jsonl"))
    names = {r.get("customer_name") for records in customer_records.values() for r in records if isinstance(r, dict)}
    assert any(isinstance(n, str) and not n.isascii() for n in names)


def test_customer_updates_out_of_order_duplicates_and_bad_records(customer_records) -> None:
    snapshot = [n for n in customer_records if n.endswith("_snapshot.jsonl")]
    order = snapshot + sorted(n for n in customer_records if n not in snapshot)  # as delivered
    latest: dict[str, datetime] = {}
    tiers: dict[str, set[str]] = defaultdict(set)
    out_of_order = 0
    seen_objects: Counter[str] = Counter()
    bad = Counter()
    for name in order:
        for r in customer_records[name]:
            if not isinstance(r, dict):
                continue
            seen_objects[json.dumps(r, sort_keys=True)] += 1
            cid, updated = r.get("customer_id"), _utc(r.get("updated_at"))
            if not (isinstance(cid, str) and cid.strip()):
                bad["missing_customer_id"] += 1
                continue
            if updated is None:
                bad["invalid_updated_at"] += 1
                continue
            try:
                date.fromisoformat(r["signup_date"])
            except ValueError:
                bad["invalid_signup_date"] += 1
                continue
            if cid in latest and updated < latest[cid]:
                out_of_order += 1
            latest[cid] = max(updated, latest.get(cid, updated))
            tiers[cid].add(r["membership_tier"])
    assert out_of_order >= DAYS
    assert any(c > 1 for c in seen_objects.values())
    assert set(bad) == {"missing_customer_id", "invalid_updated_at", "invalid_signup_date"}
    assert sum(1 for t in tiers.values() if len(t) > 1) >= DAYS  # upgrades


# -- user_events dirt ------------------------------------------------------------------------------


def test_event_files_and_messy_values(generated, event_records) -> None:
    _, _, files = generated
    assert any(n.endswith(".json") for n in event_records) and any(n.endswith(".jsonl") for n in event_records)
    assert all(files[n].startswith(b"[\n  {\n    ") for n in event_records if n.endswith(".json"))
    objects = [r for records in event_records.values() for r in records if isinstance(r, dict)]
    types = Counter(o.get("event_type") for o in objects)
    messy = {t for t in types if isinstance(t, str) and t != t.strip().lower() and t.strip().lower() in EVENT_TYPES}
    assert any(t.startswith(" ") for t in messy) and any(t.strip() == t.strip().upper() for t in messy)
    assert types["view"] > types["click"] > types["add_to_cart"] > types["purchase"] > 0  # the funnel
    assert any(str(t).strip().lower() == "hover" for t in types)
    assert any(o.get("event_type") == "purchase" and "price" not in o for o in objects)
    assert any(o.get("session_id") is None and "session_id" in o for o in objects)
    assert any("session_id" not in o for o in objects)
    assert any(isinstance(o.get("price"), float) for o in objects) and any(isinstance(o.get("price"), str)
                                                                           for o in objects)
    assert any(isinstance(o.get("price"), float) and o["price"] < 0 for o in objects)
    assert any(o.get("user_id") in ("", "   ", None) for o in objects)
    stamps = [o.get("event_timestamp") for o in objects]
    assert any(isinstance(s, str) and s.endswith(("+01:00", "-05:00")) for s in stamps)
    assert any(isinstance(s, str) and _utc(s) is None for s in stamps)
    assert any(BROKEN in records for records in event_records.values())


def test_sessions_span_midnight_and_events_arrive_late(event_records) -> None:
    dates_of_session: dict[str, set[date]] = defaultdict(set)
    for name, records in event_records.items():
        day = _day_of(name)
        dates = [_utc(r.get("event_timestamp")) for r in records if isinstance(r, dict)]
        dates = [d.date() for d in dates if d is not None]
        assert min(dates) < day, f"{name}: no late events"
        assert min(dates) >= day - timedelta(days=3) and max(dates) <= day + timedelta(days=1)
        for r in records:
            instant = _utc(r.get("event_timestamp")) if isinstance(r, dict) else None
            if instant is not None and r.get("session_id"):
                dates_of_session[r["session_id"]].add(instant.date())
    assert sum(1 for d in dates_of_session.values() if len(d) == 2) >= DAYS


def test_event_ids_repeat_identically_and_in_later_versions(event_records) -> None:
    versions: dict[str, list[str]] = defaultdict(list)
    for name in sorted(event_records):
        for r in event_records[name]:
            if isinstance(r, dict) and r.get("event_id"):
                versions[r["event_id"]].append(json.dumps(r, sort_keys=True))
    repeated = [v for v in versions.values() if len(v) > 1]
    assert any(len(set(v)) == 1 for v in repeated)
    assert any(len(set(v)) > 1 for v in repeated)


# -- the oracles agree with what was planted -------------------------------------------------------


def test_the_oracles_agree_with_what_was_planted(generated) -> None:
    raw_dir, summaries, _ = generated
    sales = sales_oracle.compute_dir(raw_dir)
    expected = summaries["sales_transactions"]["expected"]
    assert sales.sales_transactions.as_dict() == {k: expected[k] for k in sales.sales_transactions.as_dict()}
    assert str(sum(r["total_amount"] for r in sales.silver_sales_transactions)) == expected["total_amount"]
    known = {c["customer_id"] for c in sales.silver_customers}
    assert sum(1 for r in sales.silver_sales_transactions if r["customer_id"] not in known) == \
        expected["unknown_customer_transactions"]
    expected = summaries["customers"]["expected"]
    assert sales.customers.as_dict() == {k: expected[k] for k in sales.customers.as_dict()}
    assert dict(Counter(c["membership_tier"] for c in sales.silver_customers)) == expected["membership_tiers"]
    assert {s["segment"] for s in sales.customer_segments} == {"new", "champion", "regular", "at_risk"}

    events = events_oracle.compute_dir(raw_dir)
    expected = summaries["user_events"]["expected"]
    assert events.user_events.as_dict() == {k: expected[k] for k in events.user_events.as_dict()}
    assert dict(Counter(e["event_type"] for e in events.silver_user_events)) == expected["events_by_type"]
    assert str(sum(r["revenue"] for r in events.hourly_revenue)) == expected["revenue"]


def test_daily_ingest_gives_the_same_silver_as_one_batch(generated) -> None:
    raw_dir, _, files = generated
    paths = sorted(raw_dir / n for n in files)
    initial = [p for p in paths if p.name.endswith(("_backfill.csv", "_snapshot.jsonl"))]
    days = sorted({_day_of(p.name) for p in paths if p not in initial})
    sales_batches = [initial] + [[p for p in paths if p not in initial and _day_of(p.name) == d
                                  and not p.name.startswith("user_events")] for d in days]
    one = sales_oracle.compute_dir(raw_dir)
    daily = sales_oracle.compute(sales_batches, root=raw_dir)
    assert daily.silver_sales_transactions == one.silver_sales_transactions
    assert daily.silver_customers == one.silver_customers
    assert daily.sales_transactions == one.sales_transactions and daily.customers == one.customers
    event_batches = [[p] for p in paths if p.name.startswith("user_events")]
    assert events_oracle.compute(event_batches, root=raw_dir).silver_user_events == \
        events_oracle.compute_dir(raw_dir).silver_user_events


def test_even_a_short_run_has_every_rejection_reason_and_quarantined_records(tmp_path: Path) -> None:
    summaries = {**generate_sales(tmp_path, 3, 50, 1, START), **generate_user_events(tmp_path, 3, 50, 1, START)}
    assert set(summaries["sales_transactions"]["expected"]["rejected"]) == set(sales_oracle.SALES_REASONS)
    assert set(summaries["customers"]["expected"]["rejected"]) == set(sales_oracle.CUSTOMER_REASONS)
    assert set(summaries["user_events"]["expected"]["rejected"]) == set(events_oracle.REASONS)
    for summary in summaries.values():
        assert summary["expected"]["quarantined"] >= 1
    assert summaries["sales_transactions"]["planted"]["corrections_valid"] >= 1
    assert summaries["sales_transactions"]["planted"]["corrections_invalid"] >= 1
    assert summaries["user_events"]["planted"]["versions_valid"] >= 1
    assert summaries["user_events"]["planted"]["versions_invalid"] >= 1
    sales = sales_oracle.compute_dir(tmp_path)
    events = events_oracle.compute_dir(tmp_path)
    assert sales.sales_transactions.as_dict()["rejected"] == summaries["sales_transactions"]["expected"]["rejected"]
    assert events.user_events.as_dict()["rejected"] == summaries["user_events"]["expected"]["rejected"]


# -- command line ----------------------------------------------------------------------------------


def test_cli_writes_every_dataset_by_default(tmp_path: Path, capsys) -> None:
    lake = tmp_path / "lake"
    assert main(["--lake-root", str(lake), "--days", "3", "--rows-per-day", "100", "--seed", "3"]) == 0
    out = capsys.readouterr().out
    assert {p.name for p in (lake / "raw").iterdir()} == {"web_logs", "sales_transactions", "customers",
                                                           "user_events"}
    assert {p.name for p in lake.iterdir()} == {"raw", "sample_data_report.json"}
    report = json.loads((lake / "sample_data_report.json").read_text())
    assert list(report) == ["web_logs", "sales_transactions", "customers", "user_events"]
    assert all(report[k]["dataset"] == k and report[k]["days"] == 3 for k in report)
    for dataset in report:
        assert f"{dataset} files" in out
    # web_logs: the very bytes of the web_logs generator alone.
    generate_web_logs(tmp_path / "alone", 3, 100, 3, START)
    assert _files(lake / "raw" / "web_logs") == _files(tmp_path / "alone" / "web_logs")


def test_cli_one_dataset_at_a_time_merges_the_report(tmp_path: Path, capsys) -> None:
    args = ["--lake-root", str(tmp_path), "--days", "2", "--rows-per-day", "100", "--seed", "3"]
    # A report as earlier versions wrote it: one web_logs summary.
    (tmp_path / "sample_data_report.json").write_text(json.dumps({"dataset": "web_logs", "days": 9}))
    assert main([*args, "--dataset", "user_events"]) == 0
    assert {p.name for p in (tmp_path / "raw").iterdir()} == {"user_events"}
    report = json.loads((tmp_path / "sample_data_report.json").read_text())
    assert list(report) == ["web_logs", "user_events"] and report["web_logs"]["days"] == 9
    assert main([*args, "--dataset", "customers"]) == 0  # customers come with their sales
    assert {p.name for p in (tmp_path / "raw").iterdir()} == {"user_events", "sales_transactions", "customers"}
    report = json.loads((tmp_path / "sample_data_report.json").read_text())
    assert list(report) == ["web_logs", "sales_transactions", "customers", "user_events"]
    assert report["customers"]["days"] == 2
    capsys.readouterr()


def test_cli_checks_every_dataset_before_writing_anything(tmp_path: Path, capsys) -> None:
    args = ["--lake-root", str(tmp_path), "--days", "2", "--rows-per-day", "100"]
    assert main([*args, "--seed", "3", "--dataset", "user_events"]) == 0
    before = _files(tmp_path)
    assert main([*args, "--seed", "4"]) == 2  # user_events would differ: web_logs is not written either
    assert "refusing to overwrite" in capsys.readouterr().err
    assert _files(tmp_path) == before


def test_cli_reports_bad_arguments(tmp_path: Path, capsys) -> None:
    assert main(["--lake-root", str(tmp_path), "--days", "1", "--rows-per-day", "5", "--seed", "3"]) == 2
    assert "rows_per_day" in capsys.readouterr().err
    assert not (tmp_path / "raw").exists()
