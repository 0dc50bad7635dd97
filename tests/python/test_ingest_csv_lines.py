"""The CSV line reader (issue 12): files split across tasks, numbered without a shuffle, quarantined
by re-reading only the files with bad records.

Each file is generated here with the record number written into the record (`user_id` is `u<n>`), so
the expected bronze and quarantine rows follow from the generator, not from the job.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from testkit import Lake

pytestmark = pytest.mark.spark

HEADER = "event_time,user_id,endpoint,status_code,response_ms,user_agent"
WRONG_6 = "wrong field count: expected 6 fields"
# Splits of 4 KiB: every file below of more than a few dozen records spans several tasks.
SMALL_SPLITS = {"raw_bytes_per_file": 4096}


def good(n: int) -> str:
    return f"2024-01-01T00:00:{n % 60:02d}Z,u{n},/p/{n},200,{n},agent {n}"


def bad(n: int) -> str:
    return f"2024-01-01T00:00:00Z,u{n},/short"  # three fields of six


def bronze_ids(lake: Lake) -> set[tuple[str, int, str]]:
    return set(lake.duckdb_rows(columns="_source_file, _record_number, user_id"))


def quarantine_rows(lake: Lake) -> set[tuple[str, int, str, str]]:
    return set(lake.duckdb_rows("quarantine", "_source_file, _record_number, raw_record, reason"))


def deliver_lines(lake: Lake, name: str, records: list[str], *, sep: str = "\n", bom: bool = False,
                  final_newline: bool = True) -> bytes:
    text = sep.join([HEADER, *records]) + (sep if final_newline else "")
    data = (b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8")
    lake.deliver(name, data)
    return data


def test_a_file_of_many_splits_keeps_exact_record_numbers(spark: Any, lake: Lake) -> None:
    bad_numbers = {1, 57, 58, 400, 1999, 2000}
    records = [bad(n) if n in bad_numbers else good(n) for n in range(1, 2001)]
    data = deliver_lines(lake, "big.csv", records)
    # Blank lines are no records, wherever they fall (also across a split boundary).
    lake.deliver("blanks.csv", f"\n{HEADER}\n\n{good(1)}\n\n\n{bad(2)}\n{good(3)}\n\n")
    assert len(data) > 20 * SMALL_SPLITS["raw_bytes_per_file"]

    summary = lake.ingest(spark, **SMALL_SPLITS)

    expected_bronze = {("big.csv", n, f"u{n}") for n in range(1, 2001) if n not in bad_numbers}
    expected_bronze |= {("blanks.csv", 1, "u1"), ("blanks.csv", 3, "u3")}
    assert bronze_ids(lake) == expected_bronze
    expected_quarantine = {("big.csv", n, bad(n), WRONG_6) for n in bad_numbers}
    expected_quarantine.add(("blanks.csv", 2, bad(2), WRONG_6))
    assert quarantine_rows(lake) == expected_quarantine
    by_file = {f.path: (f.records_read, f.records_written, f.records_quarantined) for f in summary.files}
    assert by_file == {"big.csv": (2000, 1994, 6), "blanks.csv": (3, 2, 1)}
    # Several tasks wrote bronze: the file was split, not read whole.
    assert len(summary.bronze_files) > 1


def test_groups_of_different_headers_share_one_pre_pass_and_keep_exact_record_numbers(spark: Any, lake: Lake) -> None:
    # Three groups (another column order; CRLF), each file split across many tasks, all counted by one
    # pre-pass job: each group's row ids must still line up with its own scan in the write pass.
    reordered = "user_id,event_time,endpoint,status_code,response_ms,user_agent"
    deliver_lines(lake, "a.csv", [bad(n) if n == 333 else good(n) for n in range(1, 1201)])
    lines = [f"u{n},2024-01-01T00:00:00Z,/q/{n},200,{n},agent" for n in range(1, 901)]
    lines[499] = "u500,short"
    lake.deliver("b.csv", "\n".join([reordered, *lines]) + "\n")
    deliver_lines(lake, "c.csv", [good(n) for n in range(1, 801)], sep="\r\n")

    summary = lake.ingest(spark, **SMALL_SPLITS)

    expected = {("a.csv", n, f"u{n}") for n in range(1, 1201) if n != 333}
    expected |= {("b.csv", n, f"u{n}") for n in range(1, 901) if n != 500}
    expected |= {("c.csv", n, f"u{n}") for n in range(1, 801)}
    assert bronze_ids(lake) == expected
    assert quarantine_rows(lake) == {("a.csv", 333, bad(333), WRONG_6), ("b.csv", 500, "u500,short", WRONG_6)}
    # The reordered group's columns map by its own header.
    endpoints = lake.duckdb_rows(columns="_source_file, _record_number, endpoint")
    assert all(e == (f"/q/{n}" if f == "b.csv" else f"/p/{n}") for f, n, e in endpoints)
    by_file = {f.path: (f.records_read, f.records_written, f.records_quarantined) for f in summary.files}
    assert by_file == {"a.csv": (1200, 1199, 1), "b.csv": (900, 899, 1), "c.csv": (800, 800, 0)}


def test_a_quoted_line_break_deep_in_a_large_file_sends_that_file_to_the_whole_file_reader(
    spark: Any, lake: Lake
) -> None:
    records = [good(n) for n in range(1, 1001)]
    records[699] = '2024-01-01T00:00:00Z,u700,/p/700,200,700,"two\nlines"'
    records[800] = bad(801)
    deliver_lines(lake, "quoted.csv", records)
    deliver_lines(lake, "plain.csv", [good(n) for n in range(1, 301)])

    summary = lake.ingest(spark, **SMALL_SPLITS)

    expected = {("quoted.csv", n, f"u{n}") for n in range(1, 1001) if n != 801}
    expected |= {("plain.csv", n, f"u{n}") for n in range(1, 301)}
    assert bronze_ids(lake) == expected
    rows = dict(lake.duckdb_rows(columns="user_id, user_agent"))
    assert rows["u700"] == "two\nlines" and rows["u699"] == "agent 699"
    assert quarantine_rows(lake) == {("quoted.csv", 801, bad(801), WRONG_6)}
    assert summary.totals["records_read"] == 1300


@pytest.mark.parametrize("sep", ["\r\n", "\r"], ids=["crlf", "cr"])
def test_crlf_and_cr_files(spark: Any, lake: Lake, sep: str) -> None:
    records = [good(n) for n in range(1, 301)]
    records[9] = bad(10)
    deliver_lines(lake, "lines.csv", records, sep=sep)

    lake.ingest(spark, **SMALL_SPLITS)

    assert bronze_ids(lake) == {("lines.csv", n, f"u{n}") for n in range(1, 301) if n != 10}
    # The raw record is the line without its terminator.
    assert quarantine_rows(lake) == {("lines.csv", 10, bad(10), WRONG_6)}
    agents = {a for (a,) in lake.duckdb_rows(columns="user_agent")}
    assert not any("\r" in a or "\n" in a for a in agents)


def test_a_bom_and_a_last_line_without_newline(spark: Any, lake: Lake) -> None:
    deliver_lines(lake, "bom.csv", [good(1), good(2), bad(3), good(4)], bom=True, final_newline=False)

    summary = lake.ingest(spark)

    assert bronze_ids(lake) == {("bom.csv", 1, "u1"), ("bom.csv", 2, "u2"), ("bom.csv", 4, "u4")}
    assert quarantine_rows(lake) == {("bom.csv", 3, bad(3), WRONG_6)}
    # The header was recognised despite the BOM: columns map by name.
    assert sorted(lake.duckdb_rows(columns="endpoint, response_ms"))[0] == ("/p/1", "1")
    assert summary.files[0].records_read == 4


def test_a_file_of_only_bad_records_writes_no_bronze(spark: Any, lake: Lake) -> None:
    deliver_lines(lake, "all_bad.csv", [bad(n) for n in range(1, 501)])

    summary = lake.ingest(spark, **SMALL_SPLITS)

    assert lake.parquet_files("bronze") == []
    assert summary.bronze_files == []
    assert quarantine_rows(lake) == {("all_bad.csv", n, bad(n), WRONG_6) for n in range(1, 501)}
    assert len(summary.quarantine_files) == 1
    assert (summary.files[0].records_read, summary.files[0].records_quarantined) == (500, 500)


def test_invalid_utf8_in_a_line_is_quarantined_with_the_line_as_text(spark: Any, lake: Lake) -> None:
    data = (HEADER + "\n" + good(1) + "\n").encode() + b"2024-01-01T00:00:00Z,u\xff2,/x,200,2,ua\n"
    lake.deliver("latin.csv", data + (good(3) + "\n").encode())

    lake.ingest(spark)

    assert bronze_ids(lake) == {("latin.csv", 1, "u1"), ("latin.csv", 3, "u3")}
    assert quarantine_rows(lake) == {
        ("latin.csv", 2, "2024-01-01T00:00:00Z,u\ufffd2,/x,200,2,ua", "invalid UTF-8")
    }


def test_the_run_summary_accounts_for_every_line(spark: Any, lake: Lake) -> None:
    """Bronze rows + quarantine rows = the pre-pass's line count, per file, in the run summary on disk."""
    for i in range(3):
        deliver_lines(lake, f"f{i}.csv", [bad(n) if n % 97 == i else good(n) for n in range(1, 700)])

    summary = lake.ingest(spark, **SMALL_SPLITS)

    on_disk = json.loads((lake.bronze / "_runs" / f"{summary.run_id}.json").read_text())
    for f in on_disk["files"]:
        i = int(f["path"][1])
        bad_count = sum(1 for n in range(1, 700) if n % 97 == i)
        assert (f["records_read"], f["records_written"], f["records_quarantined"]) == (699, 699 - bad_count, bad_count)
    assert len(lake.duckdb_rows()) == sum(f["records_written"] for f in on_disk["files"])
    assert len(lake.duckdb_rows("quarantine")) == sum(f["records_quarantined"] for f in on_disk["files"])


TRICKY_LINES = [
    'a,b,c', '"a",b,c', '"a""b",c,d', '"abc"d,e,f', '"abc"d"ef,g,h', 'a,b,"c"', '"",,', 'a,,"x,y"',
    '"a\u00e9",b,c', 'a,b', 'a,b,c,d', '"abc" ,x,y', ' "a",b,c', 'a,"b""",c', '"a,b",,',
    # These leave a quoted field open: the line reader must not take them.
    'x"y,"z', '"a""', 'a,"b', 'a,b,"c""', '"a,b,c',
]


def test_a_line_the_line_reader_takes_parses_as_the_file_reader_parses_it(spark: Any, tmp_path: Any) -> None:
    """The quote check against Spark's multi-line CSV reader: every line it lets through parses the same
    way with `from_csv` as in a file of its own; every line it refuses parses differently there."""
    from pyspark.sql import functions as F

    from glue_ingest.read import CsvReader, FileGroup, RawFile, csv_fields, opens_quoted_field
    from glue_ingest.read.csv import csv_lines
    from glue_ingest.storage import LocalStorage

    files = []
    for i, line in enumerate(TRICKY_LINES):
        path = tmp_path / f"f{i:02d}.csv"
        path.write_bytes(f"h1,h2,h3\n{line}\n".encode())
        files.append(RawFile(str(path), path.name, path.stat().st_size))
    fields = ["_c0", "_c1", "_c2", "_corrupt_record"]
    lines = csv_lines(spark, [f.path for f in files], "\n", parse_width=3)
    by_line = {
        r["_line"]: ([r[f] for f in fields], r["opens"])
        for r in csv_fields(lines.withColumn("opens", opens_quoted_field(F.col("_line"))), 3, ["_line", "opens"])
        .collect()
    }
    group = FileGroup(("h1", "h2", "h3"), "\n", files)
    whole = {r["_source_uri"].rsplit("/", 1)[1]: [r[f] for f in fields] for r in CsvReader().read(
        spark, LocalStorage(), group).collect()}
    assert len(whole) == len(TRICKY_LINES)
    for i, line in enumerate(TRICKY_LINES):
        parsed, opens = by_line[line]
        same = parsed == whole[f"f{i:02d}.csv"]
        assert same is not opens, (line, opens, parsed, whole[f"f{i:02d}.csv"])
