"""The differential test of the two JSON-lines paths (issue 12): Spark's `from_json` for the lines it can
keep exact, the Python parser for the rest.

Every JSON line of the bad-input matrix, of the parser's own table and of the cases below is read by
Spark as the job reads it, and each record must equal what `jsonrecords.parse_ndjson_line`, the reference,
makes of the same bytes: values, key presence, extra keys and error text. The test also shows the JVM
path is really taken: plain lines must be JVM-exact, and the ones it cannot keep must not be.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from glue_ingest.contracts import load_contract
from glue_ingest.jsonrecords import parse_ndjson_line
from tests.python import test_bad_input_matrix as matrix
from tests.python import test_ingest_json as parser_table

pytestmark = pytest.mark.spark

# Lines written for this test: what the JVM path must refuse, and what it must take.
MUST_GO_TO_PYTHON = [
    b'{"event_id":"n1","tags":{"a":[1,2]}}',  # nested
    b'{"event_id":"n2","tags":[]}',
    b'{"event_id":"k1","event_id":"k2"}',  # duplicate keys: Spark keeps the last
    b'{"event_id":"t1"} {"x":1}',  # text after the object: Spark ignores it
    b'{"event_id":"t2"}}',
    b'{"event_id":"c1","note":"\\u001f"}',  # Spark writes \u001F, Python \u001f
    b'{"event_id":"s1","note":"\\ud83d\\ude00"}',  # a surrogate pair: fine, but escapes go to Python
    b'{"event_id":"u1","note":"caf\xe9"}',  # not UTF-8
    b"{'event_id':'q1'}",
    b'{"event_id":01}',
    b'{"event_id":1.}',
    b'{"event_id":.5}',
    b'{"event_id":+1}',
    b'{"event_id":1.5e}',
    b'{"event_id":--1}',
    b'{event_id:"x"}',
    b'{"event_id":"e1",}',
    b'{"event_id":"e1" /* comment */}',
    b'{"a":"\\x"}',
    b'{"event_id":"r1","note":"\xef\xbf\xbd"}',  # a real U+FFFD: the pattern cannot tell it from a bad byte
    b'{"event_id":"r2","note":"a\\\xff"}',  # a bad byte right after a backslash
    b'{"event_id":"r3","note":"\xc3"}',  # a multi-byte character cut short
]
MUST_STAY_IN_THE_JVM = [
    b'{"event_id":"p1","user_id":"u1","event_type":"view","price":"12.50"}',
    b'  {"event_id":"p2" , "user_id" : null,"price":12,"extra_key":"v","flag":true}  ',
    b'{"event_id":"p3","price":-12,"big":123456789012345678901234567890,"q":"a \\"quoted\\" \\\\ \\/ \\n"}',
    b'{"event_id":"p4","note":"Zo\\u00eb \xf0\x9f\x98\x80 \xe6\x97\xa5","colon":"a:b","brace":"{x}"}',
    b"{}",
    # Numbers other than integers are quoted before Spark reads them (SPARK-48148: it writes 12.50 as 12.5).
    b'{"event_id":"d1","price":12.50,"x":1e2,"y":-0,"z":-1.5E-3,"w":0.0,"s":"12.50","t":"a:1.5,b"}',
    b'{"event_id":"d2", "price" : -0 , "n":1E+400}',
    # Keys the contract lacks go to the extra object; only lines with more keys than contract keys have any.
    b'{"event_id":"x1","user_id":"u1","zz":"1","aa":null}',
    b'{"zz":"only an extra key"}',
]


def matrix_lines() -> list[tuple[str, bytes]]:
    """(dataset, line) of every JSON-lines file of the bad-input matrix."""
    found = []
    for case in matrix.CASES:
        if load_contract(case.dataset).format != "json":
            continue
        for name, content in {**case.files, **case.run2}.items():
            data = content.encode("utf-8") if isinstance(content, str) else content
            if name.endswith((".jsonl", ".ndjson")) and not data.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"["):
                found += [(case.dataset, line) for line in re.split(rb"\r\n|\r|\n", data)]
    return found


def read_like_the_job(spark: Any, path: Path, columns: tuple[str, ...]) -> dict[int, tuple[Any, ...]]:
    """Line number -> (jvm exact, values, present, extra, error) as the job's JSON-lines path reads them."""
    from pyspark.sql import functions as F

    from glue_ingest.read import EXTRA_TEXT, PRESENT, RECORD_ERROR, ROW_ID, position_column
    from glue_ingest.read.json import JVM_EXACT, RECORD_NUMBER, SOURCE_FILE, json_lines, json_records

    lines = json_lines(spark, [str(path)], parse=True)
    # One small file is one split: row ids count from 0 in file order.
    numbered = lines.withColumn(RECORD_NUMBER, F.col(ROW_ID) + 1).withColumn(SOURCE_FILE, F.lit(path.name))
    records = json_records(numbered.drop(ROW_ID), columns)
    exact = numbered.select(RECORD_NUMBER, JVM_EXACT)
    rows = records.join(exact, RECORD_NUMBER).collect()
    return {
        r[RECORD_NUMBER]: (
            r[JVM_EXACT],
            [r[position_column(i)] for i in range(len(columns))],
            list(r[PRESENT]) if r[PRESENT] is not None else None,
            r[EXTRA_TEXT],
            r[RECORD_ERROR],
        )
        for r in rows
    }


def check(spark: Any, tmp_path: Path, columns: tuple[str, ...], lines: list[bytes]) -> dict[bytes, bool]:
    """Both paths against the reference for `lines` (one file, in order); returns line -> JVM-exact."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / "lines.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    got = read_like_the_job(spark, path, columns)
    exact = {}
    for number, line in enumerate(lines, start=1):
        expected = parse_ndjson_line(line, columns, number == 1)
        if expected is None:
            assert number not in got, f"line {number} {line[:80]!r} is blank, but Spark made a record of it"
            continue
        assert number in got, f"line {number} {line[:80]!r}: no record"
        jvm, values, present, extra, error = got[number]
        if expected.error is not None:
            # Errors come from the Python parser, in its words.
            assert error == expected.error, (line, error)
            assert not jvm, f"line {number} {line[:80]!r} is not loadable, yet the JVM path took it"
        else:
            assert (values, present, extra, error) == (expected.values, expected.present, expected.extra, None), (
                f"line {number} {line[:80]!r} (JVM path: {jvm})"
            )
        exact[line] = jvm
    return exact


def test_every_matrix_line_reads_as_the_reference_parser_reads_it(spark: Any, tmp_path: Path) -> None:
    by_dataset: dict[str, list[bytes]] = {}
    for dataset, line in matrix_lines():
        by_dataset.setdefault(dataset, []).append(line)
    assert set(by_dataset) == {"user_events", "customers"}
    taken = 0
    for dataset, lines in sorted(by_dataset.items()):
        exact = check(spark, tmp_path / dataset, tuple(load_contract(dataset).column_names), lines)
        taken += sum(exact.values())
    assert taken >= 10  # most matrix lines are plain records: the JVM path is exercised


def test_the_parser_table_reads_the_same_on_both_paths(spark: Any, tmp_path: Path) -> None:
    # Each line in a file of its own, first or second, as the table says (a BOM counts on the first line).
    table = parser_table.test_parse_ndjson_line.pytestmark[0].args[1]  # type: ignore[attr-defined]
    for i, (line, first, _) in enumerate(table):
        if b"\r" in line or b"\n" in line:
            continue  # not one line of a file
        lines = [line] if first else [b'{"id":"first"}', line]
        check(spark, tmp_path / str(i), parser_table.COLUMNS, lines)


def test_what_the_jvm_path_must_refuse_and_must_take(spark: Any, tmp_path: Path) -> None:
    columns = tuple(load_contract("user_events").column_names)
    exact = check(spark, tmp_path, columns, MUST_GO_TO_PYTHON + MUST_STAY_IN_THE_JVM)
    assert [line for line in MUST_GO_TO_PYTHON if exact.get(line)] == []
    assert [line for line in MUST_STAY_IN_THE_JVM if not exact[line]] == []


def test_the_reference_parser_needs_no_spark() -> None:
    import subprocess
    import sys

    code = (
        "import sys, glue_ingest.jsonrecords; "
        "print(sorted(m for m in sys.modules if m.startswith(('pyspark', 'pandas'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
