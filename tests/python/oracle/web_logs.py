"""Reference implementation of the web_logs rules: raw CSV -> quarantine -> silver -> gold.

The end-to-end tests compare the real pipeline (PySpark ingest, then dbt on DuckDB) with this.
It deliberately shares nothing with the pipeline: it reads the raw files with `csv` and applies
the rules as written, in plain Python, so that a misunderstanding in the pipeline cannot be
copied into its own yardstick. Keep it simple and obviously right rather than fast.

The rules:

1. Ingest. Each `*.csv` under the raw folder (recursively) is read by header name (utf-8 with an
   optional BOM, RFC 4180 quoting). A file whose header lacks a required column (event_time,
   user_id, endpoint, status_code, response_ms), or names a contract column twice, is quarantined
   whole; `user_agent` may be missing (null). A record whose field count differs from the header's
   is quarantined. Empty fields are null; unknown extra columns are ignored. Blank lines are not
   records (the csv module returns them as empty lists).
2. Silver. Values are trimmed of spaces (SQL `trim`: the space character only, not tabs). A record
   is rejected for the first rule it breaks, in column order:
   event_time must fully match `YYYY-MM-DD[T ]HH:MM:SS(.fraction)?(Z|+HH:MM|-HH:MM)?` and be a real
   date and time (offset hours 00-23, minutes 00-59); no zone means UTC; fraction digits beyond the
   sixth are truncated -> `invalid_event_time`. user_id non-empty -> `missing_user_id`. endpoint
   non-empty -> `missing_endpoint`, starting with `/` -> `endpoint_not_absolute`. status_code an
   integer literal `[+-]?[0-9]+` -> `invalid_status_code`, in [100, 599] -> `status_code_out_of_range`.
   response_ms an integer literal -> `invalid_response_ms`, >= 0 -> `negative_response_ms`.
   user_agent is optional, empty after trimming -> null. Valid records equal in all six business
   fields (the timestamp as a UTC instant, status and latency as integers, empty user_agent equal
   to a missing one) are one request: one is kept.
3. Gold `daily_endpoint_metrics`: per (event_date, endpoint) of the silver requests, the count,
   the count with status >= 400, their ratio, mean/max latency and the 95th percentile by linear
   interpolation (DuckDB `quantile_cont`, numpy's default).
4. Gold `daily_web_traffic`: per event_date of the silver requests, the count, the distinct users, the requests
   with status < 400, 400-499 and >= 500, and the share of the last.
"""

from __future__ import annotations

import csv
import math
import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

COLUMNS: tuple[str, ...] = ("event_time", "user_id", "endpoint", "status_code", "response_ms", "user_agent")
REQUIRED_COLUMNS: tuple[str, ...] = COLUMNS[:5]

# Rejection reasons, in the order the rules are checked.
INVALID_EVENT_TIME = "invalid_event_time"
MISSING_USER_ID = "missing_user_id"
MISSING_ENDPOINT = "missing_endpoint"
ENDPOINT_NOT_ABSOLUTE = "endpoint_not_absolute"
INVALID_STATUS_CODE = "invalid_status_code"
STATUS_CODE_OUT_OF_RANGE = "status_code_out_of_range"
INVALID_RESPONSE_MS = "invalid_response_ms"
NEGATIVE_RESPONSE_MS = "negative_response_ms"

# ASCII digits spelled out: `\d` would also accept other scripts' digits.
_TIMESTAMP = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[T ]([0-9]{2}):([0-9]{2}):([0-9]{2})"
    r"(?:\.([0-9]+))?"
    r"(Z|([+-])([0-9]{2}):([0-9]{2}))?"
)
_INTEGER = re.compile(r"[+-]?[0-9]+")


@dataclass(frozen=True)
class OracleResult:
    """What the rules make of a raw folder.

    `silver_rows`: dicts with event_at (tz-aware datetime in UTC), event_date (date), user_id,
    endpoint (str), status_code, response_ms (int) and user_agent (str or None), sorted by
    (event_at, endpoint, user_id, status_code, response_ms, user_agent).
    `daily_endpoint_metrics`: dicts with event_date, endpoint, total_requests, error_requests,
    max_response_ms (int), error_rate, avg_response_ms, p95_response_ms (float), sorted by
    (event_date, endpoint).
    `daily_web_traffic`: dicts with event_date, total_requests, distinct_users, ok_requests,
    client_error_requests, server_error_requests (int) and server_error_rate (float), sorted by event_date.
    `rejected` maps each reason that occurred to its count.
    """

    raw_records: int
    quarantined: int
    rejected: dict[str, int]
    duplicates_removed: int
    silver_rows: list[dict[str, Any]]
    daily_endpoint_metrics: list[dict[str, Any]]
    quarantined_files: list[str] = field(default_factory=list)
    daily_web_traffic: list[dict[str, Any]] = field(default_factory=list)


def _trim(value: str | None) -> str | None:
    return None if value is None else value.strip(" ")


def parse_event_time(text: str | None) -> datetime | None:
    """The UTC instant (tz-aware) an event_time denotes, or None if it is not a valid one."""
    text = _trim(text)
    if not text:
        return None
    match = _TIMESTAMP.fullmatch(text)
    if match is None:
        return None
    year, month, day, hour, minute, second = (int(g) for g in match.group(1, 2, 3, 4, 5, 6))
    microsecond = int((match.group(7) or "")[:6].ljust(6, "0"))
    try:
        local = datetime(year, month, day, hour, minute, second, microsecond)
    except ValueError:  # 2026-13-01, 2026-02-30, 25:00, :60 ...
        return None
    offset = timedelta(0)
    if match.group(9):
        offset_hours, offset_minutes = int(match.group(10)), int(match.group(11))
        if offset_hours > 23 or offset_minutes > 59:
            return None
        offset = timedelta(hours=offset_hours, minutes=offset_minutes)
        if match.group(9) == "-":
            offset = -offset
    try:
        return (local - offset).replace(tzinfo=UTC)
    except OverflowError:  # before year 1 or after 9999 once in UTC
        return None


def _integer(text: str | None) -> int | None:
    """The value of an integer literal; None for anything else (`200.0`, `1.5`, `abc`, empty)."""
    text = _trim(text)
    if not text or _INTEGER.fullmatch(text) is None:
        return None
    return int(text)


def validate(raw: dict[str, str | None]) -> tuple[dict[str, Any] | None, str | None]:
    """(silver row, None) for a valid record, or (None, reason of the first rule it breaks)."""
    event_at = parse_event_time(raw.get("event_time"))
    if event_at is None:
        return None, INVALID_EVENT_TIME
    user_id = _trim(raw.get("user_id"))
    if not user_id:
        return None, MISSING_USER_ID
    endpoint = _trim(raw.get("endpoint"))
    if not endpoint:
        return None, MISSING_ENDPOINT
    if not endpoint.startswith("/"):
        return None, ENDPOINT_NOT_ABSOLUTE
    status_code = _integer(raw.get("status_code"))
    if status_code is None:
        return None, INVALID_STATUS_CODE
    if not 100 <= status_code <= 599:
        return None, STATUS_CODE_OUT_OF_RANGE
    response_ms = _integer(raw.get("response_ms"))
    if response_ms is None:
        return None, INVALID_RESPONSE_MS
    if response_ms < 0:
        return None, NEGATIVE_RESPONSE_MS
    user_agent = _trim(raw.get("user_agent")) or None
    row = {
        "event_at": event_at,
        "event_date": event_at.date(),
        "user_id": user_id,
        "endpoint": endpoint,
        "status_code": status_code,
        "response_ms": response_ms,
        "user_agent": user_agent,
    }
    return row, None


def quantile_cont(sorted_values: Sequence[float], q: float) -> float:
    """Continuous quantile with linear interpolation, as DuckDB `quantile_cont` and numpy's default.

    Position h = (n - 1) * q in the sorted values; interpolate between the two values around it.
    """
    if not sorted_values:
        raise ValueError("quantile of no values")
    h = (len(sorted_values) - 1) * q
    lower = math.floor(h)
    value = float(sorted_values[lower])
    if lower + 1 < len(sorted_values):
        value += (h - lower) * (sorted_values[lower + 1] - sorted_values[lower])
    return value


def _read(path: Path) -> tuple[list[str] | None, list[list[str]]]:
    """Header and data records of a CSV file; blank lines (empty lists from csv) are neither."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = [row for row in csv.reader(handle) if row]
    if not rows:
        return None, []
    return rows[0], rows[1:]


def _silver_sort_key(row: dict[str, Any]) -> tuple[Any, ...]:
    return (row["event_at"], row["endpoint"], row["user_id"], row["status_code"], row["response_ms"],
            row["user_agent"] or "")


def daily_endpoint_metrics(silver_rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Gold: one row per (event_date, endpoint) of the silver requests."""
    groups: dict[tuple[date, str], list[dict[str, Any]]] = defaultdict(list)
    for row in silver_rows:
        groups[(row["event_date"], row["endpoint"])].append(row)
    metrics = []
    for (event_date, endpoint), rows in sorted(groups.items()):
        latencies = sorted(row["response_ms"] for row in rows)
        total = len(rows)
        errors = sum(1 for row in rows if row["status_code"] >= 400)
        metrics.append({
            "event_date": event_date,
            "endpoint": endpoint,
            "total_requests": total,
            "error_requests": errors,
            "error_rate": errors / total,
            "avg_response_ms": sum(latencies) / total,
            "max_response_ms": latencies[-1],
            "p95_response_ms": quantile_cont(latencies, 0.95),
        })
    return metrics


def daily_web_traffic(silver_rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Gold: one row per event_date of the silver requests."""
    days: dict[date, list[dict[str, Any]]] = defaultdict(list)
    for row in silver_rows:
        days[row["event_date"]].append(row)
    traffic = []
    for event_date, rows in sorted(days.items()):
        statuses = [row["status_code"] for row in rows]
        server_errors = sum(1 for status in statuses if status >= 500)
        traffic.append({
            "event_date": event_date,
            "total_requests": len(rows),
            "distinct_users": len({row["user_id"] for row in rows}),
            "ok_requests": sum(1 for status in statuses if status < 400),
            "client_error_requests": sum(1 for status in statuses if 400 <= status < 500),
            "server_error_requests": server_errors,
            "server_error_rate": server_errors / len(rows),
        })
    return traffic


def compute(raw_dir: Path) -> OracleResult:
    """Apply the rules to every `*.csv` under `raw_dir`: the dataset's folder, $LAKE_ROOT/raw/web_logs."""
    raw_records = 0
    quarantined = 0
    quarantined_files: list[str] = []
    rejected: Counter[str] = Counter()
    valid = 0
    silver: dict[tuple[Any, ...], dict[str, Any]] = {}
    for path in sorted(p for p in Path(raw_dir).rglob("*.csv") if p.is_file()):
        header, records = _read(path)
        raw_records += len(records)
        if header is None:
            continue
        if any(c not in header for c in REQUIRED_COLUMNS) or any(header.count(c) > 1 for c in COLUMNS):
            quarantined += len(records)
            quarantined_files.append(path.relative_to(raw_dir).as_posix())
            continue
        positions = {name: header.index(name) for name in COLUMNS if name in header}
        for record in records:
            if len(record) != len(header):
                quarantined += 1
                continue
            raw = {name: (record[i] if record[i] != "" else None) for name, i in positions.items()}
            row, reason = validate(raw)
            if row is None:
                assert reason is not None
                rejected[reason] += 1
                continue
            valid += 1
            key = (row["event_at"], row["user_id"], row["endpoint"], row["status_code"], row["response_ms"],
                   row["user_agent"])
            silver.setdefault(key, row)
    silver_rows = sorted(silver.values(), key=_silver_sort_key)
    result = OracleResult(
        raw_records=raw_records,
        quarantined=quarantined,
        rejected=dict(sorted(rejected.items())),
        duplicates_removed=valid - len(silver_rows),
        silver_rows=silver_rows,
        daily_endpoint_metrics=daily_endpoint_metrics(silver_rows),
        quarantined_files=quarantined_files,
        daily_web_traffic=daily_web_traffic(silver_rows),
    )
    accounted = (result.quarantined + sum(result.rejected.values()) + result.duplicates_removed
                 + len(silver_rows))
    if result.raw_records != accounted:
        raise AssertionError(f"oracle lost records: {result.raw_records} raw != {accounted} accounted for")
    return result
