"""Every silver and gold table on the local Athena, read through its Athena API, against the same table of the
local DuckDB build of the same raw files (`$LAKE_ROOT/warehouse.duckdb`).

Rows are compared as multisets after putting both sides in one form: dates and timestamps as ISO text with
microseconds, decimals exact, doubles to 12 significant digits (the engines may sum in different orders).
One column is allowed to differ by design: the p95 of `daily_endpoint_metrics`, exact (interpolated) on DuckDB
and `approx_percentile` on Athena. For it the Athena value must sit, among the group's sorted values, within
RANK_TOLERANCE of the 95th-percentile rank (see `p95_rank_ok`), a check that a p90 or a max() fails.
"""

from __future__ import annotations

import math
import sys
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

LAYERS = ("silver", "gold")
# (model, column) -> (source relation in DuckDB, value column, group columns)
APPROXIMATE = {("daily_endpoint_metrics", "p95_response_ms"):
               ("silver.web_requests", "response_ms", ("event_date", "endpoint"))}
# Columns not compared, with the reason: dbt's snapshot surrogate key hashes the text of `updated_at`, which each
# engine renders its own way (and dbt-athena prints the digest in upper case); it is only ever joined within one
# engine's table.
NOT_COMPARED = {"dbt_scd_id": "dbt's snapshot surrogate key: an engine-specific hash of engine-specific text"}
QUANTILE = 0.95
RANK_TOLERANCE = 0.02  # of the group's size, and at least one rank either side


def p95_rank_ok(values: list[float], candidate: float, quantile: float = QUANTILE,
                tolerance: float = RANK_TOLERANCE) -> bool:
    """Does `candidate` sit within `tolerance` (a share of the group's size, at least one rank) of the `quantile`
    rank of `values`? Its rank is where it falls among the sorted values: from the number of values below it to
    the number at or below it. Trino's approx_percentile (a quantile digest) answers a value at or between data
    values near that rank, with a rank error of about 1%."""
    n = len(values)
    if n == 0:
        return False
    target = quantile * (n - 1)  # 0-based rank of the quantile
    slack = max(1.0, tolerance * n)
    below = sum(1 for v in values if v < candidate and not math.isclose(v, candidate, rel_tol=1e-12))
    at_or_below = sum(1 for v in values if v <= candidate or math.isclose(v, candidate, rel_tol=1e-12))
    if at_or_below > below:  # a value of the data: its rank(s)
        lowest, highest = below, at_or_below - 1
    else:  # strictly between two data values: the ranks of its neighbours
        lowest, highest = below - 1, below
    return lowest - slack <= target <= highest + slack


def normalize(value: Any, kind: str) -> Any:
    """One comparable form for a value of either engine; `kind` is the DuckDB type of the column."""
    if value is None:
        return None
    kind = kind.upper()
    if kind.startswith("DECIMAL"):
        return Decimal(str(value)).normalize()
    if kind in ("DOUBLE", "FLOAT", "REAL"):
        number = float(value)
        return float(f"{number:.12g}")
    if kind in ("BIGINT", "INTEGER", "SMALLINT", "TINYINT", "HUGEINT"):
        return int(value)
    if kind == "BOOLEAN":
        return value if isinstance(value, bool) else str(value).lower() == "true"
    if kind == "DATE":
        return value.isoformat() if isinstance(value, date) else str(value)[:10]
    if kind.startswith("TIMESTAMP"):
        if isinstance(value, datetime):
            return value.strftime("%Y-%m-%d %H:%M:%S.%f")
        text = str(value).replace("T", " ")
        if text.endswith(" UTC"):
            text = text[:-4]
        whole, _, fraction = text.partition(".")
        return f"{whole}.{(fraction or '0')[:6].ljust(6, '0')}"
    return str(value)


@dataclass
class TableDiff:
    name: str
    athena_rows: int = 0
    local_rows: int = 0
    problems: list[str] = field(default_factory=list)


def compare_rows(name: str, columns: list[str], kinds: list[str], athena: list[list[Any]], local: list[tuple],
                 approximate: dict[str, Any] | None = None) -> TableDiff:
    diff = TableDiff(name, len(athena), len(local))
    approximate = approximate or {}
    exact_idx = [i for i, c in enumerate(columns) if c not in approximate and c not in NOT_COMPARED]

    def key(row: Any) -> tuple:
        return tuple(normalize(row[i], kinds[i]) for i in exact_idx)

    athena_keys = Counter(key(r) for r in athena)
    local_keys = Counter(key(r) for r in local)
    only_athena = athena_keys - local_keys
    only_local = local_keys - athena_keys
    names = [columns[i] for i in exact_idx]
    for row, count in list(only_athena.items())[:5]:
        diff.problems.append(f"{count} row(s) only on Athena: {dict(zip(names, row, strict=True))}")
    for row, count in list(only_local.items())[:5]:
        diff.problems.append(f"{count} row(s) only on DuckDB: {dict(zip(names, row, strict=True))}")
    if len(only_athena) + len(only_local) > 10:
        diff.problems.append(f"... {sum(only_athena.values())} rows only on Athena, "
                             f"{sum(only_local.values())} only on DuckDB in all")
    for column, check in approximate.items():
        index = columns.index(column)
        for row in athena:
            problem = check(dict(zip(columns, row, strict=False)), row[index])
            if problem:
                diff.problems.append(problem)
                if len(diff.problems) > 20:
                    break
    return diff


def _approximate_checks(model: str, duck: Any) -> dict[str, Any]:
    checks = {}
    for (name, column), (source, value_column, groups) in APPROXIMATE.items():
        if name != model:
            continue
        rows = duck.sql(f"select {', '.join(groups)}, list({value_column}) from {source} "
                        f"group by {', '.join(groups)}").fetchall()
        values = {tuple(normalize(v, "VARCHAR") for v in row[:-1]): [float(x) for x in row[-1]] for row in rows}

        def check(row: dict[str, Any], candidate: Any, values: dict = values, groups: tuple = groups,
                  column: str = column) -> str | None:
            group = tuple(normalize(row[g], "VARCHAR") for g in groups)
            if candidate is None or group not in values:
                return f"{column} {candidate!r} for {group}: no such group in the local silver"
            if not p95_rank_ok(values[group], float(candidate)):
                return (f"{column} {candidate} for {group} is not within {RANK_TOLERANCE:.0%} of the p95 rank of "
                        f"its {len(values[group])} values")
            return None

        checks[column] = check
    return checks


def compare_all(stack: Any, lake_root: Path, tables: list[tuple[str, str]] | None = None) -> list[TableDiff]:
    import duckdb

    from local_athena.cli import run_query
    from local_athena.stack import ENV

    duck = duckdb.connect(str(lake_root / "warehouse.duckdb"), read_only=True)
    try:
        if tables is None:
            tables = [tuple(r) for r in duck.sql(
                "select table_schema, table_name from information_schema.tables "
                f"where table_schema in {LAYERS} order by 1, 2").fetchall()]
        diffs = []
        for layer, table in tables:
            described = duck.sql(f"describe {layer}.{table}").fetchall()
            columns = [r[0] for r in described]
            kinds = [r[1] for r in described]
            select_list = ", ".join(f'"{c}"' for c in columns)
            local = duck.sql(f"select {select_list} from {layer}.{table}").fetchall()
            try:
                _, athena = run_query(stack, f"select {select_list} from {ENV}_{layer}.{table}", f"{ENV}_{layer}")
            except Exception as exc:  # noqa: BLE001 - a missing table is a difference to report
                diffs.append(TableDiff(f"{layer}.{table}", 0, len(local), [f"not readable on Athena: {exc}"]))
                continue
            diffs.append(compare_rows(f"{layer}.{table}", columns, kinds, athena, local,
                                      _approximate_checks(table, duck)))
        return diffs
    finally:
        duck.close()


def main(stack: Any, lake_root: Path, _target: Path) -> int:
    if not (lake_root / "warehouse.duckdb").exists():
        print(f"error: no local DuckDB build in {lake_root}: run `make pipeline` first", file=sys.stderr)
        return 1
    diffs = compare_all(stack, lake_root)
    bad = [d for d in diffs if d.problems]
    for diff in diffs:
        mark = "DIFFERS" if diff.problems else "equal"
        print(f"   {diff.name:<42} {diff.athena_rows:>7} rows on Athena, {diff.local_rows:>7} on DuckDB: {mark}",
              file=sys.stderr)
        for problem in diff.problems:
            print(f"      {problem}", file=sys.stderr)
    if bad:
        print(f"error: {len(bad)} of {len(diffs)} silver and gold tables differ between the local Athena and DuckDB",
              file=sys.stderr)
        return 1
    print(f">> all {len(diffs)} silver and gold tables are equal on the local Athena and DuckDB", file=sys.stderr)
    return 0
