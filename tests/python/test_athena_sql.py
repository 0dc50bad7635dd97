"""The Athena production path, checked offline: every model compiles for the athena target against a moto
server (no AWS), in its first-build and its incremental branch, and every compiled statement parses as
Athena/Trino SQL; incremental models read bronze and silver with literal bounds; model bodies call no
engine-only function (those live in dispatched macros).
"""

from __future__ import annotations

import contextlib
import json
import math
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import duckdb
import pytest
import sqlglot
from sqlglot import exp
from sqlglot.optimizer.annotate_types import annotate_types
from sqlglot.optimizer.qualify import qualify

from local_athena.compare import p95_rank_ok
from testkit import Lake

REPO = Path(__file__).resolve().parents[2]
ENV = "dev"

# Functions only one engine has. A model body must reach them through a dispatched macro.
ENGINE_ONLY = {
    "duckdb": ["regexp_full_match", "regexp_matches", "strftime", "strptime", "quantile_cont", "approx_quantile",
               "epoch_ms", "epoch_us", "list_", "struct_pack", "timezone(", "md5(", "try_strptime", "::",
               "qualify", "json_extract_string", "json_type("],
    "athena/trino": ["regexp_like", "from_iso8601", "at_timezone", "approx_percentile", "to_hex(", "to_utf8",
                     "format_datetime", "date_format", "json_extract", "try("],
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    port = free_port()
    log = (tmp_path_factory.mktemp("moto") / "moto.log").open("w")
    server = subprocess.Popen([str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
                              stdout=log, stderr=subprocess.STDOUT)
    env = {"AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}", "AWS_ACCESS_KEY_ID": "testing",
           "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1",
           "ATHENA_S3_STAGING_DIR": "s3://athena-results/dbt/", "ATHENA_S3_DATA_DIR": "s3://lake/warehouse/",
           "LAKE_ENV": ENV}
    deadline = time.time() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if time.time() > deadline:
                server.kill()
                raise RuntimeError("moto_server did not start") from None
            time.sleep(0.2)
    try:
        yield env
    finally:
        server.terminate()
        server.wait(timeout=10)
        log.close()


def client(name: str, env: dict[str, str]):  # noqa: ANN201 - a boto3 client
    return boto3.client(name, endpoint_url=env["AWS_ENDPOINT_URL"], region_name="us-east-1",
                        aws_access_key_id="testing", aws_secret_access_key="testing")


def dbt(args: list[str], env: dict[str, str], tmp: Path, tag: str, ok: tuple[int, ...] | None = (0,)) -> Path:
    """`dbt <args> --target athena --threads 1` against moto; returns its target folder. `ok=None`: any exit."""
    lake = Lake(tmp / "lake", tmp / f"target-{tag}", tmp / f"logs-{tag}")
    lake.dbt_cli(*args, "--threads", "1", target="athena", ok=ok, timeout=600, **env)
    return lake.target


def compiled_models(target: Path) -> dict[str, str]:
    """Compiled models by path; data tests defined in YAML (compiled under `<file>.yml/`) left out."""
    root = target / "compiled" / "lakehouse" / "models"
    return {str(p.relative_to(root)): p.read_text() for p in sorted(root.rglob("*.sql"))
            if not any(part.endswith(".yml") for part in p.relative_to(root).parts)}


def compiled_tests(target: Path) -> dict[str, str]:
    root = target / "compiled" / "lakehouse"
    return {str(p.relative_to(root)): p.read_text() for p in sorted(root.rglob("*.sql"))
            if str(p.relative_to(root)).startswith("tests/") or any(part.endswith(".yml") for part in p.parts)}


def assert_parses_as_athena(sql_by_name: dict[str, str]) -> None:
    failures = {}
    for name, sql in sql_by_name.items():
        try:
            statements = [s for s in sqlglot.parse(sql, read="athena") if s is not None]
            assert statements, "no statement"
        except (sqlglot.errors.ParseError, AssertionError) as exc:
            failures[name] = str(exc)[:300]
    assert not failures, json.dumps(failures, indent=1)


@pytest.fixture(scope="module")
def catalog(moto: dict[str, str]) -> dict[str, str]:
    from glue_ingest import catalog as glue_catalog
    from glue_ingest.contracts import available_datasets, load_contract

    s3 = client("s3", moto)
    for bucket in ("lake", "athena-results"):
        s3.create_bucket(Bucket=bucket)
    glue = client("glue", moto)
    for layer in ("bronze", "silver", "gold", "ops", "audit"):
        glue_catalog.ensure_database(glue, f"{ENV}_{layer}")
    for dataset in available_datasets():
        glue_catalog.ensure_table(glue, f"{ENV}_bronze", load_contract(dataset), f"s3://lake/bronze/{dataset}")
    return moto


@pytest.fixture(scope="module")
def first_build(catalog: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project compiled for athena as on a first build (no model table exists yet)."""
    return dbt(["compile"], catalog, tmp_path_factory.mktemp("athena-first"), "first")


def test_first_build_compiles_and_parses_as_athena(first_build: Path) -> None:
    target = first_build
    models = compiled_models(target)
    assert len(models) >= 20
    assert_parses_as_athena(models)
    # Sources resolve to the Glue bronze tables, not to local Parquet.
    silver = models["silver/web_logs/web_logs_checked.sql"]
    assert f'"awsdatacatalog"."{ENV}_bronze"."web_logs"' in silver and "read_parquet" not in silver
    # Engine differences went through the athena__ macros.
    assert "from_iso8601_timestamp" in silver and "regexp_full_match" not in silver
    data_tests = compiled_tests(target)
    assert len(data_tests) >= 50
    assert_parses_as_athena(data_tests)


def test_dbt_athena_create_statements_parse_and_are_safe(catalog: dict[str, str], tmp_path: Path) -> None:
    """`dbt run --target athena` against moto: dbt-athena's own CREATE TABLE AS statements are recorded (moto
    runs none, so the run then fails on the missing tables, and models downstream are skipped). Each parses as
    Athena SQL and creates an Iceberg/Parquet table in its own unique S3 folder, partitioned as configured."""
    athena = client("athena", catalog)
    before = set(athena.list_query_executions()["QueryExecutionIds"])
    dbt(["run"], catalog, tmp_path, "run", ok=None)
    statements = [athena.get_query_execution(QueryExecutionId=i)["QueryExecution"]["Query"]
                  for i in athena.list_query_executions()["QueryExecutionIds"] if i not in before]
    creates = {}
    for statement in statements:
        match = re.search(r'create table "awsdatacatalog"\."(\w+)"\."(\w+)"\s+with \((.*?)\)\s+as',
                          statement, re.DOTALL)
        if match:
            creates[f"{match[1]}.{match[2]}"] = (match[3], statement)
    # Every silver model that reads bronze directly (the `<dataset>_checked` models) was attempted.
    expected = {f"{ENV}_silver.{name}" for name in (
        "web_logs_checked", "sales_transactions_checked", "customers_checked", "user_events_checked")}
    assert expected <= set(creates), sorted(creates)
    partitioning = {"web_logs_checked": "ingest_date", "sales_transactions_checked": "ingest_date",
                    "customers_checked": "ingest_date", "user_events_checked": "ingest_date"}
    for relation, (properties, statement) in creates.items():
        sqlglot.parse(statement, read="athena")
        schema, table = relation.split(".")
        assert "table_type='iceberg'" in properties and "format='parquet'" in properties, relation
        # s3_data_naming = schema_table_unique: <data dir>/<schema>/<table>/<uuid>, never a shared folder.
        assert re.search(rf"location='s3://lake/warehouse/{schema}/{table}/[0-9a-f-]{{36}}'", properties), properties
        if table in partitioning:
            assert f"partitioning=ARRAY['{partitioning[table]}']" in properties, properties


def register_model_tables(env: dict[str, str], manifest: dict) -> None:
    """Make every model exist in the (moto) Glue catalog, so dbt takes the is_incremental() branch."""
    glue = client("glue", env)
    tables = [(node["schema"], node["alias"], list(node["columns"])) for node in manifest["nodes"].values()
              if node["resource_type"] in ("model", "snapshot")]
    tables.append((f"{ENV}_ops", "model_watermarks", ["model_name"]))
    for database, name, column_names in tables:
        with contextlib.suppress(glue.exceptions.AlreadyExistsException):
            glue.create_table(DatabaseName=database, TableInput={
                "Name": name, "TableType": "EXTERNAL_TABLE", "Parameters": {"table_type": "ICEBERG"},
                "StorageDescriptor": {"Columns": [{"Name": c, "Type": "string"} for c in column_names],
                                      "Location": f"s3://lake/warehouse/{database}/{name}/"}})


def test_incremental_branch_compiles_with_literal_bounds(catalog: dict[str, str], tmp_path: Path) -> None:
    first = dbt(["compile"], catalog, tmp_path, "parse")
    register_model_tables(catalog, json.loads((first / "manifest.json").read_text()))
    vars_ = json.dumps({"assume_watermark": {"run_id": "20261123T101500123456Z", "ingest_date": "2026-11-23"},
                        "assume_changed_dates": ["2026-11-20", "2026-11-23"]})
    target = dbt(["compile", "--vars", vars_], catalog, tmp_path, "incremental")
    models = compiled_models(target)
    assert_parses_as_athena(models)

    bounds = "ingest_date >= date '2026-11-23' and _ingest_run_id > '20261123T101500123456Z'"
    for name, sql in models.items():
        if name.startswith("silver/"):
            # Every silver model reads only unconsumed runs, with literal bounds Athena can prune on.
            assert bounds in sql, f"{name}: no literal watermark bounds"
            assert not re.search(r"(>|>=)\s*\(\s*select\s+max", sql, re.IGNORECASE), name
    for name in ("gold/web_logs/daily_endpoint_metrics.sql", "gold/user_events/conversion_funnel.sql",
                 "gold/user_events/top_products.sql"):
        assert "event_date in (date '2026-11-20', date '2026-11-23')" in models[name], name
    # web_requests looks up already-built requests only in the dates of the new records.
    assert "already_built.event_date in (date '2026-11-20', date '2026-11-23')" in \
        models["silver/web_logs/web_requests.sql"]
    assert "transaction_date >= date '2026-11-01' and transaction_date < date '2026-12-01'" in \
        models["gold/sales/sales_summary.sql"]
    assert "transaction_date in (date '2026-11-20', date '2026-11-23')" in models["gold/sales/sales_days.sql"]
    # The entity tables kept by difference read their day versions on the touched dates only, and tell the rows as
    # of their own batch by the watermark, as literals; the day versions read their source on those dates.
    for name, column in (("gold/user_events/user_features.sql", "event_date"),
                         ("gold/sales/customer_segments.sql", "transaction_date"),
                         ("ops/user_day_versions.sql", "event_date"),
                         ("ops/customer_day_versions.sql", "transaction_date")):
        assert f"{column} in (date '2026-11-20', date '2026-11-23')" in models[name], name
    for name in ("gold/user_events/user_features.sql", "gold/sales/customer_segments.sql"):
        assert "when _ingest_run_id <= '20261123T101500123456Z' and not summed_again" in models[name], name


def test_keyed_merges_are_bounded_to_the_dates_they_touch(catalog: dict[str, str], tmp_path: Path) -> None:
    """An incremental `dbt run --target athena` of the keyed silver models asks, before the MERGE, which dates the
    new versions and the keys they replace live on (touched_dates() in macros/incremental/watermarks.sql); the
    project's wrapper of dbt-athena's `iceberg_merge` (macros/engine/merge_bounds.sql) bounds the MERGE to them,
    and they are logged for gold. moto records that query (it executes none, so the dates come back empty; the
    bounded MERGE runs on the local Athena, test_local_athena.py)."""
    vars_ = json.dumps({"assume_watermark": {"run_id": "20261123T101500123456Z", "ingest_date": "2026-11-23"}})
    # (With the vars, the compile works whether or not an earlier test already registered the model tables.)
    first = dbt(["compile", "--vars", vars_], catalog, tmp_path, "parse")
    register_model_tables(catalog, json.loads((first / "manifest.json").read_text()))
    athena = client("athena", catalog)
    before = set(athena.list_query_executions()["QueryExecutionIds"])
    dbt(["run", "--vars", vars_, "--select", "sales_transactions", "user_events"], catalog, tmp_path, "merge", ok=None)
    statements = [athena.get_query_execution(QueryExecutionId=i)["QueryExecution"]["Query"]
                  for i in athena.list_query_executions()["QueryExecutionIds"] if i not in before]
    bounds = {}
    for statement in statements:
        match = re.search(r'from "awsdatacatalog"\."(\w+)"\."(\w+)" as (existing|indexed)', statement)
        if match and "touched_date" in statement:
            bounds[match[2]] = statement
            sqlglot.parse_one(statement, read="athena")
    assert set(bounds) == {"sales_transactions", "user_event_keys"}, statements
    assert "existing.transaction_date from" in bounds["sales_transactions"]
    # user_events looks its keys up in its key directory, on the 8-byte hash, not in its own table.
    lookup = bounds["user_event_keys"]
    assert "indexed.key_hash in (select from_big_endian_64(reverse(substr(md5(to_utf8(event_id)), 1, 8)))" in lookup
    assert f'"{ENV}_silver"."user_events"' not in lookup
    # The new versions come from the versions model with literal bounds, and only the key and date columns of the
    # target are read.
    window = "ingest_date >= date '2026-11-23' and _ingest_run_id > '20261123T101500123456Z'"
    for model, versions in (("sales_transactions", "sales_transaction_versions"),
                            ("user_event_keys", "user_event_versions")):
        assert f'"{ENV}_silver"."{versions}" where {window}' in bounds[model]
        assert "select *" not in bounds[model].lower()
    # moto keeps no watermarks, so the directory has indexed nothing: the versions up to the window are looked up
    # on the key, bounded to those runs.
    assert ("where ingest_date <= date '2026-11-23' and _ingest_run_id <= '20261123T101500123456Z' and "
            "event_id in (select event_id from") in lookup

def test_the_merge_wrapper_matches_dbt_athena(tmp_path: Path) -> None:
    """The wrapper must take exactly dbt-athena's parameters, or an adapter upgrade would break it silently."""
    import dbt.include.athena as athena_include

    def signature(text: str) -> list[str]:
        match = re.search(r"\{%-?\s*macro iceberg_merge\((.*?)\)\s*-?%\}", text, re.DOTALL)
        assert match, "no iceberg_merge macro"
        return [p.split("=")[0].strip() for p in match[1].split(",") if p.strip()]

    adapter = Path(athena_include.__path__[0]) / "macros/materializations/models/incremental/merge.sql"
    ours = REPO / "macros/engine/merge_bounds.sql"
    assert signature(ours.read_text()) == signature(adapter.read_text())


def test_model_bodies_call_no_engine_only_function() -> None:
    offenders = []
    for path in sorted((REPO / "models").rglob("*.sql")):
        body = re.sub(r"\{#.*?#\}|\{\{.*?\}\}|\{%.*?%\}", " ", path.read_text(), flags=re.DOTALL).lower()
        body = re.sub(r"--[^\n]*", " ", body)
        for engine, names in ENGINE_ONLY.items():
            offenders += [f"{path.relative_to(REPO)}: {name} ({engine})" for name in names if name in body]
    assert not offenders, "engine-only SQL in a model body; use a dispatched macro:\n" + "\n".join(offenders)


def test_the_engine_check_catches_a_planted_call(tmp_path: Path) -> None:
    planted = "select regexp_full_match(user_id, 'u[0-9]+') as ok from {{ ref('web_requests') }}"
    body = re.sub(r"\{\{.*?\}\}", " ", planted).lower()
    assert [n for n in ENGINE_ONLY["duckdb"] if n in body] == ["regexp_full_match"]


# --- differential test: Athena SQL, run with Trino semantics on DuckDB, equals the local result -------------

@pytest.fixture(scope="module")
def local_lake(demo_lake: Lake) -> Path:
    """A small lake with every dataset, built locally with `make pipeline` (the session's shared demo lake)."""
    return demo_lake.root


def athena_sql_on_duckdb(sql: str, con: duckdb.DuckDBPyConnection) -> str:
    """Transpile Athena SQL to DuckDB keeping Trino semantics (sqlglot told the column types), pointed at the
    local warehouse's tables."""
    columns = con.execute("select table_schema, table_name, column_name, data_type from information_schema.columns "
                          "where table_schema in ('silver', 'gold', 'ops')").fetchall()
    schema: dict = {"awsdatacatalog": {}}
    for layer, table, column, data_type in columns:
        schema["awsdatacatalog"].setdefault(f"{ENV}_{layer}", {}).setdefault(table, {})[column] = data_type
    expression = sqlglot.parse_one(sql, read="athena")
    expression = qualify(expression, schema=schema, dialect="athena")
    expression = annotate_types(expression, schema=schema, dialect="athena")
    for table in expression.find_all(exp.Table):
        if table.catalog == "awsdatacatalog":
            table.set("catalog", None)
            table.set("db", exp.to_identifier(table.db.removeprefix(f"{ENV}_")))
    return expression.sql(dialect="duckdb")


GOLD_GRAINS = {
    "daily_endpoint_metrics": ["event_date", "endpoint"],
    "sales_enriched": ["transaction_id"],
    "sales_summary": ["year", "month", "region", "product_id"],
    "sales_days": ["transaction_date", "region", "product_id"],
    "customer_segments": ["customer_id"],
    "user_features": ["user_id"],
    "user_days": ["event_date", "user_id"],
    "conversion_funnel": ["event_date", "product_id"],
    "hourly_revenue": ["event_date", "event_hour"],
    "top_products": ["event_date", "product_rank"],
    "category_performance": ["event_date", "category"],
    "user_activity": ["event_date"],
    "daily_web_traffic": ["event_date"],
}
# The p95 is approximate on Athena by design (approx_percentile) and exact locally (quantile_cont): the value
# the transpiled SQL gives (DuckDB's approx_quantile) must be a value of the group near the 95th-percentile rank,
# by the same rule `make athena-local` applies to Trino's own approx_percentile (local_athena.compare).
APPROXIMATE_P95 = ("daily_endpoint_metrics", "p95_response_ms")
# Columns that are literals a build renders from the lake's watermarks, not values the SQL computes: the batch of
# ops.user_day_versions (ops.customer_day_versions) that user_features (customer_segments) reflects. The first
# build's SQL compiled against moto (which holds no data) renders them null; the local Athena compares them
# (test_local_athena.py).
WATERMARK_LITERALS = {"user_features": ("_ingest_run_id", "ingest_date"),
                      "customer_segments": ("_ingest_run_id", "ingest_date")}


def p95_bounds(con: duckdb.DuckDBPyConnection) -> dict[tuple, list[float]]:
    rows = con.execute("select event_date, endpoint, list(response_ms) from silver.web_requests "
                       "group by 1, 2").fetchall()
    return {(day, endpoint): [float(v) for v in values] for day, endpoint, values in rows}


def differences(model: str, athena_rows: list[tuple], local_rows: list[tuple], columns: list[str],
                bounds: dict[tuple, list[float]]) -> list[str]:
    found = []
    if len(athena_rows) != len(local_rows):
        return [f"{model}: {len(athena_rows)} rows from the Athena SQL, {len(local_rows)} locally"]
    for athena_row, local_row in zip(athena_rows, local_rows, strict=True):
        for column, a, b in zip(columns, athena_row, local_row, strict=True):
            if (model, column) == APPROXIMATE_P95:
                ok = a is not None and p95_rank_ok(bounds[local_row[:2]], a)
            elif isinstance(a, float) or isinstance(b, float):
                ok = (a is None and b is None) or (
                    a is not None and b is not None and math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9))
            else:
                ok = a == b
            if not ok:
                found.append(f"{model}.{column} at {local_row[:2]}: athena {a!r}, local {b!r}")
    return found


def run_differential(first_build: Path, lake: Path, rewrite=lambda model, sql: sql) -> list[str]:  # noqa: ANN001
    models = compiled_models(first_build)
    found = []
    with duckdb.connect(str(lake / "warehouse.duckdb"), read_only=True) as con:
        bounds = p95_bounds(con)
        for model, grain in GOLD_GRAINS.items():
            path = next(name for name in models if name.endswith(f"/{model}.sql"))
            query = athena_sql_on_duckdb(rewrite(model, models[path]), con)
            columns = [row[0] for row in con.execute(
                "select column_name from information_schema.columns where table_schema = 'gold' "
                "and table_name = ? order by ordinal_position", [model]).fetchall()
                if row[0] not in WATERMARK_LITERALS.get(model, ())]
            order = ", ".join(grain)
            athena_rows = con.execute(
                f"select {', '.join(columns)} from ({query}) as athena order by {order}").fetchall()
            local_rows = con.execute(f"select {', '.join(columns)} from gold.{model} order by {order}").fetchall()
            assert local_rows, f"gold.{model} is empty: the differential would prove nothing"
            found += differences(model, athena_rows, local_rows, columns, bounds)
    return found


def test_gold_athena_sql_gives_the_local_result(first_build: Path, local_lake: Path) -> None:
    gold_models = {Path(name).stem for name in compiled_models(first_build) if name.startswith("gold/")}
    assert set(GOLD_GRAINS) == gold_models, "every gold model must be in the differential (GOLD_GRAINS)"
    found = run_differential(first_build, local_lake)
    assert not found, "portability bugs:\n" + "\n".join(found[:20])


def test_the_differential_catches_integer_division(first_build: Path, local_lake: Path) -> None:
    """Plant `bigint / bigint` (what safe_divide prevents) in the Athena SQL: Trino truncates it, and the
    differential must report error_rate."""
    def plant(model: str, sql: str) -> str:
        if model != "daily_endpoint_metrics":
            return sql
        planted, count = re.subn(r"case\s+when total_requests is null.*?end as error_rate",
                                 "error_requests / total_requests as error_rate", sql, flags=re.DOTALL)
        assert count == 1, sql
        return planted

    found = run_differential(first_build, local_lake, plant)
    assert found and all(".error_rate " in line for line in found), found[:5]


def test_iceberg_maintenance_optimizes_and_vacuums_every_iceberg_table(
    catalog: dict[str, str], first_build: Path, tmp_path: Path
) -> None:
    """The run-operation sends OPTIMIZE and VACUUM for each built Iceberg model (moto records, runs nothing)."""
    manifest = json.loads((first_build / "manifest.json").read_text())
    register_model_tables(catalog, manifest)
    athena = client("athena", catalog)
    before = set(athena.list_query_executions()["QueryExecutionIds"])
    dbt(["run-operation", "iceberg_maintenance"], catalog, tmp_path, "maintenance")
    new_ids = [i for i in athena.list_query_executions()["QueryExecutionIds"] if i not in before]
    # dbt-athena sends identifiers unquoted: compare without quotes.
    queries = [athena.get_query_execution(QueryExecutionId=i)["QueryExecution"]["Query"].strip().lower()
               .replace('"', "") for i in new_ids]
    iceberg_models = [n for n in manifest["nodes"].values()
                      if n["resource_type"] in ("model", "snapshot") and n["config"].get("table_type") == "iceberg"]
    assert len(iceberg_models) >= 20
    for node in iceberg_models:
        relation = f'{node["schema"]}.{node["alias"]}'
        assert any(q.startswith("optimize") and relation in q and "bin_pack" in q for q in queries), relation
        assert any(q.startswith("vacuum") and relation in q for q in queries), relation
