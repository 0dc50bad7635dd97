"""Reference implementation of the sales_transactions and customers rules: raw -> silver -> gold.

Independent of the pipeline: raw files are read with `csv` and `json` and the rules applied as
written, in plain Python, slowly and obviously. The user_events oracle reuses this module's readers
and value parsers (the rules for them are the same); timestamps are parsed by the web_logs oracle's
`parse_event_time` (the same ISO-8601 rule for every dataset).

The rules:

1. Ingest order. `compute(batches)` takes the ingest runs in order; each batch is a list of files,
   ingested in the order of their paths (`Path.as_posix()`; for files under one dataset folder that is
   the order of their relative paths), each file's records in file order. "Later" below means later
   in this order: a later batch, then a later path, then a later record. `*.csv` files are
   sales_transactions, `*.json` / `*.jsonl` files are customers.
2. Ingest quarantine (records, not rows). CSV: read by header name (utf-8, optional BOM, RFC 4180);
   a header lacking a required column, or naming a contract column twice, quarantines the whole file;
   a record whose field count differs from the header's is quarantined; blank lines are not records;
   empty fields are null; unknown columns are ignored. JSON (`.json`, `.jsonl`; utf-8, optional BOM):
   the layout goes by content, not by name: a file whose first non-whitespace character is `[` is
   one JSON array, each element a record (a non-object element is quarantined); a file that is not
   one well-formed array (say truncated) is ONE quarantined record. Any other file is JSON lines,
   split on LF, CRLF or CR; a line of JSON whitespace only is not a record; a line that is not UTF-8,
   not JSON, or not an object is quarantined. A record is also quarantined when its object repeats a
   key, or holds NaN/Infinity or an unpaired surrogate (`"\ud800"`): not loadable JSON. A JSON file
   with objects none of which has a required key is quarantined whole (listed in quarantined_files);
   a file with no object at all just has quarantined records. JSON values become text: strings as
   they are, numbers as written (`19.90` stays `19.90`, `1e3` stays `1e3`), true/false as
   `true`/`false`, null or a missing key as null, arrays/objects as compact JSON text (numbers as
   written, keys in order).
3. Values. Trimming removes the space character only (not tabs); empty after trimming is null.
   Integers: the literal `[+-]?[0-9]+` within 32-bit range (`2.5`, `1e3`, `abc` are invalid, never
   rounded). Decimals (decimal(18,2)): the literal `[+-]?[0-9]+(\\.[0-9]+)?` with AT MOST 2 decimals
   written (`1.999` and `1.500` are invalid, never rounded) and at most 16 integer digits. Dates:
   `YYYY-MM-DD`, a real date. Timestamps: `YYYY-MM-DD[T ]HH:MM:SS(.fraction)?(Z|+HH:MM|-HH:MM)?`, a real
   date and time, no zone = UTC, converted to UTC.
4. silver.sales_transactions (key transaction_id). A record is rejected for the first rule it
   breaks, in this order: missing_transaction_id; invalid_transaction_date (a date, or a timestamp
   converted to UTC and then cut to its date: `2026-11-03T20:00:00-05:00` is 2026-11-04);
   missing_store_id; missing_region; missing_product_id; missing_customer_id; invalid_quantity;
   non_positive_quantity; invalid_unit_price; negative_unit_price; invalid_total_amount;
   negative_total_amount; amount_mismatch (|total_amount - quantity * unit_price| > 0.01, exactly;
   0.01 is fine). Validate first, then deduplicate: of the valid records of a transaction_id the
   LATEST wins (a correction in a later batch, the last one in path/record order within a batch;
   identical repeats are one transaction); a rejected record never replaces a valid one.
5. silver.customers (key customer_id). Reasons, in this order: missing_customer_id,
   invalid_updated_at (required), invalid_signup_date (optional; a date when present). Of the valid
   records of a customer, the one with the greatest updated_at (as a UTC instant) wins; ties go to
   the later record.
6. Gold, as of `as_of_date` (default: the greatest transaction_date in silver):
   sales_enriched: each silver transaction with the current customer's customer_name, age_group and
   membership_tier (null for customers not in silver.customers), and year, month of
   transaction_date. sales_summary: per (year, month, region, product_id): transaction_count,
   units_sold, revenue = sum(total_amount), avg_transaction_value = float(revenue) / count.
   sales_days: the same counts and sums per (transaction_date, region, product_id).
   customer_segments: per customer_id with at least one transaction dated on or before as_of_date
   (later ones are ignored), known to silver.customers or not: first/last_purchase_date,
   transaction_count, total_revenue, avg_order_value = float(total_revenue) / count, current
   membership_tier and age_group, segment, as_of_date. Segment: the first that holds of `new`
   (as_of_date - first_purchase_date <= 30 days), `champion` (>= 5 transactions and
   as_of_date - last_purchase_date <= 30), `at_risk` (as_of_date - last_purchase_date > 60),
   `regular`.

Additive measures are 0, not null; money is Decimal with 2 places; averages are floats (compare
with a tolerance: the pipeline may divide in another order).
"""

from __future__ import annotations

import csv
import json
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from tests.python.oracle.web_logs import parse_event_time

SALES_COLUMNS: tuple[str, ...] = (
    "transaction_id", "transaction_date", "store_id", "store_name", "city", "region", "product_id",
    "product_name", "category", "customer_id", "quantity", "unit_price", "total_amount", "payment_method",
)
SALES_REQUIRED: tuple[str, ...] = (
    "transaction_id", "transaction_date", "store_id", "region", "product_id", "customer_id", "quantity",
    "unit_price", "total_amount",
)
CUSTOMER_COLUMNS: tuple[str, ...] = (
    "customer_id", "customer_name", "age_group", "membership_tier", "signup_date", "updated_at",
)
CUSTOMER_REQUIRED: tuple[str, ...] = ("customer_id", "updated_at")

CSV_SUFFIXES = (".csv",)
JSON_SUFFIXES = (".json", ".jsonl")

# Reasons, in the order the rules are checked.
SALES_REASONS: tuple[str, ...] = (
    "missing_transaction_id", "invalid_transaction_date", "missing_store_id", "missing_region",
    "missing_product_id", "missing_customer_id", "invalid_quantity", "non_positive_quantity",
    "invalid_unit_price", "negative_unit_price", "invalid_total_amount", "negative_total_amount",
    "amount_mismatch",
)
CUSTOMER_REASONS: tuple[str, ...] = ("missing_customer_id", "invalid_updated_at", "invalid_signup_date")

TOLERANCE = Decimal("0.01")
CENT = Decimal("0.01")
ZERO = Decimal("0.00")

_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_INTEGER = re.compile(r"[+-]?[0-9]+")
_DECIMAL = re.compile(r"[+-]?([0-9]+)(?:\.([0-9]+))?")
_INT_MIN, _INT_MAX = -(2**31), 2**31 - 1

RawRecord = dict[str, str | None]


# -- values --------------------------------------------------------------------------------------


def trim(value: str | None) -> str | None:
    """Spaces removed at both ends (only the space character); None stays None."""
    return None if value is None else value.strip(" ")


def text(value: str | None) -> str | None:
    """A trimmed string value, None when null or empty."""
    value = trim(value)
    return value or None


def parse_integer(value: str | None) -> int | None:
    value = trim(value)
    if not value or _INTEGER.fullmatch(value) is None:
        return None
    number = int(value)
    return number if _INT_MIN <= number <= _INT_MAX else None


def parse_decimal(value: str | None) -> Decimal | None:
    """A decimal(18,2): at most 16 integer digits and 2 decimals as written; None if not one."""
    value = trim(value)
    if not value:
        return None
    match = _DECIMAL.fullmatch(value)
    if match is None or len(match.group(1).lstrip("0")) > 16 or len(match.group(2) or "") > 2:
        return None
    return Decimal(value).quantize(CENT)


def parse_date(value: str | None) -> date | None:
    value = trim(value)
    if not value:
        return None
    match = _DATE.fullmatch(value)
    if match is None:
        return None
    try:
        return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        return None


def parse_timestamp(value: str | None) -> datetime | None:
    """The UTC instant (tz-aware) of an ISO-8601 timestamp; the web_logs oracle's rule."""
    return parse_event_time(value)


def parse_transaction_date(value: str | None) -> date | None:
    """A `YYYY-MM-DD` date, or a timestamp converted to UTC and then cut to its date."""
    day = parse_date(value)
    if day is not None:
        return day
    instant = parse_timestamp(value)
    return None if instant is None else instant.date()


# -- reading -------------------------------------------------------------------------------------


def ingest_order(batches: Sequence[Iterable[Path]]) -> list[Path]:
    """Every file of every batch, batch after batch, each batch in path order."""
    return [path for batch in batches for path in sorted((Path(p) for p in batch), key=lambda p: p.as_posix())]


def _read_csv(path: Path, columns: Sequence[str], required: Sequence[str]) -> tuple[list[RawRecord | None], bool]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = [row for row in csv.reader(handle) if row]
    if not rows:
        return [], False
    header, records = rows[0], rows[1:]
    if any(c not in header for c in required) or any(header.count(c) > 1 for c in columns):
        return [None] * len(records), True
    positions = {name: header.index(name) for name in columns if name in header}
    out: list[RawRecord | None] = []
    for record in records:
        if len(record) != len(header):
            out.append(None)
        else:
            out.append({name: (record[i] if record[i] != "" else None) for name, i in positions.items()})
    return out, False


class _Number(str):
    """A JSON number as written (the ingest keeps every value as text: `12.50` must not become 12.5)."""


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    if len({k for k, _ in pairs}) != len(pairs):
        raise ValueError("an object with a repeated key")
    return dict(pairs)


def _loads(data: str) -> Any:
    return json.loads(data, object_pairs_hook=_object, parse_int=_Number, parse_float=_Number,
                      parse_constant=_no_constant)


def _compact(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, _Number):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(k, ensure_ascii=False)}:{_compact(v)}" for k, v in value.items()) + "}"
    return "[" + ",".join(_compact(v) for v in value) + "]"


def json_text(value: Any) -> str | None:
    """The text a JSON value stands for in a string column."""
    if value is None:
        return None
    if isinstance(value, str) and not isinstance(value, _Number):
        return value
    return _compact(value)


_JSON_SPACE = b" \t\r\n"
_LINE_END = re.compile(rb"\r\n|\r|\n")
_SURROGATE = re.compile("[\ud800-\udfff]")


def _record(value: Any, columns: Sequence[str]) -> RawRecord | None:
    """A loadable object as {column: text}; None for anything else."""
    if not isinstance(value, dict):
        return None
    record = {c: json_text(value.get(c)) for c in columns}
    if any(v is not None and _SURROGATE.search(v) for v in record.values()):
        return None
    return record


def _read_json(path: Path, columns: Sequence[str], required: Sequence[str]) -> tuple[list[RawRecord | None], bool]:
    data = path.read_bytes()
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    values: list[Any] = []  # parsed values; None stands for a record that cannot be loaded
    if data.lstrip(_JSON_SPACE).startswith(b"["):
        try:
            document = _loads(data.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError):
            document = [None]  # not one well-formed array: one record, quarantined
        values = document if isinstance(document, list) else [None]
    else:
        for line in _LINE_END.split(data):
            if not line.strip(_JSON_SPACE):
                continue
            try:
                values.append(_loads(line.decode("utf-8")))
            except (UnicodeDecodeError, ValueError, RecursionError):
                values.append(None)
    records = [_record(v, columns) for v in values]
    present = {key for v in values if isinstance(v, dict) for key in v}
    if any(r is not None for r in records) and any(c not in present for c in required):
        return [None] * len(records), True
    return records, False


def read_file(path: Path, columns: Sequence[str], required: Sequence[str]) -> tuple[list[RawRecord | None], bool]:
    """The records of one raw file ({column: text or None}, or None for a quarantined record), and
    whether the whole file is quarantined."""
    if path.suffix in CSV_SUFFIXES:
        return _read_csv(path, columns, required)
    if path.suffix in JSON_SUFFIXES:
        return _read_json(path, columns, required)
    raise ValueError(f"not a raw data file: {path}")


@dataclass(frozen=True)
class Accounting:
    """What became of a dataset's raw records: raw = quarantined + rejected + duplicates + silver."""

    dataset: str
    raw_records: int
    quarantined: int
    rejected: dict[str, int]
    duplicates_removed: int  # valid records that are not the winner of their key (repeats, superseded)
    silver_rows: int
    quarantined_files: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """The counts under the names of a sample-data summary's `expected`."""
        return {"raw_records": self.raw_records, "quarantined": self.quarantined, "rejected": self.rejected,
                "duplicates_removed": self.duplicates_removed, "silver_rows": self.silver_rows}

    def check(self) -> None:
        accounted = self.quarantined + sum(self.rejected.values()) + self.duplicates_removed + self.silver_rows
        if self.raw_records != accounted:
            raise AssertionError(f"{self.dataset} oracle lost records: {self.raw_records} raw != {accounted}")


def _name(path: Path, root: Path | None) -> str:
    if root is not None:
        try:
            return path.relative_to(root).as_posix()
        except ValueError:
            pass
    return path.as_posix()


def ingest(files: Sequence[Path], columns: Sequence[str], required: Sequence[str],
           root: Path | None = None) -> tuple[list[RawRecord], int, int, list[str]]:
    """Well-formed records in ingest order, raw record count, quarantined count, quarantined files."""
    records: list[RawRecord] = []
    raw = quarantined = 0
    quarantined_files = []
    for path in files:
        file_records, whole = read_file(path, columns, required)
        raw += len(file_records)
        if whole:
            quarantined_files.append(_name(path, root))
        for record in file_records:
            if record is None:
                quarantined += 1
            else:
                records.append(record)
    return records, raw, quarantined, quarantined_files


def latest_valid(records: Iterable[RawRecord], validate: Any, key: str, dataset: str, raw: int, quarantined: int,
                 quarantined_files: list[str]) -> tuple[dict[str, dict[str, Any]], Accounting]:
    """The last valid record of each key, in ingest order, and the accounting."""
    rejected: Counter[str] = Counter()
    valid = 0
    winners: dict[str, dict[str, Any]] = {}
    for record in records:
        row, reason = validate(record)
        if row is None:
            rejected[reason] += 1
            continue
        valid += 1
        winners[row[key]] = row
    accounting = Accounting(dataset, raw, quarantined, dict(sorted(rejected.items())), valid - len(winners),
                            len(winners), quarantined_files)
    accounting.check()
    return winners, accounting


# -- silver --------------------------------------------------------------------------------------


def validate_sale(raw: RawRecord) -> tuple[dict[str, Any] | None, str | None]:
    """(silver row, None) for a valid sales record, or (None, the reason of the first rule it breaks)."""
    transaction_id = text(raw.get("transaction_id"))
    if transaction_id is None:
        return None, "missing_transaction_id"
    transaction_date = parse_transaction_date(raw.get("transaction_date"))
    if transaction_date is None:
        return None, "invalid_transaction_date"
    for column in ("store_id", "region", "product_id", "customer_id"):
        if text(raw.get(column)) is None:
            return None, f"missing_{column}"
    quantity = parse_integer(raw.get("quantity"))
    if quantity is None:
        return None, "invalid_quantity"
    if quantity <= 0:
        return None, "non_positive_quantity"
    unit_price = parse_decimal(raw.get("unit_price"))
    if unit_price is None:
        return None, "invalid_unit_price"
    if unit_price < 0:
        return None, "negative_unit_price"
    total_amount = parse_decimal(raw.get("total_amount"))
    if total_amount is None:
        return None, "invalid_total_amount"
    if total_amount < 0:
        return None, "negative_total_amount"
    if abs(total_amount - quantity * unit_price) > TOLERANCE:
        return None, "amount_mismatch"
    row: dict[str, Any] = {column: text(raw.get(column)) for column in SALES_COLUMNS}
    row.update(transaction_date=transaction_date, quantity=quantity, unit_price=unit_price,
               total_amount=total_amount)
    return row, None


def validate_customer(raw: RawRecord) -> tuple[dict[str, Any] | None, str | None]:
    """(silver row, None) for a valid customer record, or (None, the reason of the first rule it breaks)."""
    customer_id = text(raw.get("customer_id"))
    if customer_id is None:
        return None, "missing_customer_id"
    updated_at = parse_timestamp(raw.get("updated_at"))
    if updated_at is None:
        return None, "invalid_updated_at"
    signup_text = text(raw.get("signup_date"))
    signup_date = parse_date(signup_text) if signup_text is not None else None
    if signup_text is not None and signup_date is None:
        return None, "invalid_signup_date"
    row: dict[str, Any] = {column: text(raw.get(column)) for column in CUSTOMER_COLUMNS}
    row.update(signup_date=signup_date, updated_at=updated_at)
    return row, None


def current_customers(records: Iterable[RawRecord], raw: int, quarantined: int,
                      quarantined_files: list[str]) -> tuple[dict[str, dict[str, Any]], Accounting]:
    """Per customer the valid record with the greatest updated_at; ties: the later record."""
    rejected: Counter[str] = Counter()
    valid = 0
    current: dict[str, dict[str, Any]] = {}
    for record in records:
        row, reason = validate_customer(record)
        if row is None:
            rejected[reason] += 1
            continue
        valid += 1
        held = current.get(row["customer_id"])
        if held is None or row["updated_at"] >= held["updated_at"]:
            current[row["customer_id"]] = row
    accounting = Accounting("customers", raw, quarantined, dict(sorted(rejected.items())), valid - len(current),
                            len(current), quarantined_files)
    accounting.check()
    return current, accounting


# -- gold ----------------------------------------------------------------------------------------


def segment(first_purchase: date, last_purchase: date, transactions: int, as_of: date) -> str:
    if (as_of - first_purchase).days <= 30:
        return "new"
    if transactions >= 5 and (as_of - last_purchase).days <= 30:
        return "champion"
    if (as_of - last_purchase).days > 60:
        return "at_risk"
    return "regular"


def sales_enriched(sales: Iterable[dict[str, Any]], customers: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for row in sorted(sales, key=lambda r: r["transaction_id"]):
        customer = customers.get(row["customer_id"], {})
        out.append({**row, "customer_name": customer.get("customer_name"), "age_group": customer.get("age_group"),
                    "membership_tier": customer.get("membership_tier"), "year": row["transaction_date"].year,
                    "month": row["transaction_date"].month})
    return out


def sales_days(sales: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    groups: dict[tuple[date, str, str], list[dict[str, Any]]] = defaultdict(list)
    for row in sales:
        groups[(row["transaction_date"], row["region"], row["product_id"])].append(row)
    return [{"transaction_date": day, "region": region, "product_id": product_id, "transaction_count": len(rows),
             "units_sold": sum(r["quantity"] for r in rows), "revenue": sum((r["total_amount"] for r in rows), ZERO)}
            for (day, region, product_id), rows in sorted(groups.items())]


def sales_summary(sales: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    groups: dict[tuple[int, int, str, str], list[dict[str, Any]]] = defaultdict(list)
    for row in sales:
        groups[(row["transaction_date"].year, row["transaction_date"].month, row["region"], row["product_id"])].append(
            row)
    out = []
    for (year, month, region, product_id), rows in sorted(groups.items()):
        revenue = sum((r["total_amount"] for r in rows), ZERO)
        out.append({"year": year, "month": month, "region": region, "product_id": product_id,
                    "transaction_count": len(rows), "units_sold": sum(r["quantity"] for r in rows),
                    "revenue": revenue, "avg_transaction_value": float(revenue) / len(rows)})
    return out


def customer_segments(sales: Iterable[dict[str, Any]], customers: dict[str, dict[str, Any]],
                      as_of_date: date | None) -> list[dict[str, Any]]:
    if as_of_date is None:
        return []
    by_customer: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in sales:
        if row["transaction_date"] <= as_of_date:
            by_customer[row["customer_id"]].append(row)
    out = []
    for customer_id, rows in sorted(by_customer.items()):
        first = min(r["transaction_date"] for r in rows)
        last = max(r["transaction_date"] for r in rows)
        total = sum((r["total_amount"] for r in rows), ZERO)
        customer = customers.get(customer_id, {})
        out.append({"customer_id": customer_id, "first_purchase_date": first, "last_purchase_date": last,
                    "transaction_count": len(rows), "total_revenue": total,
                    "avg_order_value": float(total) / len(rows),
                    "membership_tier": customer.get("membership_tier"), "age_group": customer.get("age_group"),
                    "segment": segment(first, last, len(rows), as_of_date), "as_of_date": as_of_date})
    return out


@dataclass(frozen=True)
class Result:
    """What the rules make of the ingested files.

    Silver rows are dicts under the contract's column names with typed values (dates as `date`,
    updated_at as a tz-aware UTC datetime, quantity int, money Decimal with 2 places, other values
    trimmed strings or None), sorted by their key; the gold lists are sorted by their grain.
    """

    sales_transactions: Accounting
    customers: Accounting
    silver_sales_transactions: list[dict[str, Any]]
    silver_customers: list[dict[str, Any]]
    as_of_date: date | None
    sales_enriched: list[dict[str, Any]]
    sales_summary: list[dict[str, Any]]
    sales_days: list[dict[str, Any]]
    customer_segments: list[dict[str, Any]]


def compute(batches: Sequence[Iterable[Path]], *, as_of_date: date | None = None,
            root: Path | None = None) -> Result:
    """Apply the rules to the files of `batches`, ingested batch after batch (see rule 1).

    `*.csv` files are sales_transactions, `*.json`/`*.jsonl` files customers. `as_of_date` defaults
    to the greatest transaction_date in silver. `root` only shortens the names in quarantined_files.
    """
    files = ingest_order(batches)
    unknown = [p for p in files if p.suffix not in CSV_SUFFIXES + JSON_SUFFIXES]
    if unknown:
        raise ValueError(f"neither sales_transactions (.csv) nor customers (.json, .jsonl): {unknown}")
    sales_records, sales_raw, sales_quarantined, sales_qfiles = ingest(
        [p for p in files if p.suffix in CSV_SUFFIXES], SALES_COLUMNS, SALES_REQUIRED, root)
    sales, sales_accounting = latest_valid(sales_records, validate_sale, "transaction_id", "sales_transactions",
                                           sales_raw, sales_quarantined, sales_qfiles)
    customer_records, customers_raw, customers_quarantined, customers_qfiles = ingest(
        [p for p in files if p.suffix in JSON_SUFFIXES], CUSTOMER_COLUMNS, CUSTOMER_REQUIRED, root)
    customers, customers_accounting = current_customers(customer_records, customers_raw, customers_quarantined,
                                                        customers_qfiles)
    silver_sales = [sales[k] for k in sorted(sales)]
    if as_of_date is None and silver_sales:
        as_of_date = max(r["transaction_date"] for r in silver_sales)
    return Result(
        sales_transactions=sales_accounting,
        customers=customers_accounting,
        silver_sales_transactions=silver_sales,
        silver_customers=[customers[k] for k in sorted(customers)],
        as_of_date=as_of_date,
        sales_enriched=sales_enriched(silver_sales, customers),
        sales_summary=sales_summary(silver_sales),
        sales_days=sales_days(silver_sales),
        customer_segments=customer_segments(silver_sales, customers, as_of_date),
    )


def dataset_files(dataset_dir: Path, suffixes: Sequence[str]) -> list[Path]:
    """The raw files of a dataset folder with these suffixes, except hidden ones (a path part starting
    with `.` or `_`), as the ingest lists them."""
    dataset_dir = Path(dataset_dir)
    if not dataset_dir.is_dir():
        return []
    return [p for p in sorted(dataset_dir.rglob("*"), key=lambda p: p.as_posix())
            if p.is_file() and p.suffix in suffixes
            and not any(part.startswith((".", "_")) for part in p.relative_to(dataset_dir).parts)]


def compute_dir(raw_dir: Path, *, as_of_date: date | None = None) -> Result:
    """All files of `raw_dir/sales_transactions` and `raw_dir/customers` in one batch; `raw_dir` is
    the lake's raw folder ($LAKE_ROOT/raw)."""
    raw_dir = Path(raw_dir)
    files = dataset_files(raw_dir / "sales_transactions", CSV_SUFFIXES) + dataset_files(raw_dir / "customers",
                                                                                        JSON_SUFFIXES)
    return compute([files], as_of_date=as_of_date, root=raw_dir)
