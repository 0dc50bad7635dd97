"""The project check (scripts/check_project.py): the real project passes, and planted violations fail, each
reported with its file, model and rule.

Two `dbt parse` runs (the real project, and one copy with every violation planted) run side by side, once for
the module. The planted copy holds only new files next to the real ones, so the violations it must report are
exactly the planted ones, worked out by hand below: any other line would be a false alarm on the real project.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "check_project.py"
DBT_FILES = ["dbt_project.yml", "packages.yml", "dependencies.yml", "models", "macros", "tests/dbt", "snapshots"]
DBT_FILES += ["seeds", "analyses"]
LINE = re.compile(r"^(?P<file>[^:]+): (?P<node>[^:]+): \[(?P<rule>\w+)\] (?P<message>.+)$")


def bronze_source() -> tuple[str, str]:
    """The name of the bronze source and one of its tables, read from the sources file."""
    sources = yaml.safe_load((REPO / "models" / "bronze" / "_bronze__sources.yml").read_text())["sources"]
    tables = [table["name"] for table in sources[0]["tables"]]
    return sources[0]["name"], "web_logs" if "web_logs" in tables else tables[0]


def write(root: Path, relative: str, text: str) -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def model_yaml(name: str, columns: list[dict[str, Any]], **properties: Any) -> str:
    return yaml.safe_dump({"version": 2, "models": [{"name": name, **properties, "columns": columns}]}, sort_keys=False)


DESCRIBED_KEY = {"name": "planted_id", "description": "The key.", "data_tests": ["unique", "not_null"]}


def plant_violations(project: Path) -> set[tuple[str, str, str]]:
    """Plant one violation of each rule in a copy of the project; return the (file, model, rule) it must report."""
    source, table = bronze_source()
    silver, gold = "models/silver/planted", "models/gold/planted"
    # A gold model reading bronze, with no properties at all: no description, key, or contract either.
    write(project, "models/gold/bad.sql", f"select * from {{{{ source('{source}', '{table}') }}}}\n")
    # A column without a description.
    write(project, f"{silver}/planted_undescribed.sql", "select 1 as planted_id, 2 as planted_mystery\n")
    write(
        project,
        f"{silver}/_planted_undescribed.yml",
        model_yaml("planted_undescribed", [DESCRIBED_KEY, {"name": "planted_mystery"}], description="Planted."),
    )
    # A model without any key test.
    write(project, f"{silver}/planted_keyless.sql", "select 1 as planted_id\n")
    write(
        project,
        f"{silver}/_planted_keyless.yml",
        model_yaml("planted_keyless", [{"name": "planted_id", "description": "Not tested."}], description="Planted."),
    )
    # A declared key that is unique but has no not_null test.
    write(project, f"{silver}/planted_nullable_key.sql", "select 1 as planted_id\n")
    write(
        project,
        f"{silver}/_planted_nullable_key.yml",
        model_yaml(
            "planted_nullable_key",
            [{"name": "planted_id", "description": "Unique only.", "data_tests": ["unique"]}],
            description="Planted.",
            config={"meta": {"primary_key": ["planted_id"]}},
        ),
    )
    # A gold model without a contract, its column typed with a type Athena does not know in DML.
    write(project, f"{gold}/planted_uncontracted.sql", "select planted_id from {{ ref('planted_undescribed') }}\n")
    write(
        project,
        f"{gold}/_planted_uncontracted.yml",
        model_yaml("planted_uncontracted", [{**DESCRIBED_KEY, "data_type": "text"}], description="Planted."),
    )
    # A silver model reading gold.
    write(
        project,
        f"{silver}/planted_reads_gold.sql",
        "select 1 as planted_id from {{ ref('planted_uncontracted') }}\n",
    )
    write(
        project,
        f"{silver}/_planted_reads_gold.yml",
        model_yaml("planted_reads_gold", [DESCRIBED_KEY], description="Planted."),
    )
    # A source column without a description.
    write(
        project,
        "models/bronze/_planted_sources.yml",
        yaml.safe_dump(
            {
                "version": 2,
                "sources": [
                    {
                        "name": "planted_source",
                        "description": "Planted.",
                        "tables": [{"name": "planted_table", "description": "Planted.", "columns": [{"name": "c"}]}],
                    }
                ],
            }
        ),
    )
    return {
        ("models/gold/bad.sql", "bad", "gold_reads_bronze"),
        ("models/gold/bad.sql", "bad", "model_description"),
        ("models/gold/bad.sql", "bad", "primary_key"),
        ("models/gold/bad.sql", "bad", "gold_contract"),
        (f"{silver}/_planted_undescribed.yml", "planted_undescribed", "column_description"),
        (f"{silver}/_planted_keyless.yml", "planted_keyless", "primary_key"),
        (f"{silver}/_planted_nullable_key.yml", "planted_nullable_key", "primary_key"),
        (f"{gold}/_planted_uncontracted.yml", "planted_uncontracted", "gold_contract"),
        (f"{silver}/planted_reads_gold.sql", "planted_reads_gold", "silver_reads_gold"),
        ("models/bronze/_planted_sources.yml", "planted_source.planted_table", "source_description"),
    }


def copy_project(destination: Path) -> Path:
    destination.mkdir(parents=True)
    for name in DBT_FILES:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, destination / name)
        elif source.exists():
            shutil.copy2(source, destination / name)
    return destination


@pytest.fixture(scope="module")
def checks(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Run the check on the real project and on a planted copy, side by side (one dbt parse each)."""
    work = tmp_path_factory.mktemp("check_project")
    planted = copy_project(work / "planted")
    expected = plant_violations(planted)
    env = {**os.environ, "LAKE_ROOT": str(work / "lake")}
    env.setdefault("DBT_PROFILES_DIR", str(REPO / ".dbt"))
    runs = {
        "real": [sys.executable, str(SCRIPT)],
        "planted": [sys.executable, str(SCRIPT), "--project-dir", str(planted), "--target-path", str(work / "target")],
    }
    started = {
        name: subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for name, command in runs.items()
    }
    results: dict[str, Any] = {"expected": expected, "manifest": work / "target" / "manifest.json", "env": env}
    for name, process in started.items():
        stdout, stderr = process.communicate(timeout=300)
        results[name] = subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)
    return results


def test_real_project_passes(checks: dict[str, Any]) -> None:
    result = checks["real"]
    assert result.returncode == 0, f"the real project breaks a rule:\n{result.stdout}{result.stderr}"
    models = len(list((REPO / "models").rglob("*.sql")))
    assert result.stdout.strip().splitlines() == [f"project check: {models} models, all rules pass"]


def test_planted_violations_fail_naming_file_model_and_rule(checks: dict[str, Any]) -> None:
    result = checks["planted"]
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stdout.strip().splitlines()
    parsed = [LINE.match(line) for line in lines]
    assert all(parsed), f"lines not in the form '<file>: <model>: [<rule>] <message>':\n{result.stdout}"
    found = {(m["file"], m["node"], m["rule"]) for m in parsed if m}
    assert found == checks["expected"], (
        f"missed: {sorted(checks['expected'] - found)}\nunexpected: {sorted(found - checks['expected'])}"
    )
    messages = {(m["node"], m["rule"]): m["message"] for m in parsed if m}
    source, table = bronze_source()
    assert f"source {source}.{table}" in messages[("bad", "gold_reads_bronze")]
    assert "planted_mystery" in messages[("planted_undescribed", "column_description")]
    assert "not_null" in messages[("planted_nullable_key", "primary_key")]
    assert "no primary key" in messages[("planted_keyless", "primary_key")]
    assert "planted_uncontracted" in messages[("planted_reads_gold", "silver_reads_gold")]
    assert "column c " in messages[("planted_source.planted_table", "source_description")]
    uncontracted = [line for line in lines if "planted_uncontracted: [gold_contract]" in line]
    assert any("enforced: true" in line for line in uncontracted) and any("'text'" in line for line in uncontracted)
    assert f"{len(lines)} violation(s)" in result.stderr


def test_an_existing_manifest_is_checked_without_parsing(checks: dict[str, Any]) -> None:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--manifest", str(checks["manifest"])],
        env=checks["env"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert (result.returncode, result.stdout) == (1, checks["planted"].stdout)
