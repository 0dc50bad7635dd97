"""The web_logs oracle against hand-written files whose results were worked out by hand.

Every expected value below was computed by hand from the rules (see each comment), never by
running the oracle, so that these tests pin down the rules rather than the implementation.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from sample_data import generate_web_logs
from tests.python.oracle import web_logs as oracle

UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko)"


def _utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def _write(path: Path, text: str, *, bom: bool = False, crlf: bool = False) -> None:
    """Write exactly the given text: LF or CRLF line endings, with or without a UTF-8 BOM."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if crlf:
        text = text.replace("\n", "\r\n")
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-03T10:15:00Z", _utc(2026, 11, 3, 10, 15)),
        ("2026-11-03 10:15:00", _utc(2026, 11, 3, 10, 15)),  # space, no zone: UTC
        ("  2026-11-03T10:15:00.123Z ", _utc(2026, 11, 3, 10, 15, 0, 123000)),  # trimmed; milliseconds
        ("2026-11-03T10:15:00.5Z", _utc(2026, 11, 3, 10, 15, 0, 500000)),
        ("2026-11-03T10:15:00.123456789Z", _utc(2026, 11, 3, 10, 15, 0, 123456)),  # truncated, not rounded
        ("2026-11-03T10:15:00.999999999Z", _utc(2026, 11, 3, 10, 15, 0, 999999)),
        ("2026-11-03T01:00:00+05:30", _utc(2026, 11, 2, 19, 30)),  # back across midnight
        ("2026-11-02T22:30:00-04:00", _utc(2026, 11, 3, 2, 30)),  # forward across midnight
        ("2026-12-31T23:59:59.000001-01:00", _utc(2027, 1, 1, 0, 59, 59, 1)),  # into the next year
        ("2024-02-29T00:00:00Z", _utc(2024, 2, 29)),  # a real leap day
        ("2026-11-03T10:15:00+00:00", _utc(2026, 11, 3, 10, 15)),
    ],
)
def test_valid_event_times(text: str, expected: datetime) -> None:
    assert oracle.parse_event_time(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        None, "", "   ", "not-a-time",
        "2026-13-01T00:00:00Z",  # month 13
        "2026-11-03T25:00:00Z",  # hour 25
        "2026-02-30T12:00:00Z",  # no such day
        "2026-11-31T12:00:00Z",
        "2026-11-03T10:15:60Z",  # no leap seconds
        "2026-11-03T10:15Z",  # seconds are required
        "2026-11-03",
        "2026-11-03T10:15:00.Z",  # a dot without digits
        "2026-11-03t10:15:00Z",  # lower-case t
        "2026-11-03T10:15:00z",
        "2026-11-03T10:15:00+0530",  # offset without a colon
        "2026-11-03T10:15:00+05",
        "2026-11-03T10:15:00 Z",
        "2026-11-03T10:15:00+24:00",  # offset hours out of range
        "2026-11-03T10:15:00+05:60",
        "2026-11-3T10:15:00Z",  # two-digit fields
        "2026-11-03T10:15:00Z trailing",
    ],
)
def test_invalid_event_times(text: str | None) -> None:
    assert oracle.parse_event_time(text) is None


GOOD = {"event_time": "2026-11-03T10:15:00Z", "user_id": "u1", "endpoint": "/api/cart",
        "status_code": "200", "response_ms": "12", "user_agent": UA}


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"status_code": "200.0"}, "invalid_status_code"),  # never rounded
        ({"status_code": "1.5"}, "invalid_status_code"),
        ({"status_code": "abc"}, "invalid_status_code"),
        ({"status_code": None}, "invalid_status_code"),
        ({"status_code": "\t200"}, "invalid_status_code"),  # trimming removes spaces only
        ({"status_code": "700"}, "status_code_out_of_range"),
        ({"status_code": "99"}, "status_code_out_of_range"),
        ({"status_code": "-200"}, "status_code_out_of_range"),
        ({"response_ms": "-5"}, "negative_response_ms"),
        ({"response_ms": "12.0"}, "invalid_response_ms"),
        ({"response_ms": ""}, "invalid_response_ms"),
        ({"user_id": None}, "missing_user_id"),
        ({"user_id": "   "}, "missing_user_id"),
        ({"endpoint": None}, "missing_endpoint"),
        ({"endpoint": "  "}, "missing_endpoint"),
        ({"endpoint": "api/cart"}, "endpoint_not_absolute"),
        ({"event_time": "not-a-time"}, "invalid_event_time"),
        # The first failing rule wins, in column order.
        ({"event_time": "x", "user_id": None, "status_code": "abc"}, "invalid_event_time"),
        ({"user_id": "", "endpoint": "x", "status_code": "abc"}, "missing_user_id"),
        ({"endpoint": "x", "status_code": "abc", "response_ms": "-1"}, "endpoint_not_absolute"),
        ({"status_code": "600", "response_ms": "-1"}, "status_code_out_of_range"),
    ],
)
def test_rejection_reasons(changes: dict[str, str | None], reason: str) -> None:
    row, got = oracle.validate({**GOOD, **changes})
    assert (row, got) == (None, reason)


def test_accepted_values_are_trimmed_and_typed() -> None:
    row, reason = oracle.validate({"event_time": " 2026-11-03T10:15:00Z", "user_id": " u1 ",
                                   "endpoint": "  /api/cart ", "status_code": " 200", "response_ms": "+0 ",
                                   "user_agent": "   "})
    assert reason is None
    assert row == {"event_at": _utc(2026, 11, 3, 10, 15), "event_date": date(2026, 11, 3), "user_id": "u1",
                   "endpoint": "/api/cart", "status_code": 200, "response_ms": 0, "user_agent": None}
    assert oracle.validate({**GOOD, "status_code": "100"})[1] is None
    assert oracle.validate({**GOOD, "status_code": "599"})[1] is None
    assert oracle.validate({**GOOD, "user_agent": None})[0]["user_agent"] is None


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([5], 5.0),
        ([1, 2], 1.95),  # h = 0.95: 1 + 0.95 * (2 - 1)
        ([10, 20, 30, 40, 50], 48.0),  # h = 3.8: 40 + 0.8 * 10
        ([0, 3, 7, 12, 100], 82.4),  # h = 3.8: 12 + 0.8 * 88
        (list(range(1, 21)), 19.05),  # h = 18.05: 19 + 0.05 * 1
        (list(range(0, 101)), 95.0),  # h = 95 exactly
    ],
)
def test_p95_is_linear_interpolation(values: list[int], expected: float) -> None:
    assert oracle.quantile_cont(values, 0.95) == pytest.approx(expected, rel=1e-12)


def test_daily_endpoint_metrics_by_hand() -> None:
    def row(day: int, endpoint: str, status: int, ms: int) -> dict[str, object]:
        return {"event_date": date(2026, 11, day), "endpoint": endpoint, "status_code": status,
                "response_ms": ms}

    rows = [row(3, "/b", 200, 100), row(3, "/b", 503, 3), row(3, "/b", 404, 0), row(3, "/b", 399, 7),
            row(3, "/b", 200, 12), row(3, "/a", 500, 9), row(2, "/b", 201, 4)]
    metrics = oracle.daily_endpoint_metrics(rows)
    assert [(m["event_date"], m["endpoint"]) for m in metrics] == [
        (date(2026, 11, 2), "/b"), (date(2026, 11, 3), "/a"), (date(2026, 11, 3), "/b")]
    b = metrics[2]
    # /b on the 3rd: latencies 0, 3, 7, 12, 100; errors 503 and 404 (399 is not an error).
    assert (b["total_requests"], b["error_requests"], b["max_response_ms"]) == (5, 2, 100)
    assert b["error_rate"] == pytest.approx(0.4)
    assert b["avg_response_ms"] == pytest.approx(24.4)
    assert b["p95_response_ms"] == pytest.approx(82.4)
    a = metrics[1]
    assert (a["total_requests"], a["error_requests"], a["error_rate"], a["avg_response_ms"],
            a["max_response_ms"], a["p95_response_ms"]) == (1, 1, 1.0, 9.0, 9, 9.0)


def test_daily_web_traffic_by_hand() -> None:
    def row(day: int, user: str, status: int) -> dict[str, object]:
        return {"event_date": date(2026, 11, day), "user_id": user, "status_code": status}

    rows = [row(3, "u1", 200), row(3, "u1", 399), row(3, "u2", 400), row(3, "u3", 499), row(3, "u2", 500),
            row(2, "u9", 503)]
    traffic = oracle.daily_web_traffic(rows)
    assert [t["event_date"] for t in traffic] == [date(2026, 11, 2), date(2026, 11, 3)]
    # The 3rd: 5 requests by 3 users; 200 and 399 are ok, 400 and 499 the client's, 500 the server's.
    assert {k: v for k, v in traffic[1].items() if k != "event_date"} == {
        "total_requests": 5, "distinct_users": 3, "ok_requests": 2, "client_error_requests": 2,
        "server_error_requests": 1, "server_error_rate": 0.2}
    assert (traffic[0]["server_error_requests"], traffic[0]["server_error_rate"]) == (1, 1.0)


def test_a_small_raw_folder_end_to_end(tmp_path: Path) -> None:
    raw = tmp_path / "raw" / "web_logs"
    _write(raw / "2026" / "11" / "one.csv", (
        "event_time,user_id,endpoint,status_code,response_ms,user_agent\n"
        f'2026-11-03T01:00:00+05:30,u1,/api/cart,200,10,"{UA}"\n'   # A: 2026-11-02 19:30 UTC
        f'2026-11-02T19:30:00Z,u1, /api/cart ,200,10,"{UA}"\n'      # A again: other zone, padded
        "2026-11-02T23:30:00-04:00,u2,/api/cart, 200,30,\n"         # B: 2026-11-03 03:30 UTC; ' 200' ok
        '2026-11-03 03:30:00,u2,/api/cart,200,30,""\n'              # B again: quoted empty user agent
        "2026-11-03T05:00:00Z,u3,/api/cart,200.0,40,\n"             # rejected: invalid_status_code
        "2026-11-03T05:00:00Z,u3,/api/cart,500,40\n"                # quarantined: 5 fields
        "2026-11-03T06:00:00Z,u4,/api/cart,503,50,curl/8.4.0\n"     # C
        "2026-11-03T06:00:00Z,u4,/api/cart,503,50,curl/8.4.0\n"     # C again: exact duplicate
        "2026-11-03T07:00:00Z,u5,/,200,-5,\n"                       # rejected: negative_response_ms
        "2026-11-03T07:00:00Z,,/,200,5,\n"                          # rejected: missing_user_id
        "2026-13-01T00:00:00Z,u6,/,200,5,\n"                        # rejected: invalid_event_time
        "2026-11-03T08:00:00Z,u6,/,200,5,a,b\n"                     # quarantined: 7 fields
    ))
    # Shuffled columns, no user_agent column, an unknown extra column, CRLF and a BOM.
    _write(raw / "2026" / "11" / "nested" / "two.csv", (
        "user_id,event_time,status_code,endpoint,response_ms,extra_col\n"
        "u2,2026-11-03T03:30:00.000Z,200,/api/cart,30,x\n"          # B again: missing user agent
        "u7,2026-11-03T08:00:00Z,404,/,100,y\n"                     # D
        "u8,2026-11-03T09:00:00Z,200,/,200,z\n"                     # E
    ), bom=True, crlf=True)
    # No response_ms column: the whole file is quarantined, its malformed record included.
    _write(raw / "three.csv", (
        "event_time,user_id,endpoint,status_code,user_agent\n"
        "2026-11-03T08:00:00Z,u9,/,200,\n"
        "2026-11-03T08:00:00Z,u9,/,200,,too,long\n"
    ))
    _write(raw / "notes.txt", "not a csv file, not read\n")

    result = oracle.compute(raw)

    assert result.raw_records == 12 + 3 + 2
    assert result.quarantined == 2 + 2
    assert result.quarantined_files == ["three.csv"]
    assert result.rejected == {"invalid_event_time": 1, "invalid_status_code": 1, "missing_user_id": 1,
                               "negative_response_ms": 1}
    # Valid records: A, A, B, B, C, C in one.csv and B, D, E in two.csv: 9, of which 5 distinct.
    assert result.duplicates_removed == 9 - 5
    assert result.silver_rows == [
        {"event_at": _utc(2026, 11, 2, 19, 30), "event_date": date(2026, 11, 2), "user_id": "u1",
         "endpoint": "/api/cart", "status_code": 200, "response_ms": 10, "user_agent": UA},
        {"event_at": _utc(2026, 11, 3, 3, 30), "event_date": date(2026, 11, 3), "user_id": "u2",
         "endpoint": "/api/cart", "status_code": 200, "response_ms": 30, "user_agent": None},
        {"event_at": _utc(2026, 11, 3, 6), "event_date": date(2026, 11, 3), "user_id": "u4",
         "endpoint": "/api/cart", "status_code": 503, "response_ms": 50, "user_agent": "curl/8.4.0"},
        {"event_at": _utc(2026, 11, 3, 8), "event_date": date(2026, 11, 3), "user_id": "u7",
         "endpoint": "/", "status_code": 404, "response_ms": 100, "user_agent": None},
        {"event_at": _utc(2026, 11, 3, 9), "event_date": date(2026, 11, 3), "user_id": "u8",
         "endpoint": "/", "status_code": 200, "response_ms": 200, "user_agent": None},
    ]
    assert result.daily_endpoint_metrics == [
        {"event_date": date(2026, 11, 2), "endpoint": "/api/cart", "total_requests": 1, "error_requests": 0,
         "error_rate": 0.0, "avg_response_ms": 10.0, "max_response_ms": 10, "p95_response_ms": 10.0},
        # 100 and 200: p95 = 100 + 0.95 * 100
        {"event_date": date(2026, 11, 3), "endpoint": "/", "total_requests": 2, "error_requests": 1,
         "error_rate": 0.5, "avg_response_ms": 150.0, "max_response_ms": 200, "p95_response_ms": 195.0},
        # 30 and 50: p95 = 30 + 0.95 * 20
        {"event_date": date(2026, 11, 3), "endpoint": "/api/cart", "total_requests": 2, "error_requests": 1,
         "error_rate": 0.5, "avg_response_ms": 40.0, "max_response_ms": 50, "p95_response_ms": 49.0},
    ]


def test_header_only_blank_lines_and_empty_files(tmp_path: Path) -> None:
    _write(tmp_path / "header_only.csv", "event_time,user_id,endpoint,status_code,response_ms\n")
    _write(tmp_path / "empty.csv", "")
    _write(tmp_path / "blank_lines.csv", (
        "event_time,user_id,endpoint,status_code,response_ms,user_agent\n"
        "\n"
        "2026-11-03T08:00:00Z,u1,/,200,5,\n"
        "\n"
    ))
    result = oracle.compute(tmp_path)
    counts = (result.raw_records, result.quarantined, result.rejected, result.duplicates_removed)
    assert counts == (1, 0, {}, 0)
    assert len(result.silver_rows) == 1


def test_a_quoted_field_may_hold_commas_quotes_and_newlines(tmp_path: Path) -> None:
    _write(tmp_path / "a.csv", (
        "event_time,user_id,endpoint,status_code,response_ms,user_agent\n"
        '2026-11-03T08:00:00Z,u1,/,200,5,"say ""hi"", then\nleave"\n'
    ))
    result = oracle.compute(tmp_path)
    assert result.raw_records == 1
    assert result.silver_rows[0]["user_agent"] == 'say "hi", then\nleave'


def test_agrees_with_what_the_generator_planted(tmp_path: Path) -> None:
    """The generator states the counts its files must give, from what it planted; the oracle reads them."""
    summary = generate_web_logs(tmp_path / "raw", 8, 1_500, 99, date(2026, 11, 1))
    result = oracle.compute(tmp_path / "raw" / "web_logs")
    assert {
        "raw_records": result.raw_records,
        "quarantined": result.quarantined,
        "rejected": result.rejected,
        "duplicates_removed": result.duplicates_removed,
        "silver_rows": len(result.silver_rows),
    } == summary["expected"]
    planted = summary["planted"]
    assert result.duplicates_removed >= planted["exact_duplicates"] + planted["semantic_duplicates"]
    assert sum(m["total_requests"] for m in result.daily_endpoint_metrics) == len(result.silver_rows)
    # Every request falls on a generated day or up to 3 days before one (late rows), even when its
    # text shows another date in another zone.
    dates = {r["event_date"] for r in result.silver_rows}
    generated_days = {date(2026, 11, d) for d in range(1, 9)}
    assert generated_days <= dates <= generated_days | {date(2026, 10, d) for d in (29, 30, 31)}
