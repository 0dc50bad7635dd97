"""Dataset contracts: load `contracts/<dataset>.yml` and derive the views other parts need.

A contract lists a dataset's raw columns. Bronze stores each of them as text, next to the
metadata columns below that the ingest job adds to every record.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from importlib.resources.abc import Traversable

import yaml

# Through importlib.resources, not the file system: on AWS Glue the package is imported from a zip
# (--extra-py-files), where there is no contracts/ folder on disk.
CONTRACTS_DIR: Traversable = files("glue_ingest") / "contracts"

# Columns the ingest job adds to every bronze record, after the contract's columns.
# (name, Glue/Athena DDL type, description)
METADATA_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("_extra", "string", "JSON object of columns the file had beyond the contract (schema drift); null if none."),
    ("_source_file", "string", "Path of the raw file the record came from, relative to the dataset's raw folder."),
    ("_record_number", "bigint", "1-based number of the record within its source file (header not counted)."),
    ("_ingest_run_id", "string", "Id of the ingest run that wrote the record: a UTC timestamp, sortable."),
    ("_ingested_at", "timestamp", "UTC time at which the ingest run started."),
)

FORMATS = {"csv", "json"}
TYPES = {"string", "bigint", "double", "boolean", "date", "timestamp"}
# What silver parses a column's delivered text as (macros/domains/contract_checks.sql). The text is trimmed and an
# empty text is missing. A required column that is missing is rejected as `missing_<column>` when it is a string,
# as `invalid_<column>` otherwise; any column whose text does not parse is rejected as `invalid_<column>`.
PARSED_AS = {
    "string": "the trimmed text",
    "integer": "an optional sign and 1 to 18 digits",
    "decimal(18,2)": "an optional sign, 1 to 16 digits and at most two decimals",
    "timestamp": "an ISO-8601 timestamp (UTC when it has no zone)",
    "date": "an ISO date, YYYY-MM-DD",
    "date_or_timestamp": "an ISO date, or an ISO-8601 timestamp cut to its UTC date",
}
NORMALIZE = {"lower"}


class ContractError(ValueError):
    """A contract file is missing or malformed."""


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    description: str
    required: bool = True
    parsed_as: str | None = None
    normalize: str | None = None
    allowed_values: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Contract:
    dataset: str
    description: str
    format: str
    columns: tuple[Column, ...]
    partition_name: str = "ingest_date"
    partition_type: str = "date"
    partition_description: str = ""
    key: str | None = None

    @property
    def column_names(self) -> list[str]:
        return [column.name for column in self.columns]

    @property
    def required_columns(self) -> list[str]:
        return [column.name for column in self.columns if column.required]

    def bronze_columns(self) -> list[tuple[str, str, str]]:
        """(name, type, description) of every bronze column except the partition column, in file order."""
        return [(c.name, c.type, c.description) for c in self.columns] + list(METADATA_COLUMNS)


def available_datasets() -> list[str]:
    return sorted(entry.name[: -len(".yml")] for entry in CONTRACTS_DIR.iterdir() if entry.name.endswith(".yml"))


@cache
def load_contract(dataset: str) -> Contract:
    path = CONTRACTS_DIR / f"{dataset}.yml"
    if not path.is_file():
        known = ", ".join(available_datasets()) or "none"
        raise ContractError(f"no contract for dataset {dataset!r} (looked for {path}); known datasets: {known}")
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    try:
        columns = tuple(
            Column(
                name=c["name"],
                type=c.get("type", "string"),
                description=" ".join(str(c["description"]).split()),
                required=bool(c.get("required", True)),
                parsed_as=c.get("parsed_as"),
                normalize=c.get("normalize"),
                allowed_values=tuple(str(v) for v in c["allowed_values"]) if c.get("allowed_values") else None,
            )
            for c in raw["columns"]
        )
        partitions = raw.get("partitioning") or [{"name": "ingest_date", "type": "date", "description": ""}]
        contract = Contract(
            dataset=raw["dataset"],
            description=" ".join(str(raw["description"]).split()),
            format=raw["format"],
            columns=columns,
            partition_name=partitions[0]["name"],
            partition_type=partitions[0].get("type", "date"),
            partition_description=" ".join(str(partitions[0].get("description", "")).split()),
            key=raw.get("key"),
        )
    except (KeyError, TypeError) as exc:
        raise ContractError(f"{path}: malformed contract, missing or bad field {exc}") from exc
    _validate(contract, path)
    return contract


def _validate(contract: Contract, path: Traversable) -> None:
    if f"{contract.dataset}.yml" != path.name:
        raise ContractError(f"{path}: dataset name {contract.dataset!r} does not match the file name")
    if contract.format not in FORMATS:
        raise ContractError(f"{path}: format {contract.format!r} is not one of {sorted(FORMATS)}")
    names = contract.column_names
    if len(set(names)) != len(names):
        raise ContractError(f"{path}: duplicate column names")
    for column in contract.columns:
        if column.type not in TYPES:
            raise ContractError(f"{path}: column {column.name!r} has unknown type {column.type!r}")
        if column.name.startswith("_"):
            raise ContractError(f"{path}: column {column.name!r}: names starting with '_' are reserved")
        if column.parsed_as is not None and column.parsed_as not in PARSED_AS:
            raise ContractError(f"{path}: column {column.name!r} has unknown parsed_as {column.parsed_as!r}; "
                                f"known: {', '.join(sorted(PARSED_AS))}")
        if column.normalize is not None and column.normalize not in NORMALIZE:
            raise ContractError(f"{path}: column {column.name!r} has unknown normalize {column.normalize!r}")
        if (column.normalize or column.allowed_values) and column.parsed_as != "string":
            raise ContractError(f"{path}: column {column.name!r}: normalize and allowed_values need parsed_as string")
    if contract.key is not None and contract.key not in names:
        raise ContractError(f"{path}: key {contract.key!r} is not a column")
