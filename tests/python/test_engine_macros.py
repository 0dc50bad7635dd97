"""Engine macros evaluated by dbt on DuckDB: the dates that bound a keyed Iceberg MERGE
(macros/engine/merge_bounds.sql), JSON access (macros/engine/json.sql) and the key hash (macros/engine/hashing.sql).

The expectations are written out by hand: the bound must hold every date a new row lands on and every date a
replaced key's current row lives on, or the MERGE would miss the old row and insert a second one for the key.
One `dbt compile --inline` evaluates every case (dbt starts once).
"""

from __future__ import annotations

import hashlib
import json

import duckdb
import pytest

from testkit import Lake

TARGET_ROWS = [("A", "2026-01-01"), ("B", "2026-01-05"), ("C", "2026-02-01"), ("E", None)]
SOURCES = {
    "correction": [("A", "2026-03-01"), ("D", "2026-01-05")],  # A moves 01-01 -> 03-01; D is new
    "empty": [],
    "null_date": [("E", "2026-01-09")],                       # E's current row has no date
    "many": [(f"N{i}", f"2026-01-{i:02d}") for i in range(1, 6)],
}
CASES = {
    "correction": "merge_target_bounds(rel('correction'), target, 'k', 'd')",
    "empty": "merge_target_bounds(rel('empty'), target, 'k', 'd')",
    "null_date": "merge_target_bounds(rel('null_date'), target, 'k', 'd')",
    "many_over_limit": "merge_target_bounds(rel('many'), target, 'k', 'd', max_values=4)",
    "many_at_limit": "merge_target_bounds(rel('many'), target, 'k', 'd', max_values=5)",
    "column_month": "merge_bound_column(['month(transaction_date)'])",
    "column_plain": "merge_bound_column('event_date')",
    "column_day": "merge_bound_column(['day( event_at )'])",
    "column_bucket": "merge_bound_column(['bucket(16, k)'])",
    "column_none": "merge_bound_column(none)",
}
# json_text must behave as Trino's json_extract_scalar: scalars as text, null for objects, arrays, JSON null, missing.
JSON_DOC = '{"a": "x y", "n": 5, "f": 1.5, "t": true, "z": null, "o": {"c": 1}, "l": [1, 2]}'
JSON_EXPECTED = {"a": "x y", "n": "5", "f": "1.5", "t": "true", "z": None, "o": None, "l": None, "missing": None}
# hash_bigint is the first 8 bytes of the key's MD5, little-endian and signed: computed here by hashlib.
HASH_KEYS = ["0f8fad5b-d9cb-469f-a165-70867728950e", "abc", "", "évènement", "x" * 200]


def python_hash_bigint(key: str) -> int:
    return int.from_bytes(hashlib.md5(key.encode()).digest()[:8], "little", signed=True)


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict:
    lake = Lake.under(tmp_path_factory.mktemp("merge-bounds"))
    lake.root.mkdir(parents=True)
    with duckdb.connect(str(lake.warehouse)) as con:
        con.execute("create schema t")
        for name, rows in {"target": TARGET_ROWS, **SOURCES}.items():
            con.execute(f"create table t.{name} (k varchar, d date)")
            if rows:
                con.executemany(f"insert into t.{name} values (?, ?)", rows)
    relation = "api.Relation.create(schema='t', identifier="
    calls = {name: call.replace("rel(", relation) for name, call in CASES.items()}
    inline = ("{% set target = api.Relation.create(schema='t', identifier='target') %}{% set out = {} %}"
              + "".join(f"{{% do out.update({{'{name}': {call}}}) %}}" for name, call in calls.items())
              + "{% set doc = \"'\" ~ var('json_doc') ~ \"'\" %}{% set json = {} %}{% set hashes = [] %}"
              + "{% if execute %}"
              + "".join(f"{{% do json.update({{'{key}': run_query('select ' ~ json_text(doc, '$.{key}'))"
                        f".columns[0].values()[0]}}) %}}" for key in JSON_EXPECTED)
              + "{% for key in var('hash_keys') %}"
              + "{% do hashes.append(run_query('select ' ~ hash_bigint(\"'\" ~ key ~ \"'\")).columns[0].values()[0]) %}"
              + "{% endfor %}"
              + "{% endif %}{% do out.update({'json': json, 'hashes': hashes}) %}{{ tojson(out) }}")
    variables = {"json_doc": JSON_DOC, "hash_keys": HASH_KEYS}
    result = lake.dbt("compile", "--quiet", "--inline", inline, "--vars", json.dumps(variables))
    return json.loads(result.result.results[0].node.compiled_code)


def test_a_correction_bounds_the_merge_to_its_old_and_new_dates(results: dict) -> None:
    assert results["correction"] == ["target.d in (date '2026-01-01', date '2026-01-05', date '2026-03-01')"]


def test_no_bound_when_it_would_be_unsafe_or_useless(results: dict) -> None:
    assert results["empty"] == []            # nothing to merge
    assert results["null_date"] == []        # a replaced row without a date could not be matched by a date bound
    assert results["many_over_limit"] == []  # too many dates for one statement: merge unbounded
    assert results["many_at_limit"] == [
        "target.d in (date '2026-01-01', date '2026-01-02', date '2026-01-03', date '2026-01-04', date '2026-01-05')"]


def test_the_partition_column_of_each_partitioning(results: dict) -> None:
    assert [results[k] for k in ("column_month", "column_plain", "column_day", "column_bucket", "column_none")] == [
        "transaction_date", "event_date", "event_at", None, None]


def test_json_text_reads_scalars_like_trino(results: dict) -> None:
    assert results["json"] == JSON_EXPECTED


def test_hash_bigint_is_md5s_first_8_bytes_as_a_signed_little_endian_bigint(results: dict) -> None:
    expected = [python_hash_bigint(key) for key in HASH_KEYS]
    assert results["hashes"] == expected
    assert any(value < 0 for value in expected) and any(value > 0 for value in expected)  # both halves of the range
