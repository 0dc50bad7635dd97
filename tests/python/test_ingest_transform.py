"""The DataFrame steps on small hand-built inputs, compared with hand-written expectations."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pyspark.testing import assertDataFrameEqual

from glue_ingest import transform as T
from glue_ingest.contracts import load_contract

CONTRACT = load_contract("web_logs")
CONFIG = T.RunConfig(CONTRACT, "20240102T030405123456Z", datetime(2024, 1, 2, 3, 4, 5, 123456, tzinfo=UTC))
READ_SCHEMA_TAIL = "_corrupt_record string, _source_uri string, _read_order bigint"


def read_frame(spark: Any, width: int, rows: list[tuple]) -> Any:
    """A DataFrame shaped like a reader's output for a header of `width` columns."""
    columns = ", ".join(f"_c{i} string" for i in range(width))
    return spark.createDataFrame(rows, f"{columns}, {READ_SCHEMA_TAIL}")


def test_header_problem() -> None:
    ok = ["user_id", "event_time", "endpoint", "status_code", "response_ms"]
    assert T.header_problem(ok, CONTRACT) is None
    assert T.header_problem([*ok, "user_agent", "x"], CONTRACT) is None
    assert T.header_problem(["event_time", "endpoint", "x"], CONTRACT) == (
        "missing required column(s): user_id, status_code, response_ms"
    )
    assert T.header_problem([*ok, "user_id", "x", "x"], CONTRACT) == (
        "duplicate column name(s) in header: user_id, x"
    )


@pytest.mark.spark
def test_conform_maps_by_name_and_classifies(spark: Any) -> None:
    header = ["response_ms", "user_id", "extra b", "event_time", "status_code", "endpoint", "extra_a"]
    df = read_frame(
        spark,
        7,
        [
            ("5", "u1", "B", "t1", "200", "/a", None, None, "f", 10),
            ("6", "u2", None, None, None, None, None, "6,u2", "f", 11),
            ("7", "u\ufffd", "x,y", "t3", "200", '/q"', "A", None, "f", 12),
        ],
    )
    out = T.conform(df, header, CONFIG)
    expected = spark.createDataFrame(
        [
            ("t1", "u1", "/a", "200", "5", None, '{"extra b":"B","extra_a":null}', None, None, None, "f", 10),
            (None, "u2", None, None, "6", None, '{"extra b":null,"extra_a":null}',
             "wrong field count: expected 7 fields", None, "6,u2", "f", 11),
            ("t3", "u\ufffd", '/q"', "200", "7", None, '{"extra b":"x,y","extra_a":"A"}',
             "invalid UTF-8", None, '7,u\ufffd,"x,y",t3,200,"/q""",A', "f", 12),
        ],
        "event_time string, user_id string, endpoint string, status_code string, response_ms string, "
        "user_agent string, _extra string, _reason string, _file_reason string, _raw_record string, "
        "_source_uri string, _read_order bigint",
    )
    assertDataFrameEqual(out, expected)


@pytest.mark.spark
def test_conform_whole_file_reason(spark: Any) -> None:
    df = read_frame(spark, 2, [("t", "u", None, "f", 1)])
    out = T.conform(df, ["event_time", "user_id"], CONFIG, "missing required column(s): endpoint")
    columns = ["event_time", "user_id", "endpoint", "_extra", "_reason", "_file_reason", "_raw_record"]
    row = out.select(*columns).first()
    assert tuple(row) == ("t", "u", None, None, "missing required column(s): endpoint",
                          "missing required column(s): endpoint", None)


@pytest.mark.spark
def test_number_records_counts_within_each_file_in_read_order(spark: Any) -> None:
    df = spark.createDataFrame(
        [("a", 7), ("b", 3), ("a", 2), ("b", 100), ("a", 50)], "_source_uri string, _read_order bigint"
    )
    expected = spark.createDataFrame(
        [("a", 1), ("a", 2), ("a", 3), ("b", 1), ("b", 2)], "_source_uri string, _record_number bigint"
    )
    numbered = T.number_records(df)
    assertDataFrameEqual(numbered, expected)
    assert dict(numbered.dtypes)["_record_number"] == "bigint"


@pytest.mark.spark
def test_to_bronze_and_to_quarantine(spark: Any) -> None:
    records = spark.createDataFrame(
        [
            ("t1", "u1", "/a", "200", "5", None, None, None, None, None, "uri1", 1),
            ("t2", None, None, None, None, None, None, "invalid UTF-8", None, "raw,2", "uri1", 2),
            ("t3", "u3", "/c", "500", "9", "UA", '{"x":"1"}', None, None, None, "uri2", 1),
            (None, None, None, None, None, None, None, "missing required column(s): endpoint",
             "missing required column(s): endpoint", None, "uri3", 1),
        ],
        "event_time string, user_id string, endpoint string, status_code string, response_ms string, "
        "user_agent string, _extra string, _reason string, _file_reason string, _raw_record string, "
        "_source_uri string, _record_number bigint",
    )
    records = T.with_source_files(records, {"uri1": "a.csv", "uri2": "sub/b.csv", "uri3": "bad.csv"})
    at = datetime(2024, 1, 2, 3, 4, 5, 123456)

    expected_bronze = spark.createDataFrame(
        [
            ("t1", "u1", "/a", "200", "5", None, None, "a.csv", 1, CONFIG.run_id, at),
            ("t3", "u3", "/c", "500", "9", "UA", '{"x":"1"}', "sub/b.csv", 1, CONFIG.run_id, at),
        ],
        "event_time string, user_id string, endpoint string, status_code string, response_ms string, "
        "user_agent string, _extra string, _source_file string, _record_number bigint, "
        "_ingest_run_id string, _ingested_at timestamp_ntz",
    )
    assertDataFrameEqual(T.to_bronze(records, CONFIG), expected_bronze)

    expected_quarantine = spark.createDataFrame(
        [("a.csv", 2, "raw,2", "invalid UTF-8", CONFIG.run_id, at)], T.QUARANTINE_SCHEMA
    )
    assertDataFrameEqual(T.to_quarantine(records, CONFIG), expected_quarantine)

    reason = "missing required column(s): endpoint"
    whole = T.file_quarantine(spark, [("bad.csv", "event_time,user_id", reason)], CONFIG)
    assertDataFrameEqual(
        whole,
        spark.createDataFrame(
            [("bad.csv", None, "event_time,user_id", reason, CONFIG.run_id, at)],
            T.QUARANTINE_SCHEMA,
        ),
    )
