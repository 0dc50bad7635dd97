"""The sales/customers and user_events oracles against hand-written files whose results were worked
out by hand.

Every expected value below was computed by hand from the rules (see the comments), never by running
the oracle, so that these tests pin down the rules rather than the implementation.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.python.oracle import sales as so
from tests.python.oracle import user_events as eo

SALES_HEADER = ",".join(so.SALES_COLUMNS)


def _utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode("utf-8"))
    return path


def _sale_line(tid: str, day: str, quantity: str, price: str, total: str, *, customer: str = "C1",
               region: str = "East", product: str = "P1") -> str:
    # transaction_id,transaction_date,store_id,store_name,city,region,product_id,product_name,category,
    # customer_id,quantity,unit_price,total_amount,payment_method
    return (f'{tid},{day},S1,Boston Mall,Boston,{region},{product},"Mug, large",Home,{customer},'
            f"{quantity},{price},{total},cash")


def _csv(*lines: str) -> str:
    return "\n".join((SALES_HEADER, *lines)) + "\n"


# -- values ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("10", Decimal("10.00")), ("10.5", Decimal("10.50")), ("+1.25", Decimal("1.25")), (" 3.10 ", Decimal("3.10")),
        ("-0.00", Decimal("0.00")), ("0", Decimal("0.00")), ("9999999999999999.99", Decimal("9999999999999999.99")),
        ("1.999", None),  # more than 2 decimals: rejected, never rounded
        ("1.500", None),  # even when the third is a zero
        ("10.", None), (".5", None), ("1e3", None), ("$10", None), ("1,000.00", None), ("abc", None), ("", None),
        (None, None), ("\t10", None), ("10000000000000000", None),  # 17 integer digits
    ],
)
def test_decimals(value: str | None, expected: Decimal | None) -> None:
    assert so.parse_decimal(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [("2", 2), (" +2 ", 2), ("-1", -1), ("007", 7), ("2.5", None), ("2.0", None), ("abc", None), ("1e3", None),
     ("", None), ("2147483647", 2147483647), ("2147483648", None)],
)
def test_integers(value: str, expected: int | None) -> None:
    assert so.parse_integer(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-11-03", date(2026, 11, 3)),
        (" 2026-11-03 ", date(2026, 11, 3)),
        ("2026-11-03T20:30:00-05:00", date(2026, 11, 4)),  # 01:30 UTC the next day
        ("2026-11-04T01:00:00+05:30", date(2026, 11, 3)),  # 19:30 UTC the day before
        ("2026-11-03 23:59:59", date(2026, 11, 3)),  # no zone: UTC
        ("2026-11-03T23:59:59.999Z", date(2026, 11, 3)),
        ("2026-02-30", None), ("2026-11-3", None), ("03/11/2026", None), ("2026-11-03T10:00Z", None),
        ("20261103", None), ("", None),
    ],
)
def test_transaction_dates(value: str, expected: date | None) -> None:
    assert so.parse_transaction_date(value) == expected


# -- sales validation ------------------------------------------------------------------------------

GOOD_SALE: dict[str, str | None] = {
    "transaction_id": "T1", "transaction_date": "2026-11-03", "store_id": "S1", "store_name": "Boston Mall",
    "city": "Boston", "region": "East", "product_id": "P1", "product_name": "Mug", "category": "Home",
    "customer_id": "C1", "quantity": "2", "unit_price": "10.00", "total_amount": "20.00", "payment_method": "cash",
}


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"transaction_id": None}, "missing_transaction_id"),
        ({"transaction_id": "   "}, "missing_transaction_id"),
        ({"transaction_date": "2026-02-30"}, "invalid_transaction_date"),
        ({"transaction_date": None}, "invalid_transaction_date"),
        ({"store_id": " "}, "missing_store_id"),
        ({"region": None}, "missing_region"),
        ({"product_id": ""}, "missing_product_id"),
        ({"customer_id": None}, "missing_customer_id"),
        ({"quantity": "2.5", "total_amount": "25.00"}, "invalid_quantity"),  # never rounded
        ({"quantity": "abc"}, "invalid_quantity"),
        ({"quantity": None}, "invalid_quantity"),
        ({"quantity": "0", "total_amount": "0.00"}, "non_positive_quantity"),
        ({"quantity": "-1", "total_amount": "-10.00"}, "non_positive_quantity"),
        ({"unit_price": "-10.00", "total_amount": "20.00"}, "negative_unit_price"),
        ({"unit_price": "10.001"}, "invalid_unit_price"),
        ({"total_amount": "N/A"}, "invalid_total_amount"),
        ({"total_amount": "20.011"}, "invalid_total_amount"),  # 0.011 off: three decimals, rejected
        ({"total_amount": "-20.00"}, "negative_total_amount"),
        ({"total_amount": "20.02"}, "amount_mismatch"),  # 0.02 off
        ({"total_amount": "19.98"}, "amount_mismatch"),
        ({"total_amount": "10.00"}, "amount_mismatch"),  # the quantity forgotten
        # The first failing rule wins, in the order of the columns.
        ({"transaction_id": "", "transaction_date": "x", "quantity": "abc"}, "missing_transaction_id"),
        ({"transaction_date": "x", "store_id": None}, "invalid_transaction_date"),
        ({"region": None, "customer_id": None, "quantity": "0"}, "missing_region"),
        ({"quantity": "0", "unit_price": "-1"}, "non_positive_quantity"),
        ({"unit_price": "abc", "total_amount": "-1"}, "invalid_unit_price"),
        ({"total_amount": "-5.00"}, "negative_total_amount"),  # also off by 25.00: the sign is checked first
    ],
)
def test_sale_rejection_reasons(changes: dict[str, str | None], reason: str) -> None:
    assert so.validate_sale({**GOOD_SALE, **changes}) == (None, reason)


@pytest.mark.parametrize("total", ["20.01", "19.99", "20.00", "20", "20.0"])
def test_a_total_within_one_cent_is_valid(total: str) -> None:
    row, reason = so.validate_sale({**GOOD_SALE, "total_amount": total})
    assert reason is None
    assert row["total_amount"] == Decimal(total)


def test_one_cent_is_exact_not_floating_point() -> None:
    # 3 x 0.33 = 0.99: 1.00 and 0.98 are one cent off (valid), 1.01 two cents (rejected).
    sale = {**GOOD_SALE, "quantity": "3", "unit_price": "0.33"}
    assert so.validate_sale({**sale, "total_amount": "1.00"})[1] is None
    assert so.validate_sale({**sale, "total_amount": "0.98"})[1] is None
    assert so.validate_sale({**sale, "total_amount": "1.01"})[1] == "amount_mismatch"
    # 0.1 + 0.2 style: 7 x 0.10 = 0.70 exactly
    assert so.validate_sale({**sale, "quantity": "7", "unit_price": "0.10", "total_amount": "0.71"})[1] is None


def test_a_valid_sale_is_trimmed_and_typed() -> None:
    row, reason = so.validate_sale({**GOOD_SALE, "transaction_id": " T1 ",
                                    "transaction_date": "2026-11-03T20:30:00-05:00",
                                    "quantity": " +2", "unit_price": "10", "total_amount": "20.0 ",
                                    "payment_method": "  ", "store_name": None})
    assert reason is None
    assert row == {
        "transaction_id": "T1", "transaction_date": date(2026, 11, 4), "store_id": "S1", "store_name": None,
        "city": "Boston", "region": "East", "product_id": "P1", "product_name": "Mug", "category": "Home",
        "customer_id": "C1", "quantity": 2, "unit_price": Decimal("10.00"), "total_amount": Decimal("20.00"),
        "payment_method": None,
    }


# -- sales: corrections, ingest order, quarantine --------------------------------------------------


def test_corrections_across_batches(tmp_path: Path) -> None:
    raw = tmp_path / "raw" / "sales_transactions"
    day1 = _write(raw / "2026/11/day1.csv", _csv(
        _sale_line("T1", "2026-11-01", "2", "10.00", "20.00"),
        _sale_line("T2", "2026-11-01", "1", "5.00", "5.00"),
        _sale_line("T2", "2026-11-01", "1", "5.00", "5.00"),  # identical repeat: one transaction
        _sale_line("T3", "2026-11-01", "1", "7.00", "7.00"),
    ))
    day2 = _write(raw / "2026/11/day2.csv", _csv(
        _sale_line("T1", "2026-11-01", "3", "10.00", "30.00"),  # a correction: wins
        _sale_line("T3", "2026-11-01", "0", "7.00", "0.00"),  # an invalid correction: T3 keeps quantity 1
        _sale_line("T4", "2026-11-02", "2", "4.00", "8.01"),  # one cent off: valid
        _sale_line("T5", "2026-11-02", "1", "4.00", "4.011"),  # invalid_total_amount
        _sale_line("T6", "2026-11-02", "2", "4.00", "8.02"),  # amount_mismatch
    ))
    day3 = _write(raw / "2026/11/day3.csv", _csv(
        _sale_line("T1", "2026-02-30", "4", "10.00", "40.00"),  # an invalid correction: T1 keeps quantity 3
    ))
    result = so.compute([[day1], [day2], [day3]])
    acc = result.sales_transactions
    # 10 records; rejected 4; valid T1 T2 T2 T3 T1' T4 = 6, of which 4 transactions.
    assert (acc.raw_records, acc.quarantined, acc.duplicates_removed, acc.silver_rows) == (10, 0, 2, 4)
    assert acc.rejected == {"amount_mismatch": 1, "invalid_total_amount": 1, "invalid_transaction_date": 1,
                            "non_positive_quantity": 1}
    rows = {r["transaction_id"]: r for r in result.silver_sales_transactions}
    assert list(rows) == ["T1", "T2", "T3", "T4"]
    assert (rows["T1"]["quantity"], rows["T1"]["total_amount"]) == (3, Decimal("30.00"))
    assert (rows["T3"]["quantity"], rows["T3"]["total_amount"]) == (1, Decimal("7.00"))
    assert rows["T4"]["total_amount"] == Decimal("8.01")
    assert result.as_of_date == date(2026, 11, 2)
    # The same files as one batch: the same winners (day2 and day3 sort after day1).
    assert so.compute([[day3, day1, day2]]).silver_sales_transactions == result.silver_sales_transactions


def test_batch_order_beats_path_order_and_within_a_batch_the_last_record_wins(tmp_path: Path) -> None:
    raw = tmp_path / "sales_transactions"
    z = _write(raw / "z.csv", _csv(_sale_line("T8", "2026-11-01", "5", "1.00", "5.00")))
    a = _write(raw / "a.csv", _csv(_sale_line("T8", "2026-11-01", "1", "1.00", "1.00"),
                                   _sale_line("T9", "2026-11-01", "1", "2.00", "2.00"),
                                   _sale_line("T9", "2026-11-01", "2", "2.00", "4.00")))

    def quantities(result: so.Result) -> dict[str, int]:
        return {r["transaction_id"]: r["quantity"] for r in result.silver_sales_transactions}

    # z.csv in an earlier batch, a.csv later: a.csv's T8 wins although its path sorts first.
    assert quantities(so.compute([[z], [a]])) == {"T8": 1, "T9": 2}
    # One batch: path order, z.csv last.
    assert quantities(so.compute([[z, a]])) == {"T8": 5, "T9": 2}
    assert quantities(so.compute_dir(tmp_path)) == {"T8": 5, "T9": 2}


def test_sales_quarantine(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    _write(raw / "sales_transactions/a.csv", _csv(
        _sale_line("T1", "2026-11-01", "1", "1.00", "1.00"),
        "T2,2026-11-01,S1,Boston Mall,Boston,East,P1,Mug,Home,C1,1,1.00",  # 12 fields
        "T3,2026-11-01,S1,Boston Mall,Boston,East,P1,Mug, large,Home,C1,1,1.00,1.00,cash",  # 15 fields
        "",  # a blank line is no record
    ))
    columns = [c for c in so.SALES_COLUMNS if c != "total_amount"]  # a required column missing
    _write(raw / "sales_transactions/b.csv", ",".join(columns) + "\nT4,2026-11-01,S1,,,East,P1,,,C1,1,1.00,cash\n"
           "T5,bad\n")
    _write(raw / "sales_transactions/.hidden.csv", _csv(_sale_line("T6", "2026-11-01", "1", "1.00", "1.00")))
    _write(raw / "sales_transactions/notes.txt", "not read")
    result = so.compute_dir(raw)
    acc = result.sales_transactions
    assert (acc.raw_records, acc.quarantined, acc.rejected, acc.duplicates_removed, acc.silver_rows) == (5, 4, {}, 0, 1)
    assert acc.quarantined_files == ["sales_transactions/b.csv"]
    assert result.customers.raw_records == 0


# -- customers -------------------------------------------------------------------------------------


def test_customers_latest_updated_at_wins(tmp_path: Path) -> None:
    raw = tmp_path / "raw" / "customers"
    a = _write(raw / "a.jsonl", "\n".join((
        '{"customer_id": "C1", "customer_name": "ann lee", "membership_tier": "silver", '
        '"signup_date": "2024-05-01", "updated_at": "2026-11-01T10:00:00Z"}',
        '{"customer_id": "C2", "membership_tier": "bronze", "updated_at": "2026-11-01T09:00:00Z"}',
        '{"customer_id": "C2", "membership_tier": "bronze", "updated_at": "2026-11-01T09:00:00Z"}',
        '{"customer_id": "C3", "age_group": "25-34", "updated_at": "2026-11-01 08:00:00"}',
        '{"customer_id": "C4", "updated_at": ',  # broken: quarantined
        "[1, 2]",  # not an object: quarantined
        "   ",  # blank: no record
    )) + "\n")
    b = _write(raw / "b.json", json.dumps([
        # 2026-11-03 09:00 UTC: newer, wins.
        {"customer_id": "C1", "customer_name": "Ann Lee", "membership_tier": "gold",
         "updated_at": "2026-11-03T10:00:00+01:00", "signup_date": "2024-05-01"},
        # Out of order: older than C2's 2026-11-01 09:00, delivered later: must not win.
        {"customer_id": "C2", "membership_tier": "silver", "updated_at": "2026-10-31T23:00:00Z"},
        {"customer_id": "  ", "updated_at": "2026-11-05T00:00:00Z"},  # missing_customer_id
        {"customer_id": "C1", "membership_tier": "platinum", "updated_at": "2026-11-31T00:00:00Z"},  # invalid
        {"customer_id": "C3", "signup_date": "2021/01/05", "updated_at": "2026-11-05T00:00:00Z"},  # invalid
        {"customer_id": "C5", "membership_tier": "gold", "updated_at": "2026-11-01T08:00:00Z"},
        "not an object",
    ], indent=2))
    c = _write(raw / "c.jsonl", '{"customer_id": "C5", "membership_tier": "silver", '
                                '"updated_at": "2026-11-01T03:00:00-05:00"}\n')  # 08:00 UTC: a tie, later wins
    d = _write(raw / "d.jsonl", '{"customer_id": "C9", "membership_tier": "gold"}\n{"customer_id": "C9"}\n')
    result = so.compute([[a], [b], [c, d]], root=tmp_path / "raw")
    acc = result.customers
    # a: 6 records (2 quarantined); b: 7 (1 quarantined, 3 rejected); c: 1; d: 2, quarantined whole
    # (no record has updated_at). Valid: C1 C2 C2 C3 + C1 C2 C5 + C5 = 8, of which 4 customers.
    assert (acc.raw_records, acc.quarantined, acc.duplicates_removed, acc.silver_rows) == (16, 5, 4, 4)
    assert acc.rejected == {"invalid_signup_date": 1, "invalid_updated_at": 1, "missing_customer_id": 1}
    assert acc.quarantined_files == ["customers/d.jsonl"]
    assert result.silver_customers == [
        {"customer_id": "C1", "customer_name": "Ann Lee", "age_group": None, "membership_tier": "gold",
         "signup_date": date(2024, 5, 1), "updated_at": _utc(2026, 11, 3, 9)},
        {"customer_id": "C2", "customer_name": None, "age_group": None, "membership_tier": "bronze",
         "signup_date": None, "updated_at": _utc(2026, 11, 1, 9)},
        {"customer_id": "C3", "customer_name": None, "age_group": "25-34", "membership_tier": None,
         "signup_date": None, "updated_at": _utc(2026, 11, 1, 8)},
        {"customer_id": "C5", "customer_name": None, "age_group": None, "membership_tier": "silver",
         "signup_date": None, "updated_at": _utc(2026, 11, 1, 8)},
    ]
    # In one batch the tie still goes to c.jsonl (after b.json in path order).
    assert so.compute([[a, b, c, d]]).silver_customers[3]["membership_tier"] == "silver"
    # The tie the other way round: b.json after c.jsonl in batch order.
    assert so.compute([[a, c], [b]]).silver_customers[3]["membership_tier"] == "gold"


def test_json_documents_that_do_not_parse_count_as_one_quarantined_record(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    _write(raw / "customers/broken.json", '[{"customer_id": "C1", "updated_at": "2026-11-01T00:00:00Z"},\n')
    _write(raw / "customers/one.json", '{"customer_id": 12345, "updated_at": "2026-11-01T00:00:00Z"}')
    _write(raw / "customers/empty.json", "  \n")
    _write(raw / "customers/empty_array.json", "[]")
    _write(raw / "customers/bom.jsonl", '\ufeff{"customer_id": "C7", "updated_at": "2026-11-01T00:00:00Z"}\r\n')
    result = so.compute_dir(raw)
    acc = result.customers
    assert (acc.raw_records, acc.quarantined, acc.silver_rows) == (3, 1, 2)
    assert acc.quarantined_files == []  # one unreadable record, not a file without a required column
    assert [c["customer_id"] for c in result.silver_customers] == ["12345", "C7"]  # numbers as written


def test_json_reading_rules(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    ok = '"updated_at": "2026-11-01T00:00:00Z"'
    # The layout goes by content: JSON lines in a `.json` file, split on CR alone too.
    _write(raw / "customers/lines.json", f'{{"customer_id": "C1", {ok}}}\r{{"customer_id": "C2", {ok}}}\r')
    _write(raw / "customers/odd.jsonl", "\n".join((
        f'{{"customer_id": "C3", "customer_id": "C4", {ok}}}',  # a repeated key: not loadable
        f'{{"customer_id": "C5", "age_group": NaN, {ok}}}',  # NaN is not JSON
        f'{{"customer_id": "C6", "customer_name": "\\ud800", {ok}}}',  # an unpaired surrogate
        f'{{"customer_id": "C7", "customer_name": {{"first": "Ann", "n": [1.50, true, null]}}, {ok}}}',
        " \t ",  # JSON whitespace only: no record
    )) + "\n")
    # A pretty-printed object is not an array: read as lines, each of them broken.
    _write(raw / "customers/pretty.json", json.dumps({"customer_id": "C8", "updated_at": "2026-11-01T00:00:00Z"},
                                                    indent=2))
    result = so.compute_dir(raw)
    acc = result.customers
    assert (acc.raw_records, acc.quarantined, acc.silver_rows) == (2 + 4 + 4, 3 + 4, 3)
    rows = {c["customer_id"]: c for c in result.silver_customers}
    assert sorted(rows) == ["C1", "C2", "C7"]
    assert rows["C7"]["customer_name"] == '{"first":"Ann","n":[1.50,true,null]}'  # compact, numbers as written


# -- sales gold ------------------------------------------------------------------------------------


def _sale(tid: str, day: date, customer: str, quantity: int = 1, price: str = "10.00", *, region: str = "East",
          product: str = "P1") -> dict[str, Any]:
    total = f"{Decimal(price) * quantity:.2f}"
    row, reason = so.validate_sale({**GOOD_SALE, "transaction_id": tid, "transaction_date": day.isoformat(),
                                    "customer_id": customer, "quantity": str(quantity), "unit_price": price,
                                    "total_amount": total, "region": region, "product_id": product})
    assert reason is None
    return row


@pytest.mark.parametrize(
    ("first", "last", "count", "segment"),
    [
        (date(2026, 10, 31), date(2026, 11, 30), 9, "new"),  # first purchase exactly 30 days before
        (date(2026, 10, 30), date(2026, 10, 31), 5, "champion"),  # 31 days: not new; last exactly 30 days
        (date(2026, 9, 1), date(2026, 10, 30), 5, "regular"),  # last 31 days before: not a champion
        (date(2026, 9, 1), date(2026, 11, 30), 4, "regular"),  # 4 transactions: not a champion
        (date(2026, 8, 1), date(2026, 10, 1), 2, "regular"),  # last exactly 60 days before
        (date(2026, 8, 1), date(2026, 9, 30), 7, "at_risk"),  # 61 days
        (date(2026, 11, 20), date(2026, 11, 20), 1, "new"),  # new beats everything
    ],
)
def test_segment_boundaries(first: date, last: date, count: int, segment: str) -> None:
    assert so.segment(first, last, count, date(2026, 11, 30)) == segment


def test_customer_segments_by_hand() -> None:
    as_of = date(2026, 11, 30)
    sales = [
        *[_sale(f"A{i}", date(2026, 10, 30 + (i % 2)), "C1") for i in range(5)],  # 10-30 x3, 10-31 x2
        _sale("B1", date(2026, 9, 1), "C2", 2, "5.00"), _sale("B2", date(2026, 9, 30), "C2"),
        _sale("U1", date(2026, 11, 1), "C404", 3, "1.50"),  # a customer unknown to customers
        _sale("L1", date(2026, 12, 1), "C1"),  # after as_of_date: ignored
        _sale("L2", date(2026, 12, 2), "C3"),  # only after as_of_date: no row
    ]
    customers = {"C1": {"membership_tier": "gold", "age_group": "25-34"},
                 "C2": {"membership_tier": "bronze", "age_group": None}}
    assert so.customer_segments(sales, customers, as_of) == [
        {"customer_id": "C1", "first_purchase_date": date(2026, 10, 30), "last_purchase_date": date(2026, 10, 31),
         "transaction_count": 5, "total_revenue": Decimal("50.00"), "avg_order_value": 10.0,
         "membership_tier": "gold", "age_group": "25-34", "segment": "champion", "as_of_date": as_of},
        {"customer_id": "C2", "first_purchase_date": date(2026, 9, 1), "last_purchase_date": date(2026, 9, 30),
         "transaction_count": 2, "total_revenue": Decimal("20.00"), "avg_order_value": 10.0,
         "membership_tier": "bronze", "age_group": None, "segment": "at_risk", "as_of_date": as_of},
        {"customer_id": "C404", "first_purchase_date": date(2026, 11, 1), "last_purchase_date": date(2026, 11, 1),
         "transaction_count": 1, "total_revenue": Decimal("4.50"), "avg_order_value": 4.5,
         "membership_tier": None, "age_group": None, "segment": "new", "as_of_date": as_of},
    ]


def test_sales_summary_and_enriched_by_hand() -> None:
    sales = [
        _sale("T1", date(2026, 11, 3), "C1", 2, "10.00"),
        _sale("T2", date(2026, 11, 20), "C2", 1, "10.01"),
        _sale("T3", date(2026, 12, 1), "C1", 1, "3.00"),
        _sale("T4", date(2026, 11, 5), "C1", 4, "0.25", region="West"),
        _sale("T5", date(2026, 11, 5), "C1", 1, "1.00", product="P2"),
    ]
    summary = so.sales_summary(sales)
    assert [(r["year"], r["month"], r["region"], r["product_id"], r["transaction_count"], r["units_sold"],
             r["revenue"]) for r in summary] == [
        (2026, 11, "East", "P1", 2, 3, Decimal("30.01")),
        (2026, 11, "East", "P2", 1, 1, Decimal("1.00")),
        (2026, 11, "West", "P1", 1, 4, Decimal("1.00")),
        (2026, 12, "East", "P1", 1, 1, Decimal("3.00")),
    ]
    assert summary[0]["avg_transaction_value"] == pytest.approx(15.005)
    enriched = so.sales_enriched(sales, {"C1": {"customer_name": "Ann Lee", "age_group": "25-34",
                                                "membership_tier": "gold"}})
    assert [r["transaction_id"] for r in enriched] == ["T1", "T2", "T3", "T4", "T5"]
    assert {k: enriched[0][k] for k in ("customer_name", "age_group", "membership_tier", "year", "month",
                                        "quantity", "total_amount", "city")} == {
        "customer_name": "Ann Lee", "age_group": "25-34", "membership_tier": "gold", "year": 2026, "month": 11,
        "quantity": 2, "total_amount": Decimal("20.00"), "city": "Boston"}
    assert (enriched[1]["customer_name"], enriched[1]["membership_tier"], enriched[1]["age_group"]) == (None,) * 3
    assert (enriched[2]["year"], enriched[2]["month"]) == (2026, 12)


def test_sales_end_to_end_with_current_customers(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    _write(raw / "sales_transactions/d1.csv", _csv(
        _sale_line("T1", "2026-11-01", "1", "9.99", "9.99", customer=" C1 "),
        _sale_line("T2", "2026-11-02T22:00:00-05:00", "2", "1.50", "3.00", customer="C9"),  # 2026-11-03 UTC
    ))
    _write(raw / "customers/c.jsonl", '{"customer_id": "C1", "membership_tier": "silver", '
                                      '"updated_at": "2026-11-01T00:00:00Z"}\n'
                                      '{"customer_id": "C1", "membership_tier": "gold", '
                                      '"updated_at": "2026-11-02T00:00:00Z"}\n')
    result = so.compute_dir(raw)
    assert result.as_of_date == date(2026, 11, 3)
    assert [(r["transaction_id"], r["membership_tier"]) for r in result.sales_enriched] == [("T1", "gold"),
                                                                                            ("T2", None)]
    assert [(s["customer_id"], s["segment"], s["membership_tier"]) for s in result.customer_segments] == [
        ("C1", "new", "gold"), ("C9", "new", None)]
    assert so.compute_dir(raw, as_of_date=date(2026, 11, 1)).customer_segments[0]["transaction_count"] == 1


# -- user_events -----------------------------------------------------------------------------------

GOOD_EVENT: dict[str, str | None] = {
    "event_id": "e1", "user_id": "u1", "session_id": "s1", "event_type": "view", "product_id": "P1",
    "category": "Books", "price": None, "event_timestamp": "2026-11-03T10:00:00Z",
}


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"event_id": None}, "missing_event_id"),
        ({"event_id": "  "}, "missing_event_id"),
        ({"user_id": ""}, "missing_user_id"),
        ({"event_type": "hover"}, "invalid_event_type"),
        ({"event_type": None}, "invalid_event_type"),
        ({"event_type": "\tview"}, "invalid_event_type"),  # trimming removes spaces only
        ({"event_type": "add to cart"}, "invalid_event_type"),
        ({"event_timestamp": "2026-11-03T24:00:00Z"}, "invalid_event_timestamp"),
        ({"event_timestamp": "1762164000"}, "invalid_event_timestamp"),
        ({"price": "abc"}, "invalid_price"),
        ({"price": "1.999"}, "invalid_price"),
        ({"price": "1e2"}, "invalid_price"),
        ({"price": "-1.00"}, "negative_price"),
        ({"event_type": "purchase"}, "missing_purchase_price"),
        ({"event_type": "purchase", "price": "  "}, "missing_purchase_price"),
        # The first failing rule wins, in the listed order.
        ({"event_id": None, "user_id": ""}, "missing_event_id"),
        ({"event_type": "hover", "event_timestamp": "x"}, "invalid_event_type"),
        ({"event_timestamp": "bad", "price": "-1"}, "invalid_event_timestamp"),
        ({"event_type": "purchase", "price": "-1"}, "negative_price"),
    ],
)
def test_event_rejection_reasons(changes: dict[str, str | None], reason: str) -> None:
    assert eo.validate({**GOOD_EVENT, **changes}) == (None, reason)


@pytest.mark.parametrize(
    ("written", "event_type"),
    [(" View", "view"), ("VIEW ", "view"), ("ADD_TO_CART", "add_to_cart"), (" Add_To_Cart ", "add_to_cart"),
     ("Click", "click")],
)
def test_event_types_are_trimmed_and_lower_cased(written: str, event_type: str) -> None:
    row, reason = eo.validate({**GOOD_EVENT, "event_type": written})
    assert reason is None and row["event_type"] == event_type


def test_a_valid_event_is_typed() -> None:
    row, reason = eo.validate({**GOOD_EVENT, "event_type": "Purchase ", "price": "0", "session_id": " ",
                               "event_timestamp": "2026-11-04T01:00:00+02:00"})
    assert reason is None
    assert row == {"event_id": "e1", "user_id": "u1", "session_id": None, "event_type": "purchase",
                   "product_id": "P1", "category": "Books", "price": Decimal("0.00"),
                   "event_at": _utc(2026, 11, 3, 23), "event_date": date(2026, 11, 3)}


def _jsonl(*objects: Any) -> str:
    return "".join((o if isinstance(o, str) else json.dumps(o)) + "\n" for o in objects)


def test_repeated_event_ids(tmp_path: Path) -> None:
    raw = tmp_path / "raw" / "user_events"
    base = {"user_id": "u1", "session_id": "s1", "product_id": "P1", "category": "Books"}
    e1 = {"event_id": "e1", **base, "event_type": "purchase", "price": 19.9, "event_timestamp": "2026-11-03T10:00:00Z"}
    e2 = {"event_id": "e2", **base, "event_type": "view", "event_timestamp": "2026-11-03T09:00:00Z"}
    e3 = {"event_id": "e3", **base, "event_type": "add_to_cart", "price": "5.00",
          "event_timestamp": "2026-11-03T09:30:00Z"}
    b1 = _write(raw / "2026/11/a.jsonl", _jsonl(e1, e2, e2, e3, '{"event_id": "e4", "user_id":'))
    b2 = _write(raw / "2026/11/b.json", json.dumps([
        {**e1, "price": 17.91},  # a later version: wins
        {**e2, "session_id": None, "event_type": " VIEW"},  # a later version: wins
        {**e3, "price": -5},  # an invalid later version: e3 keeps 5.00
        e1 | {"event_id": "e5", "price": "<1e2>"},  # the number `1e2`, kept as written: invalid_price
    ], indent=2).replace('"<1e2>"', "1e2"))
    b3 = _write(raw / "2026/11/c.jsonl", _jsonl({**e1, "price": 17.91}))  # identical to the winner
    result = eo.compute([[b1], [b2], [b3]])
    acc = result.user_events
    # a: 5 records (1 quarantined); b: 4 (2 rejected); c: 1. Valid: e1 e2 e2 e3 + e1 e2 + e1 = 7 for 3 events.
    assert (acc.raw_records, acc.quarantined, acc.duplicates_removed, acc.silver_rows) == (10, 1, 4, 3)
    assert acc.rejected == {"invalid_price": 1, "negative_price": 1}
    events = {e["event_id"]: e for e in result.silver_user_events}
    assert events["e1"]["price"] == Decimal("17.91")
    assert (events["e2"]["session_id"], events["e2"]["event_type"]) == (None, "view")
    assert events["e3"]["price"] == Decimal("5.00")
    # Within one batch the later file wins as well.
    assert {e["event_id"]: e["price"] for e in eo.compute([[b1, b2]]).silver_user_events}["e1"] == Decimal("17.91")
    # ... and the earlier batch loses even when its path sorts last.
    late_path = _write(raw / "2026/11/z.jsonl", _jsonl({**e1, "price": 1.0}))
    assert {e["event_id"]: e["price"] for e in eo.compute([[late_path], [b1]]).silver_user_events}["e1"] == \
        Decimal("19.90")


def test_a_file_without_a_required_key_is_quarantined_whole(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    _write(raw / "user_events/legacy.jsonl", _jsonl(
        {"event_id": "e1", "user_id": "u1", "event_type": "view", "ts": "2026-11-03T10:00:00Z"}, "broken"))
    _write(raw / "user_events/ok.jsonl", _jsonl(
        {"event_id": "e2", "user_id": "u1", "event_type": "view", "event_timestamp": "2026-11-03T10:00:00Z"},
        {"event_id": "e3", "user_id": "u1", "event_type": "view"}))  # key missing here only: rejected
    result = eo.compute_dir(raw)
    acc = result.user_events
    assert (acc.raw_records, acc.quarantined, acc.rejected, acc.silver_rows) == (
        4, 2, {"invalid_event_timestamp": 1}, 1)
    assert acc.quarantined_files == ["user_events/legacy.jsonl"]


def _ev(event_id: str, user: str, event_type: str, timestamp: str, product: str | None = "P1",
        category: str | None = "Books", price: str | None = None, session: str | None = "s1") -> dict[str, Any]:
    row, reason = eo.validate({"event_id": event_id, "user_id": user, "session_id": session,
                               "event_type": event_type, "product_id": product, "category": category,
                               "price": price, "event_timestamp": timestamp})
    assert reason is None, reason
    return row


def test_user_features_by_hand() -> None:
    events = [
        _ev("b", "u1", "click", "2026-11-03T12:00:00Z"),
        _ev("a", "u1", "purchase", "2026-11-03T12:00:00Z", price="5.00"),  # same instant: smaller id wins
        _ev("c", "u1", "view", "2026-11-02T08:00:00Z"),
        _ev("d", "u1", "purchase", "2026-11-02T08:01:00Z", price="2.50"),
        _ev("e", "u2", "add_to_cart", "2026-11-01T23:00:00-02:00", price="3.00"),  # 2026-11-02 01:00 UTC
        _ev("f", "u3", "view", "2026-11-05T00:00:00Z"),  # sets the default as_of_date
        _ev("g", "u4", "view", "2026-11-06T00:00:00Z"),  # after an explicit as_of_date: ignored
    ]
    features = eo.user_features(events, date(2026, 11, 5))
    assert features == [
        {"user_id": "u1", "view_count": 1, "click_count": 1, "cart_count": 0, "purchase_count": 2,
         "total_spend": Decimal("7.50"), "first_event_at": _utc(2026, 11, 2, 8), "last_event_at": _utc(2026, 11, 3, 12),
         "last_event_type": "purchase", "days_since_last_event": 2, "as_of_date": date(2026, 11, 5)},
        {"user_id": "u2", "view_count": 0, "click_count": 0, "cart_count": 1, "purchase_count": 0,
         "total_spend": Decimal("0.00"), "first_event_at": _utc(2026, 11, 2, 1), "last_event_at": _utc(2026, 11, 2, 1),
         "last_event_type": "add_to_cart", "days_since_last_event": 3, "as_of_date": date(2026, 11, 5)},
        {"user_id": "u3", "view_count": 1, "click_count": 0, "cart_count": 0, "purchase_count": 0,
         "total_spend": Decimal("0.00"), "first_event_at": _utc(2026, 11, 5), "last_event_at": _utc(2026, 11, 5),
         "last_event_type": "view", "days_since_last_event": 0, "as_of_date": date(2026, 11, 5)},
    ]


def test_user_days_by_hand() -> None:
    events = [
        _ev("b", "u1", "click", "2026-11-03T12:00:00Z"),
        _ev("a", "u1", "purchase", "2026-11-03T12:00:00Z", price="5.00"),  # same instant: smaller id wins
        _ev("c", "u1", "view", "2026-11-02T08:00:00Z"),
        _ev("d", "u1", "purchase", "2026-11-02T08:01:00Z", price="2.50"),
        _ev("e", "u2", "add_to_cart", "2026-11-01T23:00:00-02:00", price="3.00"),  # 2026-11-02 01:00 UTC
    ]
    assert eo.user_days(events) == [
        {"event_date": date(2026, 11, 2), "user_id": "u1", "view_count": 1, "click_count": 0, "cart_count": 0,
         "purchase_count": 1, "total_spend": Decimal("2.50"), "first_event_at": _utc(2026, 11, 2, 8),
         "last_event_at": _utc(2026, 11, 2, 8, 1), "last_event_type": "purchase"},
        {"event_date": date(2026, 11, 2), "user_id": "u2", "view_count": 0, "click_count": 0, "cart_count": 1,
         "purchase_count": 0, "total_spend": Decimal("0.00"), "first_event_at": _utc(2026, 11, 2, 1),
         "last_event_at": _utc(2026, 11, 2, 1), "last_event_type": "add_to_cart"},
        {"event_date": date(2026, 11, 3), "user_id": "u1", "view_count": 0, "click_count": 1, "cart_count": 0,
         "purchase_count": 1, "total_spend": Decimal("5.00"), "first_event_at": _utc(2026, 11, 3, 12),
         "last_event_at": _utc(2026, 11, 3, 12), "last_event_type": "purchase"},
    ]


def test_top_products_ties_go_to_the_smaller_product_id() -> None:
    views = {"P05": 3, "P03": 3, "P12": 1, **{f"P{n:02d}": 2 for n in (1, 2, 4, 6, 7, 8, 9, 10, 11)}}
    events = [_ev(f"{product}-{i}", "u1", "view", "2026-11-03T10:00:00Z", product=product)
              for product, count in views.items() for i in range(count)]
    events += [_ev(f"c{i}", "u1", "click", "2026-11-03T10:00:00Z", product="P00") for i in range(5)]  # no views
    events += [_ev("other-day", "u1", "view", "2026-11-04T10:00:00Z", product="P99")]
    top = eo.top_products(events)
    assert [(r["product_rank"], r["product_id"], r["views"]) for r in top if r["event_date"] == date(2026, 11, 3)] == [
        (1, "P03", 3), (2, "P05", 3), (3, "P01", 2), (4, "P02", 2), (5, "P04", 2), (6, "P06", 2), (7, "P07", 2),
        (8, "P08", 2), (9, "P09", 2), (10, "P10", 2)]  # P11 ties at 2 but loses to the smaller ids
    assert [(r["event_date"], r["product_rank"], r["product_id"]) for r in top][-1] == (date(2026, 11, 4), 1, "P99")


def test_daily_gold_by_hand() -> None:
    events = [
        # A session spanning midnight UTC: s1 counts on both dates.
        _ev("e1", "u1", "view", "2026-11-03T23:58:00Z", session="s1"),
        _ev("e2", "u1", "add_to_cart", "2026-11-04T00:03:00Z", session="s1", price="8.00"),
        _ev("e3", "u1", "purchase", "2026-11-04T02:05:00+02:00", session="s1", price="8.00"),  # 00:05 UTC
        _ev("e4", "u2", "view", "2026-11-03T10:15:00Z", session=None),  # no session: not counted as one
        _ev("e5", "u2", "purchase", "2026-11-03T10:15:00Z", session="s2", price="5.00", product="P2",
            category="Toys"),
        _ev("e6", "u3", "purchase", "2026-11-03T10:45:00Z", session="s3", price="2.50", product="P2",
            category="Toys"),
        _ev("e7", "u3", "click", "2026-11-03T10:46:00Z", session="s3", product="P3", category=None),
        _ev("e8", "u3", "view", "2026-11-03T10:47:00Z", session="s3", product=None, category=None),
        _ev("e9", "u3", "view", "2026-11-03T10:48:00Z", session="s3"),
    ]
    d3, d4 = date(2026, 11, 3), date(2026, 11, 4)
    assert eo.user_activity(events) == [
        {"event_date": d3, "active_users": 3, "sessions": 3, "events": 7},  # s1, s2, s3
        {"event_date": d4, "active_users": 1, "sessions": 1, "events": 2},  # s1 again
    ]
    assert eo.hourly_revenue(events) == [
        {"event_date": d3, "event_hour": 10, "purchases": 2, "revenue": Decimal("7.50")},
        {"event_date": d4, "event_hour": 0, "purchases": 1, "revenue": Decimal("8.00")},
    ]
    assert eo.conversion_funnel(events) == [
        # P1 on the 3rd: views e1 e4 e9; P2: purchases only; P3: a click only, so no row.
        {"event_date": d3, "product_id": "P1", "views": 3, "carts": 0, "purchases": 0, "view_to_cart_rate": 0.0,
         "cart_to_purchase_rate": None},
        {"event_date": d3, "product_id": "P2", "views": 0, "carts": 0, "purchases": 2, "view_to_cart_rate": None,
         "cart_to_purchase_rate": None},
        {"event_date": d4, "product_id": "P1", "views": 0, "carts": 1, "purchases": 1, "view_to_cart_rate": None,
         "cart_to_purchase_rate": 1.0},
    ]
    assert eo.category_performance(events) == [
        {"event_date": d3, "category": "Books", "views": 3, "clicks": 0, "carts": 0, "purchases": 0,
         "revenue": Decimal("0.00")},
        {"event_date": d3, "category": "Toys", "views": 0, "clicks": 0, "carts": 0, "purchases": 2,
         "revenue": Decimal("7.50")},
        {"event_date": d4, "category": "Books", "views": 0, "clicks": 0, "carts": 1, "purchases": 1,
         "revenue": Decimal("8.00")},
    ]
    two_views_one_cart = [_ev("x1", "u1", "view", "2026-11-05T10:00:00Z"),
                          _ev("x2", "u1", "view", "2026-11-05T10:01:00Z"),
                          _ev("x3", "u1", "add_to_cart", "2026-11-05T10:02:00Z", price="1.00")]
    funnel = eo.conversion_funnel(two_views_one_cart)[0]
    assert (funnel["view_to_cart_rate"], funnel["cart_to_purchase_rate"]) == (0.5, 0.0)


def test_events_end_to_end_default_as_of_date(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    _write(raw / "user_events/2026/11/d.jsonl", _jsonl(
        {"event_id": "e1", "user_id": "u1", "event_type": "view", "event_timestamp": "2026-11-03T23:59:00Z",
         "session_id": "s1", "product_id": "P1", "category": "Books"},
        {"event_id": "e2", "user_id": "u1", "event_type": "PURCHASE", "price": 12, "product_id": "P1",
         "category": "Books", "event_timestamp": "2026-11-04T00:01:00Z", "session_id": "s1"},
        {"event_id": "e3", "user_id": "u2", "event_type": "hover", "event_timestamp": "2026-11-04T00:01:00Z"},
    ))
    result = eo.compute_dir(raw)
    assert result.as_of_date == date(2026, 11, 4)
    assert result.user_events.as_dict() == {"raw_records": 3, "quarantined": 0,
                                            "rejected": {"invalid_event_type": 1}, "duplicates_removed": 0,
                                            "silver_rows": 2}
    assert [(r["event_date"], r["sessions"]) for r in result.user_activity] == [(date(2026, 11, 3), 1),
                                                                                 (date(2026, 11, 4), 1)]
    assert result.user_features[0]["total_spend"] == Decimal("12.00")
    assert result.user_features[0]["days_since_last_event"] == 0
