"""CSV: the header of each file, and the records.

Most CSV files hold one record per line. Those are read with the text reader, which splits a large
file across tasks, and each line is parsed with `from_csv`, by the same parser and options as the
file reader (`csv_lines`, `csv_fields`). A file with a line that leaves a quoted field open (a line
break inside quotes, or a stray quote) goes to the multi-line file reader (`CsvReader.read`), which
keeps the file in one task.

The readers hand the rest of the job one string column per source column, named by position (`_c0`,
`_c1`, ...; the group says which name each one has), plus `_corrupt_record`, the raw text of a record
that could not be split into the group's columns.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import (
    StringType,
    StructField,
    StructType,
)

from glue_ingest import storage as st
from glue_ingest.read.files import (
    CORRUPT_RECORD,
    READ_ORDER,
    SOURCE_URI,
    FileGroup,
    Header,
    NeedMoreBytes,
    RawFile,
    ReadPlan,
    RejectedFile,
    _from_head,
    escape_glob,
    position_column,
    probe_heads,
)
from glue_ingest.read.lines import BLOCK_START, LINE, PARSED, ROW_ID, row_ids


def _record_end(text: str, start: int) -> tuple[int, str] | None:
    """Index and terminator of the end of the CSV record starting at `start`, honouring quotes;
    None if the text ends first (or ends on a `\\r` that may be half of `\\r\\n`)."""
    in_quotes = False
    for i in range(start, len(text)):
        ch = text[i]
        if ch == '"':
            in_quotes = not in_quotes  # a doubled quote flips twice: no net change, as it should
        elif not in_quotes and ch == "\n":
            return i, "\n"
        elif not in_quotes and ch == "\r":
            if i + 1 == len(text):
                return None
            return i, "\r\n" if text[i + 1] == "\n" else "\r"
    return None


def parse_header(head: bytes, complete: bool) -> Header | None:
    """The header of a CSV file from its first bytes; None when the file has no header (it is empty
    or holds only blank lines). Raises NeedMoreBytes when `head` stops inside the header."""
    text = head.decode("utf-8-sig", errors="replace")
    start = 0
    # Spark's parser skips blank lines before the header too, so both agree on which line it is.
    while start < len(text) and text[start] in "\r\n":
        start += 1
    end = _record_end(text, start)
    if end is None:
        if not complete:
            raise NeedMoreBytes
        line, line_sep = text[start:].rstrip("\r"), "\n"
    else:
        line, line_sep = text[start : end[0]], end[1]
    if not line:
        return None
    columns = next(csv.reader(io.StringIO(line, newline=""), delimiter=",", quotechar='"', doublequote=True))
    return Header(columns=tuple(columns), line=line, line_sep=line_sep)


def read_csv_header(storage: st.Storage, file: RawFile) -> Header | None:
    return _from_head(storage, file, parse_header)


def _usable_as_field_names(columns: Sequence[str]) -> bool:
    lowered = [c.lower() for c in columns]  # Spark compares names case-insensitively by default
    return all(lowered) and len(set(lowered)) == len(lowered) and CORRUPT_RECORD not in lowered


class CsvReader:
    """RFC 4180 CSV with a header, UTF-8 (with or without a BOM), LF, CRLF or CR line ends."""

    def plan(self, storage: st.Storage, files: Sequence[RawFile], dataset: str) -> ReadPlan:
        plan = ReadPlan()
        groups: dict[tuple[tuple[str, ...], str], FileGroup] = {}

        for file, header, reason in probe_heads(storage, files, dataset, parse_header, "header read"):
            if reason:
                plan.rejected.append(RejectedFile(file, reason, header.line if header else None))
            elif header is None:
                plan.empty.append(file)
            else:
                group = groups.setdefault((header.columns, header.line_sep), FileGroup(header.columns, header.line_sep))
                group.files.append(file)
                group.header_lines[file.relative] = header.line
        plan.groups = list(groups.values())
        return plan

    def read(self, spark: SparkSession, storage: st.Storage, group: FileGroup) -> DataFrame:
        # With CSV column pruning on, Spark only checks the field count of the columns a query
        # uses, and a short or long record could pass as a row with nulls.
        spark.conf.set("spark.sql.csv.parser.columnPruning.enabled", "false")
        names = [position_column(i) for i in range(len(group.columns))]
        # Fields named as in the header keep Spark from warning, for every file, that the header
        # does not match the schema; they are renamed by position right after the read.
        fields = list(group.columns) if _usable_as_field_names(group.columns) else names
        schema = StructType(
            [StructField(n, StringType()) for n in fields] + [StructField(CORRUPT_RECORD, StringType())]
        )
        df = (
            spark.read.schema(schema)
            .options(
                header="true",
                # The schema is applied by position; it is in this group's header order by construction.
                enforceSchema="true",
                multiLine="true",  # quoted fields may hold line breaks; also keeps each file in one task
                quote='"',
                escape='"',  # RFC 4180 doubles quotes; Spark's default escape is a backslash
                mode="PERMISSIVE",
                columnNameOfCorruptRecord=CORRUPT_RECORD,
                encoding="UTF-8",
                # An explicit separator also stops Spark rewriting CRLF inside quoted values as LF.
                lineSep=group.line_sep,
                ignoreLeadingWhiteSpace="false",
                ignoreTrailingWhiteSpace="false",
            )
            .csv([escape_glob(storage.spark_path(f.path)) for f in group.files])
        )
        corrupt = F.col(CORRUPT_RECORD)
        if group.line_sep == "\r":
            # With a lone CR as separator (and only then) Spark leaves it at the end of the text.
            corrupt = F.regexp_replace(corrupt, r"\r\z", "")
        return df.toDF(*names, CORRUPT_RECORD).select(
            *names,
            corrupt.alias(CORRUPT_RECORD),
            F.input_file_name().alias(SOURCE_URI),
            # Evaluated right above the scan, where each file is read in order by a single task.
            F.monotonically_increasing_id().alias(READ_ORDER),
        )


# A line that closes every quoted field it opens, by the rules Spark's CSV parser (univocity) follows
# with quote and escape `"` and unescaped quotes handled STOP_AT_DELIMITER: a field that starts with a
# quote ends at a quote that is not doubled; anything after that quote up to the next comma belongs
# to the same field. Possessive quantifiers keep Java's regex from backtracking or recursing deeply.
_QUOTED_FIELD = r'"(?:[^"]++|"")*+"(?:[^",][^,]*+)?'
_FIELD = rf'(?:{_QUOTED_FIELD}|[^",][^,]*+|)'
CLOSED_LINE = rf"\A{_FIELD}(?:,{_FIELD})*+\z"


def opens_quoted_field(line: Column) -> Column:
    """True for a line that leaves a quoted field open at its end: its record goes on past the line."""
    return line.contains('"') & ~line.rlike(CLOSED_LINE)


def csv_lines(
    spark: SparkSession,
    paths: Sequence[str],
    line_sep: str,
    *,
    ids_per_task: bool = False,
    parse_width: int | None = None,
) -> DataFrame:
    """The non-blank lines of CSV files (blank lines are no records, for Spark's CSV parser either),
    with their file, the start of their split and a row id that increases through each split.

    `ids_per_task`: ids count from 0 in each task, which is right when each task reads one split.
    `parse_width`: also parse each line into PARSED, a struct of that many fields (see `csv_fields`).
    """
    columns = [
        F.col("value").alias(LINE),
        F.input_file_name().alias(SOURCE_URI),
        F.input_file_block_start().alias(BLOCK_START),
        # Evaluated right above the scan and the blank-line filter: consecutive within a split.
        row_ids(ids_per_task).alias(ROW_ID),
    ]
    if parse_width is not None:
        # Parsed in this same projection on purpose: the row id makes it non-deterministic, so Spark
        # does not push filters on parsed values below it, where it would parse the line once for every
        # field a filter reads.
        columns.append(F.from_csv(F.col("value"), csv_ddl(parse_width), csv_line_options()).alias(PARSED))
    return spark.read.text(list(paths), lineSep=line_sep).where(F.col("value") != "").select(*columns)


def csv_line_options() -> dict[str, str]:
    """`from_csv` options: those of the file reader that apply to one line."""
    return {
        "quote": '"',
        "escape": '"',
        "mode": "PERMISSIVE",
        "columnNameOfCorruptRecord": CORRUPT_RECORD,
        "ignoreLeadingWhiteSpace": "false",
        "ignoreTrailingWhiteSpace": "false",
    }


def csv_ddl(width: int) -> str:
    """The `from_csv` schema of a line of `width` fields: `_c0`... and `_corrupt_record`, all strings."""
    return ", ".join(f"`{n}` STRING" for n in [*(position_column(i) for i in range(width)), CORRUPT_RECORD])


def csv_fields(lines: DataFrame, width: int, keep: Sequence[str]) -> DataFrame:
    """`_c0`... and `_corrupt_record` of lines read with `parse_width`, as the file reader gives them;
    plus the columns `keep`."""
    names = [*(position_column(i) for i in range(width)), CORRUPT_RECORD]
    return lines.select(*[F.col(PARSED)[n].alias(n) for n in names], *keep)
