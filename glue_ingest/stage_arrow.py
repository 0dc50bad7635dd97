"""The Arrow path for files read as lines: Spark schedules the tasks, each task reads, parses and writes with pyarrow.

Spark's own text reader, `from_csv` / `from_json` and Parquet writer are some five times slower than DuckDB on the
same files (`bench/spark_floor.py`); pyarrow reads, parses and writes about as fast as DuckDB. So for CSV files whose
lines pyarrow reads exactly as Spark does (`read.arrow_csv`), and JSON-lines files whose lines end in LF or CRLF
(`read.arrow_json`), Spark only hands out the splits:

1. **Survey** (`survey`): one task per batch of splits counts the lines of each split (CSV: the non-empty ones, and
   checks that every line has the simple quoting both parsers agree on; JSON: every line, and the blank ones apart).
   This numbers the records without a shuffle.
2. **Write** (`write`): one task per batch of splits parses each block of lines, numbers the records from its
   split's base, and writes the bronze rows and the bad records (CSV: wrong field count, not UTF-8; JSON: every
   reason of `jsonrecords`, with their text) as zstd Parquet files of its own into the run's staging folders. File
   names are fixed by the task's index, so a retried task replaces what a failed attempt left.

The stager then reads the staged files back and checks that bronze plus quarantine holds exactly the records
the survey counted, for every file, before anything is committed (see `stage`)."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from pyspark.sql import SparkSession

from glue_ingest import storage as st
from glue_ingest.contracts import METADATA_COLUMNS
from glue_ingest.jsonrecords import INVALID_UTF8
from glue_ingest.read.arrow_csv import Split, parse_block, split_blocks, survey_block
from glue_ingest.read.arrow_json import EXTRA_COLUMN, parse_json_block, survey_json_block
from glue_ingest.read.files import position_column

COMPRESSION = "zstd"
COMPRESSION_LEVEL = 3  # Spark's (parquet-mr's) default zstd level, so bronze is the same size either way
ROW_GROUP_ROWS = 1_000_000
OPEN_COST_BYTES = 4 * 1024 * 1024  # Spark's default spark.sql.files.openCostInBytes

_QUARANTINE = pa.schema(
    [
        ("_source_file", pa.string()),
        ("_record_number", pa.int64()),
        ("raw_record", pa.string()),
        ("reason", pa.string()),
        ("_ingest_run_id", pa.string()),
        ("_ingested_at", pa.timestamp("us")),
    ]
)


def pack(splits: Sequence[Split], split_bytes: int, open_cost: int = OPEN_COST_BYTES) -> list[list[Split]]:
    """Splits in batches of about `split_bytes`, in order, as Spark packs small files into one task: each split
    costs its bytes plus `open_cost` (Spark's `spark.sql.files.openCostInBytes`)."""
    batches: list[list[Split]] = []
    size = 0
    for s in splits:
        cost = s.end - s.start + open_cost
        if not batches or size + cost > split_bytes + open_cost:
            batches.append([])
            size = 0
        batches[-1].append(s)
        size += cost
    return batches


# --- the survey ------------------------------------------------------------------------------------------------


def survey_split(split: Split) -> tuple[int, int, bool]:
    """(lines, records, readable) of a split; stops at the first block that is not readable this way.

    CSV: lines are the non-empty lines, all of them records (the stager takes the header off); readable: every line
    has the simple quoting. JSON lines: lines are every line, blank ones too (record numbers are line numbers),
    records the lines that are not blank; readable: no CR but before an LF (`read.arrow_json`)."""
    lines = records = 0
    for k, block in enumerate(split_blocks(split)):
        if split.json:
            n, r, readable = survey_json_block(block, first_of_file=split.start == 0 and k == 0)
        else:
            n, readable = survey_block(block, split.sep)
            r = n
        lines += n
        records += r
        if not readable:
            return lines, records, False
    return lines, records, True


def _survey_task(splits: list[Split]) -> list[tuple[str, int, int, int, bool]]:
    return [(s.relative, s.start, *survey_split(s)) for s in splits]


def _open_cost(spark: SparkSession) -> int:
    return int(spark.conf.get("spark.sql.files.openCostInBytes", None) or OPEN_COST_BYTES)


def survey(
    spark: SparkSession, splits: Sequence[Split], split_bytes: int
) -> dict[tuple[str, int], tuple[int, int, bool]]:
    """(relative path, split start) -> (lines, records, readable) for every split (`survey_split`), in one Spark
    job."""
    batches = pack(splits, split_bytes, _open_cost(spark))
    if not batches:
        return {}
    found = spark.sparkContext.parallelize(batches, len(batches)).flatMap(_survey_task).collect()
    return {(path, start): (lines, records, readable) for path, start, lines, records, readable in found}


# --- the write -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Bronze:
    """What every write task needs besides its splits."""

    contract_columns: tuple[str, ...]
    run_id: str
    ingested_at: datetime  # naive UTC
    bronze_dir: str  # the run's staging partitions
    quarantine_dir: str
    max_records_per_file: int | None = None
    required_columns: tuple[str, ...] = ()  # JSON: a file without one of these keys in any record is rejected whole

    @property
    def schema(self) -> pa.Schema:
        types = {"string": pa.string(), "bigint": pa.int64(), "timestamp": pa.timestamp("us")}
        return pa.schema(
            [(c, pa.string()) for c in self.contract_columns] + [(n, types[t]) for n, t, _ in METADATA_COLUMNS]
        )


@dataclass(frozen=True)
class SplitWork:
    split: Split
    columns: tuple[str, ...]  # CSV: the file's header; JSON: the contract's columns
    # CSV: the number of the split's first non-empty line in its file (the header is 0); JSON: the lines before it
    base: int


@dataclass
class TaskResult:
    counts: dict[tuple[str, str | None], int] = field(default_factory=dict)  # (file, reason or None) -> records
    files: list[str] = field(default_factory=list)
    # JSON: per file with good records, the required keys some of them have, and its first good record (number,
    # text), for a file that lacks a required key in every record and so is rejected whole (see `stage`).
    keys: dict[str, set[str]] = field(default_factory=dict)
    first_good: dict[str, tuple[int, str]] = field(default_factory=dict)

    def add(self, path: str, reason: str | None, n: int) -> None:
        self.counts[(path, reason)] = self.counts.get((path, reason), 0) + n


# Columns whose row-group statistics readers use: incremental models filter bronze on `_ingest_run_id`; the others
# are cheap (one value per file, or numbers). Min and max of the delivered text columns cost a quarter of the write
# and serve no reader, so they are not written.
STATISTICS_COLUMNS = ("_source_file", "_record_number", "_ingest_run_id", "_ingested_at")
RECORD_NUMBER_ENCODING = "DELTA_BINARY_PACKED"  # increasing numbers: a few bits a row, where a dictionary fails


def writer_options(schema: pa.Schema) -> dict[str, Any]:
    """pyarrow.parquet.ParquetWriter options for the Arrow path's files: zstd, dictionaries for the text columns,
    delta encoding for the record numbers, statistics for STATISTICS_COLUMNS only."""
    return {
        "compression": COMPRESSION,
        "compression_level": COMPRESSION_LEVEL,
        "use_dictionary": [n for n in schema.names if n != "_record_number"],
        "column_encoding": {"_record_number": RECORD_NUMBER_ENCODING} if "_record_number" in schema.names else None,
        "write_statistics": [n for n in schema.names if n in STATISTICS_COLUMNS],
    }


class _Files:
    """Parquet files `part-a<task>-<n>.zstd.parquet` of one task in one folder, a new one every `max_rows` rows;
    each written whole (`Storage.write_bytes`) when complete. Rows are written in row groups of about
    ROW_GROUP_ROWS (smaller ones make the files larger and the write slower)."""

    def __init__(self, folder: str, task: int, schema: pa.Schema, max_rows: int | None) -> None:
        self.folder, self.task, self.schema, self.max_rows = folder, task, schema, max_rows
        self.written: list[str] = []
        self._sink: pa.BufferOutputStream | None = None
        self._writer: pq.ParquetWriter | None = None
        self._rows = 0
        self._pending: list[pa.Table] = []
        self._pending_rows = 0

    def write(self, table: pa.Table) -> None:
        self._pending.append(table)
        self._pending_rows += table.num_rows
        if self._pending_rows >= ROW_GROUP_ROWS:
            self._flush()

    def _flush(self) -> None:
        table = pa.concat_tables(self._pending) if self._pending else self.schema.empty_table()
        self._pending, self._pending_rows = [], 0
        while table.num_rows:
            if self._writer is None:
                self._sink = pa.BufferOutputStream()
                self._writer = pq.ParquetWriter(self._sink, self.schema, **writer_options(self.schema))
                self._rows = 0
            room = table.num_rows if self.max_rows is None else self.max_rows - self._rows
            part = table.slice(0, room)
            self._writer.write_table(part, row_group_size=max(part.num_rows, 1))
            self._rows += part.num_rows
            table = table.slice(room)
            if self.max_rows is not None and self._rows >= self.max_rows:
                self._close_file()

    def close(self) -> None:
        self._flush()
        self._close_file()

    def _close_file(self) -> None:
        if self._writer is None or self._sink is None:
            return
        self._writer.close()
        path = st.join(self.folder, f"part-a{self.task:05d}-{len(self.written):03d}.zstd.parquet")
        st.storage_for(path).write_bytes(path, self._sink.getvalue().to_pybytes())
        self.written.append(path)
        self._writer = self._sink = None


_CONTROL = re.compile(r"[\x00-\x1f]")


def _json_strings(values: pa.ChunkedArray | pa.Array) -> pa.Array:
    """Each value as a JSON string (`null` for null), escaped as Spark's `to_json` (Jackson) escapes it."""
    escaped = values
    for char, escape in (
        ("\\", "\\\\"),
        ('"', '\\"'),
        ("\n", "\\n"),
        ("\r", "\\r"),
        ("\t", "\\t"),
        ("\b", "\\b"),
        ("\f", "\\f"),
    ):
        escaped = pc.replace_substring(escaped, char, escape)
    if pc.any(pc.match_substring_regex(escaped, r"[\x00-\x1f]")).as_py():
        escaped = pa.array(
            [None if v is None else _CONTROL.sub(lambda m: f"\\u{ord(m.group()):04X}", v) for v in escaped.to_pylist()],
            pa.string(),
        )
    return pc.fill_null(pc.binary_join_element_wise('"', escaped, '"', ""), "null")


def extra_json(fields: pa.Table, extras: Sequence[tuple[str, int]]) -> pa.Array:
    """`_extra`: the columns beyond the contract, one JSON object per row, nulls kept (as `transform.conform`)."""
    parts: list[pa.Array | str] = ["{"]
    for k, (name, i) in enumerate(extras):
        parts += [("," if k else "") + json.dumps(name, ensure_ascii=False) + ":", _json_strings(fields.column(i))]
    parts.append("}")
    return pc.binary_join_element_wise(*parts, "")


def bronze_table(fields: pa.Table, numbers: pa.Array, work: SplitWork, bronze: Bronze) -> pa.Table:
    """Bronze rows from parsed fields (`_c0`... in the file's header order) and their record numbers."""
    n = fields.num_rows
    position = {name: i for i, name in enumerate(work.columns)}
    columns = [
        fields.column(position_column(position[c])) if c in position else pa.nulls(n, pa.string())
        for c in bronze.contract_columns
    ]
    extras = [(name, i) for i, name in enumerate(work.columns) if name not in bronze.contract_columns]
    columns += [
        extra_json(fields, extras) if extras and n else pa.nulls(n, pa.string()),
        pa.repeat(pa.scalar(work.split.relative, pa.string()), n),
        numbers,
        pa.repeat(pa.scalar(bronze.run_id, pa.string()), n),
        pa.repeat(pa.scalar(bronze.ingested_at, pa.timestamp("us")), n),
    ]
    return pa.Table.from_arrays(columns, schema=bronze.schema)


def json_bronze_table(records: pa.Table, numbers: pa.Array, path: str, bronze: Bronze) -> pa.Table:
    """Bronze rows from JSON records (the contract columns and EXTRA_COLUMN, `read.arrow_json`) and their numbers."""
    n = records.num_rows
    columns = [records.column(c) for c in bronze.contract_columns] + [
        records.column(EXTRA_COLUMN),
        pa.repeat(pa.scalar(path, pa.string()), n),
        numbers,
        pa.repeat(pa.scalar(bronze.run_id, pa.string()), n),
        pa.repeat(pa.scalar(bronze.ingested_at, pa.timestamp("us")), n),
    ]
    return pa.Table.from_arrays(columns, schema=bronze.schema)


def quarantine_table(
    path: str, numbers: Sequence[int], texts: Sequence[str], reasons: Sequence[str], bronze: Bronze
) -> pa.Table:
    n = len(numbers)
    return pa.Table.from_arrays(
        [
            pa.repeat(pa.scalar(path, pa.string()), n),
            pa.array(numbers, pa.int64()),
            pa.array(texts, pa.string()),
            pa.array(reasons, pa.string()),
            pa.repeat(pa.scalar(bronze.run_id, pa.string()), n),
            pa.repeat(pa.scalar(bronze.ingested_at, pa.timestamp("us")), n),
        ],
        schema=_QUARANTINE,
    )


def _write_json_split(
    work: SplitWork, bronze: Bronze, result: TaskResult, bronze_files: _Files, quarantine_files: _Files
) -> None:
    """Parse one JSON-lines split (`read.arrow_json`) and write its records; record numbers are line numbers."""
    path = work.split.relative
    number = work.base + 1  # of the block's first line
    for k, block in enumerate(split_blocks(work.split)):
        parsed = parse_json_block(block, work.columns, work.split.start == 0 and k == 0, bronze.required_columns)
        if parsed.table.num_rows:
            bronze_files.write(json_bronze_table(parsed.table, pc.add(parsed.index, number), path, bronze))
            result.add(path, None, parsed.table.num_rows)
            result.keys.setdefault(path, set()).update(parsed.keys)
            if parsed.first_good is not None and path not in result.first_good:
                result.first_good[path] = (number + parsed.first_good[0], parsed.first_good[1])
        if parsed.bad:
            for b in parsed.bad:
                result.add(path, b.reason, 1)
            quarantine_files.write(
                quarantine_table(
                    path,
                    [number + b.index for b in parsed.bad],
                    [b.text for b in parsed.bad],
                    [b.reason for b in parsed.bad],
                    bronze,
                )
            )
        number += parsed.lines


def write_task(task: int, works: Sequence[SplitWork], bronze: Bronze) -> TaskResult:
    """Parse the splits of one task and write their bronze and quarantine files."""
    from glue_ingest.transform import wrong_field_count  # Spark-side module: imported here, in the task

    result = TaskResult()
    bronze_files = _Files(bronze.bronze_dir, task, bronze.schema, bronze.max_records_per_file)
    quarantine_files = _Files(bronze.quarantine_dir, task, _QUARANTINE, bronze.max_records_per_file)
    for work in works:
        if work.split.json:
            _write_json_split(work, bronze, result, bronze_files, quarantine_files)
            continue
        path = work.split.relative
        width = len(work.columns)
        number = work.base  # of the block's first non-empty line
        for block in split_blocks(work.split):
            parsed = parse_block(block, work.split.sep, width)
            index = pa.array(np.arange(parsed.lines, dtype=np.int64)) if parsed.good is None else parsed.good
            numbers = pc.add(index, number)
            table = parsed.table
            if number == 0 and len(numbers) and numbers[0].as_py() == 0:  # the header
                table, numbers = table.slice(1), numbers.slice(1)
            if table.num_rows:
                bronze_files.write(bronze_table(table, numbers, work, bronze))
                result.add(path, None, table.num_rows)
            bad = [b for b in parsed.bad if number + b.index > 0]
            if bad:
                reasons = [wrong_field_count(width) if b.wrong_field_count else INVALID_UTF8 for b in bad]
                for reason in reasons:
                    result.add(path, reason, 1)
                quarantine_files.write(
                    quarantine_table(path, [number + b.index for b in bad], [b.text for b in bad], reasons, bronze)
                )
            number += parsed.lines
    bronze_files.close()
    quarantine_files.close()
    result.files = bronze_files.written + quarantine_files.written
    return result


def write(spark: SparkSession, works: Sequence[SplitWork], bronze: Bronze, split_bytes: int) -> list[TaskResult]:
    """Run the write tasks (one per batch of splits) in one Spark job."""
    by_split = {(w.split.relative, w.split.start): w for w in works}
    batches = [
        [by_split[(s.relative, s.start)] for s in batch]
        for batch in pack([w.split for w in works], split_bytes, _open_cost(spark))
    ]
    if not batches:
        return []
    return (
        spark.sparkContext.parallelize(list(enumerate(batches)), len(batches))
        .map(lambda job: write_task(job[0], job[1], bronze))
        .collect()
    )


# --- the read-back ---------------------------------------------------------------------------------------------


def _count_rows(path: str, keys: Sequence[str]) -> tuple[str, list[tuple[tuple[str | None, ...], int]]]:
    """Rows of one staged Parquet file by the values of `keys` (only those columns are read)."""
    source: Any = path if not st.is_s3(path) else io.BytesIO(st.storage_for(path).read_bytes(path))
    table = pq.read_table(source, columns=list(keys), read_dictionary=list(keys))  # few distinct values
    if not table.num_rows:
        return path, []
    counts = table.group_by(list(keys)).aggregate([([], "count_all")])
    rows = zip(*[counts.column(k).to_pylist() for k in keys], counts.column("count_all").to_pylist(), strict=True)
    return path, [(tuple(row[:-1]), row[-1]) for row in rows]


def read_back(
    spark: SparkSession, paths: Sequence[str], keys: Sequence[str]
) -> list[tuple[str, list[tuple[tuple[str | None, ...], int]]]]:
    """(path, [(key values, rows)]) for staged Parquet files, whoever wrote them, in one Spark job."""
    if not paths:
        return []
    return spark.sparkContext.parallelize(list(paths), len(paths)).map(lambda p: _count_rows(p, keys)).collect()


# --- warming up ------------------------------------------------------------------------------------------------


def _ready(_: int) -> int:
    return 0  # pickled by reference: a worker that runs it has imported this module, pyarrow and numpy


def warm_up(spark: SparkSession) -> None:
    """Start the Python workers, with this module imported, while the driver lists and plans: the first Python job
    of a session waits a second or two for them."""
    try:
        cores = spark.sparkContext.defaultParallelism
        spark.sparkContext.parallelize(range(cores), cores).map(_ready).collect()
    except Exception:  # only an optimisation: the survey starts them anyway
        logging.getLogger(__name__).debug("warming up the Python workers failed", exc_info=True)
