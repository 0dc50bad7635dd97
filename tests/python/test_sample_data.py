"""The sample-data generator: deterministic, never overwrites, and plants every kind of dirt it claims.

The files are checked by reading them back with the csv module, not by trusting the generator's
own summary, except where a test is about the summary.
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from sample_data import generate_web_logs
from sample_data.__main__ import main

COLUMNS = ["event_time", "user_id", "endpoint", "status_code", "response_ms", "user_agent"]
START = date(2026, 11, 1)
DAYS = 8  # enough for every file-level oddity to land on a different file
ROWS = 1_000


def _files(raw_dir: Path) -> dict[str, bytes]:
    return {p.relative_to(raw_dir).as_posix(): p.read_bytes()
            for p in sorted(raw_dir.rglob("*")) if p.is_file()}


def _read(data: bytes) -> tuple[list[str], list[list[str]]]:
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    return rows[0], rows[1:]


def _day_path(day: date, suffix: str = "") -> str:
    return f"web_logs/{day:%Y/%m}/web_logs_{day.isoformat()}{suffix}.csv"


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, object], dict[str, bytes]]:
    raw_dir = tmp_path_factory.mktemp("lake") / "raw"
    summary = generate_web_logs(raw_dir, DAYS, ROWS, 7, START)
    return raw_dir, summary, _files(raw_dir)


@pytest.fixture(scope="module")
def records(generated: tuple[Path, dict[str, object], dict[str, bytes]]) -> dict[str, list[dict[str, str]]]:
    """Every well-formed record of every file, as {column: text}, by file."""
    _, _, files = generated
    out: dict[str, list[dict[str, str]]] = {}
    for name, data in files.items():
        header, rows = _read(data)
        out[name] = [dict(zip(header, row, strict=True)) for row in rows if len(row) == len(header)]
    return out


def test_one_file_a_day_with_the_asked_number_of_records(generated) -> None:
    raw_dir, summary, files = generated
    days = [START + timedelta(days=i) for i in range(DAYS)]
    redelivery = f"web_logs/2026/11/web_logs_{days[1].isoformat()}_redelivery.csv"
    expected = {_day_path(d) for d in days} | {redelivery}
    assert set(files) == expected
    for day in days:
        _, rows = _read(files[_day_path(day)])
        assert len(rows) == ROWS
    assert summary["records_written"] == ROWS * (DAYS + 1)
    assert not list(raw_dir.rglob("*.tmp")), "temporary files left behind"


def test_same_arguments_give_the_same_bytes_and_another_seed_does_not(tmp_path: Path) -> None:
    first = generate_web_logs(tmp_path / "a", 4, 300, 11, START)
    second = generate_web_logs(tmp_path / "b", 4, 300, 11, START)
    generate_web_logs(tmp_path / "c", 4, 300, 12, START)
    a, b, c = _files(tmp_path / "a"), _files(tmp_path / "b"), _files(tmp_path / "c")
    assert a == b
    assert set(a) == set(c)
    assert all(a[name] != c[name] for name in a)
    first.pop("raw_dir"), second.pop("raw_dir")
    assert first == second


def test_a_later_range_adds_new_files_and_rerunning_is_harmless(tmp_path: Path) -> None:
    raw_dir = tmp_path / "raw"
    generate_web_logs(raw_dir, 3, 200, 5, START)
    before = _files(raw_dir)
    generate_web_logs(raw_dir, 3, 200, 5, START)  # same arguments: nothing changes
    assert _files(raw_dir) == before
    generate_web_logs(raw_dir, 3, 200, 5, START + timedelta(days=3))
    after = _files(raw_dir)
    assert {name: after[name] for name in before} == before
    assert len(after) == 2 * len(before)


def test_a_conflicting_file_is_an_error_and_nothing_is_written(tmp_path: Path) -> None:
    raw_dir = tmp_path / "raw"
    generate_web_logs(raw_dir, 2, 200, 5, START)
    before = _files(raw_dir)
    with pytest.raises(FileExistsError):
        generate_web_logs(raw_dir, 3, 200, 6, START)  # other seed: day 1 would differ
    assert _files(raw_dir) == before


def test_too_few_rows_or_days_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        generate_web_logs(tmp_path, 1, 10, 1, START)
    with pytest.raises(ValueError):
        generate_web_logs(tmp_path, 0, 1000, 1, START)


def test_file_level_oddities(generated) -> None:
    _, _, files = generated
    day_files = {name: data for name, data in files.items() if "redelivery" not in name}
    bom = [name for name, data in day_files.items() if data.startswith(b"\xef\xbb\xbf")]
    assert len(bom) == 1
    crlf = [name for name, data in day_files.items() if b"\r\n" in data]
    assert crlf and len(crlf) < len(day_files)
    for name in crlf:  # a file is CRLF throughout or not at all
        assert day_files[name].count(b"\r\n") == day_files[name].count(b"\n")
    headers = {name: _read(data)[0] for name, data in day_files.items()}
    shuffled = [n for n, h in headers.items() if h != COLUMNS and sorted(h) == sorted(COLUMNS)]
    no_agent = [n for n, h in headers.items() if h == COLUMNS[:5]]
    assert len(shuffled) == 1
    assert len(no_agent) == 1
    assert len(set(bom + shuffled + no_agent)) == 3
    assert all(h in (COLUMNS, COLUMNS[:5]) for n, h in headers.items() if n not in shuffled)


def test_redelivery_is_day_two_byte_for_byte_in_a_later_folder(generated) -> None:
    _, summary, files = generated
    day2 = START + timedelta(days=1)
    assert files[f"web_logs/2026/11/web_logs_{day2.isoformat()}_redelivery.csv"] == files[_day_path(day2)]
    assert summary["planted"]["redelivered_files"] == 1


def test_no_redelivery_for_short_runs(tmp_path: Path) -> None:
    summary = generate_web_logs(tmp_path, 2, 100, 1, START)
    assert not any("redelivery" in name for name in _files(tmp_path))
    assert summary["planted"]["redelivered_files"] == 0


def test_malformed_values_of_every_kind_are_present(generated, records) -> None:
    _, summary, files = generated
    field_counts = Counter()
    for data in files.values():
        header, rows = _read(data)
        field_counts.update(len(row) - len(header) for row in rows)
    assert field_counts[-1] + field_counts[-2] > 0, "no record with too few fields"
    assert sum(v for k, v in field_counts.items() if k > 0) > 0, "no record with too many fields"

    values: dict[str, set[str]] = {column: set() for column in COLUMNS}
    for rows in records.values():
        for row in rows:
            for column, value in row.items():
                values[column].add(value)
    assert {"abc", "200.0", "1.5", "700", "99"} <= values["status_code"]
    assert {"-5", "12.0"} <= values["response_ms"]
    assert {"not-a-time", "2026-13-01T00:00:00Z", "2026-02-30T12:00:00Z"} <= values["event_time"]
    assert any(v.endswith("T25:00:00Z") for v in values["event_time"])
    assert {"", "   "} <= values["user_id"]
    assert "" in values["endpoint"]
    assert any(v and not v.strip().startswith("/") for v in values["endpoint"])
    # Padded but valid after trimming.
    assert any(v != v.strip() and v.strip().startswith("/") for v in values["endpoint"])
    assert any(v != v.strip() and v.strip().isdigit() for v in values["status_code"])
    assert summary["planted"]["malformed"] == 3 * DAYS


def test_user_agents_need_quoting_or_are_empty(generated, records) -> None:
    _, _, files = generated
    agents = [row["user_agent"] for rows in records.values() for row in rows if "user_agent" in row]
    assert sum("," in a for a in agents) > len(agents) / 2
    assert any('"' in a for a in agents)
    assert any(a == "" for a in agents)
    raw = b"".join(files.values())
    assert b'""' in raw  # an escaped quote, or a quoted empty user agent


def test_timestamp_variety(records) -> None:
    times = [row["event_time"] for rows in records.values() for row in rows]
    assert sum(t.endswith("Z") and "T" in t and len(t) == 27 for t in times) > len(times) / 2  # microseconds
    assert any(" " in t.strip() and not t.strip().endswith("Z") for t in times)  # space, no zone
    assert any(len(t) == 20 and t.endswith("Z") for t in times)  # no fraction
    assert any(len(t) == 24 and t.endswith("Z") for t in times)  # milliseconds
    assert any(t.endswith("+05:30") for t in times)
    assert any(t.endswith("-04:00") for t in times)
    assert any(len(t.split(".")[-1]) == 10 for t in times if "." in t)  # nanoseconds + Z


def _utc(text: str) -> datetime | None:
    """Naive UTC instant of a valid timestamp, by the standard library's own ISO-8601 parser."""
    try:
        parsed = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return parsed if parsed.tzinfo is None else parsed.astimezone(UTC).replace(tzinfo=None)


def test_offsets_shift_the_wall_time_but_not_the_day(records) -> None:
    for name, rows in records.items():
        if "redelivery" in name:
            continue
        day = date.fromisoformat(name[-14:-4])
        for row in rows:
            text = row["event_time"].strip()
            if text.endswith(("+05:30", "-04:00")):
                instant = _utc(text)
                assert instant is not None
                assert day - timedelta(days=3) <= instant.date() <= day


def test_late_rows_belong_to_one_to_three_earlier_days(records) -> None:
    for i in range(DAYS):
        day = START + timedelta(days=i)
        dates = Counter()
        for row in records[_day_path(day)]:
            instant = _utc(row["event_time"])
            if instant is not None:
                dates[(day - instant.date()).days] += 1
        assert not any(k < 0 for k in dates), f"{day}: rows from the future"
        assert all(k <= 3 for k in dates), f"{day}: rows older than 3 days"
        late = sum(v for k, v in dates.items() if k > 0)
        assert 1 <= late <= ROWS * 0.02  # the first day too: stragglers from before the run


def test_exact_duplicates_within_and_across_files(generated) -> None:
    _, summary, files = generated
    day_files = [files[_day_path(START + timedelta(days=i))] for i in range(DAYS)]
    lines_per_file = [Counter(data.decode("utf-8-sig").replace("\r\n", "\n").splitlines()[1:])
                      for data in day_files]
    within = sum(c - 1 for counter in lines_per_file for c in counter.values() if c > 1)
    assert within >= ROWS * 0.005 * DAYS
    across = sum(1 for a, b in zip(lines_per_file, lines_per_file[1:], strict=False)
                 for line in b if line in a)
    assert across > 0
    assert summary["planted"]["exact_duplicates"] == 10 * DAYS


def test_cli_writes_data_under_raw_and_the_report_outside_it(tmp_path: Path, capsys) -> None:
    assert main(["--lake-root", str(tmp_path), "--days", "3", "--rows-per-day", "100", "--seed", "3",
                 "--start-date", "2026-12-30", "--dataset", "web_logs"]) == 0
    out = capsys.readouterr().out
    assert "web_logs/2027/01/web_logs_2027-01-01.csv" in out
    assert "exact_duplicates" in out
    report = json.loads((tmp_path / "sample_data_report.json").read_text())["web_logs"]
    assert report["days"] == 3 and report["start_date"] == "2026-12-30"
    assert all(p.suffix == ".csv" for p in (tmp_path / "raw").rglob("*") if p.is_file())
    assert {p.name for p in tmp_path.iterdir()} == {"raw", "sample_data_report.json"}


def test_cli_reports_bad_arguments(tmp_path: Path, capsys) -> None:
    assert main(["--lake-root", str(tmp_path), "--days", "1", "--rows-per-day", "5", "--seed", "3"]) == 2
    assert "rows_per_day" in capsys.readouterr().err


def test_even_a_short_run_has_every_rejection_reason_and_a_quarantined_record(tmp_path: Path) -> None:
    summary = generate_web_logs(tmp_path, 3, 200, 1, START)
    assert set(summary["expected"]["rejected"]) == {
        "invalid_event_time", "missing_user_id", "missing_endpoint", "endpoint_not_absolute",
        "invalid_status_code", "status_code_out_of_range", "invalid_response_ms", "negative_response_ms"}
    assert summary["expected"]["quarantined"] >= 1
