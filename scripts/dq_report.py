"""Data-quality report of the last dbt invocation: $LAKE_ROOT/reports/data_quality.md and data_quality.json.

    python scripts/dq_report.py [--target local|athena] [--target-path DIR] [--lake-root DIR] [--output-dir DIR]

Reads dbt's artifacts in the target folder (--target-path, else $DBT_TARGET_PATH, else target/):
run_results.json (required), manifest.json (which model and column each test covers) and sources.json
(when `dbt source freshness` ran). On the local target it also reads the lake read-only: the silver
`*_rejected` tables (warehouse.duckdb), the quarantine Parquet ($LAKE_ROOT/quarantine/<dataset>/) and
the bronze Parquet ($LAKE_ROOT/bronze/<dataset>/). On athena only the dbt artifacts are read (the
warehouse sections are null, with a note): nothing here queries AWS.

The JSON shape (every key always present; a section that could not be read is null and `notes` says why):

    {
      "generated_at": "2026-11-30T13:00:00Z",          # report time, UTC
      "target": "local",
      "dbt": {"invocation_id", "command", "generated_at", "elapsed_s", "target_path"},
      "tests": {"passed", "failed", "warned", "errored", "skipped", "total",   # data tests and unit tests
                "failures": [{"test", "unique_id", "status", "model", "models", "column", "failures",
                              "message", "stored_in"}]},                         # status fail, warn or error
      "nodes": {resource_type: {status: n}},            # every node of the invocation (models, snapshots...)
      "rejects": {dataset: {reason: n}},                 # silver <model>_rejected rows by reject_reason
      "quarantine": {dataset: {reason: n}},              # quarantine Parquet rows by reason
      "freshness": {"ingest": {dataset: {"max_ingested_at", "age_s", "status", "warn_after_s", "error_after_s"}},
                    "dbt_source_freshness": null | {"generated_at", "invocation_id",
                                                    "sources": {name: {"status", "max_loaded_at", "age_s"}}}},
      "row_counts": {layer: {relation: n}},              # bronze, silver, gold, audit (non-empty audit tables)
      "notes": [str]
    }

`stored_in` is the relation holding the failing rows of a test (dbt `store_failures`, schema `audit`), or
null. `freshness.ingest.status` applies the bronze sources' `freshness` criteria from the manifest to the
newest `_ingested_at`: pass, warn, error, or null without criteria. Both files are written atomically.
Exit status: 0 when the report was written (whatever the tests' outcome), 2 when run_results.json is
missing or unreadable.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from warehouse import LocalWarehouse  # noqa: E402  (scripts/warehouse.py, the scripts' one warehouse reader)

REPO = Path(__file__).resolve().parents[1]
TEST_TYPES = ("test", "unit_test")
STATUS_KEYS = {"pass": "passed", "fail": "failed", "warn": "warned", "error": "errored", "skipped": "skipped",
               "runtime error": "errored"}
PERIOD_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}
LAYERS = ("silver", "gold", "audit")


class ReportError(Exception):
    """A missing or unreadable input that makes a report impossible."""


# -- dbt artifacts --------------------------------------------------------------------------------


def load_json(path: Path, what: str, required: bool) -> dict[str, Any] | None:
    if not path.is_file():
        if required:
            raise ReportError(f"{what} not found: {path} (run `dbt build` first, or point --target-path or "
                              f"DBT_TARGET_PATH at the folder it wrote)")
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        if required:
            raise ReportError(f"{what} is unreadable: {path}: {exc}") from exc
        return None


def _node(manifest: dict[str, Any] | None, unique_id: str) -> dict[str, Any]:
    if not manifest:
        return {}
    return manifest.get("nodes", {}).get(unique_id) or manifest.get("unit_tests", {}).get(unique_id) or {}


def _name(unique_id: str) -> str:
    return unique_id.split(".")[2] if unique_id.count(".") >= 2 else unique_id


def _models_of(node: dict[str, Any]) -> list[str]:
    return [_name(n) for n in node.get("depends_on", {}).get("nodes", []) if n.startswith(("model.", "snapshot."))]


def summarize_tests(run_results: dict[str, Any], manifest: dict[str, Any] | None) -> dict[str, Any]:
    counts = dict.fromkeys(("passed", "failed", "warned", "errored", "skipped"), 0)
    failures = []
    for result in run_results.get("results", []):
        unique_id = result.get("unique_id", "")
        resource_type = unique_id.split(".", 1)[0]
        if resource_type not in TEST_TYPES:
            continue
        status = result.get("status")
        counts[STATUS_KEYS.get(status, "errored")] += 1
        if status not in ("fail", "warn", "error"):
            continue
        node = _node(manifest, unique_id)
        models = _models_of(node)
        if resource_type == "unit_test":
            models = [unique_id.split(".")[2]] if unique_id.count(".") >= 3 else models
        attached = node.get("attached_node")
        model = _name(attached) if attached else (models[0] if len(models) == 1 else None)
        stored_in = result.get("relation_name") or node.get("relation_name")
        failures.append({
            "test": node.get("name") or unique_id.rsplit(".", 1)[-1],
            "unique_id": unique_id,
            "status": status,
            "model": model,
            "models": models,
            "column": node.get("column_name") or (node.get("test_metadata") or {}).get("kwargs", {}).get("column_name"),
            "failures": result.get("failures"),
            "message": result.get("message"),
            "stored_in": stored_in.replace('"', "") if stored_in else None,
        })
    failures.sort(key=lambda f: (f["status"] != "fail", f["unique_id"]))
    return {**counts, "total": sum(counts.values()), "failures": failures}


def summarize_nodes(run_results: dict[str, Any]) -> dict[str, dict[str, int]]:
    nodes: dict[str, Counter[str]] = {}
    for result in run_results.get("results", []):
        resource_type = result.get("unique_id", "?").split(".", 1)[0]
        nodes.setdefault(resource_type, Counter())[str(result.get("status"))] += 1
    return {k: dict(sorted(v.items())) for k, v in sorted(nodes.items())}


def freshness_criteria(manifest: dict[str, Any] | None) -> dict[str, dict[str, int | None]]:
    """warn/error thresholds in seconds of each bronze source, from the manifest's `freshness` config."""
    criteria: dict[str, dict[str, int | None]] = {}
    for source in (manifest or {}).get("sources", {}).values():
        if source.get("source_name") != "bronze":
            continue
        freshness = source.get("freshness") or {}
        limits: dict[str, int | None] = {}
        for level in ("warn_after", "error_after"):
            rule = freshness.get(level) or {}
            count, period = rule.get("count"), rule.get("period")
            limits[f"{level}_s"] = count * PERIOD_SECONDS[period] if count and period in PERIOD_SECONDS else None
        criteria[source["name"]] = limits
    return criteria


def dbt_source_freshness(sources: dict[str, Any] | None) -> dict[str, Any] | None:
    if not sources:
        return None
    results = {}
    for result in sources.get("results", []):
        name = ".".join(result.get("unique_id", "").split(".")[2:])
        results[name] = {"status": result.get("status"), "max_loaded_at": result.get("max_loaded_at"),
                         "age_s": result.get("max_loaded_at_time_ago_in_s")}
    metadata = sources.get("metadata", {})
    return {"generated_at": metadata.get("generated_at"), "invocation_id": metadata.get("invocation_id"),
            "sources": dict(sorted(results.items()))}


# -- the lake (local target) ----------------------------------------------------------------------


def _datasets(lake: Path) -> list[str]:
    names = {p.stem for p in (REPO / "glue_ingest" / "contracts").glob("*.yml")}
    for layer in ("bronze", "quarantine"):
        folder = lake / layer
        if folder.is_dir():
            names |= {p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith((".", "_"))}
    return sorted(names)


def _parquet(folder: Path) -> str | None:
    """The read_parquet() of a dataset folder's committed partitions, or None when it has no file yet."""
    if not any(folder.glob("ingest_date=*/*.parquet")):
        return None
    pattern = str(folder / "ingest_date=*" / "*.parquet").replace("'", "''")
    return f"read_parquet('{pattern}', hive_partitioning=true)"


def _rejected_datasets(manifest: dict[str, Any] | None) -> dict[str, str]:
    """Rejected table name -> dataset (the bronze source it is built from, through its `<dataset>_checked` model),
    from the manifest."""
    nodes = (manifest or {}).get("nodes", {})

    def sources_of(unique_id: str, seen: set[str]) -> set[str]:
        found = set()
        for parent in nodes.get(unique_id, {}).get("depends_on", {}).get("nodes", []):
            if parent.startswith("source."):
                found.add(parent.rsplit(".", 1)[-1])
            elif parent not in seen:
                seen.add(parent)
                found |= sources_of(parent, seen)
        return found

    mapping = {}
    for unique_id, node in nodes.items():
        if node.get("resource_type") == "model" and node.get("name", "").endswith("_rejected"):
            sources = sources_of(unique_id, set())
            if len(sources) == 1:
                mapping[node["name"]] = sources.pop()
    return mapping


def read_lake(lake: Path, manifest: dict[str, Any] | None, now: datetime, notes: list[str]) -> dict[str, Any]:
    datasets = _datasets(lake)
    rejects: dict[str, dict[str, int]] | None = None
    quarantine: dict[str, dict[str, int]] = {}
    ingest: dict[str, Any] = {}
    row_counts: dict[str, dict[str, int]] = {"bronze": {}}
    criteria = freshness_criteria(manifest)
    warehouse = lake / "warehouse.duckdb"
    reader = LocalWarehouse(lake, required=False)  # without a warehouse yet, in memory: the Parquet is still read
    fetch = reader.tuples
    try:
        for dataset in datasets:
            files = _parquet(lake / "quarantine" / dataset)
            sql = f"select reason, count(*) from {files} group by 1 order by 1"
            rows = fetch(sql) if files else []
            quarantine[dataset] = {str(reason): n for reason, n in rows}
            files = _parquet(lake / "bronze" / dataset)
            sql = f"select count(*), max(_ingested_at) from {files}"
            n, newest = fetch(sql)[0] if files else (0, None)
            row_counts["bronze"][f"bronze.{dataset}"] = n
            limits = criteria.get(dataset, {"warn_after_s": None, "error_after_s": None})
            age = round((now - newest.replace(tzinfo=UTC)).total_seconds(), 1) if newest else None
            status = None
            if age is not None and (limits["warn_after_s"] or limits["error_after_s"]):
                status = "pass"
                if limits["warn_after_s"] and age > limits["warn_after_s"]:
                    status = "warn"
                if limits["error_after_s"] and age > limits["error_after_s"]:
                    status = "error"
            ingest[dataset] = {"max_ingested_at": newest.replace(tzinfo=UTC).isoformat().replace("+00:00", "Z")
                               if newest else None, "age_s": age, "status": status, **limits}
        if not warehouse.is_file():
            notes.append(f"no warehouse at {warehouse}: rejects and silver/gold row counts not available")
        else:
            tables = fetch(
                "select table_schema, table_name from information_schema.tables "
                "where table_catalog = current_database() order by 1, 2")
            for schema, table in tables:
                if schema in LAYERS:
                    n = fetch(f'select count(*) from "{schema}"."{table}"')[0][0]
                    if schema != "audit" or n:
                        row_counts.setdefault(schema, {})[f"{schema}.{table}"] = n
            for layer in LAYERS:
                row_counts.setdefault(layer, {})
            rejects = {dataset: {} for dataset in datasets}
            to_dataset = _rejected_datasets(manifest)
            rejected_tables = fetch(
                "select table_name from information_schema.columns where table_catalog = current_database() "
                "and table_schema = 'silver' and column_name = 'reject_reason' order by 1")
            for (table,) in rejected_tables:
                if not table.endswith("_rejected"):  # the `<dataset>_checked` models carry every record's reason
                    continue
                dataset = to_dataset.get(table, table.removesuffix("_rejected"))
                rows = fetch(f'select reject_reason, count(*) from silver."{table}" group by 1 order by 1')
                counts = rejects.setdefault(dataset, {})
                for reason, n in rows:
                    counts[str(reason)] = counts.get(str(reason), 0) + n
            rejects = {d: dict(sorted(c.items())) for d, c in sorted(rejects.items())}
    finally:
        reader.close()
    return {"rejects": rejects, "quarantine": quarantine, "ingest": ingest, "row_counts": row_counts}


# -- the report -----------------------------------------------------------------------------------


def build_report(target: str, target_path: Path, lake: Path, now: datetime) -> dict[str, Any]:
    run_results = load_json(target_path / "run_results.json", "dbt run_results.json", required=True)
    assert run_results is not None
    manifest = load_json(target_path / "manifest.json", "manifest.json", required=False)
    sources = load_json(target_path / "sources.json", "sources.json", required=False)
    metadata = run_results.get("metadata", {})
    notes: list[str] = []
    command = (run_results.get("args") or {}).get("which")
    if command not in ("build", "test"):
        notes.append(f"the last dbt command was `{command}`, not build or test: its run_results hold no test results")
    if manifest is None:
        notes.append("no manifest.json: failed tests are listed without their model and column")
    elif manifest.get("metadata", {}).get("invocation_id") != metadata.get("invocation_id"):
        notes.append("manifest.json is from another dbt invocation than run_results.json")
    report: dict[str, Any] = {
        "generated_at": now.isoformat(timespec="seconds").replace("+00:00", "Z"),
        "target": target,
        "dbt": {"invocation_id": metadata.get("invocation_id"), "command": command,
                "generated_at": metadata.get("generated_at"), "elapsed_s": run_results.get("elapsed_time"),
                "target_path": str(target_path)},
        "tests": summarize_tests(run_results, manifest),
        "nodes": summarize_nodes(run_results),
        "rejects": None,
        "quarantine": None,
        "freshness": {"ingest": None, "dbt_source_freshness": dbt_source_freshness(sources)},
        "row_counts": None,
        "notes": notes,
    }
    if target == "local":
        lake_data = read_lake(lake, manifest, now, notes)
        report["rejects"] = lake_data["rejects"]
        report["quarantine"] = lake_data["quarantine"]
        report["freshness"]["ingest"] = lake_data["ingest"]
        report["row_counts"] = lake_data["row_counts"]
    else:
        notes.append(f"target {target}: rejects, quarantine, ingest freshness and row counts are only read on the "
                     f"local target")
    return report


def _table(header: list[str], rows: list[list[Any]]) -> list[str]:
    def cell(value: Any) -> str:
        text = "" if value is None else f"{value:,}" if isinstance(value, int) else str(value)
        return text.replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return lines


def _by_reason(section: dict[str, dict[str, int]] | None, empty: str) -> list[str]:
    if section is None:
        return ["Not available (see notes)."]
    rows = [[dataset, reason, n] for dataset, reasons in section.items() for reason, n in reasons.items()]
    lines = _table(["dataset", "reason", "rows"], rows) if rows else [empty]
    totals = ", ".join(f"{d} {sum(r.values()):,}" for d, r in section.items())
    return [*lines, "", f"Total: {totals}.", ""] if totals else [*lines, ""]


def render_markdown(report: dict[str, Any]) -> str:
    tests, dbt = report["tests"], report["dbt"]
    out = [
        "# Data-quality report",
        "",
        f"Generated {report['generated_at']} for target `{report['target']}` from dbt `{dbt['command']}` "
        f"(invocation `{dbt['invocation_id']}`, finished {dbt['generated_at']}).",
        "",
        "## Tests",
        "",
        f"**{tests['passed']:,} passed, {tests['failed']:,} failed, {tests['warned']:,} warned, "
        f"{tests['errored']:,} errored, {tests['skipped']:,} skipped** of {tests['total']:,} (data and unit tests).",
        "",
    ]
    if tests["failures"]:
        out += _table(["test", "status", "model", "column", "failing rows", "stored failing rows"],
                      [[f["test"], f["status"], f["model"] or ", ".join(f["models"]), f["column"], f["failures"],
                        f"`select * from {f['stored_in']}`" if f["stored_in"] else None]
                       for f in tests["failures"]])
        out.append("")
        messages = [f for f in tests["failures"] if f["status"] == "error" and f["message"]]
        for f in messages:
            out.append(f"- `{f['test']}`: {f['message']}")
        if messages:
            out.append("")
    other = {t: s for t, s in report["nodes"].items() if t not in TEST_TYPES}
    if other:
        out += ["Other nodes: " + "; ".join(f"{t} " + ", ".join(f"{k} {v}" for k, v in s.items())
                                          for t, s in other.items()) + ".", ""]
    out += ["## Rejected rows (silver `*_rejected`, by `reject_reason`)", ""]
    out += _by_reason(report["rejects"], "No rejected rows.")
    out += ["## Quarantined records (ingest, by reason)", ""]
    out += _by_reason(report["quarantine"], "No quarantined records.")
    out += ["## Freshness", ""]
    ingest = report["freshness"]["ingest"]
    if ingest is None:
        out.append("Newest ingest per dataset: not available (see notes).")
    else:
        out += _table(["dataset", "newest _ingested_at", "age", "status"],
                      [[d, f["max_ingested_at"], _age(f["age_s"]), f["status"]] for d, f in ingest.items()])
    source_freshness = report["freshness"]["dbt_source_freshness"]
    if source_freshness:
        out += ["", f"`dbt source freshness` ({source_freshness['generated_at']}):", ""]
        out += _table(["source", "status", "max loaded at", "age"],
                      [[s, r["status"], r["max_loaded_at"], _age(r["age_s"])]
                       for s, r in source_freshness["sources"].items()])
    out += ["", "## Row counts", ""]
    if report["row_counts"] is None:
        out.append("Not available (see notes).")
    else:
        rows = [[layer, relation, n] for layer, relations in report["row_counts"].items()
                for relation, n in relations.items()]
        out += _table(["layer", "relation", "rows"], rows)
        if "audit" in report["row_counts"]:
            out += ["", "Audit tables are listed only when they hold failing rows."]
    if report["notes"]:
        out += ["", "## Notes", ""] + [f"- {note}" for note in report["notes"]]
    return "\n".join(out).rstrip() + "\n"


def _age(seconds: float | None) -> str | None:
    if seconds is None:
        return None
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def summary_lines(report: dict[str, Any]) -> list[str]:
    t = report["tests"]
    lines = [f"dq_report: tests {t['passed']} passed, {t['failed']} failed, {t['warned']} warned, "
             f"{t['errored']} errored, {t['skipped']} skipped (dbt {report['dbt']['command']} "
             f"{report['dbt']['invocation_id']})"]

    def totals(section: dict[str, dict[str, int]] | None) -> str:
        if section is None:
            return "n/a"
        return f"{sum(sum(r.values()) for r in section.values()):,} (" + ", ".join(
            f"{d} {sum(r.values()):,}" for d, r in section.items()) + ")"

    lines.append(f"dq_report: rejected {totals(report['rejects'])}; quarantined {totals(report['quarantine'])}")
    ingest, counts = report["freshness"]["ingest"], report["row_counts"]
    if ingest is None or counts is None:
        lines.append("dq_report: freshness and row counts n/a on this target")
    else:
        ages = [f["age_s"] for f in ingest.values() if f["age_s"] is not None]
        stale = sorted(d for d, f in ingest.items() if f["status"] in ("warn", "error"))
        layers = ", ".join(f"{layer} {sum(r.values()):,}" for layer, r in counts.items() if layer != "audit")
        lines.append(f"dq_report: oldest newest-ingest {_age(max(ages)) if ages else 'n/a'}"
                     f"{' (stale: ' + ', '.join(stale) + ')' if stale else ''}; rows {layers}")
    return lines


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="dq_report.py", description=__doc__.splitlines()[0])
    parser.add_argument("--target", default=os.environ.get("DBT_TARGET", "local"),
                        help="dbt target the artifacts are from: local (reads the lake too) or athena")
    parser.add_argument("--target-path", type=Path, default=Path(os.environ.get("DBT_TARGET_PATH") or "target"),
                        help="dbt's target folder with run_results.json (default $DBT_TARGET_PATH or target/)")
    parser.add_argument("--lake-root", type=Path, default=Path(os.environ.get("LAKE_ROOT") or REPO / "lake"),
                        help="the lake (default $LAKE_ROOT or lake/)")
    parser.add_argument("--output-dir", type=Path, default=None,
                        help="where to write data_quality.{md,json} (default LAKE_ROOT/reports)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    lake = args.lake_root.resolve()
    output = (args.output_dir or lake / "reports").resolve()
    try:
        report = build_report(args.target, args.target_path.resolve(), lake, datetime.now(UTC))
    except ReportError as exc:
        print(f"dq_report: error: {exc}", file=sys.stderr)
        return 2
    json_path, md_path = output / "data_quality.json", output / "data_quality.md"
    write_atomically(json_path, json.dumps(report, indent=2) + "\n")
    write_atomically(md_path, render_markdown(report))
    for line in summary_lines(report):
        print(line)
    print(f"wrote {md_path}")
    print(f"wrote {json_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
