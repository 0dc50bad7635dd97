"""Deterministic generator of raw `user_events` JSON files: clickstream sessions plus planted dirt.

* One file a day, `raw/user_events/YYYY/MM/user_events_YYYY-MM-DD.jsonl` (JSON lines), or every
  third day `.json` (one pretty-printed JSON array), with `rows_per_day` records, dirt included.
* Traffic is sessions: a user (Zipf-like activity) views a few products (the catalog and popularity
  of `sample_data.sales`, mostly within one category), clicks some, adds some to the cart and now and
  then buys what is in it: a view -> click -> add_to_cart -> purchase funnel with drop-off. Sessions
  start on a day/night curve; a session started before midnight UTC goes on after it, in the same
  file (so a file holds events of the next UTC day too, up to an hour or so after midnight).
* Dirt, every kind counted in the summary: event_type in messy case and with spaces (` View`,
  `ADD_TO_CART`), sessions without a session_id (null or the key left out), timestamps with offsets,
  sessions spanning midnight UTC (at least one a day), late sessions (1-3 days before the file),
  identical re-deliveries of an event (same file or the next), later different versions of an event
  (a restated price, a session id stitched on; a fifth of them invalid, so the earlier one must stay),
  prices written as JSON numbers or strings, and the invalid records of `_BAD` (a broken JSON line,
  or a double-encoded object in a JSON array).

`expected` in the summary states what the product rules must make of this run's files, ingested in
one batch in path order, worked out from what was planted. Only the standard library is used.
"""

from __future__ import annotations

import random
from bisect import bisect
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from itertools import accumulate
from pathlib import Path
from typing import Any

from sample_data.sales import (
    CENT,
    QUARANTINED,
    VALID,
    Output,
    Plan,
    Product,
    check_arguments,
    expected_counts,
    product_popularity,
    render_json,
    render_timestamp,
    without_gc,
)
from sample_data.web_logs import DEFAULT_START_DATE

DATASET = "user_events"
COLUMNS: tuple[str, ...] = (
    "event_id", "user_id", "session_id", "event_type", "product_id", "category", "price", "event_timestamp",
)
EVENT_TYPES = ("view", "click", "add_to_cart", "purchase")

_MS_PER_HOUR = 3_600_000
# Sessions started an hour (UTC): Europe's and America's evenings.
_HOUR_CUM = list(accumulate((6, 4, 3, 2, 2, 2, 3, 4, 6, 8, 9, 10, 10, 11, 12, 13, 14, 15, 16, 16, 15, 13, 10, 8)))
# How event_timestamp is written: (separator, timespec, zone, weight).
_FORMATS = (("T", "milliseconds", "Z", 58), ("T", "seconds", "Z", 10), (" ", "milliseconds", "", 6),
            ("T", "milliseconds", "+01:00", 7), ("T", "seconds", "-05:00", 8), ("T", "microseconds", "Z", 5),
            ("T", "milliseconds", "+00:00", 4), ("T", "seconds", "+05:30", 2))
_FORMAT_CUM = list(accumulate(f[3] for f in _FORMATS))
_OFFSETS = {zone for *_, zone, _ in _FORMATS if zone not in ("Z", "", "+00:00")}

# Invalid records: (kind, outcome). The first eight cover every outcome: even 2 days of 4 do.
_BAD: tuple[tuple[str, str], ...] = (
    ("broken_json", QUARANTINED),
    ("event_type_hover", "invalid_event_type"),
    ("user_id_empty", "missing_user_id"),
    ("timestamp_hour_24", "invalid_event_timestamp"),
    ("price_negative", "negative_price"),
    ("purchase_without_price", "missing_purchase_price"),
    ("event_id_empty", "missing_event_id"),
    ("price_text", "invalid_price"),
    ("event_type_null", "invalid_event_type"),
    ("timestamp_text", "invalid_event_timestamp"),
    ("user_id_null", "missing_user_id"),
    ("price_three_decimals", "invalid_price"),
    ("timestamp_epoch_number", "invalid_event_timestamp"),
    ("purchase_price_null", "missing_purchase_price"),
)


@dataclass(slots=True)
class _Event:
    """A JSON record and what the rules make of it (`price` and `kind` are its silver values)."""

    obj: dict[str, Any]
    instant: datetime
    outcome: str = VALID
    key: str | None = None
    kind: str | None = None
    price: Decimal | None = None
    style: str = ""


def _uuid4(rng: random.Random) -> str:
    """A version-4 UUID from `rng` (what uuid.UUID(int=..., version=4) gives, faster)."""
    h = f"{(rng.getrandbits(128) & _UUID_CLEAR) | _UUID_SET:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


_UUID_CLEAR = ~((0xF000 << 64) | (0xC000 << 48))
_UUID_SET = (0x4000 << 64) | (0x8000 << 48)


def _messy_type(rng: random.Random, event_type: str) -> str:
    return rng.choice((f" {event_type.capitalize()}", event_type.upper(), f"{event_type} ", event_type.title(),
                       f" {event_type.upper()} "))


class _Generator:
    def __init__(self, days: int, rows_per_day: int, seed: int, start_date: date) -> None:
        check_arguments(days, rows_per_day)
        self.days = days
        self.rows_per_day = rows_per_day
        self.seed = seed
        self.start_date = start_date
        self.planted: Counter[str] = Counter()
        self.bad: Counter[str] = Counter()
        self.bad_cursor = 0
        self.products, self.product_cum = product_popularity(seed)
        self.by_category: dict[str, tuple[list[Product], list[float]]] = {}
        for category in sorted({p.category for p in self.products}):
            products = [p for p in self.products if p.category == category]
            self.by_category[category] = (products, list(accumulate(1 / r**1.1 for r in range(1, len(products) + 1))))
        pool_rng = random.Random(f"{seed}:{DATASET}:users")
        n_users = min(20_000, max(200, rows_per_day // 2))
        self.users = [f"U{n:07d}" for n in pool_rng.sample(range(1_000_000, 10_000_000), n_users)]
        self.user_cum = list(accumulate(1 / rank**0.7 for rank in range(1, n_users + 1)))
        self.latest: dict[str, _Event] = {}  # event_id -> its latest valid record so far

    # -- traffic ---------------------------------------------------------------------------------

    def _event(self, rng: random.Random, user: str, session: str | None, kind: str, product: Product | None,
               instant: datetime, price: Decimal | None, drop_session_key: bool) -> _Event:
        sep, timespec, zone, _ = _FORMATS[bisect(_FORMAT_CUM, rng.random() * _FORMAT_CUM[-1])]
        event_id = _uuid4(rng)
        written_type = kind
        if rng.random() < 0.04:
            written_type = _messy_type(rng, kind)
        obj: dict[str, Any] = {"event_id": event_id, "user_id": user, "session_id": session,
                               "event_type": written_type,
                               "product_id": product.product_id if product else None,
                               "category": product.category if product else None}
        if drop_session_key:
            del obj["session_id"]
        if price is not None:
            obj["price"] = f"{price:.2f}" if rng.random() < 0.2 else float(price)
        obj["event_timestamp"] = render_timestamp(instant, sep, timespec, zone)
        return _Event(obj, instant, VALID, event_id, kind, price)

    def _session(self, rng: random.Random, start: datetime, min_events: int = 1) -> list[_Event]:
        """One visit: views, some clicks and carts, maybe a purchase of the cart."""
        random_ = rng.random
        user = self.users[bisect(self.user_cum, random_() * self.user_cum[-1])]
        no_session = random_() < 0.015
        session = None if no_session else f"s_{rng.getrandbits(48):012x}"
        drop_key = no_session and random_() < 0.5
        if no_session:
            self.planted["events_without_session_id_sessions"] += 1
        focus = rng.choice(sorted(self.by_category))
        t = start
        events: list[_Event] = []
        cart: list[Product] = []

        def add(kind: str, product: Product | None, price: Decimal | None = None) -> None:
            nonlocal t
            events.append(self._event(rng, user, session, kind, product, t, price, drop_key))
            t += timedelta(milliseconds=1_000 + int(rng.expovariate(1 / 40_000)))

        if random_() < 0.15:
            add("view", None)  # the home page: no product
        views = max(min_events, 1 + int(rng.expovariate(1 / 2.5)))
        for _ in range(min(views, 15)):
            if random_() < 0.6:
                products, cum = self.by_category[focus]
            else:
                products, cum = self.products, self.product_cum
            product = products[bisect(cum, random_() * cum[-1])]
            add("view", product)
            if random_() < 0.35:
                add("click", product)
                if random_() < 0.35:
                    add("add_to_cart", product, product.price)
                    cart.append(product)
        if cart and random_() < 0.55:
            for product in cart:
                price = product.price
                if random_() < 0.15:  # a coupon at checkout
                    price = (price * Decimal("0.9")).quantize(CENT, ROUND_HALF_UP)
                add("purchase", product, price)
        return events

    def _sessions(self, rng: random.Random, day: date, count: int) -> list[_Event]:
        """At least `count` events of sessions started on `day`, in time order, cut to exactly `count`."""
        midnight = datetime(day.year, day.month, day.day)
        events: list[_Event] = []
        while len(events) < count:
            hour = bisect(_HOUR_CUM, rng.random() * _HOUR_CUM[-1])
            start = midnight + timedelta(milliseconds=hour * _MS_PER_HOUR + rng.randrange(_MS_PER_HOUR))
            events.extend(self._session(rng, start))
        events = events[:count]
        events.sort(key=lambda e: e.instant)
        return events

    # -- dirt ------------------------------------------------------------------------------------

    def _bad_event(self, rng: random.Random, day: date) -> _Event:
        kind, outcome = _BAD[self.bad_cursor % len(_BAD)]
        self.bad_cursor += 1
        self.bad[kind] += 1
        product = self.products[bisect(self.product_cum, rng.random() * self.product_cum[-1])]
        user = self.users[bisect(self.user_cum, rng.random() * self.user_cum[-1])]
        instant = datetime(day.year, day.month, day.day) + timedelta(milliseconds=rng.randrange(24 * _MS_PER_HOUR))
        event_type = "purchase" if kind.startswith(("price", "purchase")) else rng.choice(EVENT_TYPES[:3])
        price = product.price if event_type in ("purchase", "add_to_cart") else None
        event = self._event(rng, user, f"s_{rng.getrandbits(48):012x}", event_type, product, instant, price, False)
        event.outcome, event.key, event.kind, event.price = outcome, None, None, None
        obj = event.obj
        if kind == "broken_json":
            event.style = "broken"
        elif kind == "event_type_hover":
            obj["event_type"] = rng.choice(("hover", "HOVER", " scroll"))
        elif kind == "event_type_null":
            obj["event_type"] = None
        elif kind == "user_id_empty":
            obj["user_id"] = rng.choice(("", "   "))
        elif kind == "user_id_null":
            obj["user_id"] = None
        elif kind == "event_id_empty":
            obj["event_id"] = ""
        elif kind == "timestamp_hour_24":
            obj["event_timestamp"] = f"{day.isoformat()}T24:00:00Z"
        elif kind == "timestamp_text":
            obj["event_timestamp"] = "yesterday 10pm"
        elif kind == "timestamp_epoch_number":
            obj["event_timestamp"] = int(instant.timestamp())  # seconds since the epoch: not ISO-8601
        elif kind == "price_negative":
            obj["price"] = -float(product.price)
        elif kind == "price_text":
            obj["price"] = rng.choice(("free", "12,99", "$12.99"))
        elif kind == "price_three_decimals":
            obj["price"] = f"{product.price:.2f}5"
        elif kind == "purchase_without_price":
            obj.pop("price", None)
        else:  # purchase_price_null
            obj["price"] = None
        return event

    def _new_version(self, rng: random.Random, source: _Event) -> _Event:
        """The same event_id again with other values: later ingest wins; a fifth are invalid."""
        obj = dict(source.obj)
        obj.pop("price", None)
        timestamp = obj.pop("event_timestamp")
        price = source.price
        if source.kind in ("purchase", "add_to_cart") and source.price is not None:
            price = (source.price * Decimal("0.95")).quantize(CENT, ROUND_HALF_UP)
            self.planted["versions_price_restated"] += 1
        else:
            obj["session_id"] = f"s_{rng.getrandbits(48):012x}"  # a session stitched on afterwards
            self.planted["versions_session_stitched"] += 1
        if price is not None:
            obj["price"] = float(price)
        obj["event_timestamp"] = timestamp
        made = self.planted["versions_valid"] + self.planted["versions_invalid"]
        if made == 1 or (made > 1 and rng.random() < 0.2):  # the first is valid, the second not
            obj["price"] = -float(price or Decimal("1.00"))
            self.planted["versions_invalid"] += 1
            return _Event(obj, source.instant, "negative_price")
        self.planted["versions_valid"] += 1
        event = _Event(obj, source.instant, VALID, source.key, source.kind, price)
        self.latest[obj["event_id"]] = event
        return event

    # -- files -----------------------------------------------------------------------------------

    def day_file(self, index: int, prev: list[_Event], recent: list[str]) -> list[_Event]:
        day = self.start_date + timedelta(days=index)
        rng = random.Random(f"{self.seed}:{DATASET}:{day.isoformat()}")
        m = self.rows_per_day
        n_bad = max(4, round(m * 0.0008))
        n_exact = max(1, round(m * 0.005))
        n_versions = min(max(1, round(m * 0.001)), len(set(recent)))
        n_late = max(1, round(m * 0.005))
        n_midnight = max(1, round(m * 0.0002))
        n_base = m - n_bad - n_exact - n_versions

        # Sessions started just before midnight: they go on into the next UTC day.
        midnight_sessions: list[list[_Event]] = []
        for _ in range(n_midnight):
            start = datetime(day.year, day.month, day.day, 23, 52) + timedelta(seconds=rng.randrange(300))
            events = self._session(rng, start, min_events=6)
            while events[-1].instant.date() == day:  # too short to cross: one more look at the cart
                last = events[-1]
                events.append(self._event(rng, last.obj["user_id"], last.obj.get("session_id"), "view", None,
                                          last.instant + timedelta(minutes=3), None, "session_id" not in last.obj))
            midnight_sessions.append(events)
        self.planted["midnight_sessions"] += n_midnight
        late_sessions: list[list[_Event]] = []
        late = 0
        while late < n_late:
            back = day - timedelta(days=rng.randint(1, 3))
            start = datetime(back.year, back.month, back.day) + timedelta(hours=rng.randrange(6, 22))
            session = self._session(rng, start)[: n_late - late]
            late_sessions.append(session)
            late += len(session)
        self.planted["late_events"] += late
        planted_count = sum(len(s) for s in midnight_sessions) + late
        base = self._sessions(rng, day, n_base - planted_count)
        base.extend(e for s in midnight_sessions for e in s)
        base.sort(key=lambda e: e.instant)
        for session in late_sessions:  # uploaded late, in one piece
            pos = rng.randrange(len(base) + 1)
            base[pos:pos] = session
        for e in base:
            if e.key is not None:
                self.latest[e.key] = e

        size = len(base)
        after: list[list[_Event]] = [[] for _ in range(size)]
        versioned: set[str] = set()
        for _ in range(n_versions):
            key = rng.choice(recent)
            while key in versioned:
                key = rng.choice(recent)
            versioned.add(key)
            after[rng.randrange(size)].append(self._new_version(rng, self.latest[key]))
        redeliverable = [e for e in prev if e.outcome == VALID and e.key not in versioned]
        for _ in range(n_exact):
            mode = rng.random()
            # At least one in a run: the first chance is always taken.
            candidates = redeliverable if mode < 0.3 or not self.planted["identical_redeliveries_next_file"] else []
            if candidates:
                after[rng.randrange(size)].append(rng.choice(candidates))
                self.planted["identical_redeliveries_next_file"] += 1
                continue
            pos = rng.randrange(size)
            after[rng.randrange(pos, size)].append(base[pos])
            self.planted["identical_redeliveries_same_file"] += 1
        for _ in range(n_bad):
            after[rng.randrange(size)].append(self._bad_event(rng, day))
        records: list[_Event] = []
        for e, extra in zip(base, after, strict=True):
            records.append(e)
            records.extend(extra)
        assert len(records) == m
        return records


@without_gc
def plan_user_events(raw_dir: Path, days: int, rows_per_day: int, seed: int,
                     start_date: date = DEFAULT_START_DATE) -> Plan:
    """The files and summary of a run, computed in memory; nothing is written."""
    gen = _Generator(days, rows_per_day, seed, start_date)
    files: list[tuple[str, list[_Event], bool]] = []
    prev: list[_Event] = []
    recent: list[list[str]] = []
    for index in range(days):
        day = start_date + timedelta(days=index)
        keys = [k for ks in recent[-3:] for k in ks]
        prev = gen.day_file(index, prev, keys)
        recent.append([e.key for e in prev if e.outcome == VALID and e.key is not None
                       and (e.kind in ("purchase", "add_to_cart") or "session_id" not in e.obj
                            or e.obj["session_id"] is None)])
        array = index % 3 == 2
        files.append((f"{DATASET}/{day:%Y/%m}/{DATASET}_{day.isoformat()}.{'json' if array else 'jsonl'}", prev,
                      array))
    outputs = [Output(rel, render_json([(e.obj, e.style) for e in records], array), len(records),
                      ["json_array" if array else "jsonl"]) for rel, records, array in files]

    in_order = [e for _, records, _ in sorted(files, key=lambda f: f[0]) for e in records]
    winners: dict[str, _Event] = {}
    for e in in_order:
        if e.outcome == VALID and e.key is not None:
            winners[e.key] = e
    purchases = [e for e in winners.values() if e.kind == "purchase"]
    bad = dict(sorted(gen.bad.items()))
    planted = gen.planted
    written = [e for _, records, _ in files for e in records]
    valid = [e for e in written if e.outcome == VALID]
    summary = {
        "dataset": DATASET,
        "seed": seed,
        "start_date": start_date.isoformat(),
        "days": days,
        "rows_per_day": rows_per_day,
        "raw_dir": str(raw_dir),
        "files": [{"path": o.relpath, "records": o.records, "bytes": len(o.data), "features": o.features}
                  for o in outputs],
        "records_written": len(written),
        "planted": {
            "identical_redeliveries": planted["identical_redeliveries_same_file"]
            + planted["identical_redeliveries_next_file"],
            "identical_redeliveries_same_file": planted["identical_redeliveries_same_file"],
            "identical_redeliveries_next_file": planted["identical_redeliveries_next_file"],
            "later_versions": planted["versions_valid"] + planted["versions_invalid"],
            **{k: planted[k] for k in ("versions_valid", "versions_invalid", "versions_price_restated",
                                       "versions_session_stitched")},
            "late_events": planted["late_events"],
            "midnight_sessions": planted["midnight_sessions"],
            "sessions_without_session_id": planted["events_without_session_id_sessions"],
            "messy_event_type": sum(1 for e in valid if e.obj["event_type"] != e.kind),
            "offset_timestamps": sum(1 for e in valid if e.obj["event_timestamp"][-6:] in _OFFSETS),
            "bad_records": sum(bad.values()),
            "bad_records_by_kind": bad,
            "jsonl_files": sum(1 for *_, array in files if not array),
            "json_array_files": sum(1 for *_, array in files if array),
        },
        "expected": {
            **expected_counts([(e.outcome, e.key) for e in in_order]),
            "events_by_type": dict(sorted(Counter(e.kind for e in winners.values() if e.kind).items())),
            "revenue": str(sum((e.price for e in purchases if e.price is not None), Decimal("0.00"))),
        },
    }
    return Plan(raw_dir, outputs, {DATASET: summary})


def generate_user_events(raw_dir: Path, days: int, rows_per_day: int, seed: int,
                         start_date: date = DEFAULT_START_DATE) -> dict[str, dict[str, Any]]:
    """Write `days` daily user_events files of `rows_per_day` records each under `raw_dir/user_events/`.

    Returns {"user_events": summary}. Files that already exist with the same bytes are left alone; an
    existing file with other content raises FileExistsError before anything is written.
    """
    plan = plan_user_events(raw_dir, days, rows_per_day, seed, start_date)
    plan.write()
    return plan.summaries
