"""Every class of bad input, CSV and JSON, in one table: where each record of each file went.

All cases are delivered into one lake, each under its own folder of the dataset's raw folder, and
ingested together by two runs of `python -m glue_ingest --dataset all` (the run-2 files of a case
arrive between them). For each case the test checks, against expectations written by hand from
the bytes below: the bronze rows, the quarantine rows (source file, record number, raw text,
reason), and the manifest's counts per file, which must reconcile: read = written + quarantined.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import json
import logging
import os
import sys
from collections import Counter
from dataclasses import dataclass, field
from operator import itemgetter
from pathlib import Path
from typing import Any

import duckdb
import pytest

from glue_ingest.cli import EXIT_FILES_QUARANTINED_WHOLE, EXIT_OK, main
from testkit import Lake

pytestmark = pytest.mark.spark

# Spark's Python workers (the JSON parser) must run this interpreter: see test_ingest_json.py.
os.environ.setdefault("PYSPARK_PYTHON", sys.executable)

H = "event_time,user_id,endpoint,status_code,response_ms,user_agent"
WRONG_6 = "wrong field count: expected 6 fields"
UTF8 = "invalid UTF-8"
Row = dict[str, str]


def web(t: str, u: str, e: str, s: str, r: str, ua: str | None = None, extra: str | None = None) -> Row:
    """A web_logs bronze row: its non-null columns."""
    values = {"event_time": t, "user_id": u, "endpoint": e, "status_code": s, "response_ms": r,
              "user_agent": ua, "_extra": extra}
    return {k: v for k, v in values.items() if v is not None}


def ev(i: str, user: str | None = None, ts: str | None = None, **more: str) -> Row:
    """A user_events bronze row: its non-null columns."""
    values = {"event_id": f"e{i}", "user_id": user or f"u{i}", "event_type": "view", "event_timestamp": ts or f"t{i}"}
    return {**values, **more}


def ev_json(i: str, **more: Any) -> str:
    """The JSON text of a user_events record matching ev(i)."""
    return json.dumps({"event_id": f"e{i}", "user_id": f"u{i}", "event_type": "view", "event_timestamp": f"t{i}",
                       **more}, separators=(",", ":"), ensure_ascii=False)


def gz(text: str | bytes) -> bytes:
    return gzip.compress(text.encode() if isinstance(text, str) else text)


@dataclass(frozen=True)
class Case:
    id: str
    dataset: str
    files: dict[str, str | bytes]  # delivered before run 1, relative to the case's folder
    bronze: list[tuple[str, int, Row]]  # (file, record number, non-null columns)
    quarantine: list[tuple[str, int | None, str, str]] = field(default_factory=list)  # file, number, raw, reason
    counts: dict[str, tuple[int, int, int]] = field(default_factory=dict)  # file -> read, written, quarantined
    whole: dict[str, str] = field(default_factory=dict)  # files quarantined whole -> reason
    run2_files: dict[str, str | bytes] = field(default_factory=dict)  # delivered between the runs


CUT = (
    '[\n  {"event_id": "e1", "user_id": "u1", "event_type": "view", "event_timestamp": "t1"},\n'
    '  {"event_id": "e2", "user_id"'
)
PRETTY = """[
  {
    "event_id": "e1",
    "user_id": "u1",
    "event_type": "view",
    "event_timestamp": "t1",
    "price": 0.10
  },
  {
    "event_id": "e2",
    "user_id": "u2",
    "event_type": "view",
    "event_timestamp": "t2",
    "session_id": "s2"
  }
]
"""
REDELIVERED = H + "\nt1,u1,/a,200,1,ua\n"

CASES = [
    # --- CSV (web_logs) ---
    Case(
        "csv_wrong_field_count",
        "web_logs",
        {"a.csv": H + "\nt1,u1,/a,200,1,ua\nt2,u2,/b\nt3,u3,/c,200,3,ua,x\n"},
        bronze=[("a.csv", 1, web("t1", "u1", "/a", "200", "1", "ua"))],
        quarantine=[("a.csv", 2, "t2,u2,/b", WRONG_6), ("a.csv", 3, "t3,u3,/c,200,3,ua,x", WRONG_6)],
        counts={"a.csv": (3, 1, 2)},
    ),
    Case(
        "csv_bom_crlf",
        "web_logs",
        {"a.csv": "\ufeff" + H + "\r\nt1,u1,/a,200,1,ua\r\nt2,u2,/b,200,2,\r\n"},
        bronze=[("a.csv", 1, web("t1", "u1", "/a", "200", "1", "ua")), ("a.csv", 2, web("t2", "u2", "/b", "200", "2"))],
        counts={"a.csv": (2, 2, 0)},
    ),
    Case(
        "csv_quoting",
        "web_logs",
        {"a.csv": H + '\n"t1","u,1","/a\nb",200,1,"say ""hi"""\nt2,u2,/c,200,2,"""quoted"" start"\n'},
        bronze=[
            ("a.csv", 1, web("t1", "u,1", "/a\nb", "200", "1", 'say "hi"')),
            ("a.csv", 2, web("t2", "u2", "/c", "200", "2", '"quoted" start')),
        ],
        counts={"a.csv": (2, 2, 0)},
    ),
    Case(
        "csv_unicode",
        "web_logs",
        {"a.csv": H + "\nt1,Zoë,/\U0001f600,200,1,日本語のブラウザ\n"},
        # Written as escapes here, so that the expectation does not share the delivered bytes.
        bronze=[("a.csv", 1, web("t1", "Zo\u00eb", "/\U0001f600", "200", "1",
                                 "\u65e5\u672c\u8a9e\u306e\u30d6\u30e9\u30a6\u30b6"))],
        counts={"a.csv": (1, 1, 0)},
    ),
    Case(
        "csv_empty",
        "web_logs",
        {"empty.csv": b"", "header_only.csv": H + "\n"},
        bronze=[],
        counts={"empty.csv": (0, 0, 0), "header_only.csv": (0, 0, 0)},
    ),
    Case(
        "csv_missing_required",
        "web_logs",
        {"bad.csv": "event_time,user_id,user_agent\nt,u,a\nt,u,b\n"},
        bronze=[],
        quarantine=[("bad.csv", None, "event_time,user_id,user_agent",
                     "missing required column(s): endpoint, status_code, response_ms")],
        counts={"bad.csv": (2, 0, 2)},
        whole={"bad.csv": "missing required column(s): endpoint, status_code, response_ms"},
    ),
    Case(
        "csv_missing_optional",
        "web_logs",
        {"a.csv": "event_time,user_id,endpoint,status_code,response_ms\nt1,u1,/a,200,1\n"},
        bronze=[("a.csv", 1, web("t1", "u1", "/a", "200", "1"))],
        counts={"a.csv": (1, 1, 0)},
    ),
    Case(
        "csv_extra_column",
        "web_logs",
        {"a.csv": H + ",region\nt1,u1,/a,200,1,ua,eu\n"},
        bronze=[("a.csv", 1, web("t1", "u1", "/a", "200", "1", "ua", extra='{"region":"eu"}'))],
        counts={"a.csv": (1, 1, 0)},
    ),
    Case(
        "csv_invalid_utf8",
        "web_logs",
        {"a.csv": H.encode() + b"\nt1,u1,/a,200,1,ua\nt2,u\xff2,/b,200,2,ua\n"},
        bronze=[("a.csv", 1, web("t1", "u1", "/a", "200", "1", "ua"))],
        quarantine=[("a.csv", 2, "t2,u\ufffd2,/b,200,2,ua", UTF8)],
        counts={"a.csv": (2, 1, 1)},
    ),
    Case(
        "csv_gzip",
        "web_logs",
        {"a.csv.gz": gz(H + "\nt1,u1,/a,200,1,ua\nt2,u2\n")},
        bronze=[("a.csv.gz", 1, web("t1", "u1", "/a", "200", "1", "ua"))],
        quarantine=[("a.csv.gz", 2, "t2,u2", WRONG_6)],
        counts={"a.csv.gz": (2, 1, 1)},
    ),
    Case(
        "csv_nested_folders",
        "web_logs",
        {"2024/01/02/a.csv": H + "\nt1,u1,/a,200,1,ua\n", "2024/_SUCCESS": b"", "2024/01/.a.csv.swp": b"junk",
         "_tmp/b.csv": H + "\nt2,u2,/b,200,2,ua\n"},
        bronze=[("2024/01/02/a.csv", 1, web("t1", "u1", "/a", "200", "1", "ua"))],
        counts={"2024/01/02/a.csv": (1, 1, 0)},
    ),
    Case(
        # The same bytes under a new name are a new delivery: ingested again (duplicates are silver's).
        "csv_redelivered_under_new_name",
        "web_logs",
        {"orig.csv": REDELIVERED},
        run2_files={"copy_of_orig.csv": REDELIVERED},
        bronze=[("orig.csv", 1, web("t1", "u1", "/a", "200", "1", "ua")),
                ("copy_of_orig.csv", 1, web("t1", "u1", "/a", "200", "1", "ua"))],
        counts={"orig.csv": (1, 1, 0), "copy_of_orig.csv": (1, 1, 0)},
    ),
    Case(
        # Run 2 finds it again at the same path and skips it: its records are in bronze once.
        "csv_same_path_rerun",
        "web_logs",
        {"a.csv": H + "\nt1,u1,/a,200,1,ua\n"},
        bronze=[("a.csv", 1, web("t1", "u1", "/a", "200", "1", "ua"))],
        counts={"a.csv": (1, 1, 0)},
    ),
    # --- JSON (user_events, customers) ---
    Case(
        # Numbers as written, a null as null, nested as JSON text; BOM, CRLF, blank lines: record
        # numbers are line numbers.
        "json_lines",
        "user_events",
        {"events.jsonl": "\ufeff" + ev_json("1").rstrip("}") + ',"price":12.50}\n'
         + "\n"
         + ev_json("2", session_id=None, product_id=123).rstrip("}") + ',"category":{"a": [1, 2.0]}}\r\n'
         + "   \r\n"
         + ev_json("3").rstrip("}") + ',"price":1e2}'},
        bronze=[
            ("events.jsonl", 1, ev("1", price="12.50")),
            ("events.jsonl", 3, ev("2", product_id="123", category='{"a":[1,2.0]}')),
            ("events.jsonl", 5, ev("3", price="1e2")),
        ],
        counts={"events.jsonl": (3, 3, 0)},
    ),
    Case(
        "json_array_pretty_printed",
        "user_events",
        {"batch.json": PRETTY},
        bronze=[("batch.json", 1, ev("1", price="0.10")), ("batch.json", 2, ev("2", session_id="s2"))],
        counts={"batch.json": (2, 2, 0)},
    ),
    Case(
        "json_broken_lines",
        "user_events",
        {"broken.ndjson": ev_json("1") + '\n{"event_id":"e2","user_id":}\n[1,2]\n'
         + ev_json("4") + " trailing\n" + ev_json("5") + "\n"},
        bronze=[("broken.ndjson", 1, ev("1")), ("broken.ndjson", 5, ev("5"))],
        quarantine=[
            ("broken.ndjson", 2, '{"event_id":"e2","user_id":}', "invalid JSON: Expecting value"),
            ("broken.ndjson", 3, "[1,2]", "invalid JSON: expected an object, got an array"),
            ("broken.ndjson", 4, ev_json("4") + " trailing", "invalid JSON: Extra data"),
        ],
        counts={"broken.ndjson": (5, 2, 3)},
    ),
    Case(
        "json_array_element_not_an_object",
        "user_events",
        {"mixed.json": f'[{ev_json("1")}, "oops", null, {ev_json("4")}]'},
        bronze=[("mixed.json", 1, ev("1")), ("mixed.json", 4, ev("4"))],
        quarantine=[
            ("mixed.json", 2, '"oops"', "invalid JSON: expected an object, got a string"),
            ("mixed.json", 3, "null", "invalid JSON: expected an object, got null"),
        ],
        counts={"mixed.json": (4, 2, 2)},
    ),
    Case(
        # Where the elements begin can no longer be told: the file is one record, quarantined whole.
        "json_truncated_array",
        "user_events",
        {"cut.json": CUT},
        bronze=[],
        quarantine=[("cut.json", None, CUT, "invalid JSON: Expecting ':' delimiter at line 3 column 31")],
        counts={"cut.json": (1, 0, 1)},
        whole={"cut.json": "invalid JSON: Expecting ':' delimiter at line 3 column 31"},
    ),
    Case(
        "json_invalid_utf8",
        "user_events",
        {"bad.jsonl": ev_json("1").replace('"u1"', '"u1\xff"').encode("latin-1") + b"\n"
         + ev_json("2").encode() + b"\n",
         "bad.json": b"[" + ev_json("1").encode() + b",\n "
         + ev_json("2").replace('"u2"', '"\xc3"').encode("latin-1") + b"]"},
        bronze=[("bad.jsonl", 2, ev("2")), ("bad.json", 1, ev("1"))],
        quarantine=[
            ("bad.jsonl", 1, ev_json("1").replace('"u1"', '"u1\ufffd"'), UTF8),
            ("bad.json", 2, ev_json("2").replace('"u2"', '"\ufffd"'), UTF8),
        ],
        counts={"bad.jsonl": (2, 1, 1), "bad.json": (2, 1, 1)},
    ),
    Case(
        "json_empty",
        "user_events",
        {"empty.json": b"", "empty_array.json": "[ ]\n", "blank.jsonl": "\n  \r\n", "bom_only.ndjson": b"\xef\xbb\xbf"},
        bronze=[],
        counts={"empty.json": (0, 0, 0), "empty_array.json": (0, 0, 0), "blank.jsonl": (0, 0, 0),
                "bom_only.ndjson": (0, 0, 0)},
    ),
    Case(
        # No record has customer_id: the file is quarantined whole, shown by its first object record.
        "json_missing_required_everywhere",
        "customers",
        {"no_id.jsonl": 'not json\n{"customer_name":"A","updated_at":"t1"}\n{"customer_name":"B"}\n'},
        bronze=[],
        quarantine=[("no_id.jsonl", None, '{"customer_name":"A","updated_at":"t1"}',
                     "missing required column(s): customer_id")],
        counts={"no_id.jsonl": (3, 0, 3)},
        whole={"no_id.jsonl": "missing required column(s): customer_id"},
    ),
    Case(
        # Missing from some records only: loaded with a null, for silver to reject with a reason.
        "json_missing_required_in_some_records",
        "user_events",
        {"partial.jsonl": ev_json("1") + '\n{"event_id":"e2","event_type":"view","event_timestamp":"t2"}\n'},
        bronze=[("partial.jsonl", 1, ev("1")),
                ("partial.jsonl", 2, {"event_id": "e2", "event_type": "view", "event_timestamp": "t2"})],
        counts={"partial.jsonl": (2, 2, 0)},
    ),
    Case(
        "json_missing_optional",
        "customers",
        {"c.json": '[{"customer_id":"c1","updated_at":"t1"}]'},
        bronze=[("c.json", 1, {"customer_id": "c1", "updated_at": "t1"})],
        counts={"c.json": (1, 1, 0)},
    ),
    Case(
        "json_extra_keys",
        "customers",
        {"c.ndjson": '{"customer_id":"c1","loyalty":{"points":10.0},"note":null,"updated_at":"t1","vip":false,'
                     '"tier_id":7}\n'},
        bronze=[("c.ndjson", 1, {
            "customer_id": "c1",
            "updated_at": "t1",
            "_extra": '{"loyalty":"{\\"points\\":10.0}","note":null,"vip":"false","tier_id":"7"}',
        })],
        counts={"c.ndjson": (1, 1, 0)},
    ),
    Case(
        "json_gzip",
        "user_events",
        {"a.jsonl.gz": gz(ev_json("1") + "\n{bad\n"), "b.json.gz": gz(f"[{ev_json('2')}]")},
        bronze=[("a.jsonl.gz", 1, ev("1")), ("b.json.gz", 1, ev("2"))],
        quarantine=[("a.jsonl.gz", 2, "{bad", "invalid JSON: Expecting property name enclosed in double quotes")],
        counts={"a.jsonl.gz": (2, 1, 1), "b.json.gz": (1, 1, 0)},
    ),
    Case(
        "json_nested_folders",
        "user_events",
        {"2024/01/02/events.ndjson": ev_json("1") + "\n", "2024/01/_SUCCESS": b"", ".hidden/x.json": "[1]"},
        bronze=[("2024/01/02/events.ndjson", 1, ev("1"))],
        counts={"2024/01/02/events.ndjson": (1, 1, 0)},
    ),
    Case(
        "json_unicode",
        "customers",
        {"u.jsonl": '{"customer_id":"c1","customer_name":"Zoë 😀 日本","updated_at":"t1"}\n'
                    '{"customer_id":"c2","customer_name":"Zo\\u00eb \\ud83d\\ude00","updated_at":"t2"}\n'},
        bronze=[
            ("u.jsonl", 1,
             {"customer_id": "c1", "customer_name": "Zo\u00eb \U0001f600 \u65e5\u672c", "updated_at": "t1"}),
            ("u.jsonl", 2, {"customer_id": "c2", "customer_name": "Zo\u00eb \U0001f600", "updated_at": "t2"}),
        ],
        counts={"u.jsonl": (2, 2, 0)},
    ),
]
DATASETS = ("customers", "user_events", "web_logs")


@dataclass
class Outcome:
    root: Path
    exit_codes: list[int]
    printed: list[list[str]]  # per run, the CLI's summary lines
    warnings: list[str]

    def lake(self, dataset: str) -> Lake:
        return Lake(self.root, dataset=dataset)

    def manifests(self, dataset: str) -> list[dict[str, Any]]:
        folder = self.lake(dataset).bronze / "_manifest"
        return [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))]

    def rows(self, dataset: str, layer: str) -> list[dict[str, Any]]:
        lake = self.lake(dataset)
        if not lake.parquet_files(layer):
            return []
        folder = lake.bronze if layer == "bronze" else lake.quarantine
        relation = duckdb.sql(f"select * from read_parquet('{folder}/ingest_date=*/*.parquet')")
        return [dict(zip(relation.columns, r, strict=True)) for r in relation.fetchall()]


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def _run(root: Path) -> tuple[int, list[str]]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["--lake_root", str(root), "--dataset", "all", "--ingest_date", "2024-01-02"])
    return code, out.getvalue().splitlines()


@pytest.fixture(scope="module")
def outcome(spark: Any, tmp_path_factory: pytest.TempPathFactory) -> Outcome:
    root = tmp_path_factory.mktemp("bad_input") / "lake"
    for case in CASES:
        for name, content in case.files.items():
            Lake(root, dataset=case.dataset).deliver(f"{case.id}/{name}", content)
    handler = _Collect()
    logging.getLogger("glue_ingest").addHandler(handler)
    try:
        first = _run(root)
        for case in CASES:
            for name, content in case.run2_files.items():
                Lake(root, dataset=case.dataset).deliver(f"{case.id}/{name}", content)
        second = _run(root)
    finally:
        logging.getLogger("glue_ingest").removeHandler(handler)
    return Outcome(root, [first[0], second[0]], [first[1], second[1]], handler.messages)


def _in_case(case: Case, path: str | None) -> str | None:
    prefix = f"{case.id}/"
    return path[len(prefix) :] if path and path.startswith(prefix) else None


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_every_record_lands_where_expected(outcome: Outcome, case: Case) -> None:
    bronze = []
    for row in outcome.rows(case.dataset, "bronze"):
        name = _in_case(case, row["_source_file"])
        if name is not None:
            values = {k: v for k, v in row.items() if v is not None and (not k.startswith("_") or k == "_extra")}
            values.pop("ingest_date", None)
            bronze.append((name, row["_record_number"], values))
    key = itemgetter(0, 1)
    assert sorted(bronze, key=key) == sorted(case.bronze, key=key)

    quarantine = [
        (name, row["_record_number"], row["raw_record"], row["reason"])
        for row in outcome.rows(case.dataset, "quarantine")
        if (name := _in_case(case, row["_source_file"])) is not None
    ]
    assert sorted(quarantine, key=key) == sorted(case.quarantine, key=key)

    # Each raw file is in exactly one manifest (a rerun skips what is already in one).
    entries = [f for m in outcome.manifests(case.dataset) for f in m["files"] if _in_case(case, f["path"])]
    assert Counter(_in_case(case, f["path"]) for f in entries) == Counter(list(case.counts))
    counts = {_in_case(case, f["path"]): (f["records_read"], f["records_written"], f["records_quarantined"])
              for f in entries}
    assert counts == case.counts

    # The counts reconcile with each other and with the rows.
    for f in entries:
        name = _in_case(case, f["path"])
        read, written, quarantined, by_reason = (
            f["records_read"], f["records_written"], f["records_quarantined"], f["quarantined_by_reason"]
        )
        assert read == written + quarantined == written + sum(by_reason.values()), name
        assert written == sum(1 for b in bronze if b[0] == name), name
        rows = [q for q in quarantine if q[0] == name]
        if name in case.whole:
            assert [(q[1], q[3]) for q in rows] == [(None, case.whole[name])]
            assert by_reason == {case.whole[name]: read}
        else:
            assert len(rows) == quarantined, name
            assert Counter(q[3] for q in rows) == Counter(by_reason), name


def test_exit_status_and_summary_lines(outcome: Outcome) -> None:
    # Run 1 quarantined files whole (and committed everything else); run 2 only the new delivery.
    assert outcome.exit_codes == [EXIT_FILES_QUARANTINED_WHOLE, EXIT_OK]
    first, second = outcome.printed
    assert [line.split(":")[0] for line in first] == ["customers", "sales_transactions", "user_events", "web_logs"]
    assert first[1] == "sales_transactions: no raw files"
    by_dataset = dict(zip(["customers", "user_events", "web_logs"], [first[0], first[2], first[3]], strict=True))
    whole = {d: {f"{c.id}/{p}": r for c in CASES if c.dataset == d for p, r in c.whole.items()} for d in DATASETS}
    for dataset, line in by_dataset.items():
        counts = [n for c in CASES if c.dataset == dataset for p, n in c.counts.items() if p not in c.run2_files]
        assert f"{len(counts)} file(s) ingested, 0 file(s) skipped" in line, line
        assert (
            f"records read {sum(n[0] for n in counts)}, written {sum(n[1] for n in counts)}, "
            f"quarantined {sum(n[2] for n in counts)}"
        ) in line, line
        listed = ", ".join(f"{p} ({r})" for p, r in sorted(whole[dataset].items()))
        assert line.endswith(f"; quarantined whole: {listed}"), line
    # customers: 4 files, user_events: 15 (hidden ones are not listed at all), web_logs: 14 + 1 new.
    assert second[0] == "customers: nothing new, 4 file(s) skipped as already ingested"
    assert second[2] == "user_events: nothing new, 15 file(s) skipped as already ingested"
    assert "web_logs: run " in second[3] and "1 file(s) ingested, 14 file(s) skipped as already ingested" in second[3]


def test_whole_file_quarantine_names_the_file_and_the_column(outcome: Outcome) -> None:
    assert "customers: json_missing_required_everywhere/no_id.jsonl quarantined whole: " \
           "missing required column(s): customer_id" in " | ".join(outcome.warnings)
    assert any("csv_missing_required/bad.csv" in w and "endpoint, status_code, response_ms" in w
               for w in outcome.warnings)


def test_rerun_skips_by_path_and_a_new_name_is_a_new_delivery(outcome: Outcome) -> None:
    web_logs = outcome.lake("web_logs")
    first, second = outcome.manifests("web_logs")
    assert [f["path"] for f in second["files"]] == ["csv_redelivered_under_new_name/copy_of_orig.csv"]
    report = json.loads((web_logs.bronze / "_runs" / f"{second['run_id']}.json").read_text())
    assert sorted(report["skipped"]) == sorted(f["path"] for f in first["files"])
    rows = {
        r["_source_file"]: (r["_ingest_run_id"], tuple(r[c] for c in ("event_time", "user_id", "endpoint",
                                                                      "status_code", "response_ms", "user_agent")))
        for r in outcome.rows("web_logs", "bronze")
        if r["_source_file"].startswith("csv_redelivered_under_new_name/")
    }
    original = rows["csv_redelivered_under_new_name/orig.csv"]
    copy = rows["csv_redelivered_under_new_name/copy_of_orig.csv"]
    assert (original[0], copy[0]) == (first["run_id"], second["run_id"])
    assert original[1] == copy[1]  # same content: silver can tell the duplicate


def test_exit_status_3_is_documented_in_the_cli_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    assert "3  every dataset committed, but some file was quarantined whole" in capsys.readouterr().out
