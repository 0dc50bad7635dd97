"""The differential test of the Arrow path's JSON-lines parser (`read.arrow_json`) against the reference,
`jsonrecords.parse_ndjson_line`: values, extra keys and error text of every line, the lines that are records, the
required keys the good records have, and the survey's counts.

The lines: every JSON line of the bad-input matrix, of the parser's own table and of the JSON paths' test, and the
cases below. Each is read in a block with all the others (so that one line's type or error cannot spoil its
neighbours) and in a block of its own. The test also shows the fast path is really taken: plain lines must be read by
pyarrow, and lines with escapes, nesting or errors by Python.
"""

from __future__ import annotations

import random
import re

import pytest

from glue_ingest.contracts import load_contract
from glue_ingest.jsonrecords import parse_ndjson_line
from glue_ingest.read.arrow_json import parse_json_block, survey_json_block
from tests.python import test_ingest_json as parser_table
from tests.python.test_ingest_json_paths import MUST_GO_TO_PYTHON, MUST_STAY_IN_THE_JVM, matrix_lines

COLUMNS = tuple(load_contract("user_events").column_names)
REQUIRED = tuple(load_contract("user_events").required_columns)

# Lines pyarrow must read (no escape, values strings, numbers, true, false or null).
ARROW_LINES = [
    b'{"event_id":"p1","user_id":"u1","event_type":"view","price":"12.50"}',
    b'  {"event_id":"p2" , "user_id" : null,"price":12}  ',
    b'{"event_id":"d1","price":12.50,"user_id":-0,"session_id":1E+400,"category":true,"product_id":false}',
    b'{"event_id":"d2","price":123456789012345678901234567890,"user_id":-1.5e-3}',
    b'{"event_id":"t1","event_timestamp":"2024-01-01T00:00:00","price":"2024-01-01"}',  # no timestamps inferred
    b'{"event_id":"c1","category":"a:1,b","user_id":"x"}',
    b'{"event_id":"e1","category":"Zo\xc3\xab \xf0\x9f\x98\x80 \xef\xbf\xbd","user_id":""}',  # U+FFFD delivered as such
    b"{}",
    b'{ "event_id" : "w1" }\t',
    b'{"event_id":"n1","price":"null","user_id":"true"}',  # the strings "null" and "true" stay strings
]
# Lines Python must read: escapes, nesting, errors, keys the contract lacks, control characters.
PYTHON_LINES = [
    b'{"event_id":"q1","note":"a \\"quoted\\" word"}',
    b'{"event_id":"q2","category":"caf\\u00e9"}',
    b'{"event_id":"k1","event_id":"k2"}',
    b'{"event_id":"x1","user_id":"u1","zz":"1","aa":null}',
    b'{"event_id":"x2","zz":null}',
    b'{"event_id":"n2","tags":{"a":[1,2]}}',
    b'{"event_id":"tab","category":"a\tb"}',  # a raw tab in a string: Python's strict parser refuses it
    b'{"event_id":"u1","note":"caf\xe9"}',  # not UTF-8
    b'{"event_id":"t2"} {"x":1}',
    b"[1,2]",
    b'"just a string"',
    b"nul",
    b'{"event_id":01}',
    b'{"event_id":"e1",}',
]


def cases() -> list[bytes]:
    found = {line for _, line in matrix_lines()}
    found |= {line for line, *_ in parser_table.test_parse_ndjson_line.pytestmark[0].args[1]}  # type: ignore[attr-defined]
    found |= {*MUST_GO_TO_PYTHON, *MUST_STAY_IN_THE_JVM, *ARROW_LINES, *PYTHON_LINES}
    found |= {b"", b"  ", b"\t", b"\xef\xbb\xbf", b"\xef\xbb\xbf  ", b'\xef\xbb\xbf{"event_id":"bom"}'}
    return sorted(line for line in found if b"\r" not in line and b"\n" not in line)


def reference(lines: list[bytes], columns: tuple[str, ...]) -> dict[int, tuple]:
    """Line index -> ("good", values, extra) or ("bad", text, error), by the reference parser; blank lines absent."""
    out = {}
    for i, line in enumerate(lines):
        record = parse_ndjson_line(line, columns, i == 0)
        if record is None:
            continue
        if record.error is None:
            out[i] = ("good", record.values, record.extra)
        else:
            out[i] = ("bad", line.decode("utf-8", errors="replace"), record.error)
    return out


def parsed(data: bytes, columns: tuple[str, ...], first: bool = True) -> tuple[dict[int, tuple], object]:
    result = parse_json_block(data, columns, first, tuple(c for c in REQUIRED if c in columns))
    out: dict[int, tuple] = {}
    for i, row in zip(result.index.to_pylist(), result.table.to_pylist(), strict=True):
        out[i] = ("good", [row[c] for c in columns], row["_extra"])
    for b in result.bad:
        assert b.index not in out
        out[b.index] = ("bad", b.text, b.reason)
    return out, result


@pytest.mark.parametrize("line_end", [b"\n", b"\r\n"])
def test_a_block_of_every_line_reads_as_the_reference_reads_each(line_end: bytes) -> None:
    lines = cases()
    rng = random.Random(7)
    for trial in range(3):
        order = lines[:]
        rng.shuffle(order)
        data = line_end.join(order) + (line_end if trial else b"")
        got, result = parsed(data, COLUMNS)
        assert got == reference(order, COLUMNS)
        assert result.lines == len(order)
        assert result.records == len(got)


def test_each_line_alone_and_after_a_good_line_reads_as_the_reference_reads_it() -> None:
    for line in cases():
        for lines in ([line], [b'{"event_id":"first"}', line]):
            got, result = parsed(b"\n".join(lines) + b"\n", COLUMNS)
            assert got == reference(lines, COLUMNS), line
            assert result.lines == len(lines)


def test_the_parser_table_reads_the_same_with_its_own_columns() -> None:
    for line, first, _ in parser_table.test_parse_ndjson_line.pytestmark[0].args[1]:  # type: ignore[attr-defined]
        if b"\r" in line or b"\n" in line:
            continue
        lines = [line] if first else [b'{"id":"first"}', line]
        got, _ = parsed(b"\n".join(lines), parser_table.COLUMNS)
        assert got == reference(lines, parser_table.COLUMNS), line


def test_plain_lines_are_read_by_pyarrow_and_the_others_by_python() -> None:
    for line in ARROW_LINES:
        got, result = parsed(line + b"\n", COLUMNS, first=False)
        assert result.python == 0, line
        assert got == {0: reference([b"{}", line], COLUMNS)[1]}, line
    for line in PYTHON_LINES:
        _, result = parsed(line + b"\n", COLUMNS, first=False)
        assert result.python == 1, line


def test_a_bad_line_among_many_sends_few_lines_to_python() -> None:
    good = [b'{"event_id":"e%d","user_id":"u%d","price":%d}' % (n, n, n) for n in range(5000)]
    lines = good[:]
    lines[1234] = b'{"event_id":"dup","event_id":"dup2"}'
    lines[4321] = b'{"event_id":"s1","user_id":"one"}'  # a string where others have numbers: quoted, so no conflict
    lines[77] = b'{"event_id":"x","surplus":"key"}'
    got, result = parsed(b"\n".join(lines), COLUMNS, first=False)
    want = reference([b"{}", *lines], COLUMNS)
    assert got == {i - 1: v for i, v in want.items() if i}
    assert 2 <= result.python <= 2 * 64  # the halves with the duplicate key, down to 64 lines, and the extra key
    assert result.records == 5000 and len(result.bad) == 1


def test_required_keys_and_first_good_record() -> None:
    lines = [b"", b'{"bad":', b'{"event_id":"a","user_id":null}', b'{"event_id":"b","event_type":"v"}']
    _, result = parsed(b"\n".join(lines), COLUMNS)
    # user_id is there (null), event_type too; the others of REQUIRED are in no good record.
    assert result.keys == {k for k in REQUIRED if k in ("event_id", "user_id", "event_type")}
    assert result.first_good == (2, '{"event_id":"a","user_id":null}')
    _, spaced = parsed(b'{"event_id":"a", "user_id" :null}\n{"event_id":"q\\"","event_type":"x"}\n', COLUMNS)
    assert {"event_id", "user_id", "event_type"} <= spaced.keys
    # A key in a bad record (a duplicate key) does not count.
    _, dup = parsed(b'{"event_id":"a"}\n{"event_id":"b","user_id":"u","user_id":"v"}\n', COLUMNS)
    assert "user_id" not in dup.keys and "event_id" in dup.keys


def hand_count(data: bytes) -> tuple[int, int, bool]:
    """(lines, records, readable) by hand: lines split as Spark's text reader splits them (LF, CRLF, CR)."""
    readable = data.count(b"\r") == data.count(b"\r\n")
    lines = re.split(rb"\r\n|\r|\n", data)
    if data.endswith((b"\n", b"\r")) or not data:
        lines.pop()
    if lines and lines[0].startswith(b"\xef\xbb\xbf"):
        lines[0] = lines[0][3:]
    return len(lines), sum(1 for line in lines if line.strip(b" \t")), readable


def test_the_survey_counts_lines_and_records_like_a_hand_written_reader() -> None:
    rng = random.Random(3)
    pieces = [b'{"a":"x"}', b"", b" ", b"\t", b"  \t", b'{"a":1}', b"x", b"\xef\xbb\xbf", b'{"a":"\xe9"}']
    for _ in range(300):
        sep = rng.choice([b"\n", b"\r\n"])
        lines = [rng.choice(pieces) for _ in range(rng.randint(0, 12))]
        if rng.random() < 0.3:
            lines = [b"\xef\xbb\xbf" + (lines[0] if lines else b"")] + lines[1:]
        data = sep.join(lines) + (sep if rng.random() < 0.5 else b"")
        if rng.random() < 0.1:
            data += b"\r"  # a CR line end: not for this path
        lines_n, records, readable = survey_json_block(data, first_of_file=True)
        want = hand_count(data)
        assert readable == want[2], data
        if readable:
            assert (lines_n, records) == want[:2], data
            result = parse_json_block(data, COLUMNS, True, REQUIRED)
            assert (result.lines, result.records) == want[:2], data
