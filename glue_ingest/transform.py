"""DataFrame -> DataFrame steps from what a reader returns to bronze and quarantine rows.

Nothing here touches storage or triggers a Spark action: the job decides when to cache, count and
write. The flow for one run is

    read (per group of files) -> conform (CSV) / conform_json -> union -> number_records
      -> (cache, count) -> with_source_files -> to_bronze / to_quarantine / to_file_quarantine
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql.types import LongType, StringType, StructField, StructType, TimestampNTZType

from glue_ingest.contracts import METADATA_COLUMNS, Contract
from glue_ingest.read import (
    CORRUPT_RECORD,
    EXTRA_TEXT,
    INVALID_UTF8,
    POSITION,
    PRESENT,
    RAW_TEXT,
    READ_ORDER,
    RECORD_ERROR,
    RECORD_NUMBER,
    SOURCE_FILE,
    SOURCE_URI,
    WHOLE_FILE,
    position_column,
)

EXTRA = "_extra"
RUN_ID = "_ingest_run_id"
INGESTED_AT = "_ingested_at"
# Working columns, never written.
REASON = "_reason"
FILE_REASON = "_file_reason"
RAW_RECORD = "_raw_record"

MISSING_REQUIRED = "missing required column(s): "
REPLACEMENT_CHAR = "\ufffd"  # what the UTF-8 decoder puts in place of bytes that are not UTF-8

QUARANTINE_SCHEMA = StructType(
    [
        StructField(SOURCE_FILE, StringType()),
        StructField(RECORD_NUMBER, LongType()),
        StructField("raw_record", StringType()),
        StructField("reason", StringType()),
        StructField(RUN_ID, StringType()),
        StructField(INGESTED_AT, TimestampNTZType()),
    ]
)


@dataclass(frozen=True)
class RunConfig:
    contract: Contract
    run_id: str
    ingested_at: datetime  # UTC

    @property
    def ingested_at_utc(self) -> datetime:
        """Naive UTC: bronze stores it as a timestamp without time zone (TIMESTAMP in DuckDB and Athena)."""
        at = self.ingested_at
        return at.astimezone(UTC).replace(tzinfo=None) if at.tzinfo else at


def wrong_field_count(expected: int) -> str:
    return f"wrong field count: expected {expected} fields"


def header_problem(columns: Sequence[str], contract: Contract) -> str | None:
    """Why a file with this header cannot be loaded at all, or None when it can."""
    missing = [c for c in contract.required_columns if c not in columns]
    if missing:
        return MISSING_REQUIRED + ", ".join(missing)
    duplicates = [c for i, c in enumerate(columns) if c in columns[:i]]
    if duplicates:
        return f"duplicate column name(s) in header: {', '.join(dict.fromkeys(duplicates))}"
    return None


def _null_string() -> Column:
    return F.lit(None).cast(StringType())


def _csv_field(value: Column) -> Column:
    """A value as it would be written in RFC 4180 CSV (null as an empty field)."""
    quoted = F.concat(F.lit('"'), F.regexp_replace(value, '"', '""'), F.lit('"'))
    return F.when(value.isNull(), F.lit("")).when(value.rlike('[",\r\n]'), quoted).otherwise(value)


def conform(
    df: DataFrame,
    columns: Sequence[str],
    config: RunConfig,
    file_reason: str | None = None,
    *,
    raw_line: Column | None = None,
    keep: Sequence[str] = (SOURCE_URI, READ_ORDER),
) -> DataFrame:
    """Map one group's positional columns to the contract, by header name.

    Contract columns the header lacks are null; header columns the contract lacks are packed into
    `_extra`. Every record gets a quarantine `_reason` or null: the file's own reason when the whole
    file is rejected (`file_reason`), else a wrong field count, else invalid UTF-8.

    `raw_line`: the record's text as delivered (the CSV line reader has it), kept for the quarantine;
    without it, the file reader's corrupt-record text, or the record rebuilt from its fields. `keep`:
    the columns passed through.
    """
    contract = config.contract
    position = {name: position_column(i) for i, name in enumerate(columns)}
    fields = [F.col(position_column(i)) for i in range(len(columns))]
    corrupt = F.col(CORRUPT_RECORD)

    extras = [
        (name, position_column(i)) for i, name in enumerate(columns) if name not in contract.column_names
    ]
    if extras:
        # Keep nulls: `{"x": null}` says the column was delivered and empty, `{}` would hide it.
        extra = F.to_json(
            F.struct(*[F.col(p).alias(name) for name, p in extras]), {"ignoreNullFields": "false"}
        )
    else:
        extra = _null_string()

    if file_reason is not None:
        reason: Column = F.lit(file_reason)
        raw = _null_string()  # the whole file is quarantined as one record, built by the job
    else:
        reason = F.when(corrupt.isNotNull(), F.lit(wrong_field_count(len(columns)))).when(
            F.concat_ws("", *fields, corrupt).contains(REPLACEMENT_CHAR), F.lit(INVALID_UTF8)
        )
        if raw_line is not None:
            raw = F.when(reason.isNotNull(), raw_line)
        else:
            # Spark keeps the text of malformed records only; rebuild a well-formed one from its fields.
            raw = F.when(reason.isNotNull(), F.coalesce(corrupt, F.concat_ws(",", *map(_csv_field, fields))))

    return df.select(
        *[
            (F.col(position[name]) if name in position else _null_string()).alias(name)
            for name in contract.column_names
        ],
        extra.alias(EXTRA),
        reason.alias(REASON),
        (F.lit(file_reason) if file_reason is not None else _null_string()).alias(FILE_REASON),
        raw.alias(RAW_RECORD),
        *[F.col(c) for c in keep],
    )


def conform_json(df: DataFrame, config: RunConfig) -> DataFrame:
    """`conform` for the JSON reader, whose columns are the contract's already.

    A file is rejected whole (`_file_reason`) when it is not JSON at all (an array file that does
    not parse), or when a required key is missing from every record of it that is an object: the
    way a CSV file without a required column is. A required key missing from some records only
    leaves those records' column null, for silver to judge. The rejected file's one quarantine
    record (see `to_file_quarantine`) shows its first object record, as CSV's shows the header.
    """
    contract = config.contract
    names = contract.column_names
    per_file = Window.partitionBy(SOURCE_URI)
    is_object = F.col(RECORD_ERROR).isNull()
    # Null for a file without any object record: its records are rejected one by one instead.
    missing = [
        F.when(
            F.max(F.when(is_object, F.col(PRESENT)[names.index(c)].cast("int"))).over(per_file) == 0, F.lit(c)
        )
        for c in contract.required_columns
    ]
    missing_text = F.concat_ws(", ", *missing) if missing else F.lit("")
    file_reason = F.when(F.col(WHOLE_FILE), F.col(RECORD_ERROR)).when(
        missing_text != "", F.concat(F.lit(MISSING_REQUIRED), missing_text)
    )
    first_object = F.col(POSITION) == F.min(F.when(is_object, F.col(POSITION))).over(per_file)
    raw = F.when(file_reason.isNotNull(), F.when(F.col(WHOLE_FILE) | first_object, F.col(RAW_TEXT))).when(
        F.col(RECORD_ERROR).isNotNull(), F.col(RAW_TEXT)
    )
    return df.select(
        *[F.col(position_column(i)).alias(name) for i, name in enumerate(names)],
        F.col(EXTRA_TEXT).alias(EXTRA),
        F.coalesce(file_reason, F.col(RECORD_ERROR)).alias(REASON),
        file_reason.alias(FILE_REASON),
        raw.alias(RAW_RECORD),
        F.col(SOURCE_URI),
        F.col(POSITION).alias(RECORD_NUMBER),
    )


def conform_json_lines(df: DataFrame, config: RunConfig) -> DataFrame:
    """`conform_json` for records read as lines (`read.json.json_records`), numbered already. A record
    is judged on its own here; a file without a required key in any record is found while bronze is
    written (see `stage`). PRESENT is kept for that."""
    names = config.contract.column_names
    error = F.col(RECORD_ERROR)
    return df.select(
        *[F.col(position_column(i)).alias(name) for i, name in enumerate(names)],
        F.col(EXTRA_TEXT).alias(EXTRA),
        error.alias(REASON),
        _null_string().alias(FILE_REASON),
        F.when(error.isNotNull(), F.col(RAW_TEXT)).alias(RAW_RECORD),
        F.col(SOURCE_FILE),
        F.col(RECORD_NUMBER),
        F.col(PRESENT),
    )


def number_records(df: DataFrame) -> DataFrame:
    """Add `_record_number`, 1-based in file order.

    Spark has no line numbers. Readers read each file whole, in order, in one task (multiLine CSV
    is not splittable), so `_read_order` increases through each file and ranks its records.
    Records that come numbered already (JSON: line numbers, array positions) keep their numbers.
    """
    if RECORD_NUMBER in df.columns:
        return df.drop(READ_ORDER)
    window = Window.partitionBy(SOURCE_URI).orderBy(READ_ORDER)
    return df.withColumn(RECORD_NUMBER, F.row_number().over(window).cast(LongType())).drop(READ_ORDER)


def with_source_files(df: DataFrame, relative_paths: Mapping[str, str]) -> DataFrame:
    """Replace Spark's `_source_uri` by the path relative to the raw folder (a broadcast join: no
    per-row lookup in a map literal as large as the list of files)."""
    schema = StructType([StructField(SOURCE_URI, StringType()), StructField(SOURCE_FILE, StringType())])
    paths = df.sparkSession.createDataFrame(sorted(relative_paths.items()), schema)
    return df.join(F.broadcast(paths), SOURCE_URI, "left").drop(SOURCE_URI)


def _run_columns(config: RunConfig) -> dict[str, Column]:
    # From a string, not a Python datetime: a datetime literal would be shifted by the session time zone.
    at = config.ingested_at_utc.isoformat(sep=" ", timespec="microseconds")
    return {
        RUN_ID: F.lit(config.run_id),
        INGESTED_AT: F.lit(at).cast(TimestampNTZType()),
    }


def to_bronze(df: DataFrame, config: RunConfig) -> DataFrame:
    """Loadable records, as bronze stores them: the contract's columns, then METADATA_COLUMNS."""
    names = config.contract.column_names
    metadata = {
        EXTRA: F.col(EXTRA),
        SOURCE_FILE: F.col(SOURCE_FILE),
        RECORD_NUMBER: F.col(RECORD_NUMBER).cast(LongType()),
        **_run_columns(config),
    }
    return df.filter(F.col(REASON).isNull()).select(
        *[F.col(n) for n in names], *[metadata[name].alias(name) for name, _, _ in METADATA_COLUMNS]
    )


def to_quarantine(df: DataFrame, config: RunConfig) -> DataFrame:
    """Records rejected one by one (whole rejected files are `file_quarantine`'s)."""
    run = _run_columns(config)
    return df.filter(F.col(REASON).isNotNull() & F.col(FILE_REASON).isNull()).select(
        F.col(SOURCE_FILE),
        F.col(RECORD_NUMBER).cast(LongType()),
        F.col(RAW_RECORD).alias("raw_record"),
        F.col(REASON).alias("reason"),
        run[RUN_ID].alias(RUN_ID),
        run[INGESTED_AT].alias(INGESTED_AT),
    )


def to_file_quarantine(df: DataFrame, config: RunConfig, paths: Sequence[str]) -> DataFrame:
    """One quarantine record per file of `paths` rejected whole on what its records hold (JSON):
    the record `conform_json` kept the raw text of, without a record number."""
    run = _run_columns(config)
    return df.filter(
        F.col(SOURCE_FILE).isin(list(paths)) & F.col(FILE_REASON).isNotNull() & F.col(RAW_RECORD).isNotNull()
    ).select(
        F.col(SOURCE_FILE),
        F.lit(None).cast(LongType()).alias(RECORD_NUMBER),
        F.col(RAW_RECORD).alias("raw_record"),
        F.col(FILE_REASON).alias("reason"),
        run[RUN_ID].alias(RUN_ID),
        run[INGESTED_AT].alias(INGESTED_AT),
    )


def file_quarantine(
    spark: SparkSession, rejected: Sequence[tuple[str, str | None, str]], config: RunConfig
) -> DataFrame:
    """One quarantine record per file rejected before reading: (relative path, header line, reason)."""
    rows = [
        (path, None, header, reason, config.run_id, config.ingested_at_utc)
        for path, header, reason in rejected
    ]
    return spark.createDataFrame(rows, QUARANTINE_SCHEMA)
