"""Bronze in the Glue Data Catalog, registered by the ingest job itself: no crawler.

A crawler guesses a table's schema from the files it samples; bronze's schema is already written down
in its contract, so the job declares exactly that. Each dataset's table is `<database>.<dataset>`:
Parquet (zstd) at the dataset's bronze path, the contract's columns with their descriptions as
comments, partitioned by `ingest_date` (date). A contract change is applied to the table
(`update_table`) on the next run: schema evolution is contract-driven.

Partitions: after its runs, the job registers every committed `ingest_date=` folder of the bronze path
that the catalog does not have yet, so a run whose registration failed is caught up by the next one.

Alternative: partition projection. `ensure_table(..., partition_projection=True)` adds these table
parameters, and Athena then computes partitions from them and never needs `register_partitions`::

    projection.enabled                    = true
    projection.ingest_date.type           = date
    projection.ingest_date.format         = yyyy-MM-dd
    projection.ingest_date.range          = 2020-01-01,NOW
    projection.ingest_date.interval       = 1
    projection.ingest_date.interval.unit  = DAYS
    storage.location.template             = s3://<bucket>/<prefix>/ingest_date=${ingest_date}/

Only Athena reads projection: Spark, Glue ETL and Redshift Spectrum still see the catalog's partitions,
and Athena lists the S3 prefix of every day in the range, data or not. The job keeps registered
partitions by default for those reasons.

The ingest job (`glue_ingest.cli.main`) calls `register_bronze` after its runs, given these job
arguments (`--name value`, as Glue passes them; parsed by `job.parse_args` / `job.parse_glue_args`):

    --catalog_database NAME     the Glue database of the bronze tables, e.g. prod_bronze
    --register_catalog true|false
                                default: true on Glue when --catalog_database is given; false locally

Registration runs after every dataset's run, whether it committed, found nothing new or failed; its
failure makes the job's exit status non-zero (1 if it was 0) without touching committed data.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from datetime import date
from typing import Any

from glue_ingest import storage as st
from glue_ingest.contracts import Contract, load_contract
from glue_ingest.manifest import load_manifests

log = logging.getLogger(__name__)

GLUE_TYPES = {"string", "bigint", "double", "boolean", "date", "timestamp"}
PARQUET_SERDE = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
PARQUET_INPUT_FORMAT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"
PARQUET_OUTPUT_FORMAT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"
CONTRACT_PARAMETER = "lakehouse.contract"
PROJECTION_START = "2020-01-01"
BATCH_CREATE_LIMIT = 100  # partitions per BatchCreatePartition call (API limit)
COMMENT_LIMIT = 255  # Glue's limit on a column comment; botocore does not check it, the service does
DESCRIPTION_LIMIT = 2048  # Glue's limit on a table or database description

DATABASE_DESCRIPTION = (
    "Bronze layer of the lakehouse: one table per dataset, as ingested by glue_ingest. Tables and "
    "partitions are registered by the ingest job from the dataset contracts (no crawler)."
)

GlueClient = Any  # a boto3 Glue client; typed loosely so that this module does not need boto3 stubs


class CatalogError(RuntimeError):
    """The catalog refused a change; `partitions` names the partition values concerned, if any."""

    def __init__(self, message: str, partitions: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.partitions = list(partitions)


# --- locations and table definition --------------------------------------------------------------


def s3_location(path: str) -> str:
    """`s3a://bucket/prefix` -> `s3://bucket/prefix/`: the form Athena and Glue expect for a folder."""
    if not st.is_s3(path):
        raise CatalogError(f"{path} is not an S3 path: a Glue table can only point at S3")
    bucket, key = st.split_s3(path)
    key = key.strip("/")
    return f"s3://{bucket}/{key}/" if key else f"s3://{bucket}/"


def partition_location(location: str, partition_name: str, value: str) -> str:
    return f"{s3_location(location)}{partition_name}={value}/"


def contract_reference(contract: Contract) -> str:
    return f"glue_ingest/contracts/{contract.dataset}.yml"


def _truncate(text: str, limit: int) -> str:
    # Glue rejects longer text; a clipped comment beats a failed registration.
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _column(name: str, glue_type: str, description: str) -> dict[str, str]:
    if glue_type not in GLUE_TYPES:
        raise CatalogError(f"column {name!r}: type {glue_type!r} is not a Glue type ({sorted(GLUE_TYPES)})")
    return {"Name": name, "Type": glue_type, "Comment": _truncate(description, COMMENT_LIMIT)}


def projection_parameters(contract: Contract, location: str) -> dict[str, str]:
    name = contract.partition_name
    return {
        "projection.enabled": "true",
        f"projection.{name}.type": "date",
        f"projection.{name}.format": "yyyy-MM-dd",
        f"projection.{name}.range": f"{PROJECTION_START},NOW",
        f"projection.{name}.interval": "1",
        f"projection.{name}.interval.unit": "DAYS",
        "storage.location.template": f"{s3_location(location)}{name}=${{{name}}}/",
    }


def table_input(contract: Contract, location: str, partition_projection: bool = False) -> dict[str, Any]:
    """The TableInput of the dataset's bronze table, entirely from its contract."""
    parameters = {
        "classification": "parquet",
        "parquet.compression": "ZSTD",
        "EXTERNAL": "TRUE",
        CONTRACT_PARAMETER: contract_reference(contract),
    }
    if partition_projection:
        parameters.update(projection_parameters(contract, location))
    return {
        "Name": contract.dataset,
        "Description": _truncate(contract.description, DESCRIPTION_LIMIT),
        "TableType": "EXTERNAL_TABLE",
        "Parameters": parameters,
        "PartitionKeys": [_column(contract.partition_name, contract.partition_type, contract.partition_description)],
        "StorageDescriptor": {
            "Columns": [_column(*column) for column in contract.bronze_columns()],
            "Location": s3_location(location),
            "InputFormat": PARQUET_INPUT_FORMAT,
            "OutputFormat": PARQUET_OUTPUT_FORMAT,
            "SerdeInfo": {"SerializationLibrary": PARQUET_SERDE, "Parameters": {"serialization.format": "1"}},
            "Compressed": False,  # Hive's flag for whole-file compression; Parquet compresses inside
            "StoredAsSubDirectories": False,
        },
    }


def _is_managed(parameter: str) -> bool:
    """Table parameters this module owns; others (Athena statistics, a steward's tags) are kept."""
    return parameter in {"classification", "parquet.compression", "EXTERNAL", CONTRACT_PARAMETER} or (
        parameter.startswith("projection.") or parameter == "storage.location.template"
    )


def _comparable(table: dict[str, Any]) -> dict[str, Any]:
    """What `ensure_table` keeps in line with the contract, from a TableInput or a GetTable result."""
    sd = table.get("StorageDescriptor", {})

    def columns(cols: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
        return [(c["Name"], c["Type"], c.get("Comment", "")) for c in cols]

    return {
        "columns": columns(sd.get("Columns", [])),
        "partition_keys": columns(table.get("PartitionKeys", [])),
        "location": sd.get("Location"),
        "formats": (sd.get("InputFormat"), sd.get("OutputFormat"), sd.get("SerdeInfo", {}).get("SerializationLibrary")),
        "table_type": table.get("TableType"),
        "description": table.get("Description", ""),
        "parameters": {k: v for k, v in table.get("Parameters", {}).items() if _is_managed(k)},
    }


def _changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """Human-readable differences between two `_comparable` views, for the log."""
    old_cols = {name: (glue_type, comment) for name, glue_type, comment in old["columns"]}
    new_cols = {name: (glue_type, comment) for name, glue_type, comment in new["columns"]}
    changes = [f"added column {n} {t}" for n, (t, _) in new_cols.items() if n not in old_cols]
    changes += [f"removed column {n}" for n in old_cols if n not in new_cols]
    for name in old_cols.keys() & new_cols.keys():
        (old_type, old_comment), (new_type, new_comment) = old_cols[name], new_cols[name]
        if old_type != new_type:
            changes.append(f"column {name} type {old_type} -> {new_type}")
        elif old_comment != new_comment:
            changes.append(f"column {name} comment")
    if not changes and [c[0] for c in old["columns"]] != [c[0] for c in new["columns"]]:
        changes.append("column order")
    changes += [f"{key} {old[key]!r} -> {new[key]!r}" for key in ("partition_keys", "location") if old[key] != new[key]]
    changes += [key for key in ("formats", "table_type", "description", "parameters") if old[key] != new[key]]
    return changes


# --- catalog operations ---------------------------------------------------------------------------


def _error_code(exc: Exception) -> str | None:
    response = getattr(exc, "response", None) or {}
    return response.get("Error", {}).get("Code")


def ensure_database(glue: GlueClient, name: str, description: str = DATABASE_DESCRIPTION) -> bool:
    """Create the database if missing; returns whether it was created."""
    try:
        glue.get_database(Name=name)
        return False
    except glue.exceptions.EntityNotFoundException:
        pass
    try:
        glue.create_database(DatabaseInput={"Name": name, "Description": _truncate(description, DESCRIPTION_LIMIT)})
    except glue.exceptions.AlreadyExistsException:
        return False  # another dataset's job created it meanwhile
    log.info("catalog: created database %s", name)
    return True


def ensure_table(
    glue: GlueClient, database: str, contract: Contract, location: str, partition_projection: bool = False
) -> str:
    """Create the dataset's table, or bring an existing one in line with the contract.

    Returns "created", "updated" or "unchanged". Table parameters that this module does not own are
    kept on update; partitions are untouched (Parquet columns are read by name, so partitions
    registered before a column was added still read, with nulls for it).
    """
    wanted = table_input(contract, location, partition_projection)
    table = _get_table(glue, database, contract.dataset)
    if table is None:
        glue.create_table(DatabaseName=database, TableInput=wanted)
        log.info(
            "catalog: created table %s.%s at %s from %s",
            database,
            contract.dataset,
            wanted["StorageDescriptor"]["Location"],
            contract_reference(contract),
        )
        return "created"
    changes = _changes(_comparable(table), _comparable(wanted))
    if not changes:
        return "unchanged"
    kept = {k: v for k, v in table.get("Parameters", {}).items() if not _is_managed(k)}
    glue.update_table(DatabaseName=database, TableInput={**wanted, "Parameters": {**kept, **wanted["Parameters"]}})
    log.warning(
        "catalog: table %s.%s updated to %s: %s",
        database,
        contract.dataset,
        contract_reference(contract),
        "; ".join(changes),
    )
    return "updated"


def _get_table(glue: GlueClient, database: str, name: str) -> dict[str, Any] | None:
    try:
        return glue.get_table(DatabaseName=database, Name=name)["Table"]
    except glue.exceptions.EntityNotFoundException:
        return None


def existing_partitions(glue: GlueClient, database: str, table: str) -> set[str]:
    """Values of the table's (single-key) partitions, through every page of GetPartitions."""
    found: set[str] = set()
    pages = glue.get_paginator("get_partitions").paginate(
        DatabaseName=database, TableName=table, ExcludeColumnSchema=True
    )
    for page in pages:
        found.update(p["Values"][0] for p in page.get("Partitions", []))
    return found


def _iso_date(value: date | str) -> str:
    text = value.isoformat() if isinstance(value, date) else value
    try:
        if len(text) != 10:
            raise ValueError
        return date.fromisoformat(text).isoformat()
    except ValueError:
        raise CatalogError(f"partition value {value!r} is not a date YYYY-MM-DD", [str(value)]) from None


def register_partitions(
    glue: GlueClient, database: str, table: str, location: str, ingest_dates: Iterable[date | str]
) -> list[str]:
    """Add the partitions the catalog does not have yet; returns the values added, sorted.

    Each partition copies the table's schema and formats, at `<location>/ingest_date=YYYY-MM-DD/`.
    Partitions already there are left alone, so re-runs are no-ops. Every batch is attempted; errors
    the service reports per partition (other than "already exists", a concurrent registration) are
    raised together at the end as one CatalogError naming the partitions.
    """
    wanted = {_iso_date(d) for d in ingest_dates}
    missing = sorted(wanted - existing_partitions(glue, database, table)) if wanted else []
    if not missing:
        return []
    definition = glue.get_table(DatabaseName=database, Name=table)["Table"]
    partition_name = definition["PartitionKeys"][0]["Name"]
    sd = definition["StorageDescriptor"]
    template = {k: sd[k] for k in ("Columns", "InputFormat", "OutputFormat", "SerdeInfo") if k in sd}
    errors: list[tuple[str, str]] = []
    for start in range(0, len(missing), BATCH_CREATE_LIMIT):
        batch = [
            {
                "Values": [value],
                "StorageDescriptor": {**template, "Location": partition_location(location, partition_name, value)},
            }
            for value in missing[start : start + BATCH_CREATE_LIMIT]
        ]
        response = glue.batch_create_partition(DatabaseName=database, TableName=table, PartitionInputList=batch)
        for error in response.get("Errors", []):
            detail = error.get("ErrorDetail", {})
            if detail.get("ErrorCode") != "AlreadyExistsException":
                values = ",".join(error.get("PartitionValues", []))
                errors.append((values, f"{detail.get('ErrorCode')}: {detail.get('ErrorMessage')}"))
    failed = {value for value, _ in errors}
    added = [value for value in missing if value not in failed]
    if added:
        log.info(
            "catalog: %s.%s: registered %d partition(s): %s",
            database,
            table,
            len(added),
            _summarize([f"{partition_name}={v}" for v in added]),
        )
    if errors:
        details = "; ".join(f"{partition_name}={value}: {message}" for value, message in errors[:10])
        more = f" (and {len(errors) - 10} more)" if len(errors) > 10 else ""
        raise CatalogError(
            f"{database}.{table}: {len(errors)} partition(s) not registered: {details}{more}", sorted(failed)
        )
    return added


def _summarize(items: list[str], limit: int = 5) -> str:
    return ", ".join(items) if len(items) <= limit else f"{', '.join(items[:limit])} ... ({len(items)} in all)"


# --- bronze datasets ------------------------------------------------------------------------------


def committed_partitions(storage: st.Storage, bronze_path: str, partition_name: str = "ingest_date") -> list[str]:
    """Partition values of the `<partition_name>=` folders under `bronze_path` that hold committed data.

    A folder counts once a committed run's manifest lists a file in it: a run that crashed mid-commit
    may have published files into a new folder, and registering that folder would show Athena rows
    that the next run's recovery deletes.
    """
    prefix = f"{partition_name}="
    committed = {f.split("/", 1)[0] for m in load_manifests(storage, bronze_path) for f in m.bronze_files}
    found = {name for name in storage.list_dirs(bronze_path) if name.startswith(prefix)}
    return sorted(name[len(prefix) :] for name in found & committed)


def register_dataset(glue: GlueClient, storage: st.Storage, database: str, dataset: str, bronze_path: str) -> list[str]:
    """Table and missing partitions of one dataset; returns the partition values added."""
    contract = load_contract(dataset)
    location = s3_location(bronze_path)
    ensure_table(glue, database, contract, location)
    partitions = committed_partitions(storage, bronze_path, contract.partition_name)
    return register_partitions(glue, database, contract.dataset, location, partitions)


def register_bronze(
    targets: Iterable[tuple[str, str]],
    database: str,
    ingest_date: date | None = None,
    glue: GlueClient = None,
    storage_for: Callable[[str], st.Storage] = st.storage_for,
) -> list[str]:
    """Register each (dataset, bronze path) in `database`; returns the datasets that failed.

    A failure is logged, never raised: the data is committed whatever the catalog says, and the next
    run registers whatever is still missing. `ingest_date` (this run's partition) is named in the error.
    """
    targets = list(targets)
    if glue is None:
        import boto3  # on Glue and in the dev extras; not needed by the rest of the job

        glue = boto3.client("glue")
    try:
        ensure_database(glue, database)
    except Exception as exc:
        log.error("catalog: could not ensure database %s: %s: %s", database, type(exc).__name__, exc)
        return [dataset for dataset, _ in targets]
    failed = []
    for dataset, bronze_path in targets:
        try:
            register_dataset(glue, storage_for(bronze_path), database, dataset, bronze_path)
        except Exception as exc:
            if isinstance(exc, CatalogError) and exc.partitions:
                partitions = ", ".join(f"ingest_date={p}" for p in exc.partitions)
            else:
                partitions = f"ingest_date={ingest_date.isoformat()}" if ingest_date else "unknown"
            log.error(
                "dataset %s: catalog registration failed in %s (partition(s) %s): %s: %s. The data is "
                "committed; the next run registers every partition still missing.",
                dataset,
                database,
                partitions,
                type(exc).__name__,
                exc,
                exc_info=not isinstance(exc, CatalogError) and _error_code(exc) is None,
            )
            failed.append(dataset)
    return failed
