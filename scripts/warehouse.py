"""One way for the project's scripts to read the warehouse: the charts (scripts/charts.py), the data-quality report
(scripts/dq_report.py) and the demo summary (scripts/demo_summary.py).

    from warehouse import open_warehouse, WarehouseError
    wh = open_warehouse("local", lake_root)   # $LAKE_ROOT/warehouse.duckdb, read-only
    wh = open_warehouse("athena")             # Athena, settings as the athena dbt profile's
    rows = wh.rows("select ...")               # a list of {column: value}; wh.tuples(...) as tuples
    wh.close()

On Athena the settings come from the same environment variables as the athena profile of profiles.example.yml:
ATHENA_S3_STAGING_DIR, AWS_REGION, ATHENA_WORK_GROUP and LAKE_ENV; credentials from the AWS default chain.
A problem the user can fix (no warehouse yet, Athena not configured, a failed query) is a WarehouseError whose
message says what to do.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any


class WarehouseError(Exception):
    """A problem the user can fix: printed without a traceback."""


class Warehouse:
    """A read-only connection. `gold_schema` names the gold layer as the queries see it."""

    gold_schema: str
    description: str

    def rows(self, query: str) -> list[dict[str, Any]]:
        raise NotImplementedError

    def value(self, query: str, default: Any = None) -> Any:
        """The first column of the first row, or `default` when there is no row or the query fails."""
        try:
            found = self.rows(query)
        except WarehouseError:
            return default
        return next(iter(found[0].values())) if found else default

    def tuples(self, query: str) -> list[tuple[Any, ...]]:
        """The rows as tuples, in the query's column order."""
        return [tuple(row.values()) for row in self.rows(query)]

    def close(self) -> None:
        pass


class LocalWarehouse(Warehouse):
    """$LAKE_ROOT/warehouse.duckdb, read-only. With `required=False` and no warehouse file, an in-memory DuckDB
    instead (for reading the lake's Parquet before any dbt build)."""

    def __init__(self, lake_root: Path, required: bool = True) -> None:
        import duckdb

        path = lake_root / "warehouse.duckdb"
        self._error = duckdb.Error
        self.gold_schema = "gold"
        if not path.is_file():
            if required:
                raise WarehouseError(f"no warehouse at {path}: run `make pipeline` first (or `make demo` for "
                                     "sample data)")
            self.con = duckdb.connect()
            self.description = "an empty in-memory DuckDB (no warehouse yet)"
            return
        try:
            self.con = duckdb.connect(str(path), read_only=True)
        except duckdb.Error as exc:
            raise WarehouseError(f"cannot open {path} read-only ({exc}); is a dbt build still writing to it?") from exc
        self.description = str(path)

    def rows(self, query: str) -> list[dict[str, Any]]:
        try:
            cursor = self.con.execute(query)
        except self._error as exc:
            raise WarehouseError(f"query failed on {self.description}: {exc}\n"
                                 "run `make pipeline` first, so that every table exists") from exc
        columns = [d[0] for d in cursor.description]
        return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]

    def close(self) -> None:
        self.con.close()


class AthenaWarehouse(Warehouse):
    def __init__(self) -> None:
        staging = os.environ.get("ATHENA_S3_STAGING_DIR", "")
        if not staging.startswith("s3://") or "CHANGE-ME" in staging:
            raise WarehouseError("the athena target needs ATHENA_S3_STAGING_DIR=s3://<bucket>/<prefix>/ (query "
                                 "results); also AWS_REGION, ATHENA_WORK_GROUP and LAKE_ENV as for dbt "
                                 "(profiles.example.yml)")
        lake_env = os.environ.get("LAKE_ENV", "dev")
        if not re.fullmatch(r"[a-z0-9_]+", lake_env):
            raise WarehouseError(f"LAKE_ENV must be lower-case letters, digits and _ (a Glue database prefix): "
                                 f"{lake_env!r}")
        try:
            from pyathena import connect
        except ImportError as exc:
            raise WarehouseError("pyathena is missing: it comes with dbt-athena (`make setup`)") from exc
        region = os.environ.get("AWS_REGION", "us-east-1")
        work_group = os.environ.get("ATHENA_WORK_GROUP", "primary")
        # Same naming as macros/generate_schema_name.sql (lake_database): <LAKE_ENV>_<layer>.
        self.gold_schema = f"{lake_env}_gold"
        self.description = f"Athena ({region}, work group {work_group}, database {self.gold_schema})"
        self.con = connect(s3_staging_dir=staging, region_name=region, work_group=work_group,
                           schema_name=self.gold_schema)

    def rows(self, query: str) -> list[dict[str, Any]]:
        cursor = self.con.cursor()
        try:
            cursor.execute(query)
            columns = [d[0] for d in cursor.description]
            return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
        except Exception as exc:  # pyathena raises its own DatabaseError / OperationalError subclasses
            raise WarehouseError(f"query failed on {self.description}: {exc}") from exc
        finally:
            cursor.close()

    def close(self) -> None:
        self.con.close()


def open_warehouse(target: str, lake_root: Path | None = None, required: bool = True) -> Warehouse:
    """The warehouse of a dbt target: `local` (the DuckDB file under `lake_root`) or `athena`."""
    if target == "athena":
        return AthenaWarehouse()
    if target != "local":
        raise WarehouseError(f"unknown target {target!r}: local or athena")
    if lake_root is None:
        raise WarehouseError("the local target needs the lake root")
    return LocalWarehouse(lake_root, required=required)
