"""Trino 476 for the local Athena: its configuration (Iceberg and Hive catalogs on moto's Glue and S3, as
Athena engine v3 reads the Glue Data Catalog) and a minimal client of its HTTP protocol.

The client keeps Trino's values as the JSON text it sends (the Athena API returns every value as text too) and
the statistics of each query: physical input bytes and rows are what Athena bills as bytes scanned.
"""

from __future__ import annotations

import contextlib
import json
import re
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ICEBERG_CATALOG = "awsdatacatalog"  # Athena's name for the Glue Data Catalog
HIVE_CATALOG = "hive"
ACCESS_KEY = "testing"  # moto's; the emulated services are on 127.0.0.1 only
REGION = "us-east-1"


def write_config(etc: Path, data_dir: Path, port: int, moto_url: str, memory: str = "1500M") -> None:
    """Trino's etc/ folder for one local Athena."""
    (etc / "catalog").mkdir(parents=True, exist_ok=True)
    (etc / "node.properties").write_text(
        f"node.environment=local_athena\nnode.id=local-athena\nnode.data-dir={data_dir}\n")
    # One node, small heap: the lake is a laptop's. G1 with a capped heap keeps the RSS near 1.5-2 GB.
    # C1 only (TieredStopAtLevel=1): measured on 2026-12-04 against full tiered C1+C2 on the sample lake,
    # a first build took 246 s vs 233 s and a no-op build 174 s vs 169 s, with Trino CPU 219 s vs 250 s
    # for the first build. C2 gains under 5% of wall time and costs memory; C1 stays.
    (etc / "jvm.config").write_text("\n".join([
        "-server", f"-Xmx{memory}", "-XX:+UseG1GC", "-XX:+ExitOnOutOfMemoryError", "-XX:TieredStopAtLevel=1",
        "-Djdk.attach.allowAttachSelf=true", "-Dfile.encoding=UTF-8", ""]))
    (etc / "config.properties").write_text("\n".join([
        "coordinator=true",
        "node-scheduler.include-coordinator=true",
        f"http-server.http.port={port}",
        f"discovery.uri=http://127.0.0.1:{port}",
        "query.max-memory=1GB",
        "query.max-memory-per-node=1GB",
        "task.concurrency=2",
        "task.max-worker-threads=4",
        # Athena writes at most 100 partitions per CTAS or INSERT (TOO_MANY_OPEN_PARTITIONS). The catalogs cap each
        # table writer at 100 open partitions; one writer per query (one node, one writer a task) makes that cap the
        # query's, as on Athena, where Trino would otherwise spread the partitions over several writers.
        "task.min-writer-count=1",
        "task.max-writer-count=1",
        "task.scale-writers.enabled=false",
        # Athena runs every statement in UTC; so does this Trino (its session zone is set per query too).
        "",
    ]))
    (etc / "log.properties").write_text("io.trino=INFO\n")
    aws = "\n".join([
        f"hive.metastore.glue.region={REGION}",
        f"hive.metastore.glue.endpoint-url={moto_url}",
        f"hive.metastore.glue.aws-access-key={ACCESS_KEY}",
        f"hive.metastore.glue.aws-secret-key={ACCESS_KEY}",
        "hive.metastore.glue.default-warehouse-dir=s3://local-athena-warehouse/",
        "fs.native-s3.enabled=true",
        f"s3.region={REGION}",
        f"s3.endpoint={moto_url}",
        f"s3.aws-access-key={ACCESS_KEY}",
        f"s3.aws-secret-key={ACCESS_KEY}",
        "s3.path-style-access=true",
    ])
    # Iceberg: the lake's silver, gold and ops tables. Tables that are not Iceberg (bronze, seeds' staging,
    # stored test failures) are redirected to the Hive catalog, as Athena reads either kind from one catalog.
    (etc / "catalog" / f"{ICEBERG_CATALOG}.properties").write_text("\n".join([
        "connector.name=iceberg",
        "iceberg.catalog.type=glue",
        f"iceberg.hive-catalog-name={HIVE_CATALOG}",
        "iceberg.file-format=PARQUET",
        "iceberg.max-partitions-per-writer=100",  # Athena's limit of 100 open partitions per CTAS/INSERT
        # Athena writes Iceberg tables as format version 2 with merge-on-read deletes, as Trino does.
        "iceberg.register-table-procedure.enabled=true",
        # Athena's VACUUM keeps snapshots for the table's vacuum_max_snapshot_age_seconds (5 days by default);
        # Trino refuses retentions under a week unless these minimums are lowered.
        "iceberg.expire-snapshots.min-retention=0s",
        "iceberg.remove-orphan-files.min-retention=0s",
        aws, ""]))
    (etc / "catalog" / f"{HIVE_CATALOG}.properties").write_text("\n".join([
        "connector.name=hive",
        "hive.metastore=glue",
        f"hive.iceberg-catalog-name={ICEBERG_CATALOG}",
        # moto has no Glue column-statistics actions; Athena's Hive tables keep none either.
        "hive.table-statistics-enabled=false",
        "hive.collect-column-statistics-on-write=false",
        # Athena's CTAS and CREATE EXTERNAL TABLE write to a location of the user's choosing.
        "hive.non-managed-table-writes-enabled=true",
        "hive.non-managed-table-creates-enabled=true",
        "hive.max-partitions-per-writers=100",  # Athena's limit of 100 open partitions per CTAS/INSERT
        "hive.recursive-directories=true",
        aws, ""]))


@dataclass
class Result:
    columns: list[dict[str, Any]] = field(default_factory=list)  # Trino's {"name", "type", "typeSignature"}
    rows: list[list[Any]] = field(default_factory=list)
    update_type: str | None = None
    update_count: int | None = None
    stats: dict[str, Any] = field(default_factory=dict)
    query_id: str | None = None


_UNITS = {"B": 1, "kB": 1024, "MB": 1024 ** 2, "GB": 1024 ** 3, "TB": 1024 ** 4, "PB": 1024 ** 5}


def data_size_bytes(value: Any) -> int:
    """Trino's DataSize as JSON ("43245B", "1.50MB") in bytes; 0 for none or an unknown form."""
    match = re.fullmatch(r"\s*([0-9.]+)\s*([kMGTP]?B)\s*", str(value or ""))
    return round(float(match.group(1)) * _UNITS[match.group(2)]) if match else 0


class TrinoError(RuntimeError):
    def __init__(self, name: str, message: str, error_type: str, query_id: str | None = None) -> None:
        super().__init__(f"{name}: {message}")
        self.name, self.message, self.error_type, self.query_id = name, message, error_type, query_id


class TrinoClient:
    def __init__(self, port: int, user: str = "local-athena") -> None:
        self.base = f"http://127.0.0.1:{port}"
        self.user = user

    def _request(self, url: str, data: bytes | None = None, headers: dict[str, str] | None = None,
                 method: str = "GET") -> dict[str, Any]:
        request = urllib.request.Request(url, data=data, headers=headers or {}, method=method)
        for attempt in range(20):
            try:
                with urllib.request.urlopen(request, timeout=600) as response:  # noqa: S310 - loopback only
                    return json.load(response)
            except urllib.error.HTTPError as exc:
                if exc.code in (502, 503) and attempt < 19:  # busy: Trino's protocol says retry
                    time.sleep(0.05 * (attempt + 1))
                    continue
                raise
        raise RuntimeError("unreachable")

    def bytes_by_table(self, query_id: str) -> dict[str, int]:
        """Physical input bytes of a finished query per table it read ("catalog.schema.table"), from Trino's query
        info: each scan operator's bytes go to the table of its plan node (`inputs[].planNodeId`)."""
        info = self._request(f"{self.base}/v1/query/{query_id}", headers={"X-Trino-User": self.user})
        tables = {str(i.get("planNodeId")): f"{i.get('catalogName')}.{i.get('schema')}.{i.get('table')}"
                  for i in info.get("inputs") or []}
        found: dict[str, int] = {}
        for operator in (info.get("queryStats") or {}).get("operatorSummaries") or []:
            table = tables.get(str(operator.get("sourceId") or operator.get("planNodeId")))
            size = data_size_bytes(operator.get("physicalInputDataSize"))
            if table and size:
                found[table] = found.get(table, 0) + size
        return found

    def execute(self, sql: str, catalog: str = ICEBERG_CATALOG, schema: str | None = None,
                session: dict[str, str] | None = None, on_query_id: Any = None) -> Result:
        headers = {"X-Trino-User": self.user, "X-Trino-Catalog": catalog, "X-Trino-Time-Zone": "UTC",
                   "X-Trino-Source": "local-athena",
                   # Without it Trino rounds every timestamp it returns to milliseconds (its legacy clients)
                   "X-Trino-Client-Capabilities": "PARAMETRIC_DATETIME"}
        if schema:
            headers["X-Trino-Schema"] = schema
        if session:
            headers["X-Trino-Session"] = ",".join(f"{k}={v}" for k, v in session.items())
        payload = self._request(f"{self.base}/v1/statement", sql.encode(), headers, "POST")
        result = Result(query_id=payload.get("id"))
        if on_query_id:
            on_query_id(result.query_id)
        while True:
            if payload.get("columns") and not result.columns:
                result.columns = payload["columns"]
            result.rows.extend(payload.get("data") or [])
            if payload.get("error"):
                error = payload["error"]
                raise TrinoError(error.get("errorName", "GENERIC_INTERNAL_ERROR"), error.get("message", ""),
                                 error.get("errorType", "INTERNAL_ERROR"), result.query_id)
            if payload.get("updateType"):
                result.update_type = payload["updateType"]
            if payload.get("updateCount") is not None:
                result.update_count = payload["updateCount"]
            result.stats = payload.get("stats") or result.stats
            next_uri = payload.get("nextUri")
            if not next_uri:
                return result
            payload = self._request(next_uri)

    def cancel(self, query_id: str) -> None:
        request = urllib.request.Request(f"{self.base}/v1/query/{query_id}", method="DELETE",
                                         headers={"X-Trino-User": self.user})
        with contextlib.suppress(urllib.error.URLError):
            urllib.request.urlopen(request, timeout=10).close()  # noqa: S310

    def is_ready(self) -> bool:
        try:
            info = self._request(f"{self.base}/v1/info")
        except (urllib.error.URLError, OSError, ValueError):
            return False
        return not info.get("starting", True)
