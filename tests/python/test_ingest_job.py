"""The ingest job end to end on a local lake: raw CSV files in, bronze and quarantine Parquet out.

Every expectation is written out by hand from the raw bytes below, never taken from the job.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest
from pyspark.testing import assertDataFrameEqual

from glue_ingest.commit import InjectedFault
from glue_ingest.manifest import RunOrderError
from testkit import Lake

pytestmark = pytest.mark.spark

HEADER = "event_time,user_id,endpoint,status_code,response_ms,user_agent"
WRONG_6 = "wrong field count: expected 6 fields"
MISSING = "missing required column(s): endpoint, status_code, response_ms"
RICH_START = datetime(2024, 1, 2, 3, 4, 5, 123456, tzinfo=UTC)
RICH_RUN = "20240102T030405123456Z"
RICH_AT = datetime(2024, 1, 2, 3, 4, 5, 123456)

# The raw files of the "rich" run, byte for byte.
RICH_FILES: dict[str, bytes] = {
    # Header in another order; RFC 4180 quoting: comma, line break and doubled quotes in a value;
    # spaces kept as delivered; an empty field is null.
    "2024/01/shuffled.csv": (
        b"user_agent,response_ms,endpoint,user_id,status_code,event_time\n"
        b'"Mozilla/5.0 (X11, Linux)",12,/a,u1,200,2024-01-01T00:00:00Z\n'
        b'"multi\nline ""quoted""",7,"/b,c",u2,404, 2024-01-01 00:00:01 \n'
        b",0,/c,u3,500,2024-01-01T00:00:02Z\n"
    ),
    # UTF-8 BOM and CRLF line ends, with a CRLF inside a quoted value.
    "crlf_bom.csv": (
        b"\xef\xbb\xbf" + HEADER.encode() + b"\r\n"
        b'2024-01-02T00:00:00Z,u4,/d,200,1,"a\r\nb"\r\n'
        b"2024-01-02T00:00:01Z,u5,/\xc3\xa9,201,2,ua\r\n"
    ),
    # No user_agent column (optional), two columns the contract does not know.
    "no_agent.csv": (
        b'event_time,user_id,endpoint,status_code,response_ms,region,"weird, name"\n'
        b"t6,u6,/f,200,3,eu,x\n"
        b"t7,u7,/g,200,4,,\n"
    ),
    # Malformed records among good ones; a blank line is not a record.
    "dirty.csv": (
        HEADER.encode() + b"\n"
        b"t8,u8,/h,200,5,ua\n"
        b"t9,u9,/i,200\n"
        b"t10,u10,/j,200,6,ua,extra\n"
        b"t11,u\xff11,/k,200,7,ua\n"
        b'"t12",u12,/l,200,8,"ua, quoted"\n'
        b"\n"
        b"t13,u13,/m,200,9,ua\n"
        b'"t14,x",u14\n'
    ),
    # Required columns missing: the whole file is quarantined.
    "missing_required.csv": b"event_time,user_id,user_agent\nt,u,a\nt,u,b\nt,u,c\n",
    "empty.csv": b"",
    "header_only.csv": HEADER.encode() + b"\n",
    "sub dir/name [1] 100%.csv": HEADER.encode() + b"\nt15,u15,/n,200,10,\n",
}

SHUFFLED = "2024/01/shuffled.csv"
EXPECTED_BRONZE = [
    # contract columns..., _extra, _source_file, _record_number
    ("2024-01-01T00:00:00Z", "u1", "/a", "200", "12", "Mozilla/5.0 (X11, Linux)", None, SHUFFLED, 1),
    (" 2024-01-01 00:00:01 ", "u2", "/b,c", "404", "7", 'multi\nline "quoted"', None, SHUFFLED, 2),
    ("2024-01-01T00:00:02Z", "u3", "/c", "500", "0", None, None, SHUFFLED, 3),
    ("2024-01-02T00:00:00Z", "u4", "/d", "200", "1", "a\r\nb", None, "crlf_bom.csv", 1),
    ("2024-01-02T00:00:01Z", "u5", "/\u00e9", "201", "2", "ua", None, "crlf_bom.csv", 2),
    ("t6", "u6", "/f", "200", "3", None, '{"region":"eu","weird, name":"x"}', "no_agent.csv", 1),
    ("t7", "u7", "/g", "200", "4", None, '{"region":null,"weird, name":null}', "no_agent.csv", 2),
    ("t8", "u8", "/h", "200", "5", "ua", None, "dirty.csv", 1),
    ("t12", "u12", "/l", "200", "8", "ua, quoted", None, "dirty.csv", 5),
    ("t13", "u13", "/m", "200", "9", "ua", None, "dirty.csv", 6),
    ("t15", "u15", "/n", "200", "10", None, None, "sub dir/name [1] 100%.csv", 1),
]
BRONZE_COLUMNS = (
    "event_time string, user_id string, endpoint string, status_code string, response_ms string, "
    "user_agent string, _extra string, _source_file string, _record_number bigint"
)
EXPECTED_QUARANTINE = [
    ("dirty.csv", 2, "t9,u9,/i,200", WRONG_6),
    ("dirty.csv", 3, "t10,u10,/j,200,6,ua,extra", WRONG_6),
    ("dirty.csv", 4, "t11,u\ufffd11,/k,200,7,ua", "invalid UTF-8"),
    ("dirty.csv", 7, '"t14,x",u14', WRONG_6),
    ("missing_required.csv", None, "event_time,user_id,user_agent", MISSING),
]
# path: (records read, written, quarantined, by reason)
EXPECTED_FILE_COUNTS = {
    "2024/01/shuffled.csv": (3, 3, 0, {}),
    "crlf_bom.csv": (2, 2, 0, {}),
    "dirty.csv": (7, 3, 4, {WRONG_6: 3, "invalid UTF-8": 1}),
    "empty.csv": (0, 0, 0, {}),
    "header_only.csv": (0, 0, 0, {}),
    "missing_required.csv": (3, 0, 3, {MISSING: 3}),
    "no_agent.csv": (2, 2, 0, {}),
    "sub dir/name [1] 100%.csv": (1, 1, 0, {}),
}


@pytest.fixture(scope="module")
def rich(spark: Any, tmp_path_factory: pytest.TempPathFactory) -> tuple[Lake, Any]:
    lake = Lake(tmp_path_factory.mktemp("rich") / "lake")
    for name, content in RICH_FILES.items():
        lake.deliver(name, content)
    summary = lake.ingest(spark, ingest_date=date(2024, 1, 3), started_at=RICH_START)
    return lake, summary


def read_bronze(spark: Any, lake: Lake) -> Any:
    return spark.read.parquet(str(lake.bronze))


def test_bronze_records(spark: Any, rich: tuple[Lake, Any]) -> None:
    lake, _ = rich
    bronze = read_bronze(spark, lake)
    assertDataFrameEqual(
        bronze.select(*[c.split()[0] for c in BRONZE_COLUMNS.split(", ")]),
        spark.createDataFrame(EXPECTED_BRONZE, BRONZE_COLUMNS),
    )
    run_values = {tuple(r) for r in bronze.select("_ingest_run_id", "_ingested_at", "ingest_date").collect()}
    assert run_values == {(RICH_RUN, RICH_AT, date(2024, 1, 3))}


def test_bronze_stores_no_digest_and_keeps_the_text_as_delivered(spark: Any, rich: tuple[Lake, Any]) -> None:
    """Issue 12: the stored SHA-256 (68 incompressible bytes a row) is gone; nothing read it. A record is named by
    (_source_file, _record_number) and its content is its contract columns, as delivered."""
    lake, _ = rich
    bronze = read_bronze(spark, lake)
    assert not [c for c in bronze.columns if "hash" in c]
    row = bronze.where("_source_file = 'crlf_bom.csv' and _record_number = 2").first()
    assert (row["event_time"], row["user_id"], row["endpoint"], row["status_code"], row["response_ms"],
            row["user_agent"]) == ("2024-01-02T00:00:01Z", "u5", "/\u00e9", "201", "2", "ua")


def test_quarantine_records(spark: Any, rich: tuple[Lake, Any]) -> None:
    lake, _ = rich
    quarantine = spark.read.parquet(str(lake.quarantine))
    assertDataFrameEqual(
        quarantine.select("_source_file", "_record_number", "raw_record", "reason"),
        spark.createDataFrame(
            EXPECTED_QUARANTINE,
            "_source_file string, _record_number bigint, raw_record string, reason string",
        ),
    )
    run_values = {tuple(r) for r in quarantine.select("_ingest_run_id", "_ingested_at").collect()}
    assert run_values == {(RICH_RUN, RICH_AT)}


def test_manifest_counts_reconcile(rich: tuple[Lake, Any]) -> None:
    lake, summary = rich
    manifest = json.loads((lake.bronze / "_manifest" / f"{RICH_RUN}.json").read_text())
    assert manifest["run_id"] == RICH_RUN
    assert manifest["dataset"] == "web_logs"
    assert manifest["ingest_date"] == "2024-01-03"
    counts = {
        f["path"]: tuple(f[k] for k in ("records_read", "records_written", "records_quarantined",
                                         "quarantined_by_reason"))
        for f in manifest["files"]
    }
    assert counts == EXPECTED_FILE_COUNTS
    sizes = {f["path"]: f["size"] for f in manifest["files"]}
    assert sizes == {name: len(content) for name, content in RICH_FILES.items()}
    for read, written, quarantined, by_reason in counts.values():
        assert read == written + quarantined == written + sum(by_reason.values())
    assert summary.rejected_files == {"missing_required.csv": MISSING}


def test_run_summary_file(rich: tuple[Lake, Any]) -> None:
    lake, _ = rich
    report = json.loads((lake.bronze / "_runs" / f"{RICH_RUN}.json").read_text())
    assert report["status"] == "committed"
    assert report["totals"] == {
        "files_ingested": 8,
        "files_skipped": 0,
        "files_changed_after_ingest": 0,
        "files_rejected": 1,
        "records_read": 18,
        "records_written": 11,
        "records_quarantined": 7,
    }
    assert report["duration_seconds"] > 0


def test_layout_readable_by_duckdb(rich: tuple[Lake, Any]) -> None:
    lake, _ = rich
    names = [p.relative_to(lake.bronze).as_posix() for p in lake.parquet_files("bronze")]
    pattern = rf"ingest_date=2024-01-03/{RICH_RUN}_\d{{5}}\.zstd\.parquet"
    assert names and all(re.fullmatch(pattern, n) for n in names)
    assert [p.relative_to(lake.quarantine).as_posix() for p in lake.parquet_files("quarantine")] == [
        f"ingest_date=2024-01-03/{RICH_RUN}_00000.zstd.parquet"
    ]
    # no staging left, nothing but partitions and the job's own folders
    assert sorted(p.name for p in lake.bronze.iterdir()) == [
        "_manifest", "_runs", "_staging", "ingest_date=2024-01-03"
    ]
    assert list((lake.bronze / "_staging").iterdir()) == []

    def describe(folder: Path) -> list[tuple[str, str]]:
        files = f"{folder}/ingest_date=*/*.parquet"
        sql = f"describe select * from read_parquet('{files}', hive_partitioning=true)"
        return [(r[0], r[1]) for r in duckdb.sql(sql).fetchall()]

    assert describe(lake.bronze) == [
        ("event_time", "VARCHAR"),
        ("user_id", "VARCHAR"),
        ("endpoint", "VARCHAR"),
        ("status_code", "VARCHAR"),
        ("response_ms", "VARCHAR"),
        ("user_agent", "VARCHAR"),
        ("_extra", "VARCHAR"),
        ("_source_file", "VARCHAR"),
        ("_record_number", "BIGINT"),
        ("_ingest_run_id", "VARCHAR"),
        ("_ingested_at", "TIMESTAMP"),
        ("ingest_date", "DATE"),
    ]
    assert describe(lake.quarantine) == [
        ("_source_file", "VARCHAR"),
        ("_record_number", "BIGINT"),
        ("raw_record", "VARCHAR"),
        ("reason", "VARCHAR"),
        ("_ingest_run_id", "VARCHAR"),
        ("_ingested_at", "TIMESTAMP"),
        ("ingest_date", "DATE"),
    ]
    # The partition column lives in the folder name only.
    file_columns = duckdb.sql(f"select name from parquet_schema('{lake.parquet_files()[0]}')").fetchall()
    assert "ingest_date" not in {r[0] for r in file_columns}
    assert lake.duckdb_rows(columns="count(*), min(_ingested_at)") == [(11, RICH_AT)]


def test_whole_file_quarantine_is_logged_as_a_warning(
    spark: Any, lake: Lake, caplog: pytest.LogCaptureFixture
) -> None:
    lake.deliver("good.csv", HEADER + "\nt,u,/x,200,1,ua\n")
    lake.deliver("bad.csv", "event_time,user_id,user_agent\nt,u,a\n")
    with caplog.at_level("WARNING"):
        summary = lake.ingest(spark)
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert any("bad.csv" in w and MISSING in w for w in warnings), warnings
    assert summary.status == "committed"
    assert lake.duckdb_rows(columns="_source_file, user_id") == [("good.csv", "u")]


def test_rerun_new_file_and_redelivery(spark: Any, lake: Lake) -> None:
    a = HEADER + "\nt1,u1,/a,200,1,ua\nt2,u2,/b,200,2,ua\n"
    lake.deliver("a.csv", a)
    first = lake.ingest(spark)
    assert [f.path for f in first.files] == ["a.csv"]

    # Same files again: nothing to do.
    second = lake.ingest(spark)
    assert second.status == "nothing new"
    assert second.skipped == ["a.csv"]
    assert len(list((lake.bronze / "_manifest").iterdir())) == 1
    assert lake.duckdb_rows(columns="count(*)") == [(2,)]

    # A new file: only it is read.
    lake.deliver("b.csv", HEADER + "\nt3,u3,/c,200,3,ua\n")
    third = lake.ingest(spark)
    assert [f.path for f in third.files] == ["b.csv"]
    assert third.skipped == ["a.csv"]

    # The same bytes as a.csv under a new name are a new delivery (duplicates are silver's business).
    lake.deliver("2024/a_again.csv", a)
    fourth = lake.ingest(spark)
    assert [f.path for f in fourth.files] == ["2024/a_again.csv"]

    rows = lake.duckdb_rows(columns="_source_file, _record_number, user_id, _ingest_run_id, "
                                    "concat_ws('|', event_time, user_id, endpoint, status_code, response_ms)")
    by_key = {(r[0], r[1]): r for r in rows}
    assert sorted(by_key) == [
        ("2024/a_again.csv", 1), ("2024/a_again.csv", 2), ("a.csv", 1), ("a.csv", 2), ("b.csv", 1)
    ]
    assert len(rows) == 5
    assert by_key[("a.csv", 1)][3] == first.run_id
    assert by_key[("b.csv", 1)][3] == third.run_id
    assert by_key[("2024/a_again.csv", 2)][3] == fourth.run_id
    assert by_key[("2024/a_again.csv", 2)][4] == by_key[("a.csv", 2)][4]  # same content


def test_empty_files_only(spark: Any, lake: Lake) -> None:
    lake.deliver("empty.csv", b"")
    lake.deliver("header_only.csv", "\ufeff" + HEADER + "\r\n")
    summary = lake.ingest(spark)
    assert summary.status == "committed"
    assert [(f.path, f.records_read) for f in summary.files] == [("empty.csv", 0), ("header_only.csv", 0)]
    assert lake.parquet_files("bronze") == [] and lake.parquet_files("quarantine") == []
    assert lake.ingest(spark).skipped == ["empty.csv", "header_only.csv"]


def test_no_raw_folder_is_not_an_error(spark: Any, lake: Lake) -> None:
    assert lake.ingest(spark).status == "no raw files"
    assert not lake.bronze.exists()


@pytest.mark.parametrize("packed", [False, True], ids=["file-per-task", "files-packed-in-one-task"])
def test_record_numbers_are_exact_across_many_files(spark: Any, lake: Lake, packed: bool) -> None:
    from glue_ingest import storage as st
    from glue_ingest.read import CsvReader, list_raw_files
    from glue_ingest.stage import session_conf

    expected = set()
    for name, rows in [("a.csv", 700), ("b/b.csv", 1), ("c.csv", 450), ("d.csv", 999)]:
        lines = [HEADER] + [f"t,{name}-{i},/x,200,{i},ua" for i in range(1, rows + 1)]
        lake.deliver(name, "\n".join(lines) + "\n")
        expected |= {(name, i, f"{name}-{i}") for i in range(1, rows + 1)}
    # Spark packs small files into one task unless opening a file is deemed expensive.
    settings = {
        "spark.sql.files.openCostInBytes": "1" if packed else "134217728",
        "spark.sql.files.minPartitionNum": "1",
    }
    with session_conf(spark, settings):
        reader, storage = CsvReader(), st.LocalStorage()
        (group,) = reader.plan(storage, list_raw_files(storage, str(lake.raw)), "web_logs").groups
        assert reader.read(spark, storage, group).rdd.getNumPartitions() == (1 if packed else 4)
        summary = lake.ingest(spark, max_records_per_file=500)
    rows = lake.duckdb_rows(columns="_source_file, _record_number, user_id")
    assert len(rows) == len(expected)
    assert set(rows) == expected
    # Each task writes its own files, at most 500 records each: one task, 2150 records: 5 files; a task
    # per file of 700, 1, 450 and 999 records: 2 + 1 + 1 + 2.
    files = 5 if packed else 6
    assert summary.bronze_files == [
        f"ingest_date=2024-01-02/{summary.run_id}_{i:05d}.zstd.parquet" for i in range(files)
    ]


def _deliver_crash_scenario(lake: Lake) -> tuple[Counter, Counter]:
    expected_bronze: Counter = Counter()
    expected_quarantine: Counter = Counter()
    for name in ("a.csv", "b.csv"):
        good = [f"t,u{i},/x,200,{i},ua" for i in range(1, 13)]
        lake.deliver(name, "\n".join([HEADER, *good[:6], "bad,record", *good[6:]]) + "\n")
        expected_bronze.update((name, n) for n in [*range(1, 7), *range(8, 14)])
        expected_quarantine[(name, 7)] += 1
    return expected_bronze, expected_quarantine


@pytest.mark.parametrize("fail_after", [0, 1, 3, 6])
def test_crash_during_commit_then_rerun_is_exactly_once(spark: Any, lake: Lake, fail_after: int) -> None:
    expected_bronze, expected_quarantine = _deliver_crash_scenario(lake)
    # 24 good records at most 5 a file: 5 bronze files, then 1 quarantine file; 6 moves in all.
    with pytest.raises(InjectedFault):
        lake.ingest(spark, max_records_per_file=5, fail_after_moves=fail_after)
    published = lake.parquet_files("bronze") + lake.parquet_files("quarantine")
    assert len(published) == fail_after
    assert not (lake.bronze / "_manifest").exists()

    summary = lake.ingest(spark, max_records_per_file=5)
    assert [f.path for f in summary.files] == ["a.csv", "b.csv"]
    assert Counter(lake.duckdb_rows("bronze", "_source_file, _record_number")) == expected_bronze
    assert Counter(lake.duckdb_rows("quarantine", "_source_file, _record_number")) == expected_quarantine
    assert {r[0] for r in lake.duckdb_rows("bronze", "_ingest_run_id")} == {summary.run_id}
    assert [p.name for p in (lake.bronze / "_manifest").iterdir()] == [f"{summary.run_id}.json"]
    assert list((lake.bronze / "_staging").iterdir()) == []
    assert list((lake.quarantine / "_staging").iterdir()) == []


def test_crash_in_a_later_run_leaves_earlier_runs_alone(spark: Any, lake: Lake) -> None:
    lake.deliver("a.csv", HEADER + "\nt,u1,/x,200,1,ua\nt,u2,/x,200,2,ua\n")
    first = lake.ingest(spark)
    lake.deliver("b.csv", HEADER + "\nt,u3,/x,200,3,ua\nbad\nt,u4,/x,200,4,ua\n")
    with pytest.raises(InjectedFault):
        lake.ingest(spark, max_records_per_file=1, fail_after_moves=1)
    third = lake.ingest(spark)
    assert third.skipped == ["a.csv"]
    assert sorted(lake.duckdb_rows("bronze", "_source_file, _record_number, _ingest_run_id")) == [
        ("a.csv", 1, first.run_id),
        ("a.csv", 2, first.run_id),
        ("b.csv", 1, third.run_id),
        ("b.csv", 3, third.run_id),
    ]
    assert lake.duckdb_rows("quarantine", "_source_file, _record_number") == [("b.csv", 2)]


def test_run_order_is_enforced(spark: Any, lake: Lake) -> None:
    lake.deliver("a.csv", HEADER + "\nt,u1,/x,200,1,ua\n")
    first = lake.ingest(spark, ingest_date=date(2024, 1, 5))
    lake.deliver("b.csv", HEADER + "\nt,u2,/x,200,2,ua\n")

    with pytest.raises(RunOrderError, match=r"--ingest_date 2024-01-04 is before 2024-01-05"):
        lake.ingest(spark, ingest_date=date(2024, 1, 4))
    with pytest.raises(RunOrderError, match=rf"is not after {first.run_id}.*clock went backwards"):
        lake.ingest(spark, ingest_date=date(2024, 1, 5), started_at=datetime(2024, 1, 1, tzinfo=UTC))
    assert not (lake.bronze / "_staging").exists() or list((lake.bronze / "_staging").iterdir()) == []
    assert lake.duckdb_rows(columns="_source_file") == [("a.csv",)]

    later = lake.ingest(spark, ingest_date=date(2024, 1, 5))  # the same date again is fine
    assert [f.path for f in later.files] == ["b.csv"]


def test_gzip_file(spark: Any, lake: Lake) -> None:
    import gzip

    lake.deliver("a.csv.gz", gzip.compress((HEADER + "\nt,u1,/x,200,1,ua\nt,u2,/x\n").encode()))
    summary = lake.ingest(spark)
    assert [(f.records_read, f.records_written, f.records_quarantined) for f in summary.files] == [(2, 1, 1)]
    assert lake.duckdb_rows(columns="_source_file, _record_number, user_id") == [("a.csv.gz", 1, "u1")]


def test_old_mac_line_ends(spark: Any, lake: Lake) -> None:
    lake.deliver("cr.csv", HEADER + '\rt,u1,/x,200,1,"a\rb"\rt,u2,/x\r')
    summary = lake.ingest(spark)
    assert [(f.records_read, f.records_written, f.records_quarantined) for f in summary.files] == [(2, 1, 1)]
    assert lake.duckdb_rows(columns="_record_number, user_id, user_agent") == [(1, "u1", "a\rb")]
    assert lake.duckdb_rows("quarantine", "_record_number, raw_record") == [(2, "t,u2,/x")]


def test_a_file_changed_in_place_after_ingest_is_reported_not_silently_skipped(
    spark: Any, lake: Lake, caplog: pytest.LogCaptureFixture
) -> None:
    original = HEADER + "\nt1,u1,/a,200,1,ua\n"
    lake.deliver("a.csv", original)
    lake.ingest(spark)
    lake.deliver("a.csv", original + "t2,u2,/b,200,2,ua\n")  # a corrected file under its old name
    with caplog.at_level("WARNING", logger="glue_ingest"):
        summary = lake.ingest(spark)
    assert summary.status == "nothing new" and summary.skipped == ["a.csv"]
    size_then, size_now = len(original), len(original) + len("t2,u2,/b,200,2,ua\n")
    assert summary.changed_after_ingest == {"a.csv": f"{size_then} bytes when ingested, {size_now} now"}
    assert "1 of them changed since" in summary.line()
    assert any("a.csv was ingested before" in r.getMessage() and "NOT ingested" in r.getMessage()
               for r in caplog.records)
    assert lake.duckdb_rows(columns="count(*)") == [(1,)]  # the documented rule: a committed path is not re-read
