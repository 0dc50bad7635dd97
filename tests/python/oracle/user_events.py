"""Reference implementation of the user_events rules: raw JSON -> quarantine -> silver -> gold.

Independent of the pipeline; it reuses the sales oracle's readers and value parsers (the same ingest
and value rules: see `tests.python.oracle.sales`, rules 1-3), and is as plain and slow as it can be.

The rules:

1. Ingest as for customers: `*.json` (one document) and `*.jsonl` (one object a line) files, batch
   after batch, each batch in path order; broken lines and non-objects are quarantined; a file in
   which no object has a required key (event_id, user_id, event_type, event_timestamp) is
   quarantined whole.
2. silver.user_events (key event_id). Rejected for the first rule broken, in this order:
   missing_event_id; missing_user_id; invalid_event_type (trimmed and lower-cased, one of view,
   click, add_to_cart, purchase; null is invalid); invalid_event_timestamp (ISO-8601 -> event_at in
   UTC, event_date its UTC date); invalid_price and negative_price (price is optional: null, a
   missing key or empty text is no price; otherwise a decimal(18,2), at most 2 decimals written,
   >= 0); missing_purchase_price (a purchase without a price). Optional strings (session_id,
   product_id, category) are trimmed, empty -> null. Of the valid records of an event_id the LATEST
   in ingest order wins (a later batch; within a batch the last in path/record order); identical
   repeats are one event; a rejected record never replaces a valid one.
3. Gold. `as_of_date` defaults to the greatest event_date in silver.
   user_features, per user_id over the events dated on or before as_of_date: view_count,
   click_count, cart_count (add_to_cart), purchase_count, total_spend (sum of purchase prices,
   0.00 when none), first_event_at, last_event_at, last_event_type (of the latest event; ties: the
   smallest event_id), days_since_last_event = as_of_date - date(last_event_at), as_of_date.
   user_days, per (event_date, user_id) with events: the same counts, total_spend, first_event_at,
   last_event_at and last_event_type, over that day's events only (every date, whatever as_of_date).
   conversion_funnel, per (event_date, product_id) of events with a product and at least one
   view, add_to_cart or purchase: views, carts, purchases, view_to_cart_rate = carts / views,
   cart_to_purchase_rate = purchases / carts (None when the denominator is 0).
   hourly_revenue, per (event_date, event_hour UTC) with a purchase: purchases, revenue.
   top_products, per event_date: the 10 products with the most views (only products viewed at
   least once), ties to the smaller product_id, product_rank 1-10.
   category_performance, per (event_date, category) of events with a category: views, clicks,
   carts, purchases, revenue (of the purchases).
   user_activity, per event_date: active_users (distinct user_id), sessions (distinct non-null
   session_id that day: a session spanning midnight counts on both dates), events.
   Additive measures are 0, not null; money is Decimal with 2 places; rates are unrounded floats.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from tests.python.oracle.sales import (
    JSON_SUFFIXES,
    ZERO,
    Accounting,
    RawRecord,
    dataset_files,
    ingest,
    ingest_order,
    latest_valid,
    parse_decimal,
    parse_timestamp,
    text,
    trim,
)

COLUMNS: tuple[str, ...] = (
    "event_id", "user_id", "session_id", "event_type", "product_id", "category", "price", "event_timestamp",
)
REQUIRED: tuple[str, ...] = ("event_id", "user_id", "event_type", "event_timestamp")
EVENT_TYPES: tuple[str, ...] = ("view", "click", "add_to_cart", "purchase")
REASONS: tuple[str, ...] = (
    "missing_event_id", "missing_user_id", "invalid_event_type", "invalid_event_timestamp", "invalid_price",
    "negative_price", "missing_purchase_price",
)
TOP_N = 10


def validate(raw: RawRecord) -> tuple[dict[str, Any] | None, str | None]:
    """(silver row, None) for a valid event, or (None, the reason of the first rule it breaks)."""
    event_id = text(raw.get("event_id"))
    if event_id is None:
        return None, "missing_event_id"
    user_id = text(raw.get("user_id"))
    if user_id is None:
        return None, "missing_user_id"
    event_type = trim(raw.get("event_type"))
    event_type = event_type.lower() if event_type is not None else None
    if event_type not in EVENT_TYPES:
        return None, "invalid_event_type"
    event_at = parse_timestamp(raw.get("event_timestamp"))
    if event_at is None:
        return None, "invalid_event_timestamp"
    price: Decimal | None = None
    if text(raw.get("price")) is not None:
        price = parse_decimal(raw.get("price"))
        if price is None:
            return None, "invalid_price"
        if price < 0:
            return None, "negative_price"
    if event_type == "purchase" and price is None:
        return None, "missing_purchase_price"
    return {
        "event_id": event_id,
        "user_id": user_id,
        "session_id": text(raw.get("session_id")),
        "event_type": event_type,
        "product_id": text(raw.get("product_id")),
        "category": text(raw.get("category")),
        "price": price,
        "event_at": event_at,
        "event_date": event_at.date(),
    }, None


def user_features(events: Iterable[dict[str, Any]], as_of_date: date | None) -> list[dict[str, Any]]:
    if as_of_date is None:
        return []
    by_user: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for e in events:
        if e["event_date"] <= as_of_date:
            by_user[e["user_id"]].append(e)
    out = []
    for user_id, rows in sorted(by_user.items()):
        last_at = max(e["event_at"] for e in rows)
        last = min((e for e in rows if e["event_at"] == last_at), key=lambda e: e["event_id"])

        def count(event_type: str, rows: list[dict[str, Any]] = rows) -> int:
            return sum(1 for e in rows if e["event_type"] == event_type)

        out.append({
            "user_id": user_id,
            "view_count": count("view"),
            "click_count": count("click"),
            "cart_count": count("add_to_cart"),
            "purchase_count": count("purchase"),
            "total_spend": sum((e["price"] for e in rows if e["event_type"] == "purchase"), ZERO),
            "first_event_at": min(e["event_at"] for e in rows),
            "last_event_at": last_at,
            "last_event_type": last["event_type"],
            "days_since_last_event": (as_of_date - last_at.date()).days,
            "as_of_date": as_of_date,
        })
    return out


def user_days(events: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    by_day: dict[tuple[date, str], list[dict[str, Any]]] = defaultdict(list)
    for e in events:
        by_day[(e["event_date"], e["user_id"])].append(e)
    out = []
    for (event_date, user_id), rows in sorted(by_day.items()):
        last_at = max(e["event_at"] for e in rows)
        last = min((e for e in rows if e["event_at"] == last_at), key=lambda e: e["event_id"])
        out.append({
            "event_date": event_date,
            "user_id": user_id,
            "view_count": sum(1 for e in rows if e["event_type"] == "view"),
            "click_count": sum(1 for e in rows if e["event_type"] == "click"),
            "cart_count": sum(1 for e in rows if e["event_type"] == "add_to_cart"),
            "purchase_count": sum(1 for e in rows if e["event_type"] == "purchase"),
            "total_spend": sum((e["price"] for e in rows if e["event_type"] == "purchase"), ZERO),
            "first_event_at": min(e["event_at"] for e in rows),
            "last_event_at": last_at,
            "last_event_type": last["event_type"],
        })
    return out


def conversion_funnel(events: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    counts: dict[tuple[date, str], dict[str, int]] = defaultdict(lambda: {"view": 0, "add_to_cart": 0, "purchase": 0})
    for e in events:
        if e["product_id"] is not None and e["event_type"] in ("view", "add_to_cart", "purchase"):
            counts[(e["event_date"], e["product_id"])][e["event_type"]] += 1
    out = []
    for (event_date, product_id), c in sorted(counts.items()):
        views, carts, purchases = c["view"], c["add_to_cart"], c["purchase"]
        out.append({"event_date": event_date, "product_id": product_id, "views": views, "carts": carts,
                    "purchases": purchases, "view_to_cart_rate": carts / views if views else None,
                    "cart_to_purchase_rate": purchases / carts if carts else None})
    return out


def hourly_revenue(events: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    groups: dict[tuple[date, int], list[Decimal]] = defaultdict(list)
    for e in events:
        if e["event_type"] == "purchase":
            groups[(e["event_date"], e["event_at"].hour)].append(e["price"])
    return [{"event_date": d, "event_hour": h, "purchases": len(prices), "revenue": sum(prices, ZERO)}
            for (d, h), prices in sorted(groups.items())]


def top_products(events: Iterable[dict[str, Any]], n: int = TOP_N) -> list[dict[str, Any]]:
    views: dict[date, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for e in events:
        if e["event_type"] == "view" and e["product_id"] is not None:
            views[e["event_date"]][e["product_id"]] += 1
    out = []
    for event_date, per_product in sorted(views.items()):
        ranked = sorted(per_product.items(), key=lambda item: (-item[1], item[0]))[:n]
        out.extend({"event_date": event_date, "product_rank": rank, "product_id": product_id, "views": count}
                   for rank, (product_id, count) in enumerate(ranked, start=1))
    return out


def category_performance(events: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    groups: dict[tuple[date, str], dict[str, Any]] = {}
    for e in events:
        if e["category"] is None:
            continue
        g = groups.setdefault((e["event_date"], e["category"]),
                              {"view": 0, "click": 0, "add_to_cart": 0, "purchase": 0, "revenue": ZERO})
        g[e["event_type"]] += 1
        if e["event_type"] == "purchase":
            g["revenue"] += e["price"]
    return [{"event_date": d, "category": c, "views": g["view"], "clicks": g["click"], "carts": g["add_to_cart"],
             "purchases": g["purchase"], "revenue": g["revenue"]} for (d, c), g in sorted(groups.items())]


def user_activity(events: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    users: dict[date, set[str]] = defaultdict(set)
    sessions: dict[date, set[str]] = defaultdict(set)
    counts: dict[date, int] = defaultdict(int)
    for e in events:
        users[e["event_date"]].add(e["user_id"])
        if e["session_id"] is not None:
            sessions[e["event_date"]].add(e["session_id"])
        counts[e["event_date"]] += 1
    return [{"event_date": d, "active_users": len(users[d]), "sessions": len(sessions[d]), "events": counts[d]}
            for d in sorted(counts)]


@dataclass(frozen=True)
class Result:
    """What the rules make of the ingested files.

    `silver_user_events`: dicts with event_id, user_id, session_id, event_type, product_id, category
    (str or None), price (Decimal or None), event_at (tz-aware UTC datetime), event_date, sorted by
    event_id. The gold lists are sorted by their grain.
    """

    user_events: Accounting
    silver_user_events: list[dict[str, Any]]
    as_of_date: date | None
    user_features: list[dict[str, Any]]
    user_days: list[dict[str, Any]]
    conversion_funnel: list[dict[str, Any]]
    hourly_revenue: list[dict[str, Any]]
    top_products: list[dict[str, Any]]
    category_performance: list[dict[str, Any]]
    user_activity: list[dict[str, Any]]


def compute(batches: Sequence[Iterable[Path]], *, as_of_date: date | None = None,
            root: Path | None = None) -> Result:
    """Apply the rules to the `.json`/`.jsonl` files of `batches`, ingested batch after batch.

    `as_of_date` defaults to the greatest event_date in silver; `root` only shortens the names in
    quarantined_files.
    """
    files = ingest_order(batches)
    unknown = [p for p in files if p.suffix not in JSON_SUFFIXES]
    if unknown:
        raise ValueError(f"not user_events files (.json, .jsonl): {unknown}")
    records, raw, quarantined, quarantined_files = ingest(files, COLUMNS, REQUIRED, root)
    winners, accounting = latest_valid(records, validate, "event_id", "user_events", raw, quarantined,
                                       quarantined_files)
    silver = [winners[k] for k in sorted(winners)]
    if as_of_date is None and silver:
        as_of_date = max(e["event_date"] for e in silver)
    return Result(
        user_events=accounting,
        silver_user_events=silver,
        as_of_date=as_of_date,
        user_features=user_features(silver, as_of_date),
        user_days=user_days(silver),
        conversion_funnel=conversion_funnel(silver),
        hourly_revenue=hourly_revenue(silver),
        top_products=top_products(silver),
        category_performance=category_performance(silver),
        user_activity=user_activity(silver),
    )


def compute_dir(raw_dir: Path, *, as_of_date: date | None = None) -> Result:
    """All files of `raw_dir/user_events` in one batch; `raw_dir` is the lake's raw folder ($LAKE_ROOT/raw)."""
    raw_dir = Path(raw_dir)
    return compute([dataset_files(raw_dir / "user_events", JSON_SUFFIXES)], as_of_date=as_of_date, root=raw_dir)
