"""The Arrow path for CSV (issue 12): splits and blocks of lines, the survey, the block parser, `_extra`, and the
job's choice between pyarrow and Spark for each file.

Expectations come from plain Python: lines cut with `bytes.split`, fields with the `csv` module (which reads
the simple quoting the path accepts as Spark does), and `_extra` from Spark's own `to_json`.
"""

from __future__ import annotations

import csv
import gzip
import json
import logging
import random
import re
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from glue_ingest import stage_arrow
from glue_ingest.contracts import load_contract
from glue_ingest.read import arrow_csv
from glue_ingest.read.arrow_csv import file_splits, parse_block, split_blocks, survey_block
from testkit import Lake
from tests.python.test_ingest_csv_lines import HEADER, SMALL_SPLITS, WRONG_6, bad, deliver_lines, good

SEPS = {"lf": "\n", "crlf": "\r\n", "cr": "\r"}


def random_file(rng: random.Random, sep: str, lines: int) -> bytes:
    """Lines of random length (some empty, some long), ended by `sep`; the last one maybe not."""
    out = []
    for _ in range(lines):
        length = rng.choice([0, 1, 2, 5, 30, 200])
        out.append("".join(rng.choice('ab,"é ') for _ in range(length)))
    text = sep.join(out) + (sep if rng.random() < 0.5 else "")
    return text.encode("utf-8")


def line_starts(data: bytes, sep: bytes) -> list[int]:
    """Offsets where a line starts, computed apart from the code under test."""
    starts, at = [0], 0
    while (i := data.find(sep, at)) >= 0:
        at = i + len(sep)
        if at < len(data):
            starts.append(at)
    return starts


@pytest.mark.parametrize("sep_name", sorted(SEPS))
def test_every_line_is_read_once_by_the_split_its_first_byte_is_in(tmp_path: Path, sep_name: str) -> None:
    sep = SEPS[sep_name]
    rng = random.Random(sep_name)
    for trial in range(40):
        data = random_file(rng, sep, rng.randint(0, 60))
        path = tmp_path / f"f{trial}.csv"
        path.write_bytes(data)
        starts = line_starts(data, sep.encode()) if data else []
        split_bytes = rng.choice([1, 2, 3, 7, 64, 1000])
        block_bytes = rng.choice([1, 5, 16, 4096])
        pieces = []
        for s in file_splits(str(path), path.name, len(data), sep, split_bytes):
            blocks = [b.tobytes() for b in split_blocks(s, block_bytes)]
            mine = [p for p in starts if s.start <= p < s.end]
            expected = data[mine[0] : next((p for p in starts if p >= s.end), len(data))] if mine else b""
            assert b"".join(blocks) == expected, (trial, s)
            # Blocks hold whole lines: each ends with the separator, but the file's last line may have none.
            assert all(b.endswith(sep.encode()) for b in blocks[:-1]), (trial, s, blocks)
            pieces.append(b"".join(blocks))
        assert b"".join(pieces) == data


def test_a_gzip_file_is_one_split_read_whole(tmp_path: Path) -> None:
    data = random_file(random.Random(1), "\n", 5000)
    path = tmp_path / "f.csv.gz"
    path.write_bytes(gzip.compress(data))
    (split,) = file_splits(str(path), "f.csv.gz", path.stat().st_size, "\n", 10)
    blocks = [b.tobytes() for b in split_blocks(split, 1000)]
    assert len(blocks) > 10
    assert b"".join(blocks) == data


def expected_rows(lines: list[bytes], width: int) -> tuple[list[tuple[int, tuple]], list[tuple[int, str, bool]]]:
    """(index, values) of good lines, (index, text, wrong field count) of bad ones: independently, by `csv`."""
    good_rows, bad_rows = [], []
    for i, raw in enumerate(lines):
        text = raw.decode("utf-8", errors="replace")
        values = next(csv.reader([text]))
        if len(values) != width:
            bad_rows.append((i, text, True))
        elif "\ufffd" in text:
            bad_rows.append((i, text, False))
        else:
            good_rows.append((i, tuple(v if v != "" else None for v in values)))
    return good_rows, bad_rows


def parsed_rows(block: bytes, sep: str, width: int) -> tuple[list[tuple[int, tuple]], list[tuple[int, str, bool]]]:
    parsed = parse_block(block, sep, width)
    index = range(parsed.lines) if parsed.good is None else parsed.good.to_pylist()
    rows = [tuple(r.values()) for r in parsed.table.to_pylist()]
    return list(zip(index, rows, strict=True)), [(b.index, b.text, b.wrong_field_count) for b in parsed.bad]


BAD_BLOCK_LINES = [
    b"a,b,c",
    b"",
    b'"x,1","say ""hi""",',
    b"short,line",
    b"caf\xc3\xa9,ok,\xff\xfe",  # not UTF-8
    b"\xef\xbb\xbf",  # a byte order mark alone: a line of one field
    b"real,\xef\xbf\xbd,replacement",  # U+FFFD delivered as such
    b"too,many,fields,here",
    b" , ,",
    b"",
]


@pytest.mark.parametrize("sep_name", sorted(SEPS))
def test_blocks_parse_as_python_csv_reads_them(sep_name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    sep = SEPS[sep_name]
    # A block with bad lines goes line by line; its records still match, index for index.
    block = sep.encode().join(BAD_BLOCK_LINES)
    non_empty = [line for line in BAD_BLOCK_LINES if line]
    assert survey_block(block, sep) == (len(non_empty), True)
    assert parsed_rows(block, sep, 3) == expected_rows(non_empty, 3)

    # A clean block takes the fast path: pyarrow reads it whole, and never line by line.
    clean = [b"a,b,c", b'"1,2",,"q""uote"', b"", b"\xc3\xa9t\xc3\xa9, x ,y", b'"",z,']
    block = sep.encode().join(clean) + sep.encode()
    monkeypatch.setattr(arrow_csv, "parse_lines", lambda *_: pytest.fail("a clean block went line by line"))
    want = expected_rows([line for line in clean if line], 3)
    assert want[1] == []
    assert parsed_rows(block, sep, 3) == want
    assert survey_block(block, sep) == (4, True)


ALL_SEPS = ("\n", "\r\n", "\r")


@pytest.mark.parametrize(
    ("line", "seps"),
    [
        ('"abc"d,e,f', ALL_SEPS),  # text after a closing quote
        ('x"y,"z', ALL_SEPS),  # a quote inside an unquoted field
        ('"a,b', ALL_SEPS),  # a quoted field left open
        ("a\rb,c,d", ("\n", "\r\n")),  # a CR that is not the separator
        ("a\nb,c,d", ("\r\n", "\r")),  # an LF that is not the separator
    ],
    ids=["after-quote", "inner-quote", "open", "stray-cr", "stray-lf"],
)
def test_a_block_with_a_line_pyarrow_reads_otherwise_is_not_simple(line: str, seps: tuple[str, ...]) -> None:
    for sep in seps:
        block = f"a,b,c{sep}{line}{sep}x,y,z".encode()
        assert survey_block(block, sep) == (3, False), (line, sep)
        # Also when the block is not UTF-8 and is checked line by line.
        assert survey_block(block + sep.encode() + b"\xff,b,c", sep) == (4, False), (line, sep)


@pytest.mark.spark
def test_extra_json_is_what_spark_to_json_writes(spark: Any) -> None:
    from pyspark.sql import functions as F

    values = [None, "", "plain", 'quo"te', "back\\slash", "tab\there", "bell\x07", "nul\x00x", "é ✓", "a/b", "\x1f"]
    other = list(reversed(values))
    df = spark.createDataFrame(list(zip(values, other, strict=True)), '`x y` string, `q"k` string')
    want = [r[0] for r in df.select(F.to_json(F.struct("x y", 'q"k'), {"ignoreNullFields": "false"})).collect()]
    fields = pa.table({"_c0": pa.array(values, pa.string()), "_c1": pa.array(other, pa.string())})
    assert stage_arrow.extra_json(fields, [("x y", 0), ('q"k', 1)]).to_pylist() == want


@pytest.mark.spark
def test_each_file_takes_the_path_its_quoting_allows_and_every_record_is_accounted_for(
    spark: Any, lake: Lake, caplog: pytest.LogCaptureFixture
) -> None:
    # pyarrow: plain and quoted fields, bad records, a CRLF file and a file with a column beyond the contract.
    plain = [bad(n) if n in (5, 900) else good(n) for n in range(1, 1001)]
    plain[99] = '2024-01-01T00:00:00Z,u100,"/a,b",200,100,"say ""hi"""'
    deliver_lines(lake, "plain.csv", plain)
    deliver_lines(lake, "crlf.csv", [good(n) for n in range(1, 401)], sep="\r\n")
    lake.deliver("extra.csv", f"{HEADER},note\n" + "".join(f"{good(n)},n{n}\n" for n in range(1, 301)))
    # Spark's line path: text after a closing quote, which pyarrow reads otherwise.
    odd = [good(n) for n in range(1, 801)]
    odd[599] = '2024-01-01T00:00:00Z,u600,"/p"x,200,600,agent'
    odd[700] = bad(701)
    deliver_lines(lake, "odd.csv", odd)
    # The whole-file reader: a quoted line break.
    broken = [good(n) for n in range(1, 301)]
    broken[199] = '2024-01-01T00:00:00Z,u200,/p,200,200,"two\nlines"'
    broken[249] = bad(250)
    deliver_lines(lake, "broken.csv", broken)

    with caplog.at_level(logging.INFO, logger="glue_ingest"):
        summary = lake.ingest(spark, **SMALL_SPLITS)

    survey = [r.getMessage() for r in caplog.records if "survey of" in r.getMessage()]
    assert len(survey) == 1 and "3 file(s) read with pyarrow, 2 with Spark" in survey[0], survey
    bronze = {
        (f, n): (u, e, a)
        for f, n, u, e, a in lake.duckdb_rows(columns="_source_file, _record_number, user_id, endpoint, user_agent")
    }
    expected = {("plain.csv", n) for n in range(1, 1001) if n not in (5, 900)}
    expected |= {("crlf.csv", n) for n in range(1, 401)} | {("extra.csv", n) for n in range(1, 301)}
    expected |= {("odd.csv", n) for n in range(1, 801) if n != 701} | {
        ("broken.csv", n) for n in range(1, 301) if n != 250
    }
    assert set(bronze) == expected
    assert bronze[("plain.csv", 100)] == ("u100", "/a,b", 'say "hi"')
    assert bronze[("odd.csv", 600)][1] == '"/p"x'  # univocity keeps the quotes of a field with text after them
    assert bronze[("broken.csv", 200)][2] == "two\nlines"
    extras = {(f, n): e for f, n, e in lake.duckdb_rows(columns="_source_file, _record_number, _extra")}
    assert extras[("extra.csv", 7)] == '{"note":"n7"}'
    assert {e for (f, _), e in extras.items() if f != "extra.csv"} == {None}
    assert set(lake.duckdb_rows("quarantine", "_source_file, _record_number, raw_record, reason")) == {
        ("plain.csv", 5, bad(5), WRONG_6),
        ("plain.csv", 900, bad(900), WRONG_6),
        ("odd.csv", 701, bad(701), WRONG_6),
        ("broken.csv", 250, bad(250), WRONG_6),
    }
    assert len(summary.quarantine_files) == 1  # gathered into one sorted file, whichever path found them
    by_file = {f.path: (f.records_read, f.records_written, f.records_quarantined) for f in summary.files}
    assert by_file == {
        "plain.csv": (1000, 998, 2),
        "crlf.csv": (400, 400, 0),
        "extra.csv": (300, 300, 0),
        "odd.csv": (800, 799, 1),
        "broken.csv": (300, 299, 1),
    }
    # pyarrow's files and Spark's have the same columns and types, so readers see one table.
    schemas = {tuple((f.name, str(f.type)) for f in pq.read_schema(p)) for p in lake.parquet_files("bronze")}
    assert len(schemas) == 1, schemas
    assert len(summary.bronze_files) > 3


def is_simple(line: str) -> bool:
    """SIMPLE_QUOTING by hand: each field unquoted without a quote, or quoted whole with doubled quotes inside
    and a comma or the end after it; no CR or LF anywhere."""
    if "\r" in line or "\n" in line:
        return False
    i = 0
    while True:
        if i < len(line) and line[i] == '"':
            i += 1
            while True:
                j = line.find('"', i)
                if j < 0:
                    return False  # never closed
                if line[j + 1 : j + 2] == '"':
                    i = j + 2  # a doubled quote
                    continue
                i = j + 1
                break
            if i == len(line):
                return True
            if line[i] != ",":
                return False  # text after the closing quote
            i += 1
        else:
            j = line.find(",", i)
            field = line[i:] if j < 0 else line[i:j]
            if '"' in field:
                return False
            if j < 0:
                return True
            i = j + 1


@pytest.mark.parametrize("sep_name", sorted(SEPS))
def test_the_survey_counts_and_checks_like_a_hand_written_reader(sep_name: str) -> None:
    sep = SEPS[sep_name]
    rng = random.Random(f"survey-{sep_name}")
    simple_blocks = 0
    for trial in range(400):
        data = random_file(rng, sep, rng.randint(1, 8))
        if rng.random() < 0.1:
            data += b"\xff,x"  # not UTF-8: the line-by-line check
        lines = [line for line in data.split(sep.encode()) if line]
        want = (len(lines), all(is_simple(line.decode("utf-8", errors="replace")) for line in lines))
        assert survey_block(data, sep) == want, (trial, data)
        simple_blocks += want[1]
    assert 20 < simple_blocks < 380  # both answers were exercised


def test_on_s3_the_tasks_read_ranges_write_files_and_count_them_back() -> None:
    import boto3
    from moto import mock_aws

    from glue_ingest import storage as st

    header = "user_id,endpoint,x"
    lines = [f"u{n},/p/{n},{n}" if n != 7 else "short" for n in range(1, 301)]
    data = ("\n".join([header, *lines]) + "\n").encode()
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket="lake")
        client.put_object(Bucket="lake", Key="raw/a.csv", Body=data)
        path = "s3://lake/raw/a.csv"
        assert st.S3Storage(client).open_at(path, 5).read(7) == data[5:12]
        splits = file_splits(path, "a.csv", len(data), "\n", 1000)
        assert len(splits) > 3
        assert b"".join(b.tobytes() for s in splits for b in split_blocks(s, 64)) == data
        counts = [stage_arrow.survey_split(s) for s in splits]
        assert sum(n for n, _, _ in counts) == 301 and all(ok for _, _, ok in counts)
        bases = [sum(n for n, _, _ in counts[:i]) for i in range(len(splits))]
        bronze = stage_arrow.Bronze(("user_id", "endpoint"), "r1", datetime(2024, 1, 2), "s3://lake/b", "s3://lake/q")
        works = [stage_arrow.SplitWork(s, tuple(header.split(",")), b) for s, b in zip(splits, bases, strict=True)]
        result = stage_arrow.write_task(3, works, bronze)
        assert result.counts == {("a.csv", None): 299, ("a.csv", "wrong field count: expected 3 fields"): 1}
        assert result.files == ["s3://lake/b/part-a00003-000.zstd.parquet", "s3://lake/q/part-a00003-000.zstd.parquet"]
        assert stage_arrow._count_rows(result.files[0], ["_source_file"]) == (result.files[0], [(("a.csv",), 299)])
        body = client.get_object(Bucket="lake", Key="b/part-a00003-000.zstd.parquet")["Body"].read()
        table = pq.read_table(pa.BufferReader(body))
        assert table.column("_record_number").to_pylist() == [n for n in range(1, 301) if n != 7]
        assert table.column("_extra").to_pylist()[:2] == ['{"x":"1"}', '{"x":"2"}']
        quarantine = pq.read_table(
            pa.BufferReader(client.get_object(Bucket="lake", Key="q/part-a00003-000.zstd.parquet")["Body"].read())
        )
        assert quarantine.select(["_record_number", "raw_record"]).to_pylist() == [
            {"_record_number": 7, "raw_record": "short"}
        ]

        # JSON lines: the same ranges, tasks and files.
        events = [json_event(n) if n != 5 else b'{"event_id":' for n in range(1, 201)]
        data = b"\n".join(events) + b"\n"
        client.put_object(Bucket="lake", Key="raw/e.jsonl", Body=data)
        splits = file_splits("s3://lake/raw/e.jsonl", "e.jsonl", len(data), "\n", 2000, json=True)
        assert len(splits) > 3
        counts = [stage_arrow.survey_split(s) for s in splits]
        assert sum(n for n, _, _ in counts) == 200 and sum(r for _, r, _ in counts) == 200
        bases = [sum(n for n, _, _ in counts[:i]) for i in range(len(splits))]
        columns = tuple(load_contract("user_events").column_names)
        bronze = stage_arrow.Bronze(columns, "r2", datetime(2024, 1, 2), "s3://lake/jb", "s3://lake/jq")
        works = [stage_arrow.SplitWork(s, columns, b) for s, b in zip(splits, bases, strict=True)]
        result = stage_arrow.write_task(4, works, bronze)
        assert result.counts == {("e.jsonl", None): 199, ("e.jsonl", "invalid JSON: Expecting value"): 1}
        table = pq.read_table(
            pa.BufferReader(client.get_object(Bucket="lake", Key=result.files[0][len("s3://lake/") :])["Body"].read())
        )
        assert table.column("_record_number").to_pylist() == [n for n in range(1, 201) if n != 5]
        assert table.column("event_id").to_pylist()[:5] == ["e1", "e2", "e3", "e4", "e6"]


def json_event(n: int, **values: object) -> bytes:
    fields = {"event_id": f"e{n}", "user_id": f"u{n}", "event_type": "view", "event_timestamp": "2024-01-01T00:00:00Z"}
    fields.update(values)  # type: ignore[arg-type]
    return json.dumps({k: v for k, v in fields.items() if v is not ...}).encode()


@pytest.mark.spark
def test_json_lines_take_the_arrow_path_unless_a_cr_ends_a_line_and_every_record_is_accounted_for(
    spark: Any, lake: Lake, caplog: pytest.LogCaptureFixture
) -> None:
    from glue_ingest.jsonrecords import parse_ndjson_line

    lake.dataset = "user_events"
    columns = tuple(load_contract("user_events").column_names)
    plain = [json_event(n, price=n % 7 or None, session_id=None if n % 3 else f"s{n}") for n in range(1, 601)]
    plain[9] = b"  "
    plain[49] = b'{"event_id":'
    plain[299] = b'{"event_id":"d","event_id":"d2","user_id":"u"}'
    plain[399] = json_event(400, surplus="key", nested={"a": [1, 2.50]})
    plain[449] = json_event(450, category='say "hi" caf\u00e9')
    plain[499] = b'{"event_id":"\xff"}'
    files = {
        "plain.jsonl": b"\n".join(plain) + b"\n",
        "crlf.jsonl": b"\xef\xbb\xbf" + b"\r\n".join(json_event(n, price="12.50") for n in range(1, 201)),
        "cr.jsonl": b"\r".join(json_event(n) for n in range(1, 101)) + b"\r",  # Spark's text reader splits on CR
        "nokey.jsonl": b"\n".join(json_event(n, user_id=...) for n in range(1, 51)) + b"\n",
    }
    for name, data in files.items():
        lake.deliver(name, data)
    zipped = b"\n".join(json_event(n) for n in range(1, 301)) + b"\n"
    lake.deliver("day/events.jsonl.gz", gzip.compress(zipped))
    files["day/events.jsonl.gz"] = zipped

    with caplog.at_level(logging.INFO, logger="glue_ingest"):
        summary = lake.ingest(spark, **SMALL_SPLITS)

    survey = [r.getMessage() for r in caplog.records if "survey of" in r.getMessage()]
    assert len(survey) == 1 and "4 file(s) read with pyarrow, 1 with Spark" in survey[0], survey
    # Expected: every line by the reference parser, numbered by hand.
    want_bronze, want_quarantine = {}, set()
    for name, data in files.items():
        if name == "nokey.jsonl":
            continue
        for number, line in enumerate(re.split(rb"\r\n|\r|\n", data), start=1):
            record = parse_ndjson_line(line, columns, number == 1)
            if record is None:
                continue
            if record.error:
                want_quarantine.add((name, number, line.decode("utf-8", errors="replace"), record.error))
            else:
                want_bronze[(name, number)] = (*record.values, record.extra)  # type: ignore[misc]
    want_quarantine.add(
        ("nokey.jsonl", None, json_event(1, user_id=...).decode(), "missing required column(s): user_id")
    )
    got = {
        (r[-2], r[-1]): r[:-2]
        for r in lake.duckdb_rows(columns=", ".join([*columns, "_extra", "_source_file", "_record_number"]))
    }
    assert got == want_bronze
    assert set(lake.duckdb_rows("quarantine", "_source_file, _record_number, raw_record, reason")) == want_quarantine
    assert len([k for k in want_bronze if k[0] == "plain.jsonl"]) == 596  # the test's own bookkeeping
    by_file = {f.path: (f.records_read, f.records_written, f.records_quarantined) for f in summary.files}
    assert by_file == {
        "plain.jsonl": (599, 596, 3),
        "crlf.jsonl": (200, 200, 0),
        "cr.jsonl": (100, 100, 0),
        "nokey.jsonl": (50, 0, 50),
        "day/events.jsonl.gz": (300, 300, 0),
    }
    schemas = {tuple((f.name, str(f.type)) for f in pq.read_schema(p)) for p in lake.parquet_files("bronze")}
    assert len(schemas) == 1, schemas
