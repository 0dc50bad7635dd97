"""Checks on the dbt project itself: documentation coverage and contract/source drift."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "scripts"))

import contracts_to_dbt  # noqa: E402


@pytest.fixture(scope="module")
def manifest(tmp_path_factory: pytest.TempPathFactory) -> dict:
    target = tmp_path_factory.mktemp("dbt-parse")
    env = {**os.environ, "LAKE_ROOT": str(target / "lake"), "DBT_PROFILES_DIR": str(REPO / ".dbt"),
           "DBT_TARGET_PATH": str(target / "target"), "DBT_LOG_PATH": str(target / "logs")}
    result = subprocess.run([str(REPO / ".venv" / "bin" / "dbt"), "parse"], cwd=REPO, env=env,
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout
    return json.loads((target / "target" / "manifest.json").read_text())


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
