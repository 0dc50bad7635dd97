"""`make charts`: every chart is a real PNG, and the numbers it plots equal what silver says.

The expectations are computed here in Python from the SILVER tables (rows fetched one by one, summed and
ranked in Python), never from the gold query a chart runs. charts.json carries each chart's plotted numbers.
"""

from __future__ import annotations

import importlib.util
import json
import re
import struct
import sys
from collections import Counter, defaultdict
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlglot
from sqlglot import exp

from testkit import REPO, Lake

pytestmark = [pytest.mark.e2e]

EXPECTED_CHARTS = {
    "daily_requests_by_endpoint", "daily_error_rate_by_endpoint", "revenue_by_region", "top_products_by_revenue",
    "monthly_revenue_trend", "revenue_by_tier_and_age_group", "transaction_value_distribution",
    "conversion_funnel", "hourly_revenue", "user_recency_distribution", "top_viewed_products",
}


def load_script() -> Any:
    spec = importlib.util.spec_from_file_location("charts_script", REPO / "scripts" / "charts.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def charts(demo_lake: Any) -> dict[str, dict[str, Any]]:
    demo_lake.make("charts")
    manifest = json.loads((demo_lake.root / "charts" / "charts.json").read_text())
    assert manifest["target"] == "local"
    return {chart["name"]: chart for chart in manifest["charts"]}


@pytest.fixture(scope="module")
def chart_sql(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The chart queries as dbt compiles them for a target (scripts/charts.py chart_sql): one compile per target for
    the module."""
    compiled: dict[str, dict[str, str]] = {}

    def for_target(target: str) -> dict[str, str]:
        if target not in compiled:
            compiled[target] = load_script().chart_sql(target, tmp_path_factory.mktemp(f"charts-{target}"))
        return compiled[target]

    return for_target


def money(value: Decimal) -> float:
    return float(value)


def approx(value: Any) -> Any:
    return pytest.approx(value, abs=0.005)


def png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", f"{path.name} is not a PNG"
    assert head[12:16] == b"IHDR"
    return struct.unpack(">II", head[16:24])


def test_every_chart_is_a_titled_png_of_sensible_size(demo_lake: Any, charts: dict[str, dict[str, Any]]) -> None:
    assert set(charts) == EXPECTED_CHARTS
    for name, chart in charts.items():
        path = demo_lake.root / "charts" / chart["file"]
        assert path.name == f"{name}.png"
        width, height = png_size(path)
        assert 900 <= width <= 2400 and 400 <= height <= 2000, (name, width, height)
        assert path.stat().st_size > 20_000, f"{name}: suspiciously small PNG"
        assert chart["title"] and chart["sources"] and all(s.startswith("gold.") for s in chart["sources"])
        assert not chart["data"].get("empty"), f"{name} has no data"


def test_web_charts_match_silver_web_requests(demo_lake: Any, charts: dict[str, dict[str, Any]]) -> None:
    requests: Counter[tuple[str, str]] = Counter()
    errors: Counter[tuple[str, str]] = Counter()
    for event_date, endpoint, status in demo_lake.query("select event_date, endpoint, status_code "
                                                        "from silver.web_requests"):
        requests[(event_date.isoformat(), endpoint)] += 1
        errors[(event_date.isoformat(), endpoint)] += status >= 400
    days = sorted({d for d, _ in requests})
    per_endpoint = Counter()
    for (_, endpoint), n in requests.items():
        per_endpoint[endpoint] += n
    ranked = sorted(per_endpoint, key=lambda e: (-per_endpoint[e], e))

    volume = charts["daily_requests_by_endpoint"]["data"]
    assert volume["dates"] == days
    assert volume["total"] == [sum(n for (d, _), n in requests.items() if d == day) for day in days]
    named = [s for s in volume["series"] if s in per_endpoint]
    assert named == ranked[:len(named)] and 5 <= len(named) <= 8
    for endpoint in named:
        assert volume["series"][endpoint] == [requests[(day, endpoint)] for day in days], endpoint
    others = [s for s in volume["series"] if s not in per_endpoint]
    assert sorted(volume["endpoints_in_other"]) == sorted(ranked[len(named):])
    if others:
        assert volume["series"][others[0]] == [
            sum(requests[(day, e)] for e in ranked[len(named):]) for day in days]

    rates = charts["daily_error_rate_by_endpoint"]["data"]
    assert rates["dates"] == days and sorted(rates["endpoints"]) == sorted(per_endpoint)
    for endpoint, row in zip(rates["endpoints"], rates["error_rate"], strict=True):
        expected = [errors[(d, endpoint)] / requests[(d, endpoint)] if requests[(d, endpoint)] else None
                    for d in days]
        assert row == pytest.approx(expected), endpoint
    overall = [sum(errors[(d, e)] for d in days) / per_endpoint[e] for e in rates["endpoints"]]
    assert rates["overall_error_rate"] == pytest.approx(overall)
    assert overall == sorted(overall, reverse=True)


@pytest.fixture(scope="module")
def sales(demo_lake: Any) -> list[dict[str, Any]]:
    customers = {c: (tier, age) for c, tier, age in demo_lake.query(
        "select customer_id, membership_tier, age_group from silver.customers")}
    rows = demo_lake.query("select transaction_date, region, product_id, product_name, customer_id, quantity, "
                           "total_amount from silver.sales_transactions")
    assert len(rows) > 500
    return [{"date": r[0], "region": r[1], "product_id": r[2], "product_name": r[3], "quantity": r[5],
             "amount": r[6], "tier": customers.get(r[4], (None, None))[0] or "unknown",
             "age": customers.get(r[4], (None, None))[1] or "unknown"} for r in rows]


def test_sales_charts_match_silver_sales_transactions(sales: list[dict[str, Any]],
                                                      charts: dict[str, dict[str, Any]]) -> None:
    by_region: defaultdict[str, Decimal] = defaultdict(Decimal)
    for s in sales:
        by_region[s["region"]] += s["amount"]
    region = charts["revenue_by_region"]["data"]
    assert region["regions"] == sorted(by_region, key=lambda r: (-by_region[r], r))
    assert region["revenue"] == approx([money(by_region[r]) for r in region["regions"]])

    revenue: defaultdict[str, Decimal] = defaultdict(Decimal)
    units: Counter[str] = Counter()
    names: defaultdict[str, set[str]] = defaultdict(set)
    for s in sales:
        revenue[s["product_id"]] += s["amount"]
        units[s["product_id"]] += s["quantity"]
        names[s["product_id"]].add(s["product_name"])
    top = sorted(revenue, key=lambda p: (-revenue[p], p))[:10]
    products = charts["top_products_by_revenue"]["data"]
    assert products["product_ids"] == top
    assert products["revenue"] == approx([money(revenue[p]) for p in top])
    assert products["units_sold"] == [units[p] for p in top]
    assert all(name in names[p] for p, name in zip(top, products["product_names"], strict=True))

    monthly: defaultdict[str, Decimal] = defaultdict(Decimal)
    daily: defaultdict[str, Decimal] = defaultdict(Decimal)
    for s in sales:
        monthly[f"{s['date'].year:04d}-{s['date'].month:02d}"] += s["amount"]
        daily[s["date"].isoformat()] += s["amount"]
    trend = charts["monthly_revenue_trend"]["data"]
    assert trend["months"] == sorted(monthly)
    assert trend["revenue"] == approx([money(monthly[m]) for m in sorted(monthly)])
    assert trend["transactions"] == [sum(1 for s in sales if s["date"].strftime("%Y-%m") == m)
                                     for m in sorted(monthly)]
    assert trend["daily"]["dates"] == sorted(daily)
    assert trend["daily"]["revenue"] == approx([money(daily[d]) for d in sorted(daily)])

    cells: defaultdict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for s in sales:
        cells[(s["tier"], s["age"])] += s["amount"]
    tiers = charts["revenue_by_tier_and_age_group"]["data"]
    assert set(tiers["tiers"]) == {t for t, _ in cells} and set(tiers["age_groups"]) == {a for _, a in cells}
    for t, tier in enumerate(tiers["tiers"]):
        assert tiers["revenue"][t] == approx([money(cells[(tier, age)]) for age in tiers["age_groups"]]), tier
    assert tiers["revenue_by_tier"] == approx(
        [money(sum((v for (t, _), v in cells.items() if t == tier), Decimal(0))) for tier in tiers["tiers"]])


def test_transaction_value_bands_count_every_silver_transaction(sales: list[dict[str, Any]],
                                                                charts: dict[str, dict[str, Any]]) -> None:
    data = charts["transaction_value_distribution"]["data"]
    bands = data["bands"]
    amounts = [s["amount"] for s in sales]
    assert data["transactions"] == len(amounts)
    assert data["revenue"] == approx(money(sum(amounts, Decimal(0))))
    assert bands[0]["lower"] <= min(amounts) and (bands[-1]["upper"] is None or max(amounts) < bands[-1]["upper"])
    for previous, band in zip(bands, bands[1:], strict=False):
        assert previous["upper"] == band["lower"], "bands must be contiguous"
    for band in bands:
        upper = band["upper"] if band["upper"] is not None else float("inf")
        assert band["transactions"] == sum(1 for a in amounts if band["lower"] <= a < upper), band["label"]
    assert sum(b["transactions"] for b in bands) == len(amounts)


@pytest.fixture(scope="module")
def events(demo_lake: Any) -> list[tuple]:
    rows = demo_lake.query("select user_id, event_type, product_id, price, event_at, event_date "
                           "from silver.user_events")
    assert len(rows) > 500
    return rows


def test_clickstream_charts_match_silver_user_events(events: list[tuple],
                                                     charts: dict[str, dict[str, Any]]) -> None:
    stage = {"view": "views", "add_to_cart": "carts", "purchase": "purchases"}
    per_day: defaultdict[str, Counter[str]] = defaultdict(Counter)
    for _, event_type, product_id, _, _, event_date in events:
        if product_id is not None and event_type in stage:
            per_day[event_date.isoformat()][stage[event_type]] += 1
    funnel = charts["conversion_funnel"]["data"]
    days = sorted(per_day)
    assert funnel["dates"] == days
    for key in ("views", "carts", "purchases"):
        assert funnel[key] == [per_day[d][key] for d in days], key
        assert funnel["totals"][key] == sum(per_day[d][key] for d in days)
    assert funnel["view_to_cart_rate"] == pytest.approx([per_day[d]["carts"] / per_day[d]["views"] for d in days])

    revenue: defaultdict[int, Decimal] = defaultdict(Decimal)
    purchases: Counter[int] = Counter()
    for _, event_type, _, price, event_at, _ in events:
        if event_type == "purchase":
            revenue[event_at.hour] += price
            purchases[event_at.hour] += 1
    hourly = charts["hourly_revenue"]["data"]
    assert hourly["hours"] == list(range(24))
    assert hourly["purchases"] == [purchases[h] for h in range(24)]
    assert hourly["revenue"] == approx([money(revenue[h]) for h in range(24)])

    as_of = max(e[5] for e in events)
    last_seen: dict[str, date] = {}
    for user_id, *_, event_date in events:
        if event_date <= as_of:
            last_seen[user_id] = max(last_seen.get(user_id, event_date), event_date)
    recency = Counter((as_of - d).days for d in last_seen.values())
    data = charts["user_recency_distribution"]["data"]
    assert data["as_of_date"] == as_of.isoformat()
    assert dict(zip(data["days_since_last_event"], data["users"], strict=True)) == dict(recency)

    per_product: defaultdict[str, Counter[str]] = defaultdict(Counter)
    for _, event_type, product_id, *_ in events:
        if product_id is not None and event_type in stage:
            per_product[product_id][stage[event_type]] += 1
    top = sorted((p for p in per_product if per_product[p]["views"]),
                 key=lambda p: (-per_product[p]["views"], p))[:10]
    viewed = charts["top_viewed_products"]["data"]
    assert viewed["product_ids"] == top
    for key in ("views", "carts", "purchases"):
        assert viewed[key] == [per_product[p][key] for p in top], key


def test_exposures_declare_every_chart_and_lead_back_to_the_raw_contracts(
        demo_lake: Any, charts: dict[str, dict[str, Any]]) -> None:
    """models/exposures.yml names each chart file once, depends on every gold table the chart reads, and dbt's
    lineage (the manifest `make docs` wrote) runs from each exposure back to the bronze sources."""
    import yaml

    exposures = yaml.safe_load((REPO / "models" / "exposures.yml").read_text())["exposures"]
    refs = {e["name"]: {r.removeprefix("ref('").removesuffix("')") for r in e["depends_on"]} for e in exposures}
    by_file = {f: e["name"] for e in exposures for f in e.get("meta", {}).get("files", [])}
    manifest = json.loads((demo_lake.target / "manifest.json").read_text())
    analysis_refs = {node["name"].removeprefix("chart_"): {d.rsplit(".", 1)[1] for d in node["depends_on"]["nodes"]}
                     for node in manifest["nodes"].values() if node["resource_type"] == "analysis"}
    read_by_exposure: dict[str, set[str]] = defaultdict(set)
    for chart in charts.values():
        exposure = by_file.get(chart["file"])
        assert exposure, f"no exposure lists {chart['file']}"
        assert {s.removeprefix("gold.") for s in chart["sources"]} <= refs[exposure], chart["name"]
        # The chart's SQL is its analyses (in the lineage): what they ref is what the exposure depends on.
        assert chart["queries"], chart["name"]
        for query in chart["queries"]:
            read_by_exposure[exposure] |= analysis_refs[query]
    for exposure, read in read_by_exposure.items():
        assert read == refs[exposure], exposure
    rejected = {p.stem for p in (REPO / "models" / "silver").rglob("*_rejected.sql")}
    assert len(rejected) >= 4 and rejected <= refs["data_quality_report"]

    parents = manifest["parent_map"]

    def ancestors(node: str) -> set[str]:
        seen: set[str] = set()
        todo = [node]
        while todo:
            for parent in parents.get(todo.pop(), []):
                if parent not in seen:
                    seen.add(parent)
                    todo.append(parent)
        return seen

    expected_sources = {"web_traffic_charts": {"web_logs"}, "sales_charts": {"sales_transactions", "customers"},
                        "clickstream_charts": {"user_events"},
                        "data_quality_report": {"web_logs", "sales_transactions", "customers", "user_events"}}
    for name, datasets in expected_sources.items():
        node = f"exposure.lakehouse.{name}"
        assert node in manifest["exposures"], f"{name} is not in the dbt manifest"
        reached = {a.rsplit(".", 1)[1] for a in ancestors(node) if a.startswith("source.lakehouse.bronze.")}
        assert reached == datasets, name


def test_every_chart_query_is_a_dbt_analysis_compiled_for_athena_over_the_gold_database(chart_sql: Any) -> None:
    """Each chart query is analyses/charts/chart_<query>.sql. Compiled by dbt for the athena target it reads only
    gold tables of the env's gold database, parses as Athena SQL and as DuckDB SQL, and passes the project's
    sqlfluff rules as Athena SQL (`make lint` lints the analyses themselves, with the dbt templater)."""
    from sqlfluff.core import FluffConfig, Linter

    script = load_script()
    analyses = {p.stem.removeprefix("chart_") for p in (REPO / "analyses" / "charts").glob("chart_*.sql")}
    assert {q for _, queries in script.REGISTRY for q in queries} == analyses
    compiled = chart_sql("athena")
    assert set(compiled) == analyses
    # dbt quotes the relation names it renders: not the author's quoting (references.quoting), and `make lint`
    # lints the analyses as written.
    linter = Linter(config=FluffConfig.from_path(str(REPO), overrides={
        "templater": "raw", "dialect": "athena",
        "exclude_rules": "structure.using,ambiguous.column_count,references.quoting"}))
    tables = 0
    for name, sql in compiled.items():
        violations = linter.lint_string(sql.strip() + "\n").get_violations()
        assert not violations, f"{name}: " + "; ".join(f"{v.rule_code()} line {v.line_no}: {v.desc()}"
                                                       for v in violations)
        tree = sqlglot.parse_one(sql, read="athena")
        ctes = {cte.alias for cte in tree.find_all(exp.CTE)}
        for table in tree.find_all(exp.Table):
            if table.name not in ctes:
                assert (table.catalog, table.db) == ("awsdatacatalog", "dev_gold"), f"{name}: {table.sql('athena')}"
                tables += 1
        sqlglot.parse_one(sql, read="duckdb")
    assert tables >= len(analyses)
    # The vars the analyses take are the ones the script labels its charts with.
    edges = script.VALUE_BAND_EDGES
    bands = compiled["transaction_value_bands"]
    assert [int(e) for e in re.findall(r"when total_amount < (\d+) then", bands)] == list(edges)
    assert f"limit {script.TOP_PRODUCTS}" in compiled["top_viewed_products"]


def test_no_sql_is_left_in_the_charts_script() -> None:
    import ast

    tree = ast.parse((REPO / "scripts" / "charts.py").read_text())
    strings = [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)]
    sql = [s for s in strings if re.search(r"\bselect\b[\s\S]*\bfrom\b", s, re.IGNORECASE)]
    assert not sql, sql


def test_the_athena_target_runs_the_same_queries_on_the_lake_env_gold_database(
        demo_lake: Any, monkeypatch: pytest.MonkeyPatch, chart_sql: Any) -> None:
    """Offline: pyathena.connect is replaced by DuckDB with the demo gold tables as `awsdatacatalog.dev_gold` (no AWS
    here), to check the Athena path's settings and the SQL dbt compiles for it: it returns what the local path
    returns."""
    import duckdb
    import pyathena

    script = load_script()
    fake = duckdb.connect()
    fake.execute(f"attach '{demo_lake.warehouse}' as lake (read_only)")
    fake.execute("attach ':memory:' as awsdatacatalog")
    fake.execute("create schema awsdatacatalog.dev_gold")
    for (table,) in fake.execute("select table_name from duckdb_tables() where database_name = 'lake' "
                                 "and schema_name = 'gold'").fetchall():
        fake.execute(f"create view awsdatacatalog.dev_gold.{table} as select * from lake.gold.{table}")
    settings: dict[str, Any] = {}

    def connect(**kwargs: Any) -> Any:
        settings.update(kwargs)
        return fake

    monkeypatch.setattr(pyathena, "connect", connect)
    monkeypatch.setenv("ATHENA_S3_STAGING_DIR", "s3://results-bucket/charts/")
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    monkeypatch.setenv("ATHENA_WORK_GROUP", "analysts")
    monkeypatch.setenv("LAKE_ENV", "dev")
    athena = script.AthenaWarehouse()
    assert settings == {"s3_staging_dir": "s3://results-bucket/charts/", "region_name": "eu-west-1",
                        "work_group": "analysts", "schema_name": "dev_gold"}
    local = script.LocalWarehouse(demo_lake.root)
    athena_sql, local_sql = chart_sql("athena"), chart_sql("local")
    try:
        for name, sql in athena_sql.items():
            assert sql != local_sql[name]  # each target's own relation names ...
            rows = athena.rows(sql)
            assert rows and rows == local.rows(local_sql[name]), name  # ... and the same rows
    finally:
        local.close()
        athena.close()


def test_empty_gold_tables_give_placeholder_charts(demo_lake: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   chart_sql: Any) -> None:
    """A dataset with no raw files builds empty gold tables: each chart then says so instead of crashing."""
    import duckdb

    lake = tmp_path / "lake"
    lake.mkdir()
    with duckdb.connect(str(lake / "warehouse.duckdb")) as con:
        con.execute(f"attach '{demo_lake.warehouse}' as demo (read_only)")
        con.execute("create schema gold")
        for (table,) in con.execute("select table_name from duckdb_tables() where database_name = 'demo' "
                                    "and schema_name = 'gold'").fetchall():
            con.execute(f"create table gold.{table} as select * from demo.gold.{table} limit 0")
    monkeypatch.setenv("MPLCONFIGDIR", str(tmp_path / "matplotlib"))
    script = load_script()
    warehouse = script.LocalWarehouse(lake)
    try:
        plotter = script.Plotter(warehouse, chart_sql("local"))
        charts = list(plotter.charts())  # drawing is what `make charts` tests; here only that nothing breaks
        for chart in charts:
            plotter.plt.close(chart.figure)
    finally:
        warehouse.close()
    assert {c.name for c in charts} == EXPECTED_CHARTS
    assert all(c.data == {"empty": True} and c.title for c in charts)


def test_a_missing_warehouse_says_to_run_the_pipeline(tmp_path: Path) -> None:
    lake = Lake.under(tmp_path)
    result = lake.run(["python", "scripts/charts.py", "--target", "local", "--lake-root", str(lake.root)], ok=[1],
                      timeout=120)
    assert "make pipeline" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "lake").exists()


def test_the_athena_target_needs_its_staging_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("ATHENA_S3_STAGING_DIR", raising=False)
    assert load_script().main(["--target", "athena", "--lake-root", str(tmp_path)]) == 1
    assert "ATHENA_S3_STAGING_DIR" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())
