"""Deterministic generator of raw `web_logs` CSV files: realistic traffic plus planted dirt.

Why it looks the way it does:

* Everything comes from `random.Random` instances seeded from the arguments (never the global
  generator, never the clock), so the same arguments always give byte-identical files and the
  end-to-end tests can rely on exact counts.
* One file a day, `raw/web_logs/YYYY/MM/web_logs_YYYY-MM-DD.csv`: generating a later date range
  adds new file names and never replaces files an earlier run wrote (a conflicting file is an error).
* Traffic is skewed the way real traffic is (Zipf-like endpoints and users, a diurnal curve,
  lognormal latency with a slow tail, hour-long error incidents), so gold metrics are interesting.
* The dirt is the dirt the ingest and silver rules exist for; every kind is counted in the summary,
  and the summary also states the counts the product rules must produce for the files of this run
  (`expected`), worked out from what was planted rather than by parsing the files back.

Only the standard library is used, so the generator runs in any Python 3.11.
"""

from __future__ import annotations

import csv
import gc
import io
import math
import random
from bisect import bisect
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from itertools import accumulate
from pathlib import Path
from typing import Any

from sample_data.common import csv_quote, pad, render_timestamp, write_atomically, zone_offset

DATASET = "web_logs"
COLUMNS: tuple[str, ...] = ("event_time", "user_id", "endpoint", "status_code", "response_ms", "user_agent")
DEFAULT_START_DATE = date(2026, 11, 1)
# Below this the fixed minimum of dirt a day (3 malformed, 3 semantic duplicates...) would swamp the data.
MIN_ROWS_PER_DAY = 50

# Positions of the columns in a record's `fields` (always kept in COLUMNS order).
_TIME, _USER, _ENDPOINT, _STATUS, _MS, _AGENT = range(6)

VALID = "valid"
QUARANTINED = "quarantined"

_US_PER_HOUR = 3_600_000_000
_US_PER_MINUTE = 60_000_000


@dataclass(frozen=True)
class _Endpoint:
    """Traffic profile of one endpoint: typical latency and the status codes it normally returns."""

    path: str
    median_ms: float
    sigma: float
    statuses: tuple[tuple[int, float], ...]


# Ordered by popularity: request share follows 1/rank**1.1, so the first few dominate.
_ENDPOINTS: tuple[_Endpoint, ...] = (
    _Endpoint("/", 35, 0.5, ((200, 90), (304, 8), (301, 1.5), (404, 0.3), (500, 0.1))),
    _Endpoint("/api/products", 80, 0.6, ((200, 96), (304, 3), (404, 0.6), (500, 0.2), (503, 0.1))),
    _Endpoint("/api/cart", 60, 0.6, ((200, 80), (201, 12), (204, 6), (400, 1), (401, 0.5), (500, 0.2))),
    _Endpoint("/static/app.js", 8, 0.4, ((200, 40), (304, 59), (404, 0.1))),
    _Endpoint("/login", 120, 0.5, ((200, 75), (301, 10), (401, 12), (403, 1), (429, 0.5), (500, 0.1))),
    _Endpoint("/api/search", 180, 0.8, ((200, 97), (400, 2), (500, 0.3), (504, 0.2))),
    _Endpoint("/api/recommendations", 150, 0.7, ((200, 98), (204, 1), (500, 0.5))),
    _Endpoint("/health", 2, 0.3, ((200, 99.9), (503, 0.1))),
    _Endpoint("/checkout", 250, 0.6, ((200, 90), (301, 3), (400, 3), (402, 1), (500, 0.4))),
    _Endpoint("/api/orders", 140, 0.6, ((200, 70), (201, 25), (400, 2), (401, 1), (404, 1), (500, 0.3))),
    _Endpoint("/account", 90, 0.5, ((200, 85), (301, 5), (401, 8), (403, 1))),
    _Endpoint("/api/payments", 400, 0.7, ((201, 90), (400, 4), (402, 3), (500, 1), (502, 0.5))),
    _Endpoint("/logout", 20, 0.4, ((204, 60), (301, 39), (500, 0.1))),
    _Endpoint("/robots.txt", 3, 0.3, ((200, 95), (304, 5))),
    _Endpoint("/wp-login.php", 5, 0.3, ((404, 100),)),
)
_ENDPOINT_CUM = list(accumulate(1 / rank**1.1 for rank in range(1, len(_ENDPOINTS) + 1)))
_STATUS_CUM = [list(accumulate(weight for _, weight in ep.statuses)) for ep in _ENDPOINTS]
_STATUS_CODES = [[code for code, _ in ep.statuses] for ep in _ENDPOINTS]
_MU = [math.log(ep.median_ms) for ep in _ENDPOINTS]
_SIGMA = [ep.sigma for ep in _ENDPOINTS]
_PATHS = [ep.path for ep in _ENDPOINTS]
_LOGIN = next(i for i, ep in enumerate(_ENDPOINTS) if ep.path == "/login")
_HEALTH = next(i for i, ep in enumerate(_ENDPOINTS) if ep.path == "/health")
_SCANNED = next(i for i, ep in enumerate(_ENDPOINTS) if ep.path == "/wp-login.php")

# Requests an hour (UTC), a day/night curve peaking in the afternoon.
_HOUR_CUM = list(accumulate((3, 2, 2, 2, 2, 3, 5, 8, 11, 13, 14, 15,
                             15, 15, 14, 14, 13, 12, 12, 11, 10, 8, 6, 4)))

_CHROME_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36"
)
_QUOTED_AGENT = 'Mozilla/5.0 (compatible; "Nuclei" vulnerability scanner; +https://nuclei.projectdiscovery.io)'
# (user agent, weight). Browsers' agents contain commas ("KHTML, like Gecko"), so the CSV writer quotes them.
_AGENTS: tuple[tuple[str, float], ...] = (
    (_CHROME_WINDOWS, 30),
    (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/121.0.0.0 Safari/537.36",
        12,
    ),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/17.2 Mobile/15E148 Safari/604.1",
        15,
    ),
    (
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/120.0.6099.144 Mobile Safari/537.36",
        12,
    ),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0", 8),
    (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/17.2 Safari/605.1.15",
        6,
    ),
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/120.0.0.0 Safari/537.36 Edg/120.0.2210.91",
        5,
    ),
    ("okhttp/4.12.0", 3),
    ("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", 3),
    ("curl/8.4.0", 2),
    ("python-requests/2.31.0", 2),
    ("", 2),
    (_QUOTED_AGENT, 0.1),
)
_AGENT_NAMES = [agent for agent, _ in _AGENTS]
_AGENT_CUM = list(accumulate(weight for _, weight in _AGENTS))
_HEALTH_AGENT = "ELB-HealthChecker/2.0"
_NMAP_AGENT = "Mozilla/5.0 (compatible; Nmap Scripting Engine)"

# How event_time is written: (separator, isoformat timespec, zone suffix, weight). An offset zone
# shifts the wall time so that the text still denotes the intended instant.
_TIME_FORMATS: tuple[tuple[str, str, str, float], ...] = (
    ("T", "microseconds", "Z", 62),
    ("T", "milliseconds", "Z", 8),
    ("T", "seconds", "Z", 6),
    (" ", "microseconds", "", 7),
    ("T", "microseconds", "", 4),
    (" ", "seconds", "Z", 3),
    ("T", "microseconds", "+05:30", 5),
    ("T", "milliseconds", "-04:00", 5),
)
_FORMAT_CUM = list(accumulate(fmt[3] for fmt in _TIME_FORMATS))

# Malformed records: (kind, what the product rules make of it, column changed, new value).
# The value may use {year} and {day}; None marks the field-count kinds, handled when rendering.
_MALFORMED: tuple[tuple[str, str, int | None, str], ...] = (
    # Ordered so that the first nine cover every outcome: even 3 days of 3 give each reason once.
    ("too_few_fields", QUARANTINED, None, ""),
    ("status_code_decimal", "invalid_status_code", _STATUS, "200.0"),
    ("event_time_month_13", "invalid_event_time", _TIME, "{year}-13-01T00:00:00Z"),
    ("user_id_blank", "missing_user_id", _USER, "   "),
    ("endpoint_relative", "endpoint_not_absolute", _ENDPOINT, "<relative>"),
    ("response_ms_negative", "negative_response_ms", _MS, "-5"),
    ("status_code_700", "status_code_out_of_range", _STATUS, "700"),
    ("endpoint_empty", "missing_endpoint", _ENDPOINT, ""),
    ("response_ms_decimal", "invalid_response_ms", _MS, "12.0"),
    ("too_many_fields", QUARANTINED, None, ""),
    ("status_code_abc", "invalid_status_code", _STATUS, "abc"),
    ("event_time_not_a_time", "invalid_event_time", _TIME, "not-a-time"),
    ("user_id_empty", "missing_user_id", _USER, ""),
    ("event_time_hour_25", "invalid_event_time", _TIME, "{day}T25:00:00Z"),
    ("status_code_fraction", "invalid_status_code", _STATUS, "1.5"),
    ("event_time_feb_30", "invalid_event_time", _TIME, "{year}-02-30T12:00:00Z"),
    ("status_code_99", "status_code_out_of_range", _STATUS, "99"),
)

_SEMANTIC_VARIANTS = ("trim", "offset", "empty_user_agent", "fraction_digits")


@dataclass(slots=True)
class _Record:
    """One CSV record to write, with what the product rules should make of it.

    `fields` holds the delivered text in COLUMNS order. `key` is the request's identity (UTC
    instant, user, endpoint, status, latency, user agent or None) for valid records; `style` asks
    for a special rendering (a quoted empty user agent, or a wrong field count).
    """

    fields: list[str]
    outcome: str = VALID
    key: tuple[Any, ...] | None = None
    instant: datetime | None = None
    zone: str = "Z"
    style: str = ""
    drop: int = 0


@dataclass
class _DayFile:
    index: int
    day: date
    layout: tuple[str, ...]
    crlf: bool
    bom: bool
    base: list[_Record]
    records: list[_Record]
    _empty_agent_positions: list[int] | None = None

    def empty_agent_positions(self) -> list[int]:
        """Positions in `base` of the requests without a user agent (computed once: it is a full scan)."""
        if self._empty_agent_positions is None:
            self._empty_agent_positions = [i for i, r in enumerate(self.base) if r.fields[_AGENT] == ""]
        return self._empty_agent_positions

    @property
    def standard(self) -> bool:
        return self.layout == COLUMNS

    @property
    def relpath(self) -> str:
        return f"{DATASET}/{self.day:%Y/%m}/{DATASET}_{self.day.isoformat()}.csv"


@dataclass(frozen=True)
class _Burst:
    """A window in which one endpoint mostly fails: an outage (5xx) or a login attack (429/401)."""

    kind: str
    endpoint: int
    start_us: int
    end_us: int
    error_share: float
    codes: tuple[int, ...]
    code_cum: tuple[float, ...]
    slowdown: float








class _Generator:
    def __init__(self, days: int, rows_per_day: int, seed: int, start_date: date) -> None:
        if days < 1:
            raise ValueError(f"days must be >= 1, got {days}")
        if rows_per_day < MIN_ROWS_PER_DAY:
            raise ValueError(f"rows_per_day must be >= {MIN_ROWS_PER_DAY}, got {rows_per_day}")
        self.days = days
        self.rows_per_day = rows_per_day
        self.seed = seed
        self.start_date = start_date
        self.seen: set[tuple[Any, ...]] = set()
        self.planted: Counter[str] = Counter()
        self.malformed: Counter[str] = Counter()
        self.malformed_cursor = 0
        self.bursts: list[dict[str, Any]] = []
        # A few thousand users; activity follows 1/rank**0.9, so a few heavy users stand out.
        pool_rng = random.Random(f"{seed}:{DATASET}:users")
        self.users = [f"user_{n:05d}" for n in pool_rng.sample(range(10_000, 100_000), 3_000)]
        self.user_cum = list(accumulate(1 / rank**0.9 for rank in range(1, len(self.users) + 1)))
        n = days
        # Which file gets which file-level oddity: spread over the run, overlapping only for short runs.
        self.bom_index = 2 % n
        self.shuffled_index = 4 % n
        self.no_agent_index = 6 % n

    # -- traffic ---------------------------------------------------------------------------------

    def _day_bursts(self, rng: random.Random, day: date) -> tuple[_Burst, ...]:
        minute = rng.randrange(23 * 60)
        outage = _Burst(
            "outage", rng.randrange(1, 12), minute * _US_PER_MINUTE, (minute + 60) * _US_PER_MINUTE,
            rng.uniform(0.5, 0.8), (500, 503, 502, 504), (5, 9, 10, 11), rng.uniform(3, 8),
        )
        bursts = [outage]
        if rng.random() < 0.5:
            minute = rng.randrange(23 * 60)
            length = rng.randrange(20, 41)
            bursts.append(_Burst(
                "login_attack", _LOGIN, minute * _US_PER_MINUTE, (minute + length) * _US_PER_MINUTE,
                0.6, (429, 401), (3, 4), 1.0,
            ))
        for burst in bursts:
            start = datetime(day.year, day.month, day.day) + timedelta(microseconds=burst.start_us)
            self.bursts.append({
                "kind": burst.kind,
                "endpoint": _ENDPOINTS[burst.endpoint].path,
                "start": start.isoformat() + "Z",
                "minutes": (burst.end_us - burst.start_us) // _US_PER_MINUTE,
            })
        return tuple(bursts)

    def _requests(
        self, rng: random.Random, day: date, count: int, has_agent: bool, bursts: tuple[_Burst, ...]
    ) -> list[_Record]:
        """`count` clean, distinct requests served on `day`, in time order."""
        midnight = datetime(day.year, day.month, day.day)
        hours = rng.choices(range(24), cum_weights=_HOUR_CUM, k=count)
        random_ = rng.random
        times = sorted(hour * _US_PER_HOUR + int(random_() * _US_PER_HOUR) for hour in hours)
        endpoints = rng.choices(range(len(_ENDPOINTS)), cum_weights=_ENDPOINT_CUM, k=count)
        users = rng.choices(self.users, cum_weights=self.user_cum, k=count)
        formats = rng.choices(_TIME_FORMATS, cum_weights=_FORMAT_CUM, k=count)
        agents = rng.choices(_AGENT_NAMES, cum_weights=_AGENT_CUM, k=count)
        gauss, exp = rng.gauss, math.exp
        burst_endpoints = {burst.endpoint for burst in bursts}
        seen = self.seen
        out: list[_Record] = []
        for us, e, user, (sep, timespec, zone, _), agent in zip(times, endpoints, users, formats, agents,
                                                                strict=True):
            status = 0
            slowdown = 1.0
            if e in burst_endpoints:
                for burst in bursts:
                    in_window = burst.endpoint == e and burst.start_us <= us < burst.end_us
                    if in_window and random_() < burst.error_share:
                        status = burst.codes[bisect(burst.code_cum, random_() * burst.code_cum[-1])]
                        slowdown = burst.slowdown
                        break
            if not status:
                cum = _STATUS_CUM[e]
                status = _STATUS_CODES[e][bisect(cum, random_() * cum[-1])]
            latency = exp(gauss(_MU[e], _SIGMA[e])) * slowdown
            if status == 304:
                latency *= 0.4
            elif status == 504:
                latency = 30_000 + random_() * 2_000  # the gateway's timeout
            if random_() < 0.004:
                latency *= 10 + 50 * random_()  # the very slow tail: GC pauses, cold caches
            if e == _HEALTH:
                agent = _HEALTH_AGENT
            elif e == _SCANNED:
                agent = _QUOTED_AGENT if random_() < 0.05 else _NMAP_AGENT
            if not has_agent:
                agent = ""
            # Drop the precision the format cannot show, so the written text is exactly the instant.
            if timespec == "seconds":
                us -= us % 1_000_000
            elif timespec == "milliseconds":
                us -= us % 1_000
            instant = midnight + timedelta(microseconds=us)
            ms = int(latency)
            path = _PATHS[e]
            key = (instant, user, path, status, ms, agent or None)
            while key in seen:  # keep requests distinct, so only planted duplicates are duplicates
                ms += 1
                key = (instant, user, path, status, ms, agent or None)
            seen.add(key)
            wall = instant + zone_offset(zone)
            fields = [wall.isoformat(sep, timespec) + zone, user, path, str(status), str(ms), agent]
            out.append(_Record(fields, VALID, key, instant, zone))
        return out

    # -- dirt ------------------------------------------------------------------------------------

    def _malformed_record(self, rng: random.Random, day: date, has_agent: bool) -> _Record:
        kind, outcome, column, value = _MALFORMED[self.malformed_cursor % len(_MALFORMED)]
        self.malformed_cursor += 1
        self.malformed[kind] += 1
        rec = self._requests(rng, day, 1, has_agent, ())[0]
        rec.outcome, rec.key = outcome, None
        if column is None:
            rec.style = kind
            if kind == "too_few_fields":
                rec.drop = rng.choice((1, 2))
            elif has_agent:
                rec.fields[_AGENT] = _CHROME_WINDOWS  # written unquoted: its comma splits it in two
        elif value == "<relative>":
            rec.fields[column] = rec.fields[_ENDPOINT].lstrip("/") or "index.html"
        else:
            rec.fields[column] = value.format(year=day.year, day=day.isoformat())
        return rec

    def _semantic_duplicate(
        self, rng: random.Random, variant: str, day_file: _DayFile, prev: _DayFile | None
    ) -> tuple[str, _Record, int | None]:
        """A record that differs in text from a valid record but is the same request.

        Returns the variant actually used, the record, and the position of its source in this
        file's base (None when the source is in the previous file).
        """
        base = day_file.base
        has_agent = "user_agent" in day_file.layout
        if variant == "empty_user_agent":
            if has_agent:
                positions = day_file.empty_agent_positions()
                if positions:
                    pos = rng.choice(positions)
                    src = base[pos]
                    if rng.random() < 0.5:
                        return variant, _Record(list(src.fields), VALID, src.key, src.instant, src.zone,
                                                style="quoted_empty_ua"), pos
                    fields = list(src.fields)
                    fields[_AGENT] = "   "
                    return variant, _Record(fields, VALID, src.key, src.instant, src.zone), pos
            elif prev is not None and "user_agent" in prev.layout:
                # An empty user agent in one file, the column missing in this one.
                positions = prev.empty_agent_positions()
                if positions:
                    src = prev.base[rng.choice(positions)]
                    return variant, _Record(list(src.fields), VALID, src.key, src.instant, src.zone), None
            variant = "trim"
        pos = rng.randrange(len(base))
        src = base[pos]
        fields = list(src.fields)
        assert src.instant is not None
        if variant == "offset":
            zone = "Z" if src.zone not in ("Z", "") else rng.choice(("+05:30", "-04:00"))
            fields[_TIME] = render_timestamp(src.instant, "T", "microseconds", zone)
        elif variant == "fraction_digits":
            # Nanoseconds that truncate back to the same microsecond.
            fields[_TIME] = src.instant.isoformat(timespec="microseconds") + f"{rng.randrange(1, 1000):03d}Z"
        else:
            columns = [_TIME, _USER, _ENDPOINT, _STATUS, _MS]
            if has_agent and fields[_AGENT]:
                columns.append(_AGENT)
            for column in rng.sample(columns, 2):
                fields[column] = pad(rng, fields[column])
        return variant, _Record(fields, VALID, src.key, src.instant, src.zone), pos

    # -- files -----------------------------------------------------------------------------------

    def day_file(self, index: int, prev: _DayFile | None) -> _DayFile:
        day = self.start_date + timedelta(days=index)
        rng = random.Random(f"{self.seed}:{DATASET}:{day.isoformat()}")
        layout = COLUMNS if index != self.no_agent_index else COLUMNS[:_AGENT]
        if index == self.shuffled_index:
            shuffled = list(layout)
            while tuple(shuffled) == layout:
                rng.shuffle(shuffled)
            layout = tuple(shuffled)
        has_agent = "user_agent" in layout
        m = self.rows_per_day
        n_malformed = max(3, round(m * 0.0005))
        n_exact = max(1, round(m * 0.01))
        n_semantic = max(3, round(m * 0.001))
        n_late = max(1, round(m * 0.005))
        n_padded = max(1, round(m * 0.0005))
        n_base = m - n_malformed - n_exact - n_semantic

        bursts = self._day_bursts(rng, day)
        base = self._requests(rng, day, n_base - n_late, has_agent, bursts)
        # Stragglers from 1-3 days before, on every day: also before the run's first day, which is
        # what an incremental build must cope with (late rows for days already built).
        for _ in range(n_late):
            back = rng.randint(1, 3)
            late = self._requests(rng, day - timedelta(days=back), 1, has_agent, ())[0]
            base.insert(rng.randrange(len(base) + 1), late)
        self.planted["late_arrivals"] += n_late
        for pos in rng.sample(range(len(base)), n_padded):
            fields = base[pos].fields
            for column in rng.sample((_USER, _ENDPOINT, _STATUS, _MS), rng.choice((1, 2))):
                fields[column] = pad(rng, fields[column])
        self.planted["padded_valid"] += n_padded

        day_file = _DayFile(index, day, layout, crlf=index % 3 == 1, bom=index == self.bom_index,
                            base=base, records=[])
        n = len(base)
        after: list[list[_Record]] = [[] for _ in range(n)]  # records to write right after base[i]
        for _ in range(n_exact):
            mode = rng.random()
            if mode < 0.15 and prev is not None and prev.standard and day_file.standard:
                after[rng.randrange(n)].append(rng.choice(prev.base))
                self.planted["exact_duplicates_next_file"] += 1
                continue
            pos = rng.randrange(n)
            if mode < 0.6 or pos == n - 1:
                after[pos].insert(0, base[pos])
                self.planted["exact_duplicates_adjacent"] += 1
            else:
                after[rng.randrange(pos + 1, n)].append(base[pos])
                self.planted["exact_duplicates_later_in_file"] += 1
        for j in range(n_semantic):
            variant = _SEMANTIC_VARIANTS[(index + j) % len(_SEMANTIC_VARIANTS)]
            variant, rec, pos = self._semantic_duplicate(rng, variant, day_file, prev)
            after[rng.randrange(n) if pos is None else rng.randrange(pos, n)].append(rec)
            self.planted[f"semantic_duplicates_{variant}"] += 1
        for _ in range(n_malformed):
            after[rng.randrange(n)].append(self._malformed_record(rng, day, has_agent))

        records = day_file.records
        for rec, extra in zip(base, after, strict=True):
            records.append(rec)
            records.extend(extra)
        assert len(records) == m
        return day_file


def _render(day_file: _DayFile) -> bytes:
    """The file's bytes: header by name, RFC 4180 quoting, the file's line ending and BOM."""
    eol = "\r\n" if day_file.crlf else "\n"
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator=eol)
    layout = day_file.layout
    writer.writerow(layout)
    order = [COLUMNS.index(column) for column in layout]
    agent_at = layout.index("user_agent") if "user_agent" in layout else None
    for rec in day_file.records:
        values = [rec.fields[i] for i in order]
        if not rec.style:
            writer.writerow(values)
        elif rec.style == "too_few_fields":
            writer.writerow(values[: -rec.drop])
        elif rec.style == "too_many_fields" and agent_at is None:
            writer.writerow([*values, "unexpected"])
        else:
            # quoted_empty_ua writes `""`; too_many_fields leaves the user agent unquoted.
            raw = '""' if rec.style == "quoted_empty_ua" else values[agent_at]
            buf.write(",".join(raw if i == agent_at else csv_quote(v) for i, v in enumerate(values)) + eol)
    return (("\ufeff" if day_file.bom else "") + buf.getvalue()).encode("utf-8")




def generate_web_logs(
    raw_dir: Path, days: int, rows_per_day: int, seed: int, start_date: date = DEFAULT_START_DATE
) -> dict[str, Any]:
    """Write `days` daily files of `rows_per_day` records each under `raw_dir/web_logs/`.

    `raw_dir` is the lake's raw folder ($LAKE_ROOT/raw). `rows_per_day` counts every record of a
    daily file, dirt included (at least MIN_ROWS_PER_DAY); with 3 days or more, day 2 is also
    delivered a second time under another name, so the run writes `days + 1` files.

    Files that already exist with the same bytes are left alone (re-running is harmless); an
    existing file with other content raises FileExistsError before anything is written.

    Returns a JSON-serialisable summary: the files, the counts of each planted kind of dirt, the
    traffic incidents, and `expected` — the counts the product rules must give for this run's files
    alone (raw_records, quarantined, rejected by reason, duplicates_removed, silver_rows).
    """
    # Hundreds of thousands of small acyclic objects: the cyclic garbage collector would only rescan
    # them over and over (a quarter of the run time), so it is paused meanwhile.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _generate(raw_dir, days, rows_per_day, seed, start_date)
    finally:
        if gc_was_enabled:
            gc.enable()


def _generate(raw_dir: Path, days: int, rows_per_day: int, seed: int, start_date: date) -> dict[str, Any]:
    gen = _Generator(days, rows_per_day, seed, start_date)
    day_files: list[_DayFile] = []
    prev: _DayFile | None = None
    for index in range(days):
        prev = gen.day_file(index, prev)
        day_files.append(prev)

    outputs: list[tuple[str, bytes, list[_Record], list[str]]] = []
    for f in day_files:
        flags = (("crlf", f.crlf), ("bom", f.bom), ("shuffled_header", f.index == gen.shuffled_index),
                 ("missing_user_agent", "user_agent" not in f.layout))
        features = [name for name, on in flags if on]
        outputs.append((f.relpath, _render(f), f.records, features))
    if days >= 3:
        # Day 2 delivered again, under a new name in a later day's folder.
        original, last = day_files[1], day_files[-1]
        relpath = f"{DATASET}/{last.day:%Y/%m}/{DATASET}_{original.day.isoformat()}_redelivery.csv"
        outputs.append((relpath, outputs[1][1], original.records, ["redelivery_of:" + original.relpath]))

    conflicts = [rel for rel, data, _, _ in outputs
                 if (raw_dir / rel).exists() and (raw_dir / rel).read_bytes() != data]
    if conflicts:
        raise FileExistsError(f"refusing to overwrite raw files with other content: {', '.join(conflicts)}")
    for rel, data, _, _ in outputs:
        path = raw_dir / rel
        if not path.exists():
            write_atomically(path, data)

    outcomes: Counter[str] = Counter()
    keys: set[tuple[Any, ...]] = set()
    for _, _, records, _ in outputs:
        for rec in records:
            outcomes[rec.outcome] += 1
            if rec.key is not None:
                keys.add(rec.key)
    all_records = [rec for _, _, records, _ in outputs for rec in records]
    planted = gen.planted
    written = [rec for f in day_files for rec in f.records]
    exact = sum(planted[k] for k in ("exact_duplicates_adjacent", "exact_duplicates_later_in_file",
                                     "exact_duplicates_next_file"))
    semantic = sum(planted[f"semantic_duplicates_{v}"] for v in _SEMANTIC_VARIANTS)
    # Only files with the column: in the file without it every user agent is missing, not empty.
    agents = [rec.fields[_AGENT].strip(" ")
              for f in day_files if "user_agent" in f.layout for rec in f.records]
    offsets = sum(1 for rec in written if rec.outcome == VALID and rec.fields[_TIME].strip(" ")[-6:] in
                  ("+05:30", "-04:00"))
    return {
        "dataset": DATASET,
        "seed": seed,
        "start_date": start_date.isoformat(),
        "days": days,
        "rows_per_day": rows_per_day,
        "raw_dir": str(raw_dir),
        "files": [{"path": rel, "records": len(records), "bytes": len(data), "features": features}
                  for rel, data, records, features in outputs],
        "records_written": len(all_records),
        "planted": {
            "exact_duplicates": exact,
            **{k: planted[k] for k in ("exact_duplicates_adjacent", "exact_duplicates_later_in_file",
                                       "exact_duplicates_next_file")},
            "semantic_duplicates": semantic,
            **{f"semantic_duplicates_{v}": planted[f"semantic_duplicates_{v}"] for v in _SEMANTIC_VARIANTS},
            "late_arrivals": planted["late_arrivals"],
            "padded_valid": planted["padded_valid"],
            "malformed": sum(gen.malformed.values()),
            "malformed_by_kind": dict(sorted(gen.malformed.items())),
            "redelivered_files": int(days >= 3),
            "redelivered_records": len(day_files[1].records) if days >= 3 else 0,
            "crlf_files": sum(f.crlf for f in day_files),
            "bom_files": sum(f.bom for f in day_files),
            "shuffled_header_files": int(any(f.index == gen.shuffled_index for f in day_files)),
            "missing_user_agent_files": int(any(f.index == gen.no_agent_index for f in day_files)),
            "empty_user_agent": sum(1 for a in agents if not a),
            "user_agent_with_comma": sum(1 for a in agents if "," in a),
            "user_agent_with_quote": sum(1 for a in agents if '"' in a),
            "offset_timestamps": offsets,
        },
        "incidents": gen.bursts,
        "expected": {
            "raw_records": len(all_records),
            "quarantined": outcomes[QUARANTINED],
            "rejected": dict(sorted((k, v) for k, v in outcomes.items() if k not in (VALID, QUARANTINED))),
            "duplicates_removed": outcomes[VALID] - len(keys),
            "silver_rows": len(keys),
        },
    }
