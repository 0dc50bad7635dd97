"""Checks on the dbt project itself: documentation coverage and contract/source drift."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from testkit import Lake

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "scripts"))

import contracts_to_dbt  # noqa: E402


@pytest.fixture(scope="module")
def manifest(tmp_path_factory: pytest.TempPathFactory) -> dict:
    lake = Lake.under(tmp_path_factory.mktemp("dbt-parse"))
    lake.dbt("parse")
    return json.loads((lake.target / "manifest.json").read_text())


def test_every_model_source_and_column_is_described(manifest: dict) -> None:
    missing = []
    nodes = [n for n in manifest["nodes"].values() if n["resource_type"] in ("model", "seed", "snapshot")]
    nodes += list(manifest["sources"].values())
    assert nodes
    for node in nodes:
        name = f"{node['resource_type']} {node['name']}"
        if not node["description"].strip():
            missing.append(name)
        if not node["columns"]:
            missing.append(f"{name}: no columns documented")
        missing += [f"{name}.{col}" for col, spec in node["columns"].items() if not spec["description"].strip()]
    assert not missing, "undocumented: " + ", ".join(missing)


def test_bronze_sources_are_generated_from_contracts() -> None:
    result = subprocess.run([sys.executable, str(REPO / "scripts" / "contracts_to_dbt.py"), "--check"],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_drift_check_fails_when_a_contract_changes(monkeypatch: pytest.MonkeyPatch) -> None:
    """The drift check is not vacuous: a contract with an extra column no longer matches the YAML."""
    from glue_ingest import contracts

    original = contracts.load_contract("web_logs")
    drifted = contracts.Contract(
        **{**original.__dict__,
           "columns": (*original.columns, contracts.Column("referrer", "string", "Where the user came from."))},
    )
    monkeypatch.setattr(contracts_to_dbt, "load_contract", lambda dataset: drifted)
    checked_in = (REPO / "models" / "bronze" / "_bronze__sources.yml").read_text()
    assert contracts_to_dbt.render() != checked_in
    columns = yaml.safe_load(contracts_to_dbt.render())["sources"][0]["tables"][0]["columns"]
    assert "referrer" in [c["name"] for c in columns]


def test_generated_checks_follow_the_contracts(monkeypatch: pytest.MonkeyPatch) -> None:
    """macros/generated/contracts.sql carries each contract column's checks, and drifts when a contract changes them
    (the silver `<dataset>_checked` models generate their generic checks from it)."""
    from glue_ingest import contracts

    checked_in = (REPO / "macros" / "generated" / "contracts.sql").read_text()
    assert ('{"name": "event_type", "parsed_as": "string", "required": true, "normalize": "lower", '
            '"allowed_values": ["view", "click", "add_to_cart", "purchase"]}') in checked_in
    assert '{"name": "signup_date", "parsed_as": "date", "required": false}' in checked_in
    original = contracts.load_contract("web_logs")
    optional = tuple(contracts.Column(**{**c.__dict__, "required": c.name != "response_ms" and c.required})
                     for c in original.columns)
    monkeypatch.setattr(contracts_to_dbt, "load_contract",
                        lambda dataset: contracts.Contract(**{**original.__dict__, "columns": optional}))
    assert contracts_to_dbt.render_checks() != checked_in
    assert '{"name": "response_ms", "parsed_as": "integer", "required": false}' in contracts_to_dbt.render_checks()


def test_a_contract_with_an_unknown_parsed_as_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from glue_ingest import contracts

    text = (REPO / "glue_ingest" / "contracts" / "web_logs.yml").read_text()
    (tmp_path / "web_logs.yml").write_text(text.replace("parsed_as: integer", "parsed_as: int", 1))
    monkeypatch.setattr(contracts, "CONTRACTS_DIR", tmp_path)
    contracts.load_contract.cache_clear()
    try:
        with pytest.raises(contracts.ContractError, match="unknown parsed_as 'int'"):
            contracts.load_contract("web_logs")
    finally:
        contracts.load_contract.cache_clear()


def test_every_node_compiles_on_a_lake_never_built(tmp_path: Path) -> None:
    """`dbt compile` (and `dbt docs generate`, and sqlfluff's dbt templater in `make lint`) on a fresh lake: no
    watermark table, no silver or gold table. The compile-time lookups answer "nothing recorded" instead of failing
    on the missing tables, so every model compiles to its first build's SQL (the silver and gold models were
    skipped by the linter before). A build is unaffected: it creates the watermark table and its upstreams first."""
    lake = Lake.under(tmp_path)
    lake.root.mkdir(parents=True)
    result = lake.dbt("compile", "--threads", "1")
    compiled = {r.node.name: r.node.compiled_code for r in result.result.results}
    models = {path.stem for path in (REPO / "models").rglob("*.sql")}
    assert models <= set(compiled), sorted(models - set(compiled))
    # A keyed silver model and an entity-grain gold model compile to the first build's SQL: read everything.
    assert '/* lakehouse:window {"upstream": "user_event_versions", "after": null, "upto": null, "empty": false}' \
        in compiled["user_events"]
    assert ('/* lakehouse:window {"upstream": "user_events", "after": null, "upto": null, "empty": false, '
            '"mode": "full", "dates": null, "recompute": []}') in compiled["user_features"]
    # Nothing was built or recorded by compiling.
    assert lake.query("select count(*) from information_schema.tables "
                      "where table_schema in ('silver', 'gold', 'ops')") == [(0,)]
