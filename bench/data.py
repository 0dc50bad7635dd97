"""Large raw files for the throughput and scale runs, written by DuckDB SQL in seconds.

The Python sample-data generator (`python -m sample_data`) writes realistic dirty files but builds a day in
memory at roughly 40k records/s, so 10M records would take minutes and gigabytes. These files have the
columns of the contracts (`glue_ingest/contracts/web_logs.yml`, `user_events.yml`) and the same shapes of
values (mixed ISO-8601 forms, padded and missing values, a little dirt that silver rejects, exact
duplicates), spread evenly over `days` event dates. They are deterministic: the same arguments give the
same bytes.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

START = "2026-11-01"

_ENDPOINTS = ["/", "/api/products", "/api/cart", "/static/app.js", "/login", "/api/search",
              "/api/recommendations", "/health", "/checkout", "/api/orders", "/account", "/api/payments",
              "/logout", "/robots.txt", "/wp-login.php"]
_AGENTS = ["Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0",
           "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_1) AppleWebKit/605.1.15 (KHTML, like Gecko) Safari/605.1",
           "curl/8.4.0", "python-requests/2.31.0", "Googlebot/2.1 (+http://www.google.com/bot.html)"]
_STATUSES = [200, 200, 200, 200, 200, 200, 200, 304, 201, 301, 404, 500]
_EVENT_TYPES = ["view", "view", "view", "view", "View", " click", "click", "add_to_cart", "purchase"]
_CATEGORIES = ["Electronics", "Books", "Toys", "Home & Kitchen", "Sports", "Beauty"]


def _sql_list(values: list) -> str:
    return "[" + ", ".join(f"'{v}'" if isinstance(v, str) else str(v) for v in values) + "]"


def _pick(values: list, salt: int) -> str:
    """`values[hash(source, salt) % len]`: a deterministic pseudo-random pick per source record."""
    return f"{_sql_list(values)}[1 + {_hash(salt, len(values))}]"


def _hash(salt: int, modulo: int) -> str:
    """A deterministic pseudo-random integer in [0, modulo) per source record."""
    return f"cast(hash(src, {salt}) % {modulo} as bigint)"


def _timestamp_text(days: int, rows: int) -> str:
    """ISO-8601 text of an instant spread evenly over `days` days, in one of four delivered forms."""
    instant = f"timestamp '{START}' + to_microseconds(cast(src * ({days} * 86400000000 // {rows}) as bigint))"
    return f"""case src % 4
        when 0 then strftime({instant}, '%Y-%m-%dT%H:%M:%S.%fZ')
        when 1 then strftime({instant}, '%Y-%m-%d %H:%M:%S')
        when 2 then strftime({instant} - interval 4 hour, '%Y-%m-%dT%H:%M:%S.%g-04:00')
        else strftime({instant}, '%Y-%m-%dT%H:%M:%SZ') end"""


def _source(rows: int) -> str:
    # One record in 500 repeats its predecessor exactly (a duplicate silver collapses).
    return f"(select i, case when i % 500 = 1 then i - 1 else i end as src from range({rows}) as r(i))"


def web_logs_csv(path: Path, rows: int, days: int = 10) -> None:
    """A web_logs CSV: header + `rows` records; about 0.3% break a silver rule, 0.2% are duplicates."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sql = f"""
    copy (
        select
            {_timestamp_text(days, rows)} as event_time,
            case when src % 1009 = 5 then '  ' else 'user_' || {_hash(1, 200000)} end as user_id,
            case when src % 53 = 0 then ' ' || {_pick(_ENDPOINTS, 2)} || ' ' else {_pick(_ENDPOINTS, 2)} end
                as endpoint,
            case when src % 997 = 3 then 'abc' else cast({_pick(_STATUSES, 3)} as varchar) end as status_code,
            case when src % 991 = 4 then '12.5' else cast(1 + {_hash(4, 900)} as varchar) end as response_ms,
            case when src % 17 = 0 then '' else {_pick(_AGENTS, 5)} end as user_agent
        from {_source(rows)}
        order by i
    ) to '{path}' (format csv, header true)
    """
    with duckdb.connect() as con:
        con.execute("set enable_progress_bar = false")
        con.execute(sql)


def user_events_json(path: Path, rows: int, days: int = 10) -> None:
    """A user_events JSON-lines file of `rows` events; purchases carry a price, some values are missing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sql = f"""
    copy (
        select
            md5(cast(src as varchar)) as event_id,
            'U' || (1000000 + {_hash(1, 500000)}) as user_id,
            case when src % 13 = 0 then null else 's_' || substr(md5(cast(src // 20 as varchar)), 1, 12) end
                as session_id,
            event_type,
            case when src % 11 = 0 then null else 'P' || (10000 + {_hash(3, 40000)}) end as product_id,
            case when src % 11 = 0 then null else {_pick(_CATEGORIES, 4)} end as category,
            case when trim(lower(event_type)) = 'purchase' and src % 401 <> 7
                 then cast(round(1 + {_hash(5, 50000)} / 100.0, 2) as varchar) end as price,
            {_timestamp_text(days, rows)} as event_timestamp
        from (select *, {_pick(_EVENT_TYPES, 2)} as event_type from {_source(rows)})
        order by i
    ) to '{path}' (format json)
    """
    with duckdb.connect() as con:
        con.execute("set enable_progress_bar = false")
        con.execute(sql)
