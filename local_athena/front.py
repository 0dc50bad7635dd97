"""The Athena API in front of Trino: what boto3's `athena` client (and so dbt-athena and pyathena) calls.

StartQueryExecution routes each statement as Athena does: Hive DDL (see hive_ddl) is parsed with Hive's rules
and carried out; everything else (SELECT, CTAS, INSERT, MERGE, DELETE, OPTIMIZE, VACUUM, views) goes to Trino,
rewritten only where the syntax is Athena's own: CTAS's `table_type` / `is_external` / `location` properties, and
OPTIMIZE / VACUUM. GetQueryExecution and GetQueryResults answer in Athena's shapes: statement types, column
types without parameters, every value as text, a header row for SELECT, pagination by NextToken, and FAILED
states carrying Trino's message. Each statement is also written to `statements.jsonl` with its kind, the SQL
Trino ran, its state and the bytes and rows Trino read (Athena's "data scanned").
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from local_athena import hive_ddl, iam
from local_athena.trino import HIVE_CATALOG, ICEBERG_CATALOG, Result, TrinoClient, TrinoError

log = logging.getLogger(__name__)

PAGE_SIZE = 1000  # GetQueryResults' maximum MaxResults
SYNC_WAIT_SECONDS = 20  # StartQueryExecution answers once the statement is done or after this long

# Trino's error types -> Athena's ErrorCategory (1 system, 2 user, 3 other).
ERROR_CATEGORY = {"USER_ERROR": 2, "INTERNAL_ERROR": 1, "INSUFFICIENT_RESOURCES": 1, "EXTERNAL": 3}
# Athena's ErrorType codes dbt-athena looks at: 233 is ICEBERG_COMMIT_ERROR (retried by dbt-athena).
ERROR_TYPE = {"ICEBERG_COMMIT_ERROR": 233, "ICEBERG_OPTIMIZE_MORE_RUNS_NEEDED": 1100,
              "ICEBERG_VACUUM_MORE_RUNS_NEEDED": 1100}

# Athena's default for vacuum_max_snapshot_age_seconds (5 days); VACUUM also removes orphan files that old.
VACUUM_RETENTION = "5d"


class AthenaApiError(Exception):
    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


@dataclass
class Execution:
    query_id: str
    query: str
    work_group: str
    catalog: str
    database: str
    output_location: str
    submitted: datetime
    state: str = "QUEUED"
    statement_type: str = "DML"
    substatement_type: str | None = None
    kind: str = "SELECT"  # a finer kind for the statement log: CTAS, MERGE, INSERT, HIVE_DDL, OPTIMIZE, ...
    trino_sql: list[str] = field(default_factory=list)
    trino_query_id: str | None = None
    result: Result | None = None
    error: dict[str, Any] | None = None
    completed: datetime | None = None
    done: threading.Event = field(default_factory=threading.Event)
    cancelled: bool = False
    # Summed over the Trino statements that carried it out: Athena's "data scanned".
    bytes_scanned: int = 0
    rows_scanned: int = 0
    bytes_by_table: dict[str, int] = field(default_factory=dict)
    trino_query_ids: list[str] = field(default_factory=list)
    elapsed_ms: int = 0
    # Fault injection (see AthenaFront.faults): the generation of faults it was submitted under, and whether the
    # service was stopped when it came (a killed build's client sends nothing; one still alive is refused).
    fault_generation: int = 0
    refused: bool = False


# --- routing and rewriting -------------------------------------------------------------------------------

_CTAS = re.compile(r"^\s*create\s+table\s+(?P<name>(?:\"[^\"]+\"|\w+)(?:\.(?:\"[^\"]+\"|\w+)){0,2})\s+with\s*\(",
                   re.IGNORECASE)
_OPTIMIZE = re.compile(
    r"^\s*optimize\s+(?P<name>\S+)\s+rewrite\s+data\s+using\s+bin_pack(?P<where>\s+where\s+.*)?\s*;?\s*$",
    re.IGNORECASE | re.DOTALL)
_VACUUM = re.compile(r"^\s*vacuum\s+(?P<name>\S+)\s*;?\s*$", re.IGNORECASE)


def strip_comments(sql: str) -> str:
    return re.sub(r"^(\s|--[^\n]*(\n|$)|/\*.*?\*/)*", "", sql, flags=re.DOTALL)


def first_word(sql: str) -> str:
    match = re.match(r"\s*\(*\s*([A-Za-z]+)", strip_comments(sql))
    return match[1].lower() if match else ""


def _split_top_level(text: str) -> list[str]:
    parts, depth, current, quote = [], 0, [], None
    for char in text:
        if quote:
            current.append(char)
            if char == quote:
                quote = None
            continue
        if char in "'\"":
            quote = char
        elif char in "([":
            depth += 1
        elif char in ")]":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append("".join(current).strip())
            current = []
            continue
        current.append(char)
    if "".join(current).strip():
        parts.append("".join(current).strip())
    return parts


def _matching_paren(text: str, open_at: int) -> int:
    depth, quote = 0, None
    for index in range(open_at, len(text)):
        char = text[index]
        if quote:
            if char == quote:
                quote = None
        elif char in "'\"":
            quote = char
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return index
    raise AthenaApiError("InvalidRequestException", "unbalanced parentheses in CREATE TABLE ... WITH (...)")


def _unquote(value: str) -> str:
    value = value.strip()
    return value[1:-1].replace("''", "'") if value.startswith("'") and value.endswith("'") else value


def _split_name(name: str) -> list[str]:
    return [part.strip('"').lower() for part in re.findall(r'"[^"]+"|[^.]+', name)]


ICEBERG_ONLY = {"partitioning", "location", "vacuum_max_snapshot_age_seconds", "vacuum_min_snapshots_to_keep",
                "optimize_rewrite_delete_file_threshold", "optimize_rewrite_data_file_threshold",
                "vacuum_max_metadata_files_to_keep"}


def rewrite_ctas(sql: str, default_schema: str) -> tuple[str, str]:
    """Athena's CTAS `WITH (table_type=..., is_external=..., location|external_location=..., ...)` as Trino's:
    an Iceberg table in the Iceberg catalog, a Hive table in the Hive catalog. Returns (catalog, sql)."""
    body = strip_comments(sql)
    match = _CTAS.match(body)
    if not match:
        return ICEBERG_CATALOG, sql
    open_at = match.end() - 1
    close_at = _matching_paren(body, open_at)
    props = {}
    for item in _split_top_level(body[open_at + 1:close_at]):
        key, _, value = item.partition("=")
        props[key.strip().lower()] = value.strip()
    table_type = _unquote(props.pop("table_type", "'hive'")).lower()
    props.pop("is_external", None)
    parts = _split_name(match["name"])
    schema, table = (parts[-2] if len(parts) > 1 else default_schema), parts[-1]
    out: list[str] = []
    fmt = _unquote(props.pop("format", "'parquet'")).upper()
    if table_type == "iceberg":
        catalog = ICEBERG_CATALOG
        out.append(f"format = '{fmt}'")
        if "location" in props:
            out.append(f"location = {props.pop('location')}")
        if "partitioning" in props:
            out.append(f"partitioning = {props.pop('partitioning')}")
        props.pop("write_compression", None)  # Trino's Iceberg writer compresses with zstd by default
        for key in list(props):
            if key.startswith(("vacuum_", "optimize_")):
                props.pop(key)
    elif table_type == "hive":
        catalog = HIVE_CATALOG
        bad = sorted(set(props) & {"partitioning", "location"})
        if bad:
            raise AthenaApiError("InvalidRequestException",
                                 f"Unsupported table property for a Hive table: {', '.join(bad)}")
        out.append(f"format = '{fmt}'")
        if "external_location" in props:
            out.append(f"external_location = {props.pop('external_location')}")
        for key in ("partitioned_by", "bucketed_by", "bucket_count"):
            if key in props:
                out.append(f"{key} = {props.pop(key)}")
        if "field_delimiter" in props:
            out.append(f"textfile_field_separator = {props.pop('field_delimiter')}")
        props.pop("write_compression", None)
    else:
        raise AthenaApiError("InvalidRequestException", f"Unsupported table_type: {table_type}")
    if props:
        raise AthenaApiError("InvalidRequestException",
                             f"Unsupported table property in CREATE TABLE AS: {', '.join(sorted(props))}")
    rest = body[close_at + 1:]
    name = f'{catalog}."{schema}"."{table}"'
    return catalog, f"create table {name} with ({', '.join(out)}){rest}"


def plan_statement(sql: str, default_schema: str) -> tuple[str, str, str | None, list[tuple[str, str]], Any]:
    """(kind, Athena StatementType, SubstatementType, [(catalog, Trino SQL)], hive plan or None)."""
    sql = re.sub(r";\s*$", "", sql.rstrip())  # Athena takes one statement with an optional trailing semicolon
    word = first_word(sql)
    if hive_ddl.classify(sql):
        plan = hive_ddl.translate(sql, default_schema)
        return "HIVE_DDL", plan.kind, None, plan.statements, plan
    body = strip_comments(sql)
    if word == "create" and re.match(r"create\s+table", body, re.IGNORECASE):
        catalog, rewritten = rewrite_ctas(body, default_schema)
        return "CTAS", "DDL", "CREATE_TABLE_AS_SELECT", [(catalog, rewritten)], None
    if word == "optimize":
        match = _OPTIMIZE.match(body)
        if not match:
            raise AthenaApiError("InvalidRequestException",
                                 "OPTIMIZE: expected OPTIMIZE <table> REWRITE DATA USING BIN_PACK [WHERE ...]")
        return "OPTIMIZE", "DML", "OPTIMIZE", [
            (ICEBERG_CATALOG, f"alter table {match['name']} execute optimize{match['where'] or ''}")], None
    if word == "vacuum":
        match = _VACUUM.match(body)
        if not match:
            raise AthenaApiError("InvalidRequestException", "VACUUM: expected VACUUM <table>")
        name, retention = match["name"], f"retention_threshold => '{VACUUM_RETENTION}'"
        return "VACUUM", "DML", "VACUUM", [
            (ICEBERG_CATALOG, f"alter table {name} execute expire_snapshots({retention})"),
            (ICEBERG_CATALOG, f"alter table {name} execute remove_orphan_files({retention})"),
        ], None
    kinds = {"select": ("SELECT", "DML", "SELECT"), "with": ("SELECT", "DML", "SELECT"),
             "values": ("SELECT", "DML", "SELECT"), "insert": ("INSERT", "DML", "INSERT"),
             "merge": ("MERGE", "DML", "MERGE"), "delete": ("DELETE", "DML", "DELETE"),
             "update": ("UPDATE", "DML", "UPDATE"), "explain": ("EXPLAIN", "UTILITY", "EXPLAIN"),
             "create": ("VIEW", "DDL", "CREATE_VIEW"), "drop": ("VIEW", "DDL", "DROP_VIEW")}
    if word not in kinds:
        raise AthenaApiError("InvalidRequestException", f"line 1:1: statement not supported: {word.upper()}")
    kind, statement_type, sub = kinds[word]
    return kind, statement_type, sub, [(ICEBERG_CATALOG, sql)], None


# --- values in Athena's text form ------------------------------------------------------------------------


def athena_type(trino_type: str) -> tuple[str, int, int]:
    """`varchar(5)` -> ('varchar', 5, 0); `decimal(10,2)` -> ('decimal', 10, 2); `timestamp(6)` -> 'timestamp'."""
    base = re.sub(r"\(.*\)", "", trino_type).strip()
    numbers = [int(n) for n in re.findall(r"\d+", trino_type.split(" ")[0])] if "(" in trino_type else []
    if base.startswith(("array", "map", "row")):
        return base.split("(")[0], 0, 0
    if base == "real":
        base = "float"
    precision = numbers[0] if numbers else {"integer": 10, "bigint": 19, "double": 17, "varchar": 2147483647,
                                            "boolean": 0, "date": 0}.get(base, 0)
    scale = numbers[1] if len(numbers) > 1 else 0
    return base, precision, scale


def athena_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join("null" if v is None else athena_text(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={'null' if v is None else athena_text(v)}" for k, v in value.items()) + "}"
    return str(value)


# --- the service -----------------------------------------------------------------------------------------


class AthenaFront:
    def __init__(self, trino: TrinoClient, state_dir: Path, glue_client_factory: Callable[[], Any],
                 work_group_output: str, enforce_work_group: bool = True, statements_log: Path | None = None,
                 faults: dict[str, Any] | None = None, authorizer: iam.Authorizer | None = None,
                 work_group: str = "primary") -> None:
        self.trino = trino
        self.authorizer = authorizer
        self.work_group = work_group
        self.state_dir = state_dir
        self.glue = glue_client_factory
        self.work_group_output = work_group_output
        self.enforce_work_group = enforce_work_group
        self.executions: dict[str, Execution] = {}
        self.pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="athena-query")
        self.log_path = statements_log or state_dir / "statements.jsonl"
        self.log_lock = threading.Lock()
        # Fault injection for tests: Athena ends an OPTIMIZE / VACUUM that has more work than one run may do with
        # ICEBERG_*_MORE_RUNS_NEEDED. Trino never does; `faults["optimize_more_runs"] = k` makes the first k
        # OPTIMIZE statements of each table do their work and then answer that error, as Athena's would.
        #
        # `faults["stop_after_merges_into"] = "<schema>"` with `faults["stop_after_merges"] = k` stops the service
        # once the k-th MERGE into that schema has succeeded, as if the build were killed right after it: every
        # later statement fails at once (LOCAL_ATHENA_STOPPED), and `stopped.json` in the state folder names the
        # statement, for a test to kill the client. Statements submitted before the stop still run, as on Athena.
        #
        # Tests change the faults of a running service with `reset_faults` (POST /_local/faults, see `serve`), which
        # answers once the change holds: a statement submitted after it sees the new faults. Each change starts a
        # new generation; a MERGE submitted under an older one never stops the service.
        self.faults: dict[str, Any] = faults if faults is not None else {}
        self.fault_lock = threading.Lock()
        self.fault_generation = 0
        self.more_runs_seen: dict[tuple[str, str], int] = {}
        self.merges_seen = 0
        self.stopped = False
        # For the bench: log each statement's bytes per table read (one more call to Trino per statement).
        self.table_bytes = os.environ.get("LOCAL_ATHENA_TABLE_BYTES") == "1"

    def reset_faults(self, faults: dict[str, Any]) -> dict[str, Any]:
        """Replace the fault injection and clear a stop; returns the new state."""
        with self.fault_lock:
            self.fault_generation += 1
            self.faults.clear()
            self.faults.update(faults)
            self.more_runs_seen.clear()
            self.merges_seen = 0
            self.stopped = False
            (self.state_dir / "stopped.json").unlink(missing_ok=True)
            log.info("faults (generation %d): %s", self.fault_generation, self.faults)
            return self.fault_state()

    def fault_state(self) -> dict[str, Any]:
        """The fault injection in force, and how many statements are not done yet (queued or running)."""
        unfinished = sum(1 for e in list(self.executions.values()) if not e.done.is_set())
        return {"faults": dict(self.faults), "generation": self.fault_generation, "stopped": self.stopped,
                "unfinished": unfinished}

    # -- API actions
    def start_query_execution(self, body: dict[str, Any]) -> dict[str, Any]:
        query = body.get("QueryString") or ""
        if not query.strip():
            raise AthenaApiError("InvalidRequestException", "QueryString must not be empty")
        context = body.get("QueryExecutionContext") or {}
        work_group = body.get("WorkGroup") or "primary"
        if work_group != self.work_group:
            raise AthenaApiError("InvalidRequestException", f"WorkGroup {work_group} is not found.")
        output = (body.get("ResultConfiguration") or {}).get("OutputLocation") or self.work_group_output
        if self.enforce_work_group:
            output = self.work_group_output
        execution = Execution(
            query_id=str(uuid.uuid4()), query=query, work_group=work_group,
            catalog=(context.get("Catalog") or ICEBERG_CATALOG).lower(),
            database=(context.get("Database") or "default").lower(),
            output_location=output.rstrip("/") + "/", submitted=datetime.now(UTC))
        with self.fault_lock:
            execution.fault_generation, execution.refused = self.fault_generation, self.stopped
        self.executions[execution.query_id] = execution
        self.pool.submit(self._run, execution)
        execution.done.wait(SYNC_WAIT_SECONDS)
        return {"QueryExecutionId": execution.query_id}

    def _run(self, execution: Execution) -> None:
        started = time.monotonic()
        execution.state = "RUNNING"
        try:
            if execution.refused:
                raise TrinoError("LOCAL_ATHENA_STOPPED", "the local Athena was stopped after a statement "
                                 "(injected: a build killed between statements)", "EXTERNAL")
            kind, statement_type, sub, statements, hive_plan = plan_statement(execution.query, execution.database)
            execution.kind, execution.statement_type, execution.substatement_type = kind, statement_type, sub
            result = None
            for catalog, sql in statements:
                if execution.cancelled:
                    break
                execution.trino_sql.append(sql)
                result = self.trino.execute(sql, catalog=catalog, schema=execution.database,
                                            on_query_id=lambda qid: setattr(execution, "trino_query_id", qid))
                self._account(execution, result)
            if hive_plan is not None:
                self._apply_glue_changes(hive_plan)
            if kind in ("OPTIMIZE", "VACUUM"):
                self._maybe_more_runs_needed(execution, kind)
            execution.result = result or Result()
            execution.state = "CANCELLED" if execution.cancelled else "SUCCEEDED"
            if kind == "MERGE" and execution.state == "SUCCEEDED":
                self._maybe_stop(execution)
        except hive_ddl.HiveDdlError as exc:
            execution.kind, execution.statement_type = "HIVE_DDL", "DDL"
            self._fail(execution, "FAILED: ParseException " + str(exc), "SYNTAX_ERROR", 2)
        except AthenaApiError as exc:
            self._fail(execution, exc.message, "NOT_SUPPORTED", 2)
        except TrinoError as exc:
            self._fail(execution, f"{exc.name}: {exc.message}", exc.name, ERROR_CATEGORY.get(exc.error_type, 3))
        except Exception as exc:  # noqa: BLE001 - an emulator fault must still answer FAILED, with its reason
            log.exception("statement %s failed in the front", execution.query_id)
            self._fail(execution, f"GENERIC_INTERNAL_ERROR: local Athena: {type(exc).__name__}: {exc}",
                       "GENERIC_INTERNAL_ERROR", 1)
        finally:
            execution.completed = datetime.now(UTC)
            execution.elapsed_ms = int((time.monotonic() - started) * 1000)
            self._log(execution)
            execution.done.set()

    def _account(self, execution: Execution, result: Result) -> None:
        stats = result.stats or {}
        execution.bytes_scanned += int(stats.get("physicalInputBytes") or 0)
        execution.rows_scanned += int(stats.get("physicalInputPositions") or stats.get("processedRows") or 0)
        execution.trino_query_ids.append(result.query_id)
        if self.table_bytes and result.query_id and stats.get("physicalInputBytes"):
            try:
                for table, size in self.trino.bytes_by_table(result.query_id).items():
                    execution.bytes_by_table[table] = execution.bytes_by_table.get(table, 0) + size
            except Exception:  # noqa: BLE001 - a measurement, never a reason to fail the statement
                log.warning("no per-table bytes for %s", result.query_id, exc_info=True)

    def _maybe_stop(self, execution: Execution) -> None:
        target = re.search(r"\bmerge\s+into\s+(\S+)", execution.query, re.IGNORECASE)
        parts = [part.strip('"`').lower() for part in target.group(1).split(".")] if target else []
        with self.fault_lock:
            schema = self.faults.get("stop_after_merges_into")
            if not schema or len(parts) < 2 or parts[-2] != str(schema).lower():
                return
            if execution.fault_generation != self.fault_generation:
                return
            self.merges_seen += 1
            if self.merges_seen >= int(self.faults.get("stop_after_merges", 1)) and not self.stopped:
                self.stopped = True
                (self.state_dir / "stopped.json").write_text(json.dumps(
                    {"query_id": execution.query_id, "query": execution.query[:2000]}))
                log.info("stopped after %s (injected)", execution.query_id)

    def _maybe_more_runs_needed(self, execution: Execution, kind: str) -> None:
        limit = int(self.faults.get(f"{kind.lower()}_more_runs", 0))
        if not limit:
            return
        key = (kind, re.sub(r"\s+", " ", execution.query.strip().lower()))
        seen = self.more_runs_seen.get(key, 0)
        if seen < limit:
            self.more_runs_seen[key] = seen + 1
            raise TrinoError(f"ICEBERG_{kind}_MORE_RUNS_NEEDED",
                             f"{kind} ran out of time before finishing; run it again to continue "
                             "(injected by the local Athena, as Athena ends long runs)", "USER_ERROR")

    def _apply_glue_changes(self, plan: hive_ddl.HivePlan) -> None:
        change = plan.glue_parameters
        if not change:
            return
        glue = self.glue()
        table = glue.get_table(DatabaseName=change["schema"], Name=change["table"])["Table"]
        table_input = {k: v for k, v in table.items() if k in (
            "Name", "Description", "Owner", "Retention", "StorageDescriptor", "PartitionKeys", "TableType",
            "Parameters", "ViewOriginalText", "ViewExpandedText")}
        if "parameters" in change:
            table_input["Parameters"] = {**table_input.get("Parameters", {}), **change["parameters"]}
        if "replace_columns" in change:
            table_input["StorageDescriptor"]["Columns"] = [
                {"Name": n, "Type": t} for n, t, _ in change["replace_columns"]]
        glue.update_table(DatabaseName=change["schema"], TableInput=table_input)

    def _fail(self, execution: Execution, message: str, name: str, category: int) -> None:
        execution.state = "FAILED"
        execution.error = {"ErrorCategory": category, "ErrorType": ERROR_TYPE.get(name, 1006),
                           "Retryable": name == "ICEBERG_COMMIT_ERROR", "ErrorMessage": message, "name": name}

    def _log(self, execution: Execution) -> None:
        record = {"query_id": execution.query_id, "kind": execution.kind, "state": execution.state,
                  "statement_type": execution.statement_type, "database": execution.database,
                  "query": execution.query, "trino_sql": execution.trino_sql,
                  "trino_query_ids": execution.trino_query_ids,
                  "bytes_scanned": execution.bytes_scanned, "rows_scanned": execution.rows_scanned,
                  "bytes_by_table": execution.bytes_by_table,
                  "elapsed_ms": execution.elapsed_ms,
                  "error": (execution.error or {}).get("ErrorMessage"),
                  "submitted": execution.submitted.isoformat()}
        with self.log_lock, self.log_path.open("a") as out:
            out.write(json.dumps(record) + "\n")

    def _execution(self, body: dict[str, Any]) -> Execution:
        query_id = body.get("QueryExecutionId", "")
        if query_id not in self.executions:
            raise AthenaApiError("InvalidRequestException", f"QueryExecution {query_id} was not found")
        return self.executions[query_id]

    def _describe(self, execution: Execution) -> dict[str, Any]:
        status: dict[str, Any] = {"State": execution.state, "SubmissionDateTime": execution.submitted.timestamp()}
        if execution.completed:
            status["CompletionDateTime"] = execution.completed.timestamp()
        if execution.error:
            status["StateChangeReason"] = execution.error["ErrorMessage"]
            status["AthenaError"] = {k: v for k, v in execution.error.items() if k != "name"}
        description = {
            "QueryExecutionId": execution.query_id, "Query": execution.query,
            "StatementType": execution.statement_type,
            "ResultConfiguration": {"OutputLocation": f"{execution.output_location}{execution.query_id}.csv"},
            "QueryExecutionContext": {"Catalog": execution.catalog, "Database": execution.database},
            "Status": status,
            "Statistics": {"DataScannedInBytes": execution.bytes_scanned,
                           "EngineExecutionTimeInMillis": execution.elapsed_ms,
                           "TotalExecutionTimeInMillis": execution.elapsed_ms},
            "WorkGroup": execution.work_group,
            "EngineVersion": {"SelectedEngineVersion": "AUTO", "EffectiveEngineVersion": "Athena engine version 3"},
        }
        if execution.substatement_type:
            description["SubstatementType"] = execution.substatement_type
        return description

    def get_query_execution(self, body: dict[str, Any]) -> dict[str, Any]:
        return {"QueryExecution": self._describe(self._execution(body))}

    def batch_get_query_execution(self, body: dict[str, Any]) -> dict[str, Any]:
        found = [self._describe(self.executions[i]) for i in body.get("QueryExecutionIds", []) if i in self.executions]
        missing = [{"QueryExecutionId": i, "ErrorCode": "InvalidRequestException", "ErrorMessage": "not found"}
                   for i in body.get("QueryExecutionIds", []) if i not in self.executions]
        return {"QueryExecutions": found, "UnprocessedQueryExecutionIds": missing}

    def list_query_executions(self, body: dict[str, Any]) -> dict[str, Any]:
        ids = [e.query_id for e in sorted(self.executions.values(), key=lambda e: e.submitted, reverse=True)]
        return {"QueryExecutionIds": ids}

    def stop_query_execution(self, body: dict[str, Any]) -> dict[str, Any]:
        execution = self._execution(body)
        if execution.state in ("QUEUED", "RUNNING"):
            execution.cancelled = True
            if execution.trino_query_id:
                self.trino.cancel(execution.trino_query_id)
        return {}

    def get_query_results(self, body: dict[str, Any]) -> dict[str, Any]:
        execution = self._execution(body)
        if execution.state != "SUCCEEDED":
            raise AthenaApiError("InvalidRequestException",
                                 f"Query has not yet finished. Current state: {execution.state}")
        result = execution.result or Result()
        max_results = min(int(body.get("MaxResults") or PAGE_SIZE), PAGE_SIZE)
        offset = int(body.get("NextToken") or 0)
        returns_rows = execution.kind in ("SELECT", "EXPLAIN") or (execution.kind == "HIVE_DDL"
                                                                   and execution.statement_type == "UTILITY")
        columns = result.columns if returns_rows else []
        column_info = []
        for column in columns:
            base, precision, scale = athena_type(column["type"])
            column_info.append({"CatalogName": "hive", "SchemaName": "", "TableName": "", "Name": column["name"],
                                "Label": column["name"], "Type": base, "Precision": precision, "Scale": scale,
                                "Nullable": "UNKNOWN", "CaseSensitive": base == "varchar"})
        rows = [{"Data": [{} if v is None else {"VarCharValue": athena_text(v)} for v in row]}
                for row in (result.rows if returns_rows else [])]
        # A SELECT's first page starts with the header row; DDL and UTILITY results have none.
        header = execution.statement_type == "DML" and returns_rows
        if header:
            rows = [{"Data": [{"VarCharValue": c["name"]} for c in columns]}, *rows]
        page = rows[offset:offset + max_results]
        response: dict[str, Any] = {"ResultSet": {"Rows": page, "ResultSetMetadata": {"ColumnInfo": column_info}}}
        if offset + max_results < len(rows):
            response["NextToken"] = str(offset + max_results)
        if execution.kind in ("CTAS", "INSERT", "MERGE", "DELETE", "UPDATE"):
            response["UpdateCount"] = int(result.update_count or 0)
        return response

    def get_work_group(self, body: dict[str, Any]) -> dict[str, Any]:
        name = body.get("WorkGroup", "primary")
        if name != self.work_group:
            raise AthenaApiError("InvalidRequestException", f"WorkGroup {name} is not found.")
        return {"WorkGroup": {"Name": name, "State": "ENABLED", "Configuration": {
            "ResultConfiguration": {"OutputLocation": self.work_group_output},
            "EnforceWorkGroupConfiguration": self.enforce_work_group,
            "PublishCloudWatchMetricsEnabled": False, "RequesterPaysEnabled": False,
            "EngineVersion": {"SelectedEngineVersion": "Athena engine version 3",
                              "EffectiveEngineVersion": "Athena engine version 3"}},
            "Description": "local Athena (Trino 476)"}}

    def list_work_groups(self, body: dict[str, Any]) -> dict[str, Any]:
        return {"WorkGroups": [{"Name": self.work_group, "State": "ENABLED"}]}

    def get_data_catalog(self, body: dict[str, Any]) -> dict[str, Any]:
        name = body.get("Name", "")
        if name.lower() != ICEBERG_CATALOG:
            raise AthenaApiError("MetadataException", f"Catalog {name} was not found")
        return {"DataCatalog": {"Name": ICEBERG_CATALOG, "Type": "GLUE", "Parameters": {"catalog-id": "123456789012"}}}

    def list_data_catalogs(self, body: dict[str, Any]) -> dict[str, Any]:
        return {"DataCatalogsSummary": [{"CatalogName": ICEBERG_CATALOG, "Type": "GLUE"}]}

    def _table_metadata(self, table: dict[str, Any]) -> dict[str, Any]:
        storage = table.get("StorageDescriptor", {})
        return {"Name": table["Name"], "TableType": table.get("TableType", "EXTERNAL_TABLE"),
                "Columns": [{"Name": c["Name"], "Type": c["Type"],
                             **({"Comment": c["Comment"]} if c.get("Comment") else {})}
                            for c in storage.get("Columns", [])],
                "PartitionKeys": [{"Name": c["Name"], "Type": c["Type"]} for c in table.get("PartitionKeys", [])],
                "Parameters": table.get("Parameters", {})}

    def list_table_metadata(self, body: dict[str, Any]) -> dict[str, Any]:
        glue = self.glue()
        tables, token = [], None
        while True:
            kwargs = {"DatabaseName": body["DatabaseName"], **({"NextToken": token} if token else {})}
            page = glue.get_tables(**kwargs)
            tables += page["TableList"]
            token = page.get("NextToken")
            if not token:
                break
        return {"TableMetadataList": [self._table_metadata(t) for t in tables]}

    def get_table_metadata(self, body: dict[str, Any]) -> dict[str, Any]:
        table = self.glue().get_table(DatabaseName=body["DatabaseName"], Name=body["TableName"])["Table"]
        return {"TableMetadata": self._table_metadata(table)}

    def get_database(self, body: dict[str, Any]) -> dict[str, Any]:
        database = self.glue().get_database(Name=body["DatabaseName"])["Database"]
        return {"Database": {"Name": database["Name"], "Description": database.get("Description", ""),
                             "Parameters": database.get("Parameters", {})}}

    def list_databases(self, body: dict[str, Any]) -> dict[str, Any]:
        return {"DatabaseList": [{"Name": d["Name"]} for d in self.glue().get_databases()["DatabaseList"]]}

    def authorize(self, key: str | None, action: str, body: dict[str, Any]) -> None:
        """The caller's IAM policy must allow the action on its workgroup or catalog; a query also needs to write
        its results (Athena writes them to the workgroup's location with the caller's permissions)."""
        if self.authorizer is None:
            return
        work_group = body.get("WorkGroup") or self.work_group
        if "QueryExecutionId" in body and body["QueryExecutionId"] in self.executions:
            work_group = self.executions[body["QueryExecutionId"]].work_group
        needed = [(f"athena:{action}", iam.athena_resource(action, body, work_group, self.authorizer.region,
                                                           self.authorizer.account), {})]
        if action == "StartQueryExecution":
            bucket_and_prefix = self.work_group_output.removeprefix("s3://")
            needed.append(("s3:PutObject", f"arn:aws:s3:::{bucket_and_prefix}query-id.csv", {}))
        try:
            self.authorizer.check(key, needed)
        except iam.AccessDenied as denied:
            raise AthenaApiError("AccessDeniedException", str(denied)) from None

    def dispatch(self, action: str, body: dict[str, Any]) -> dict[str, Any]:
        method = re.sub(r"(?<!^)(?=[A-Z])", "_", action).lower()
        handler = getattr(self, method, None)
        if handler is None or method.startswith("_") or method == "dispatch":
            raise AthenaApiError("UnknownOperationException",
                                 f"the local Athena does not serve {action} (add it to local_athena/front.py)")
        return handler(body)


FAULTS_PATH = "/_local/faults"


def serve(front: AthenaFront, port: int) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt: str, *args: Any) -> None:  # quiet: statements.jsonl is the record
            if os.environ.get("LOCAL_ATHENA_HTTP_LOG"):
                log.info(fmt, *args)

        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            if self.path != FAULTS_PATH:
                self.send_error(404)
                return
            self._answer(front.fault_state(), 200)

        def _answer(self, payload: dict[str, Any], status: int) -> None:
            data = json.dumps(payload, default=str).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/x-amz-json-1.1")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b"{}"
            target = self.headers.get("X-Amz-Target", "")
            action = target.split(".")[-1]
            try:
                body = json.loads(raw or b"{}")
                if self.path == FAULTS_PATH:  # tests only (stack.reload_faults): not an Athena action
                    payload, status = front.reset_faults(body), 200
                else:
                    front.authorize(iam.access_key_of(self.headers), action, body)
                    payload, status = front.dispatch(action, body), 200
            except AthenaApiError as exc:
                payload, status = {"__type": exc.code, "Message": exc.message}, exc.status
            except Exception as exc:  # noqa: BLE001 - answer, never hang the client
                log.exception("%s failed", action)
                payload, status = {"__type": "InternalServerException", "Message": f"{type(exc).__name__}: {exc}"}, 500
            self._answer(payload, status)

    class Server(ThreadingHTTPServer):
        # http.server listens with a backlog of 5: a burst of concurrent clients (dbt's threads, the tests'
        # readers) then waits out a dropped SYN, a second or more, where Athena's endpoint answers at once.
        request_queue_size = 128

    server = Server(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True, name="athena-front").start()
    return server
