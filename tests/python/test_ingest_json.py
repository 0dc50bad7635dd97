"""The JSON reader: record parsing in plain Python, planning, and exact line numbers through Spark.

Expectations are written by hand from the raw bytes; the table of bad inputs for both formats is
in test_ingest_bad_input.py.
"""

from __future__ import annotations

import gzip
import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest

from glue_ingest import read
from glue_ingest import storage as st
from glue_ingest.read import JsonElement, JsonRecord, RawFile, json_layout, parse_json_array, parse_ndjson_line
from testkit import Lake

# Spark's Python workers must run this interpreter (it has glue_ingest), not the first `python3` on
# the PATH; set before the session-wide SparkSession exists (collection imports come first).
os.environ.setdefault("PYSPARK_PYTHON", sys.executable)

COLUMNS = ("id", "price", "tags")


def ok(values: list[str | None], present: list[bool], extra: str | None = None) -> JsonRecord:
    return JsonRecord(values=values, present=present, extra=extra)


def bad(error: str) -> JsonRecord:
    return JsonRecord(error=error)


ALL = [True, True, True]


@pytest.mark.parametrize(
    ("line", "first", "expected"),
    [
        # Numbers keep their text exactly; a JSON null is null.
        (b'{"id":"a","price":12.50,"tags":null}', False, ok(["a", "12.50", None], ALL)),
        (
            b'{"id":-0,"price":1E+2,"tags":123456789012345678901234567890}',
            False,
            ok(["-0", "1E+2", "123456789012345678901234567890"], ALL),
        ),
        # Booleans and nested values as compact JSON text, numbers and key order as delivered.
        (
            b'{"id":true,"price":false,"tags":{"b": [1, 2.0, "x", null] , "a":{}}}',
            False,
            ok(["true", "false", '{"b":[1,2.0,"x",null],"a":{}}'], ALL),
        ),
        # Escapes decoded; non-ASCII kept.
        (
            b'{"id":"Zo\\u00eb \\"q\\"\\n","price":"\xf0\x9f\x98\x80 \xe6\x97\xa5"}',
            False,
            ok(['Zo\u00eb "q"\n', "\U0001f600 \u65e5", None], [True, True, False]),
        ),
        # Keys the contract lacks go to extra, values as text, nulls kept.
        (
            b'{"z":1.50,"id":"a","y":null,"x":[1, {"k": "v"}],"w":"s"}',
            False,
            ok(["a", None, None], [True, False, False], '{"z":"1.50","y":null,"x":"[1,{\\"k\\":\\"v\\"}]","w":"s"}'),
        ),
        (b"{}", False, ok([None, None, None], [False, False, False])),
        (b'  {"id":"a"}  \t', False, ok(["a", None, None], [True, False, False])),
        # A byte order mark is only expected on the first line.
        (b'\xef\xbb\xbf{"id":"a"}', True, ok(["a", None, None], [True, False, False])),
        (b'\xef\xbb\xbf{"id":"a"}', False, bad("invalid JSON: Expecting value")),
        # Blank lines are not records.
        (b"", False, None),
        (b" \t\r", False, None),
        (b"\xef\xbb\xbf", True, None),
        # Broken.
        (b'{"id":"a",}', False, bad("invalid JSON: Expecting property name enclosed in double quotes")),
        (b'{"id":"a"', False, bad("invalid JSON: Expecting ',' delimiter")),
        (b'{"id":"a"} x', False, bad("invalid JSON: Extra data")),
        (b'[{"id":"a"}]', False, bad("invalid JSON: expected an object, got an array")),
        (b'"a"', False, bad("invalid JSON: expected an object, got a string")),
        (b"12", False, bad("invalid JSON: expected an object, got a number")),
        (b"null", False, bad("invalid JSON: expected an object, got null")),
        (b'{"id":NaN}', False, bad("invalid JSON: NaN is not a JSON value")),
        (b'{"id":1,"price":2,"id":3}', False, bad('invalid JSON: duplicate key(s) "id"')),
        (b'{"id":"\\ud83d"}', False, bad("invalid JSON: unpaired surrogate in a \\u escape")),
        (b'{"id":"a\tb"}', False, bad("invalid JSON: Invalid control character at")),
        (b'{"id":"a\xffb"}', False, bad("invalid UTF-8")),
        (b'{"id":' + b"[" * 100_000 + b"]" * 100_000 + b"}", False, bad("invalid JSON: nested too deeply")),
    ],
)
def test_parse_ndjson_line(line: bytes, first: bool, expected: JsonRecord | None) -> None:
    assert parse_ndjson_line(line, COLUMNS, first) == expected


PRETTY = b"""\xef\xbb\xbf[
  {
    "id": "a",
    "price": 0.10
  },
  "oops",
  {"id": "\xff"},
  {"id": "b", "more": {"x": [1.50]}}
]
"""


def test_parse_json_array_positions_and_raw_text() -> None:
    assert parse_json_array(PRETTY, COLUMNS) == [
        JsonElement(1, '{\n    "id": "a",\n    "price": 0.10\n  }', ok(["a", "0.10", None], [True, True, False])),
        JsonElement(2, '"oops"', bad("invalid JSON: expected an object, got a string")),
        JsonElement(3, '{"id": "\ufffd"}', bad("invalid UTF-8")),
        JsonElement(
            4,
            '{"id": "b", "more": {"x": [1.50]}}',
            ok(["b", None, None], [True, False, False], '{"more":"{\\"x\\":[1.50]}"}'),
        ),
    ]


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b'[{"id": "a"},\n {"id": ', "invalid JSON: Expecting value at line 2 column 9"),
        (b'[{"id": "a"}', "invalid JSON: Unterminated array at line 1 column 13"),
        (b'[{"id": "a"},]', "invalid JSON: Expecting value at line 1 column 14"),
        (b'[{"id": "a"} {"id": "b"}]', "invalid JSON: Expecting ',' delimiter at line 1 column 14"),
        (b'[{"id": "a"}]\n[{"id": "b"}]\n', "invalid JSON: Extra data after the array at line 2 column 1"),
        (b'[{"id": NaN}]', "invalid JSON: NaN is not a JSON value"),
        (b'[{"id": "a"}, \xff]', "invalid JSON: Expecting value at line 1 column 15"),
    ],
)
def test_json_array_that_does_not_parse_is_one_whole_file_record(data: bytes, reason: str) -> None:
    assert parse_json_array(data, COLUMNS) == [
        JsonElement(None, data.decode("utf-8", "replace"), bad(reason), whole_file=True)
    ]


@pytest.mark.parametrize("data", [b"[]", b" [ \r\n ] \n", b"\xef\xbb\xbf[]"])
def test_empty_json_array(data: bytes) -> None:
    assert parse_json_array(data, COLUMNS) == []


@pytest.mark.parametrize(
    ("head", "complete", "expected"),
    [
        (b'{"a":1}\n', True, read.NDJSON),
        (b'\n\r\n  {"a":1}\n', True, read.NDJSON),
        (b"[\n", True, read.JSON_ARRAY),
        (b"\xef\xbb\xbf  [", True, read.JSON_ARRAY),
        (b"not json", True, read.NDJSON),  # every line is then quarantined as invalid JSON
        (b"", True, None),
        (b" \n\t\r\n", True, None),
        (b"\xef\xbb\xbf", True, None),
    ],
)
def test_json_layout(head: bytes, complete: bool, expected: str | None) -> None:
    assert json_layout(head, complete) == expected


def test_json_layout_reads_on_through_leading_whitespace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(read.files, "HEAD_BYTES", 4)
    with pytest.raises(read.NeedMoreBytes):
        json_layout(b"    ", complete=False)
    path = tmp_path / "a.json.gz"
    path.write_bytes(gzip.compress(b" " * 1000 + b"\n[]"))
    file = RawFile(str(path), "a.json.gz", path.stat().st_size)
    assert read.files._from_head(st.LocalStorage(), file, json_layout) == (
        read.JSON_ARRAY
    )


def test_plan_groups_by_layout(tmp_path: Path) -> None:
    def raw(name: str, data: bytes) -> RawFile:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return RawFile(str(path), name, len(data))

    files = [
        raw("a.jsonl", b'{"a":1}\n'),
        raw("b.json", b'\n  [{"a":1}]'),
        raw("c/d.ndjson.gz", gzip.compress(b'{"a":1}\n')),
        raw("e.json.gz", gzip.compress(b"[]")),
        raw("empty.json", b""),
        raw("blank.jsonl", b"\n \n"),
        raw("not_gzip.json.gz", b'{"a":1}\n'),
        raw("at 12:00.json", b'{"a":1}\n'),
    ]
    plan = read.JsonReader().plan(st.LocalStorage(), files, "customers")
    columns = ("customer_id", "customer_name", "age_group", "membership_tier", "signup_date", "updated_at")
    assert [(g.layout, g.columns, [f.relative for f in g.files]) for g in plan.groups] == [
        (read.NDJSON, columns, ["a.jsonl", "c/d.ndjson.gz"]),
        (read.JSON_ARRAY, columns, ["b.json", "e.json.gz"]),
    ]
    assert [f.relative for f in plan.empty] == ["empty.json", "blank.jsonl"]
    assert [(r.file.relative, r.reason.split(" (")[0]) for r in plan.rejected] == [
        ("not_gzip.json.gz", "unreadable file: not gzip data"),
        ("at 12:00.json", "unreadable file name: Spark/Hadoop paths cannot contain ':'"),
    ]


# --- through Spark -----------------------------------------------------------------------------


def event(i: int, **more: Any) -> str:
    record = {"event_id": f"e{i}", "user_id": f"u{i}", "event_type": "view", "event_timestamp": f"t{i}", **more}
    return json.dumps(record)


@pytest.mark.spark
@pytest.mark.parametrize("gzipped", [False, True], ids=["split-into-many-tasks", "gzip-one-task"])
def test_line_numbers_are_exact_when_a_file_is_split(spark: Any, tmp_path: Path, gzipped: bool) -> None:
    """Spark splits a big JSON-lines file between tasks; numbers must still be line numbers."""
    lake = Lake(tmp_path / "lake", dataset="user_events")
    lines, expected = [], []
    for n in range(1, 3001):
        if n % 7 == 0:
            lines.append("")  # blank: not a record, still a line
        elif n % 101 == 0:
            lines.append("{broken")
        else:
            lines.append(event(n, price=f"{n}.50"))
            expected.append((n, f"e{n}", f"{n}.50"))
    content = ("\n".join(lines) + "\n").encode()
    name = "big.jsonl.gz" if gzipped else "big.jsonl"
    lake.deliver(name, gzip.compress(content) if gzipped else content)
    lake.deliver("small.jsonl", event(1) + "\n")

    # Splits of 16 KiB: the plain file is read by many tasks, each writing its own bronze file.
    summary = lake.ingest(spark, raw_bytes_per_file=16384)
    assert (len(summary.bronze_files) > 10) is not gzipped

    rows = lake.duckdb_rows(columns="_record_number, event_id, price, _source_file")
    assert sorted(r[:3] for r in rows if r[3] == name) == expected
    broken = [n for n in range(101, 3001, 101) if n % 7]
    assert sorted(lake.duckdb_rows("quarantine", "_record_number, raw_record, reason")) == [
        (n, "{broken", "invalid JSON: Expecting property name enclosed in double quotes") for n in broken
    ]
    counts = {f.path: (f.records_read, f.records_written, f.records_quarantined) for f in summary.files}
    assert counts == {name: (len(expected) + len(broken), len(expected), len(broken)), "small.jsonl": (1, 1, 0)}


@pytest.mark.spark
def test_decimals_nested_values_and_duplicate_keys_end_to_end(spark: Any, tmp_path: Path) -> None:
    """Across many splits: decimals keep their text (the JVM path quotes them), nested values are compact
    JSON text (the Python path), duplicate keys quarantine the record, a file of bad records only
    writes no bronze."""
    lake = Lake(tmp_path / "lake", dataset="user_events")
    lines, expected, bad = [], [], []
    for n in range(1, 1201):
        if n % 50 == 0:
            lines.append(f'{{"event_id":"e{n}","event_id":"x","user_id":"u","event_type":"v"}}')
            bad.append((n, lines[-1], 'invalid JSON: duplicate key(s) "event_id"'))
        elif n % 7 == 0:
            lines.append(event(n)[:-1] + f', "price": {n}.50, "tags": {{"a": [1, 2.0]}}}}')
            expected.append((n, f"e{n}", f"{n}.50", '{"tags":"{\\"a\\":[1,2.0]}"}'))
        else:
            lines.append(event(n)[:-1] + f', "price": -0.0{n}}}')
            expected.append((n, f"e{n}", f"-0.0{n}", None))
    lake.deliver("mixed.jsonl", "\n".join(lines) + "\n")
    lake.deliver("all_bad.jsonl", "{x}\n[1]\n\n" + '{"event_id": 1.5e}' + "\n")

    summary = lake.ingest(spark, raw_bytes_per_file=8192)

    rows = lake.duckdb_rows(columns="_record_number, event_id, price, _extra, _source_file")
    assert sorted(r[:4] for r in rows) == expected
    assert {r[4] for r in rows} == {"mixed.jsonl"}
    quarantined = sorted(lake.duckdb_rows("quarantine", "_source_file, _record_number, raw_record, reason"))
    assert quarantined == sorted(
        [("mixed.jsonl", *b) for b in bad]
        + [
            ("all_bad.jsonl", 1, "{x}", "invalid JSON: Expecting property name enclosed in double quotes"),
            ("all_bad.jsonl", 2, "[1]", "invalid JSON: expected an object, got an array"),
            ("all_bad.jsonl", 4, '{"event_id": 1.5e}', "invalid JSON: Expecting ',' delimiter"),
        ]
    )
    counts = {f.path: (f.records_read, f.records_written, f.records_quarantined) for f in summary.files}
    assert counts == {"mixed.jsonl": (1200, 1200 - len(bad), len(bad)), "all_bad.jsonl": (3, 0, 3)}


@pytest.mark.spark
def test_json_bronze_columns_and_run_summary(spark: Any, lake: Lake) -> None:
    lake.dataset = "user_events"
    lake.deliver("a.jsonl", '{"event_id":"e1","user_id":"u1","event_type":"view","event_timestamp":"t1","price":9.90}')
    lake.deliver("b.json", '[{"user_id":"u2"}]')  # required keys missing from every record
    summary = lake.ingest(spark)

    # The bronze layout is the contract's, whatever the format.
    assert lake.duckdb_rows(columns="* exclude (_ingest_run_id, _ingested_at, ingest_date)") == [
        ("e1", "u1", None, "view", None, None, "9.90", "t1", None, "a.jsonl", 1)
    ]

    reason = "missing required column(s): event_id, event_type, event_timestamp"
    assert summary.rejected_files == {"b.json": reason}
    report = json.loads((lake.bronze / "_runs" / f"{summary.run_id}.json").read_text())
    assert [
        (f["path"], f["records_read"], f["records_written"], f["records_quarantined"], f["quarantined_whole"])
        for f in report["files"]
    ] == [("a.jsonl", 1, 1, 0, None), ("b.json", 1, 0, 1, reason)]
    assert report["quarantined_by_reason"] == {reason: 1}
    assert report["totals"]["files_rejected"] == 1
