"""Project check: the dbt project's own rules, in the spirit of dbt-project-evaluator (hub packages cannot be
installed offline, so the rules are written here, against dbt's manifest).

Rules (the id in brackets is printed with each violation):
  [model_description]     every model, snapshot and seed has a non-empty description.
  [column_description]    every column declared for a model, snapshot or seed has a non-empty description.
  [source_description]    every source table and every source column has a non-empty description.
  [primary_key]           every model has a tested primary key. The key is declared as
                          `config: {meta: {primary_key: [col, ...]}}`; without a declaration it is detected from the
                          tests (one column with `unique` and `not_null`, or a `unique_combination_of_columns` test
                          whose columns all have `not_null`). The key must be unique (a `unique` test on a one-column
                          key, or a `unique_combination_of_columns` test on exactly its columns), every key column
                          must have a `not_null` test and be declared (and so described) under `columns:`.
  [source_outside_silver] only models under models/silver/ read sources (bronze).
  [gold_reads_bronze]     no gold model reads bronze: neither a source, nor a model under models/bronze/, nor
                          bronze files or tables named in its SQL.
  [silver_reads_gold]     no silver model reads a gold model (layers only point downstream).
  [gold_contract]         every gold model enforces a contract (`contract: {enforced: true}`) and declares a
                          `data_type` on every column, one of the types valid on both DuckDB and Athena (Trino):
                          varchar, boolean, integer, bigint, double, date, decimal(p,s), timestamp(6).

Output: one line per violation, `<file>: <model>: [<rule>] <what is wrong>`, and exit 1; or
`project check: N models, all rules pass` and exit 0. Exit 2 when the project cannot be parsed.

Usage:
  python scripts/check_project.py                      # dbt parse the project here, into a private target path
  python scripts/check_project.py --project-dir DIR    # another copy of the project
  python scripts/check_project.py --manifest PATH      # check an existing manifest.json, no parse
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent

# Types a gold contract may declare: each is accepted by DuckDB and by Athena (Trino) in `cast(null as <type>)`,
# which is how dbt checks a contract on both engines. A bare `timestamp` is timestamp(3) on Trino, so gold
# timestamps are declared with microseconds, as Iceberg stores them; DuckDB accepts and ignores the precision.
PORTABLE_TYPE = re.compile(
    r"^(varchar|boolean|integer|bigint|double|date|timestamp\(6\)|decimal\(\s*\d+\s*,\s*\d+\s*\))$", re.IGNORECASE
)

# SQL that reads bronze without going through a source: a bronze file path, a reader of raw files, or a
# `bronze.<table>` relation. Checked in gold models with comments removed.
BRONZE_IN_SQL = re.compile(
    r"/bronze/|\bread_(parquet|csv|csv_auto|json|json_auto)\s*\(|\bbronze_source\s*\(|\bbronze\s*\.\s*\w+",
    re.IGNORECASE,
)
COMMENTS = re.compile(r"\{#.*?#\}|--[^\n]*|/\*.*?\*/", re.DOTALL)


class ParseError(Exception):
    """dbt could not parse the project."""


@dataclass(frozen=True, order=True)
class Violation:
    file: str
    node: str
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.node}: [{self.rule}] {self.message}"


def parse_project(project_dir: Path, target_path: Path | None = None) -> dict[str, Any]:
    """`dbt parse` the project into a private target path (never the project's target/) and load the manifest."""
    dbt = Path(sys.executable).with_name("dbt")
    command = [str(dbt) if dbt.exists() else "dbt", "parse", "--no-partial-parse", "--quiet"]
    workdir = Path(tempfile.mkdtemp(prefix="check_project_"))
    target = target_path or workdir / "target"
    env = dict(os.environ)
    env.setdefault("DBT_PROFILES_DIR", str(REPO / ".dbt"))
    env["DBT_TARGET_PATH"] = str(target)
    env["DBT_LOG_PATH"] = str(workdir / "logs")
    # Parsing needs no warehouse, but the profile names one under LAKE_ROOT: point it away from any real lake.
    env["LAKE_ROOT"] = str(workdir / "lake")
    try:
        result = subprocess.run(
            [*command, "--project-dir", str(project_dir)], env=env, capture_output=True, text=True, check=False
        )
        if result.returncode != 0:
            sys.stderr.write(result.stdout + result.stderr)
            raise ParseError(f"project check: dbt parse failed in {project_dir} (exit {result.returncode})")
        return json.loads((target / "manifest.json").read_text())
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def yaml_file(node: dict[str, Any]) -> str:
    """The properties file of a node (where its description and columns live), else its own file."""
    patch = node.get("patch_path") or ""
    return patch.split("://", 1)[1] if "://" in patch else node["original_file_path"]


def layer(node: dict[str, Any]) -> str | None:
    parts = Path(node["original_file_path"]).parts
    return parts[1] if len(parts) > 2 and parts[0] == "models" else None


def tests_by_node(manifest: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Generic data tests per tested node: {'name', 'column' or None, 'kwargs'}."""
    found: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for node in manifest["nodes"].values():
        if node["resource_type"] != "test" or not node.get("test_metadata"):
            continue
        attached = node.get("attached_node") or next(iter(node["depends_on"]["nodes"]), None)
        meta = node["test_metadata"]
        column = node.get("column_name") or meta.get("kwargs", {}).get("column_name")
        found[attached].append({"name": meta["name"], "column": column, "kwargs": meta.get("kwargs", {})})
    return found


def key_tests(tests: list[dict[str, Any]]) -> tuple[set[str], set[str], list[set[str]]]:
    """(columns with not_null, columns with unique, column sets of unique_combination_of_columns)."""
    not_null = {t["column"] for t in tests if t["name"] == "not_null" and t["column"]}
    unique = {t["column"] for t in tests if t["name"] == "unique" and t["column"]}
    combinations = [
        set(t["kwargs"].get("combination_of_columns") or [])
        for t in tests
        if t["name"] == "unique_combination_of_columns"
    ]
    return not_null, unique, combinations


def check_primary_key(node: dict[str, Any], tests: list[dict[str, Any]]) -> list[str]:
    """What is wrong with the model's primary key (empty when it is declared or detected, tested, described)."""
    not_null, unique, combinations = key_tests(tests)
    declared = (node["config"].get("meta") or {}).get("primary_key") or (node.get("meta") or {}).get("primary_key")
    if declared is None:
        candidates = [{c} for c in sorted(unique & not_null)] + [s for s in combinations if s and s <= not_null]
        if not candidates:
            return [
                "no primary key: declare config.meta.primary_key and test it (unique + not_null on one column, "
                "or unique_combination_of_columns on the key's columns plus not_null on each)"
            ]
        key = sorted(candidates[0])
    else:
        key = [declared] if isinstance(declared, str) else list(declared)
        if not key:
            return ["config.meta.primary_key is empty"]
    problems = []
    if not ((len(key) == 1 and key[0] in unique) or set(key) in combinations):
        test = f"a unique test on {key[0]}" if len(key) == 1 else "a unique_combination_of_columns test"
        problems.append(f"primary key {key} has no uniqueness test ({test} on exactly these columns)")
    missing_not_null = [c for c in key if c not in not_null]
    if missing_not_null:
        problems.append(f"primary key column(s) {missing_not_null} have no not_null test")
    undeclared = [c for c in key if c not in node["columns"]]
    if undeclared:
        problems.append(f"primary key column(s) {undeclared} are not declared (and described) under columns:")
    return problems


def check(manifest: dict[str, Any]) -> tuple[int, list[Violation]]:
    """(number of models, violations) for a parsed manifest."""
    nodes = manifest["nodes"]
    tests = tests_by_node(manifest)
    violations: list[Violation] = []
    # Only this project's own nodes: installed packages follow their own rules.
    project = manifest["metadata"].get("project_name")
    ours = [n for n in nodes.values() if n["package_name"] == project or project is None]
    models = [n for n in ours if n["resource_type"] == "model"]

    for node in sorted(ours, key=lambda n: n["unique_id"]):
        if node["resource_type"] not in ("model", "snapshot", "seed"):
            continue
        name, props = node["name"], yaml_file(node)
        if not (node.get("description") or "").strip():
            what = f"{node['resource_type']} has no description"
            violations.append(Violation(props, name, "model_description", what))
        for column in node["columns"].values():
            if not (column.get("description") or "").strip():
                violations.append(
                    Violation(props, name, "column_description", f"column {column['name']} has no description")
                )
        if node["resource_type"] != "model":
            continue

        for problem in check_primary_key(node, tests.get(node["unique_id"], [])):
            violations.append(Violation(props, name, "primary_key", problem))

        sql_file, where = node["original_file_path"], layer(node)
        upstream = node["depends_on"]["nodes"]
        sources = [u.split(".", 2)[2] for u in upstream if u.startswith("source.")]
        if where == "gold":
            bronze_models = [u for u in upstream if u in nodes and layer(nodes[u]) == "bronze"]
            read = [f"source {s}" for s in sources]
            read += [f"model {nodes[u]['name']} (models/bronze)" for u in bronze_models]
            code = COMMENTS.sub("", node.get("raw_code") or "")
            if match := BRONZE_IN_SQL.search(code):
                read.append(f"bronze directly in its SQL ({match.group(0).strip()!r})")
            if read:
                violations.append(
                    Violation(sql_file, name, "gold_reads_bronze", f"gold reads {', '.join(read)}; read silver models")
                )
        elif sources and where != "silver":
            violations.append(
                Violation(
                    sql_file,
                    name,
                    "source_outside_silver",
                    f"reads source {', '.join(sources)}; only models under models/silver/ read sources",
                )
            )
        if where == "silver":
            gold = sorted(nodes[u]["name"] for u in upstream if u in nodes and layer(nodes[u]) == "gold")
            if gold:
                violations.append(Violation(sql_file, name, "silver_reads_gold", f"silver reads gold model(s) {gold}"))

        if where == "gold":
            if not (node["config"].get("contract") or {}).get("enforced"):
                violations.append(
                    Violation(props, name, "gold_contract", "gold model without config contract: {enforced: true}")
                )
            if not node["columns"]:
                violations.append(Violation(props, name, "gold_contract", "gold model declares no columns"))
            for column in node["columns"].values():
                data_type = (column.get("data_type") or "").strip()
                if not data_type:
                    violations.append(
                        Violation(props, name, "gold_contract", f"column {column['name']} has no data_type")
                    )
                elif not PORTABLE_TYPE.match(data_type):
                    violations.append(
                        Violation(
                            props,
                            name,
                            "gold_contract",
                            f"column {column['name']} has data_type {data_type!r}, not one valid on DuckDB and "
                            "Athena (varchar, boolean, integer, bigint, double, date, decimal(p,s), timestamp(6))",
                        )
                    )

    own_sources = [s for s in manifest["sources"].values() if s["package_name"] == project or project is None]
    for source in sorted(own_sources, key=lambda s: s["unique_id"]):
        name = f"{source['source_name']}.{source['name']}"
        if not (source.get("description") or "").strip():
            violations.append(
                Violation(source["original_file_path"], name, "source_description", "source table has no description")
            )
        for column in source["columns"].values():
            if not (column.get("description") or "").strip():
                violations.append(
                    Violation(
                        source["original_file_path"],
                        name,
                        "source_description",
                        f"source column {column['name']} has no description",
                    )
                )
    return len(models), sorted(set(violations))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--project-dir", type=Path, default=REPO, help="the dbt project (default: this repository)")
    parser.add_argument("--manifest", type=Path, help="check this manifest.json instead of running dbt parse")
    parser.add_argument("--target-path", type=Path, help="keep the parsed manifest here (default: a temporary dir)")
    args = parser.parse_args(argv)

    if args.manifest:
        manifest = json.loads(args.manifest.read_text())
    else:
        try:
            manifest = parse_project(args.project_dir.resolve(), args.target_path)
        except ParseError as error:
            print(error, file=sys.stderr)
            return 2
    model_count, violations = check(manifest)
    for violation in violations:
        print(violation)
    if violations:
        print(f"project check: {model_count} models, {len(violations)} violation(s)", file=sys.stderr)
        return 1
    print(f"project check: {model_count} models, all rules pass")
    return 0


if __name__ == "__main__":
    sys.exit(main())
