"""Deterministic generator of raw `sales_transactions` (CSV) and `customers` (JSON) files, together.

The two datasets reference each other (a sale names a customer), so they are generated as one world:

* A fixed product catalog (categories, Zipf popularity that depends on the seed) shared with the
  `user_events` generator, stores in regions and cities, and a pool of customers with a loyalty tier,
  an age group and a buying rate (a few heavy buyers, many occasional ones, some who stopped buying).
* `sales_transactions`: an initial load (a backfill of the HISTORY_DAYS before the start, so that
  customer segments have a history), then one file a day,
  `raw/sales_transactions/YYYY/MM/sales_transactions_YYYY-MM-DD.csv`, with `rows_per_day // 4`
  records (at least 25), dirt included.
* `customers`: an initial snapshot (`customers_YYYY-MM-DD_snapshot.jsonl`), then one change file a
  day (`customers_YYYY-MM-DD.jsonl`, or a pretty-printed JSON array `.json` every third day) with
  sign-ups, tier upgrades and name fixes, each with its `updated_at`.

The initial load (backfill and snapshot) is dated by the anchor `min(start_date, DEFAULT_START_DATE)`
and depends only on the seed, the anchor and `rows_per_day`: a run for a later date range writes the
same bytes under the same names (left alone), and new daily files under new names.

Dirt planted, every kind counted in the summary (see `_BAD_SALES` and `_BAD_CUSTOMERS` for the rows
the rules reject or quarantine):

* sales: exact duplicate rows (in the file, or yesterday's row again), corrections (a transaction
  re-delivered in a later file with another quantity or price; a quarter of them invalid, so the
  earlier record must stay), late transactions (dated 1-7 days before the file), transaction dates
  written as timestamps (with an offset: converted to UTC, then cut to the date), totals 0.01 off
  (valid) and further off (rejected), unknown customers, padded values, quoted product names, CRLF.
* customers: identical duplicate records, an out-of-order update every day (an older `updated_at`
  delivered later: it must not win), invalid records, broken JSON lines (or, in JSON arrays,
  double-encoded objects: strings, not objects), messy names fixed later, non-ASCII names.

`expected` in each summary states what the product rules must make of this run's files, ingested in
one batch in path order, worked out from what was planted rather than by parsing the files back.
Only the standard library is used.
"""

from __future__ import annotations

import csv
import functools
import gc
import io
import json
import math
import random
from bisect import bisect
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from itertools import accumulate
from pathlib import Path
from typing import Any

from sample_data.common import csv_quote, pad, render_timestamp, write_atomically
from sample_data.web_logs import DEFAULT_START_DATE, MIN_ROWS_PER_DAY

SALES = "sales_transactions"
CUSTOMERS = "customers"
SALES_COLUMNS: tuple[str, ...] = (
    "transaction_id", "transaction_date", "store_id", "store_name", "city", "region", "product_id",
    "product_name", "category", "customer_id", "quantity", "unit_price", "total_amount", "payment_method",
)
CUSTOMER_COLUMNS: tuple[str, ...] = (
    "customer_id", "customer_name", "age_group", "membership_tier", "signup_date", "updated_at",
)
HISTORY_DAYS = 90
MIN_SALES_PER_DAY = 25

VALID = "valid"
QUARANTINED = "quarantined"
CENT = Decimal("0.01")

(_ID, _DATE, _STORE, _STORE_NAME, _CITY, _REGION, _PRODUCT, _PRODUCT_NAME, _CATEGORY, _CUSTOMER, _QTY, _PRICE,
 _TOTAL, _PAYMENT) = range(14)


# -- shared with the user_events generator ---------------------------------------------------------


@dataclass(frozen=True)
class Product:
    product_id: str
    name: str
    category: str
    price: Decimal


# (category, price range, products). Names with commas and quotes make the CSV writer quote them.
_CATEGORIES: tuple[tuple[str, float, float, tuple[str, ...]], ...] = (
    ("Electronics", 15, 900, ("Wireless Headphones", "Bluetooth Speaker", 'Monitor 27"', "USB-C Cable, 2m",
                              "Smartwatch", 'Tablet 10"', "Mechanical Keyboard", "Wireless Mouse",
                              "Power Bank 20000mAh", "HD Webcam")),
    ("Home & Kitchen", 6, 250, ("Chef's Knife 8\"", "Frying Pan, 28cm", "Coffee Maker", "Blender", "Towel Set",
                                "Desk Lamp", "Storage Box", "Electric Kettle")),
    ("Grocery", 1.5, 30, ("Coffee Beans 1kg", "Olive Oil", "Pasta, Penne 500g", "Green Tea", "Dark Chocolate",
                          "Granola", "Honey", "Basmati Rice")),
    ("Clothing", 8, 160, ("T-Shirt", "Slim Jeans", "Hoodie", "Sneakers", "Rain Jacket", "Socks, 3-pack",
                          "Wool Scarf")),
    ("Sports & Outdoors", 6, 400, ("Yoga Mat", "Dumbbells, 2x5kg", "Water Bottle", "2-Person Tent",
                                   "Bike Helmet", "Running Belt")),
    ("Beauty", 3, 90, ("Shampoo", "Face Cream", "Lip Balm", "Sunscreen SPF 50", "Eau de Parfum")),
    ("Toys", 5, 120, ("Building Blocks", "Puzzle 1000 pcs", "Plush Bear", "RC Car", "Board Game")),
    ("Books", 5, 45, ("Cookbook", "Crime Novel", "Travel Guide", "Children's Picture Book", "Notebook A5")),
)
_BRANDS = ("Acme", "Nordic", "Urban", "Vertex", "Lumen", "Orbit", "Kestrel", "Maple", "Zenith", "Harbor",
           "Pico", "Solace")


def _build_catalog() -> tuple[Product, ...]:
    rng = random.Random("sample_data:catalog")
    count = sum(len(names) for *_, names in _CATEGORIES) * 3
    ids = iter(rng.sample(range(10_000, 100_000), count))
    products = []
    for category, lo, hi, names in _CATEGORIES:
        for name in names:
            for brand in rng.sample(_BRANDS, 3):
                base = math.exp(rng.uniform(math.log(lo), math.log(hi)))
                if base < 20:
                    price = Decimal(max(1, round(base * 2))) / 2 - CENT  # 4.49, 4.99
                elif base < 200:
                    price = Decimal(round(base)) - CENT  # 24.99
                else:
                    price = Decimal(round(base, -1)) - CENT  # 329.99
                products.append(Product(f"P{next(ids):05d}", f"{brand} {name}", category, price))
    return tuple(products)


CATALOG: tuple[Product, ...] = _build_catalog()


def product_popularity(seed: int) -> tuple[list[Product], list[float]]:
    """The catalog in this seed's order of popularity, and cumulative weights 1/rank**1.1 (Zipf)."""
    order = list(CATALOG)
    random.Random(f"{seed}:catalog:popularity").shuffle(order)
    return order, list(accumulate(1 / rank**1.1 for rank in range(1, len(order) + 1)))






def money_text(value: Decimal, rng: random.Random | None = None) -> str:
    """`12.50`; with `rng`, now and then the shortest form (`12.5`, `12`), which is as valid."""
    if rng is not None and rng.random() < 0.03:
        if value == value.to_integral_value():
            return str(int(value))
        if (value * 10) == (value * 10).to_integral_value():
            return f"{value:.1f}"
    return f"{value:.2f}"




@dataclass
class Output:
    """One file to write: its path under raw/, its bytes, and what the summary says about it."""

    relpath: str
    data: bytes
    records: int
    features: list[str] = field(default_factory=list)


@dataclass
class Plan:
    """Files computed in memory, checked for conflicts before anything is written, then written."""

    raw_dir: Path
    outputs: list[Output]
    summaries: dict[str, dict[str, Any]]

    def conflicts(self) -> list[str]:
        return [o.relpath for o in self.outputs
                if (self.raw_dir / o.relpath).exists() and (self.raw_dir / o.relpath).read_bytes() != o.data]

    def check(self) -> None:
        conflicts = self.conflicts()
        if conflicts:
            raise FileExistsError(f"refusing to overwrite raw files with other content: {', '.join(conflicts)}")

    def write(self) -> None:
        """Write the files that do not exist yet (same-bytes files are left alone), atomically."""
        self.check()
        for o in self.outputs:
            path = self.raw_dir / o.relpath
            if not path.exists():
                write_atomically(path, o.data)




def without_gc(function: Callable[..., Any]) -> Callable[..., Any]:
    """Pause the cyclic garbage collector meanwhile: hundreds of thousands of small acyclic objects."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            return function(*args, **kwargs)
        finally:
            if was_enabled:
                gc.enable()

    return wrapper


def check_arguments(days: int, rows_per_day: int) -> None:
    if days < 1:
        raise ValueError(f"days must be >= 1, got {days}")
    if rows_per_day < MIN_ROWS_PER_DAY:
        raise ValueError(f"rows_per_day must be >= {MIN_ROWS_PER_DAY}, got {rows_per_day}")


def expected_counts(records: Sequence[tuple[str, str | None]]) -> dict[str, Any]:
    """What the product rules make of (outcome, key) records: the summary's `expected` counts."""
    outcomes = Counter(outcome for outcome, _ in records)
    keys = {key for outcome, key in records if outcome == VALID}
    return {
        "raw_records": len(records),
        "quarantined": outcomes[QUARANTINED],
        "rejected": dict(sorted((k, v) for k, v in outcomes.items() if k not in (VALID, QUARANTINED))),
        "duplicates_removed": outcomes[VALID] - len(keys),
        "silver_rows": len(keys),
    }


# -- world: stores, customers ----------------------------------------------------------------------

_REGIONS: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = (
    ("North", (("Seattle", "-08:00"), ("Portland", "-08:00"), ("Minneapolis", "-06:00"))),
    ("South", (("Houston", "-06:00"), ("Atlanta", "-05:00"), ("Miami", "-05:00"))),
    ("East", (("New York", "-05:00"), ("Boston", "-05:00"), ("Philadelphia", "-05:00"))),
    ("West", (("Los Angeles", "-08:00"), ("San Francisco", "-08:00"), ("Phoenix", "-07:00"))),
    ("Central", (("Chicago", "-06:00"), ("Denver", "-07:00"), ("Kansas City", "-06:00"))),
)
_STORE_SUFFIXES = ("Downtown", "Mall", "Airport", "Outlet", "Riverside", "Station", "Plaza")
_PAYMENTS = (("credit_card", 45), ("debit_card", 25), ("cash", 14), ("mobile_wallet", 13), ("gift_card", 2),
             ("", 1))
_PAYMENT_NAMES = [p for p, _ in _PAYMENTS]
_PAYMENT_CUM = list(accumulate(w for _, w in _PAYMENTS))
# Sales an hour (UTC) for US stores open 9-21 local time.
_SALES_HOUR_CUM = list(accumulate((9, 7, 5, 3, 2, 1, 1, 1, 1, 1, 1, 1, 1, 2, 4, 6, 8, 9, 10, 10, 10, 10, 10, 10)))

_FIRST_NAMES = (
    "James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David", "Elizabeth",
    "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah", "Carlos", "Karen",
    "Daniel", "Lisa", "Matthew", "Nancy", "Anthony", "Betty", "Mark", "Sandra", "José", "María", "Zoë",
    "Chloé", "Søren", "Łukasz", "Aoife", "Hiroshi", "Mei", "Priya", "Arjun", "Fatima", "Omar", "Ngozi",
    "Kwame", "Ingrid", "Björn", "Élodie", "François", "Anya", "Dmitri", "Sofia", "Lucas", "Emma", "Noah",
    "Olivia", "Liam", "Ava", "Mateo", "Isabella", "Wei", "Yuki",
)
_LAST_NAMES = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez",
    "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin",
    "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez", "Clark", "Ramirez", "Lewis", "Robinson",
    "Walker", "Young", "Allen", "King", "Wright", "O'Brien", "Müller", "Núñez", "Nguyen", "Kim", "Patel",
    "Singh", "Chen", "Wang", "Kowalski", "Johansson", "Schmidt", "Rossi", "Dubois", "Okafor", "Mensah",
    "Ivanova", "Smith-Jones", "van der Berg", "MacDonald", "Yamamoto", "Tanaka", "Cohen", "Haddad", "Petrov",
)
_AGE_GROUPS = (("18-24", 12), ("25-34", 24), ("35-44", 22), ("45-54", 18), ("55-64", 14), ("65+", 10))
TIERS = ("bronze", "silver", "gold", "platinum")
_TIER_WEIGHTS = (55, 28, 13, 4)
# How updated_at is written: (separator, timespec, zone, weight).
_UPDATED_FORMATS = (("T", "seconds", "Z", 50), ("T", "microseconds", "Z", 15), (" ", "seconds", "", 10),
                    ("T", "seconds", "+00:00", 10), ("T", "seconds", "-05:00", 10), ("T", "milliseconds", "+02:00", 5))
_UPDATED_CUM = list(accumulate(f[3] for f in _UPDATED_FORMATS))


@dataclass
class _Store:
    store_id: str
    name: str
    city: str
    region: str
    zone: str


@dataclass
class _Customer:
    customer_id: str
    name: str  # the right name
    shown_name: str  # the name the CRM holds now (messy until fixed)
    age_group: str | None
    tier: str
    signup: date
    updated_at: datetime  # of the latest version delivered (naive UTC)
    rate: float  # relative buying rate
    churn: date | None  # no purchases from this day on
    previous_tier: str | None = None


def _messy(rng: random.Random, name: str) -> str:
    first, _, rest = name.partition(" ")
    kind = rng.randrange(4)
    if kind == 0:
        return name.upper()
    if kind == 1:
        return name.lower()
    if kind == 2:
        return f"{first}  {rest}"
    if len(first) >= 3:  # a typo: two letters swapped
        i = rng.randrange(1, len(first) - 1)
        return f"{first[:i]}{first[i + 1]}{first[i]}{first[i + 2:]} {rest}"
    return name.upper()


# -- records ----------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Sale:
    """A CSV record: delivered text in SALES_COLUMNS order, and what the rules make of it."""

    fields: list[str]
    outcome: str = VALID
    key: str | None = None
    amount: Decimal | None = None  # total_amount of a valid record
    day: date | None = None  # transaction date of a valid record
    style: str = ""  # too_few_fields / too_many_fields


@dataclass(slots=True)
class _CustomerRecord:
    """A JSON record (an object, or a broken rendering of one) and what the rules make of it."""

    obj: dict[str, Any]
    outcome: str = VALID
    key: str | None = None
    updated_at: datetime | None = None
    tier: str | None = None
    style: str = ""  # broken: a truncated line (.jsonl) or a double-encoded object (.json)


# Invalid sales rows: (kind, outcome, column changed, value). Ordered so that the first fifteen cover
# every outcome: even 3 days of 5 give each reason once.
_BAD_SALES: tuple[tuple[str, str, int | None, str], ...] = (
    ("too_many_fields", QUARANTINED, None, ""),
    ("quantity_decimal", "invalid_quantity", _QTY, "2.5"),
    ("transaction_id_empty", "missing_transaction_id", _ID, ""),
    ("transaction_date_feb_30", "invalid_transaction_date", _DATE, "{year}-02-30"),
    ("quantity_zero", "non_positive_quantity", _QTY, "0"),
    ("unit_price_negative", "negative_unit_price", _PRICE, "-{price}"),
    ("amount_mismatch", "amount_mismatch", _TOTAL, "<mismatch>"),
    ("store_id_empty", "missing_store_id", _STORE, ""),
    ("region_blank", "missing_region", _REGION, "  "),
    ("product_id_empty", "missing_product_id", _PRODUCT, ""),
    ("customer_id_empty", "missing_customer_id", _CUSTOMER, ""),
    ("unit_price_three_decimals", "invalid_unit_price", _PRICE, "{price}5"),
    ("total_amount_text", "invalid_total_amount", _TOTAL, "N/A"),
    ("total_amount_negative", "negative_total_amount", _TOTAL, "-{total}"),
    ("too_few_fields", QUARANTINED, None, ""),
    ("quantity_abc", "invalid_quantity", _QTY, "abc"),
    ("quantity_negative", "non_positive_quantity", _QTY, "-1"),
    ("transaction_date_text", "invalid_transaction_date", _DATE, "31/11/{year}"),
    ("unit_price_currency", "invalid_unit_price", _PRICE, "${price}"),
    ("transaction_id_blank", "missing_transaction_id", _ID, "   "),
)

# Invalid customer records: (kind, outcome). Ordered so that two days of two cover every outcome.
_BAD_CUSTOMERS: tuple[tuple[str, str], ...] = (
    ("broken_json", QUARANTINED),
    ("customer_id_empty", "missing_customer_id"),
    ("updated_at_hour_25", "invalid_updated_at"),
    ("signup_date_slashes", "invalid_signup_date"),
    ("customer_id_null", "missing_customer_id"),
    ("updated_at_text", "invalid_updated_at"),
    ("signup_date_feb_30", "invalid_signup_date"),
)


class _Generator:
    def __init__(self, days: int, rows_per_day: int, seed: int, start_date: date) -> None:
        check_arguments(days, rows_per_day)
        self.days = days
        self.rows_per_day = rows_per_day
        self.seed = seed
        self.start_date = start_date
        self.anchor = min(start_date, DEFAULT_START_DATE)
        self.sales_per_day = max(MIN_SALES_PER_DAY, rows_per_day // 4)
        self.n_customers = min(5_000, max(200, rows_per_day // 4))
        self.planted: Counter[str] = Counter()
        self.bad_sales: Counter[str] = Counter()
        self.bad_customers: Counter[str] = Counter()
        self.bad_sales_cursor = 0
        self.bad_customers_cursor = 0
        self.products, self.product_cum = product_popularity(seed)
        self.comma_products = [p for p in self.products if "," in p.name]
        self.txn_ids: set[str] = set()
        self.latest: dict[str, _Sale] = {}  # transaction_id -> its latest valid record so far
        self._build_world()

    # -- world -----------------------------------------------------------------------------------

    def _build_world(self) -> None:
        # Depends on the seed, the anchor and the pool size only: the initial load is the same for
        # any run with that anchor.
        rng = random.Random(f"{self.seed}:{CUSTOMERS}:pool:{self.anchor.isoformat()}:{self.n_customers}")
        self.stores: list[_Store] = []
        number = 100
        for region, cities in _REGIONS:
            for city, zone in cities:
                for suffix in rng.sample(_STORE_SUFFIXES, rng.choice((1, 1, 2))):
                    number += rng.randrange(1, 9)
                    self.stores.append(_Store(f"S{number}", f"{city} {suffix}", city, region, zone))
        self.store_cum = list(accumulate(rng.lognormvariate(0, 0.5) for _ in self.stores))

        anchor_dt = datetime(self.anchor.year, self.anchor.month, self.anchor.day)
        self.customers: dict[str, _Customer] = {}
        self.used_ids: set[int] = set()
        for n in rng.sample(range(100_000, 900_000), self.n_customers):
            self.used_ids.add(n)
            name = f"{rng.choice(_FIRST_NAMES)} {rng.choice(_LAST_NAMES)}"
            signup = self.anchor - timedelta(days=20 + int(1_500 * rng.random() ** 1.5))
            span = (anchor_dt - datetime(signup.year, signup.month, signup.day)).total_seconds() - 86_400
            updated = datetime(signup.year, signup.month, signup.day) + timedelta(seconds=int(rng.random() * span))
            churn = self.anchor - timedelta(days=rng.randint(40, 85)) if rng.random() < 0.18 else None
            cid = f"C{n:06d}"
            self.customers[cid] = _Customer(
                cid, name, _messy(rng, name) if rng.random() < 0.06 else name,
                rng.choices([a for a, _ in _AGE_GROUPS], [w for _, w in _AGE_GROUPS])[0] if rng.random() < 0.97
                else None,
                rng.choices(TIERS, _TIER_WEIGHTS)[0], signup, updated, rng.lognormvariate(0, 1.4), churn)
        self.snapshot_ids = list(self.customers)
        self.unknown = [f"C{n:06d}" for n in rng.sample(range(900_000, 1_000_000), max(20, self.n_customers // 40))]
        self.unknown_cum = list(accumulate(1 / rank for rank in range(1, len(self.unknown) + 1)))
        self._eligible_cache: dict[tuple[date, int], tuple[list[str], list[float]]] = {}

    def _eligible(self, day: date) -> tuple[list[str], list[float]]:
        """Customers who may buy on `day` (signed up, not churned), and cumulative buying rates."""
        key = (day, len(self.customers))
        if key not in self._eligible_cache:
            ids = [c.customer_id for c in self.customers.values()
                   if c.signup <= day and (c.churn is None or day < c.churn)]
            self._eligible_cache[key] = ids, list(accumulate(self.customers[i].rate for i in ids))
        return self._eligible_cache[key]

    # -- sales -----------------------------------------------------------------------------------

    def _txn_id(self, rng: random.Random, day: date) -> str:
        while True:
            txn = f"TX-{day:%Y%m%d}-{rng.getrandbits(32):08X}"
            if txn not in self.txn_ids:
                self.txn_ids.add(txn)
                return txn

    def _sale(self, rng: random.Random, day: date) -> _Sale:
        """A clean sale on `day` (UTC)."""
        random_ = rng.random
        store = self.stores[bisect(self.store_cum, random_() * self.store_cum[-1])]
        product = self.products[bisect(self.product_cum, random_() * self.product_cum[-1])]
        if random_() < 0.035:
            customer = self.unknown[bisect(self.unknown_cum, random_() * self.unknown_cum[-1])]
            self.planted["unknown_customer_rows"] += 1
        else:
            ids, cum = self._eligible(day)
            customer = ids[bisect(cum, random_() * cum[-1])]
        if product.category == "Grocery" and random_() < 0.1:
            quantity = rng.randint(6, 12)
        else:
            quantity = rng.choices((1, 2, 3, 4, 5), (55, 25, 10, 6, 4))[0]
        price = product.price
        if random_() < 0.12:  # a promotion
            price = (price * (1 - Decimal(rng.choice((10, 15, 20, 25))) / 100)).quantize(CENT, ROUND_HALF_UP)
        total = quantity * price
        seconds = (bisect(_SALES_HOUR_CUM, random_() * _SALES_HOUR_CUM[-1]) * 3600 + rng.randrange(3600))
        instant = datetime(day.year, day.month, day.day) + timedelta(seconds=seconds)
        r = random_()
        if r < 0.93:
            day_text = day.isoformat()
        elif r < 0.97:  # the till's local time with its offset: maybe the day before, in local time
            day_text = render_timestamp(instant, "T", "seconds", store.zone)
            self.planted["transaction_date_offset_timestamps"] += 1
        elif r < 0.99:
            day_text = render_timestamp(instant, " ", "seconds", "")
            self.planted["transaction_date_timestamps"] += 1
        else:
            day_text = render_timestamp(instant, "T", "milliseconds", "Z")
            self.planted["transaction_date_timestamps"] += 1
        payment = _PAYMENT_NAMES[bisect(_PAYMENT_CUM, random_() * _PAYMENT_CUM[-1])]
        fields = [self._txn_id(rng, day), day_text, store.store_id, store.name, store.city, store.region,
                  product.product_id, product.name, product.category, customer, str(quantity),
                  money_text(price, rng), money_text(total, rng), payment]
        return _Sale(fields, VALID, fields[_ID], total, day)

    def backfill(self) -> list[_Sale]:
        """The initial load: HISTORY_DAYS before the anchor, lighter than the daily volume, clean."""
        rng = random.Random(f"{self.seed}:{SALES}:backfill:{self.anchor.isoformat()}:{self.sales_per_day}")
        first = self.anchor - timedelta(days=HISTORY_DAYS)
        per_day = max(5, self.sales_per_day * 5 // HISTORY_DAYS)
        records = []
        for offset in range(HISTORY_DAYS):
            day = first + timedelta(days=offset)
            for _ in range(per_day):
                rec = self._sale(rng, day)
                records.append(rec)
                self.latest[rec.fields[_ID]] = rec
        self.planted["backfill_rows"] = len(records)
        return records

    def _bad_sale(self, rng: random.Random, day: date) -> _Sale:
        kind, outcome, column, value = _BAD_SALES[self.bad_sales_cursor % len(_BAD_SALES)]
        self.bad_sales_cursor += 1
        self.bad_sales[kind] += 1
        rec = self._sale(rng, day)
        rec.outcome, rec.key, rec.amount, rec.day = outcome, None, None, None
        fields = rec.fields
        if column is None:
            rec.style = kind
            if kind == "too_many_fields":
                product = rng.choice(self.comma_products)  # written unquoted: its comma splits it in two
                fields[_PRODUCT], fields[_PRODUCT_NAME], fields[_CATEGORY] = (
                    product.product_id, product.name, product.category)
        elif value == "<mismatch>":
            quantity, price = int(fields[_QTY]), Decimal(fields[_PRICE])
            off = Decimal(rng.choice(("0.02", "0.10", "1.00", "5.00")))
            if quantity > 1 and rng.random() < 0.5:
                fields[_TOTAL] = f"{price:.2f}"  # the till forgot the quantity
            else:
                fields[_TOTAL] = f"{quantity * price + off:.2f}"
        else:
            fields[column] = value.format(year=day.year, price=f"{Decimal(fields[_PRICE]):.2f}",
                                          total=f"{Decimal(fields[_TOTAL]):.2f}")
        return rec

    def _correction(self, rng: random.Random, source: _Sale) -> _Sale:
        """The same transaction again with another quantity or price; a quarter of them invalid."""
        fields = list(source.fields)
        quantity, price = int(fields[_QTY].strip(" ")), Decimal(fields[_PRICE].strip(" "))
        if rng.random() < 0.7 or price < 2:
            quantity = quantity - 1 if quantity > 1 and rng.random() < 0.6 else quantity + rng.choice((1, 2))
        else:  # a price adjustment after the fact
            price = (price * Decimal("0.9")).quantize(CENT, ROUND_HALF_UP)
        fields[_QTY], fields[_PRICE], fields[_TOTAL] = str(quantity), f"{price:.2f}", f"{quantity * price:.2f}"
        made = self.planted["corrections_valid"] + self.planted["corrections_invalid"]
        if made == 1 or (made > 1 and rng.random() < 0.25):  # the first is valid, the second not
            kind = rng.choice(("quantity_zero", "stale_total", "quantity_decimal"))
            self.planted["corrections_invalid"] += 1
            self.planted[f"corrections_invalid_{kind}"] += 1
            if kind == "quantity_zero":
                fields[_QTY] = "0"
                return _Sale(fields, "non_positive_quantity")
            if kind == "quantity_decimal":
                fields[_QTY] = f"{quantity}.5"
                return _Sale(fields, "invalid_quantity")
            if quantity * price != Decimal(source.fields[_TOTAL].strip(" ")):
                fields[_TOTAL] = source.fields[_TOTAL]  # the old total with the new quantity
                return _Sale(fields, "amount_mismatch")
            fields[_QTY] = "0"
            return _Sale(fields, "non_positive_quantity")
        self.planted["corrections_valid"] += 1
        rec = _Sale(fields, VALID, fields[_ID], quantity * price, source.day)
        self.latest[rec.fields[_ID]] = rec
        return rec

    def sales_day(self, index: int, prev: list[_Sale], recent: list[str]) -> list[_Sale]:
        day = self.start_date + timedelta(days=index)
        rng = random.Random(f"{self.seed}:{SALES}:{day.isoformat()}")
        n = self.sales_per_day
        n_bad = max(5, round(n * 0.004))
        n_exact = max(1, round(n * 0.006))
        n_corrections = max(1, round(n * 0.004))
        n_late = max(1, round(n * 0.01))
        n_penny = max(1, round(n * 0.002))
        n_padded = max(1, round(n * 0.002))
        n_base = n - n_bad - n_exact - n_corrections

        base = [self._sale(rng, day) for _ in range(n_base - n_late)]
        for _ in range(n_late):  # sold up to a week ago, delivered today
            base.insert(rng.randrange(len(base) + 1), self._sale(rng, day - timedelta(days=rng.randint(1, 7))))
        self.planted["late_transactions"] += n_late
        for pos in rng.sample(range(len(base)), n_penny):  # a total one cent off: within the tolerance
            rec = base[pos]
            quantity, price = int(rec.fields[_QTY]), Decimal(rec.fields[_PRICE])
            total = quantity * price + rng.choice((CENT, -CENT))
            rec.fields[_TOTAL], rec.amount = f"{total:.2f}", total
        self.planted["one_cent_differences"] += n_penny
        for pos in rng.sample(range(len(base)), n_padded):
            fields = base[pos].fields
            for column in rng.sample((_STORE, _REGION, _CUSTOMER, _QTY, _PRICE), rng.choice((1, 2))):
                fields[column] = pad(rng, fields[column])
        self.planted["padded_valid"] += n_padded
        for rec in base:
            self.latest[rec.fields[_ID]] = rec

        size = len(base)
        after: list[list[_Sale]] = [[] for _ in range(size)]
        corrected: set[str] = set()
        for _ in range(n_corrections):
            key = rng.choice(recent)
            while key in corrected:
                key = rng.choice(recent)
            corrected.add(key)
            after[rng.randrange(size)].append(self._correction(rng, self.latest[key]))
        redeliverable = [r for r in prev if r.outcome == VALID and r.key not in corrected]
        for _ in range(n_exact):
            mode = rng.random()
            # At least one in a run: the first chance is always taken.
            candidates = redeliverable if mode < 0.3 or not self.planted["exact_duplicates_next_file"] else []
            if candidates:
                after[rng.randrange(size)].append(rng.choice(candidates))
                self.planted["exact_duplicates_next_file"] += 1
                continue
            pos = rng.randrange(size)
            if mode < 0.65 or pos == size - 1:
                after[pos].insert(0, base[pos])
                self.planted["exact_duplicates_adjacent"] += 1
            else:
                after[rng.randrange(pos + 1, size)].append(base[pos])
                self.planted["exact_duplicates_later_in_file"] += 1
        for _ in range(n_bad):
            after[rng.randrange(size)].append(self._bad_sale(rng, day))
        records = []
        for rec, extra in zip(base, after, strict=True):
            records.append(rec)
            records.extend(extra)
        assert len(records) == n
        return records

    # -- customers -------------------------------------------------------------------------------

    def _render_updated(self, rng: random.Random, instant: datetime) -> str:
        sep, timespec, zone, _ = _UPDATED_FORMATS[bisect(_UPDATED_CUM, rng.random() * _UPDATED_CUM[-1])]
        return render_timestamp(instant, sep, timespec, zone)

    def _customer_record(self, rng: random.Random, c: _Customer, updated: datetime, *, name: str | None = None,
                         tier: str | None = None) -> _CustomerRecord:
        obj: dict[str, Any] = {
            "customer_id": c.customer_id,
            "customer_name": c.shown_name if name is None else name,
            "age_group": c.age_group,
            "membership_tier": c.tier if tier is None else tier,
            "signup_date": c.signup.isoformat(),
            "updated_at": self._render_updated(rng, updated),
        }
        if c.age_group is None and rng.random() < 0.5:
            del obj["age_group"]  # the key left out rather than null
        return _CustomerRecord(obj, VALID, c.customer_id, updated, obj["membership_tier"])

    def snapshot(self) -> list[_CustomerRecord]:
        rng = random.Random(f"{self.seed}:{CUSTOMERS}:snapshot:{self.anchor.isoformat()}:{self.n_customers}")
        records = []
        for cid in self.snapshot_ids:
            c = self.customers[cid]
            rec = self._customer_record(rng, c, c.updated_at)
            records.append(rec)
            if rng.random() < 0.005:  # the export wrote it twice
                records.append(rec)
                self.planted["identical_duplicates"] += 1
        return records

    def _change_time(self, rng: random.Random, day: date, c: _Customer) -> datetime:
        instant = datetime(day.year, day.month, day.day) + timedelta(seconds=rng.randrange(6 * 3600, 23 * 3600))
        if instant <= c.updated_at:
            instant = c.updated_at + timedelta(seconds=rng.randint(1, 600))
        c.updated_at = instant
        return instant

    def _bad_customer(self, rng: random.Random, day: date) -> _CustomerRecord:
        kind, outcome = _BAD_CUSTOMERS[self.bad_customers_cursor % len(_BAD_CUSTOMERS)]
        self.bad_customers_cursor += 1
        self.bad_customers[kind] += 1
        c = self.customers[rng.choice(self.snapshot_ids)]
        # Newer than anything delivered for the customer: it would win if it were accepted.
        instant = max(c.updated_at, datetime(day.year, day.month, day.day)) + timedelta(hours=rng.randint(1, 20))
        better = TIERS[min(TIERS.index(c.tier) + 1, len(TIERS) - 1)]
        rec = self._customer_record(rng, c, instant, tier=better)
        rec.outcome, rec.key, rec.updated_at, rec.tier = outcome, None, None, None
        obj = rec.obj
        if kind == "broken_json":
            rec.style = "broken"
        elif kind == "customer_id_empty":
            obj["customer_id"] = rng.choice(("", "  "))
        elif kind == "customer_id_null":
            obj["customer_id"] = None
        elif kind == "updated_at_hour_25":
            obj["updated_at"] = f"{day.isoformat()}T25:10:00Z"
        elif kind == "updated_at_text":
            obj["updated_at"] = "last tuesday"
        elif kind == "signup_date_slashes":
            obj["signup_date"] = f"{c.signup:%Y/%m/%d}"
        else:
            obj["signup_date"] = f"{c.signup.year}-02-30"
        return rec

    def customers_day(self, index: int, prev: list[_CustomerRecord]) -> list[_CustomerRecord]:
        day = self.start_date + timedelta(days=index)
        rng = random.Random(f"{self.seed}:{CUSTOMERS}:{day.isoformat()}")
        records: list[_CustomerRecord] = []
        for _ in range(max(1, round(self.n_customers * 0.002))):  # sign-ups
            n = rng.randrange(100_000, 900_000)
            while n in self.used_ids:
                n = rng.randrange(100_000, 900_000)
            self.used_ids.add(n)
            name = f"{rng.choice(_FIRST_NAMES)} {rng.choice(_LAST_NAMES)}"
            c = _Customer(f"C{n:06d}", name, name, rng.choices([a for a, _ in _AGE_GROUPS],
                                                               [w for _, w in _AGE_GROUPS])[0],
                          "bronze", day, datetime(day.year, day.month, day.day), rng.lognormvariate(0.5, 1.0), None)
            self.customers[c.customer_id] = c
            records.append(self._customer_record(rng, c, self._change_time(rng, day, c)))
            self.planted["new_customers"] += 1
        for _ in range(max(3, round(self.n_customers * 0.008))):
            unfixed = [cid for cid in self.snapshot_ids[: 400]
                       if self.customers[cid].shown_name != self.customers[cid].name]
            if unfixed and rng.random() < 0.25:
                c = self.customers[rng.choice(unfixed)]
                c.shown_name = c.name
                records.append(self._customer_record(rng, c, self._change_time(rng, day, c)))
                self.planted["name_fixes"] += 1
                continue
            c = self.customers[rng.choice(self.snapshot_ids)]
            while c.tier == TIERS[-1]:
                c = self.customers[rng.choice(self.snapshot_ids)]
            c.previous_tier, c.tier = c.tier, TIERS[TIERS.index(c.tier) + 1]
            records.append(self._customer_record(rng, c, self._change_time(rng, day, c)))
            self.planted["tier_upgrades"] += 1
        # Out of order: an older version of a customer delivered now; it must not win.
        c = self.customers[rng.choice(self.snapshot_ids)]
        stale = c.updated_at - timedelta(seconds=rng.randint(3_600, 10 * 86_400))
        stale_tier = c.previous_tier or TIERS[max(0, TIERS.index(c.tier) - 1)]
        records.insert(rng.randrange(len(records) + 1), self._customer_record(rng, c, stale, tier=stale_tier))
        self.planted["out_of_order_updates"] += 1
        for _ in range(max(1, round(len(records) * 0.1))):
            candidates = [r for r in prev if r.outcome == VALID]
            if candidates and rng.random() < 0.4:
                records.insert(rng.randrange(len(records) + 1), rng.choice(candidates))
            else:
                pos = rng.randrange(len(records))
                records.insert(rng.randrange(pos + 1, len(records) + 1), records[pos])
            self.planted["identical_duplicates"] += 1
        for _ in range(max(2, round(self.n_customers * 0.001))):
            records.insert(rng.randrange(len(records) + 1), self._bad_customer(rng, day))
        return records


def _render_sales(records: list[_Sale], crlf: bool) -> bytes:
    eol = "\r\n" if crlf else "\n"
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator=eol)
    writer.writerow(SALES_COLUMNS)
    for rec in records:
        if not rec.style:
            writer.writerow(rec.fields)
        elif rec.style == "too_few_fields":
            writer.writerow(rec.fields[:-2])
        else:  # too_many_fields: the product name's comma left unquoted
            buf.write(",".join(v if i == _PRODUCT_NAME else csv_quote(v) for i, v in enumerate(rec.fields)) + eol)
    return buf.getvalue().encode("utf-8")




_ENCODER = json.JSONEncoder(ensure_ascii=False)


def render_json(objects: Sequence[tuple[dict[str, Any], str]], array: bool) -> bytes:
    """JSON lines (`array` False) or one pretty-printed JSON array, of (object, style) pairs.

    A `broken` object is written as a truncated line in JSON lines, and double-encoded (a JSON
    string holding the object's text) in an array, where a truncated object would break the file.
    """
    dumps = _ENCODER.encode
    if array:
        # What json.dumps(items, indent=2) writes, element by element (its indenting encoder is slow).
        items = []
        for obj, style in objects:
            if style == "broken":
                items.append("  " + dumps(dumps(obj)))
            elif obj:
                members = ",\n".join(f"    {dumps(k)}: {dumps(v)}"
                                     for k, v in obj.items())
                items.append("  {\n" + members + "\n  }")
            else:
                items.append("  {}")
        body = "[\n" + ",\n".join(items) + "\n]" if items else "[]"
        return (body + "\n").encode("utf-8")
    lines = []
    for obj, style in objects:
        text = dumps(obj)
        lines.append(text[: len(text) * 2 // 3] if style == "broken" else text)
    return ("\n".join(lines) + "\n").encode("utf-8")


@without_gc
def plan_sales(raw_dir: Path, days: int, rows_per_day: int, seed: int,
               start_date: date = DEFAULT_START_DATE) -> Plan:
    """The files and summaries of a run, computed in memory; nothing is written."""
    gen = _Generator(days, rows_per_day, seed, start_date)
    history = gen.backfill()
    snapshot = gen.snapshot()
    first_hist = gen.anchor - timedelta(days=HISTORY_DAYS)
    last_hist = gen.anchor - timedelta(days=1)
    # Named so that it sorts before every daily file of any later run (earlier month folder or date).
    sales_files: list[tuple[str, list[_Sale], list[str]]] = [(
        f"{SALES}/{last_hist:%Y/%m}/{SALES}_{first_hist.isoformat()}_to_{last_hist.isoformat()}_backfill.csv",
        history, ["backfill"])]
    customer_files: list[tuple[str, list[_CustomerRecord], bool, list[str]]] = [(
        f"{CUSTOMERS}/{gen.anchor:%Y/%m}/{CUSTOMERS}_{gen.anchor.isoformat()}_snapshot.jsonl", snapshot, False,
        ["snapshot", "jsonl"])]
    recent: list[list[str]] = [[r.fields[_ID] for r in history[-len(history) // 3:]]]
    prev_sales: list[_Sale] = []
    prev_customers = snapshot
    for index in range(days):
        day = start_date + timedelta(days=index)
        changes = gen.customers_day(index, prev_customers)
        array = index % 3 == 1
        customer_files.append((f"{CUSTOMERS}/{day:%Y/%m}/{CUSTOMERS}_{day.isoformat()}.{'json' if array else 'jsonl'}",
                               changes, array, ["json_array" if array else "jsonl"]))
        prev_customers = changes
        keys = [key for keys in recent[-5:] for key in keys]
        prev_sales = gen.sales_day(index, prev_sales, keys)
        recent.append([r.key for r in prev_sales if r.key is not None and r.outcome == VALID])
        crlf = index % 4 == 3
        sales_files.append((f"{SALES}/{day:%Y/%m}/{SALES}_{day.isoformat()}.csv", prev_sales,
                            ["crlf"] if crlf else []))

    outputs: list[Output] = []
    for relpath, records, features in sales_files:
        outputs.append(Output(relpath, _render_sales(records, "crlf" in features), len(records), features))
    sales_outputs = list(outputs)
    for relpath, crecords, array, features in customer_files:
        data = render_json([(r.obj, r.style) for r in crecords], array)
        outputs.append(Output(relpath, data, len(crecords), features))
    customer_outputs = outputs[len(sales_outputs):]

    # Expected results, from what was planted, for all files ingested in one batch in path order.
    sales_in_order = [r for _, records, _ in sorted(sales_files, key=lambda f: f[0]) for r in records]
    winners: dict[str, _Sale] = {}
    for rec in sales_in_order:
        if rec.outcome == VALID and rec.key is not None:
            winners[rec.key] = rec
    customers_in_order = [(i, r) for i, r in enumerate(
        r for _, records, _, _ in sorted(customer_files, key=lambda f: f[0]) for r in records)]
    current: dict[str, tuple[datetime, int, str | None]] = {}
    for i, rec in customers_in_order:
        if rec.outcome == VALID and rec.key is not None and rec.updated_at is not None:
            candidate = (rec.updated_at, i, rec.tier)
            if rec.key not in current or candidate[:2] > current[rec.key][:2]:
                current[rec.key] = candidate
    unknown = set(gen.unknown)
    common = {"seed": seed, "start_date": start_date.isoformat(), "days": days, "rows_per_day": rows_per_day,
              "raw_dir": str(raw_dir), "anchor_date": gen.anchor.isoformat()}
    bad_sales = dict(sorted(gen.bad_sales.items()))
    planted = gen.planted
    sales_summary = {
        "dataset": SALES,
        **common,
        "files": [{"path": o.relpath, "records": o.records, "bytes": len(o.data), "features": o.features}
                  for o in sales_outputs],
        "records_written": sum(o.records for o in sales_outputs),
        "planted": {
            "backfill_rows": planted["backfill_rows"],
            "exact_duplicates": sum(planted[k] for k in ("exact_duplicates_adjacent", "exact_duplicates_later_in_file",
                                                         "exact_duplicates_next_file")),
            **{k: planted[k] for k in ("exact_duplicates_adjacent", "exact_duplicates_later_in_file",
                                       "exact_duplicates_next_file")},
            "corrections": planted["corrections_valid"] + planted["corrections_invalid"],
            "corrections_valid": planted["corrections_valid"],
            "corrections_invalid": planted["corrections_invalid"],
            **{k: v for k, v in sorted(planted.items()) if k.startswith("corrections_invalid_")},
            "late_transactions": planted["late_transactions"],
            "one_cent_differences": planted["one_cent_differences"],
            "padded_valid": planted["padded_valid"],
            "unknown_customer_rows": planted["unknown_customer_rows"],
            "transaction_date_timestamps": planted["transaction_date_timestamps"],
            "transaction_date_offset_timestamps": planted["transaction_date_offset_timestamps"],
            "bad_rows": sum(bad_sales.values()),
            "bad_rows_by_kind": bad_sales,
            "crlf_files": sum("crlf" in f for _, _, f in sales_files),
        },
        "expected": {
            **expected_counts([(r.outcome, r.key) for r in sales_in_order]),
            "total_amount": str(sum((r.amount for r in winners.values() if r.amount is not None), Decimal("0.00"))),
            "unknown_customer_transactions": sum(1 for r in winners.values() if r.fields[_CUSTOMER].strip(" ")
                                                 in unknown),
        },
    }
    bad_customers = dict(sorted(gen.bad_customers.items()))
    customers_summary = {
        "dataset": CUSTOMERS,
        **common,
        "files": [{"path": o.relpath, "records": o.records, "bytes": len(o.data), "features": o.features}
                  for o in customer_outputs],
        "records_written": sum(o.records for o in customer_outputs),
        "planted": {
            "snapshot_records": len(snapshot),
            "new_customers": planted["new_customers"],
            "tier_upgrades": planted["tier_upgrades"],
            "name_fixes": planted["name_fixes"],
            "out_of_order_updates": planted["out_of_order_updates"],
            "identical_duplicates": planted["identical_duplicates"],
            "bad_records": sum(bad_customers.values()),
            "bad_records_by_kind": bad_customers,
            "jsonl_files": sum(1 for *_, array, _ in customer_files if not array),
            "json_array_files": sum(1 for *_, array, _ in customer_files if array),
        },
        "expected": {
            **expected_counts([(r.outcome, r.key) for _, r in customers_in_order]),
            "membership_tiers": dict(sorted(Counter(t for _, _, t in current.values() if t is not None).items())),
        },
    }
    return Plan(raw_dir, outputs, {SALES: sales_summary, CUSTOMERS: customers_summary})


def generate_sales(raw_dir: Path, days: int, rows_per_day: int, seed: int,
                   start_date: date = DEFAULT_START_DATE) -> dict[str, dict[str, Any]]:
    """Write sales_transactions and customers files under `raw_dir` ($LAKE_ROOT/raw).

    Returns one summary per dataset, keyed by dataset name. Files that already exist with the same
    bytes are left alone; an existing file with other content raises FileExistsError before
    anything is written.
    """
    plan = plan_sales(raw_dir, days, rows_per_day, seed, start_date)
    plan.write()
    return plan.summaries
