"""Raw files in, one Spark DataFrame per group of like files out.

Reading is two-step. First, in plain Python, the first bytes of each new file are read (a few KiB)
and files are grouped: CSV files by identical header, so that Spark can read each group with a
schema in that header's column order; JSON files by layout (lines or one array). Then Spark reads
each group.

The CSV reader hands the rest of the job one string column per source column, named by position
(`_c0`, `_c1`, ...; the group says which name each one has), plus:

- `_corrupt_record`: the raw text of a record that could not be split into the group's columns;
- `_source_uri`: the file the record came from, as Spark names it;
- `_read_order`: increasing in file order within each file (see `transform.number_records`).

The JSON reader hands over one string column per contract column (`_c0`, ... in contract order),
parsed record by record in Python (see `parse_ndjson_line`), plus the columns listed at JSON_COLUMNS.
Its record numbers are exact and its own:

- JSON lines (NDJSON, JSONL): the physical line number in the (decompressed) file, lines split on
  LF, CRLF or CR. Blank lines are not records, but they are counted, so numbers may have gaps and
  `sed -n <number>p` shows the record.
- a JSON array (the file's first non-whitespace character is `[`): the 1-based position of the
  element in the array. An array file that does not parse as a whole (say it is truncated) is one
  record without a number, quarantined whole, since where its elements begin can no longer be told.

Any file name is read; a `.gz` suffix means gzip (Spark and the header step both go by the suffix).
"""

from __future__ import annotations

import csv
import io
import json
import logging
import math
import re
import zlib
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol, TypeVar
from urllib.parse import unquote

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import (
    ArrayType,
    BinaryType,
    BooleanType,
    LongType,
    StringType,
    StructField,
    StructType,
)

from glue_ingest import storage as st
from glue_ingest.contracts import load_contract

log = logging.getLogger(__name__)

CORRUPT_RECORD = "_corrupt_record"
SOURCE_URI = "_source_uri"
READ_ORDER = "_read_order"

INVALID_UTF8 = "invalid UTF-8"
INVALID_JSON = "invalid JSON"

# File layouts, one reader step each.
CSV = "csv"
NDJSON = "ndjson"
JSON_ARRAY = "json array"

HEAD_BYTES = 64 * 1024
PROBE_THREADS = 16  # first bytes of that many files read at once
# Hadoop paths cannot hold these: Spark fails on the whole batch if given such a file.
UNREADABLE_NAME_CHARS = (":",)


def position_column(index: int) -> str:
    return f"_c{index}"


@dataclass(frozen=True)
class RawFile:
    path: str  # as the storage names it
    relative: str  # relative to the dataset's raw folder, with `/`
    size: int


@dataclass(frozen=True)
class Header:
    columns: tuple[str, ...]
    line: str  # the header record as it appears in the file (without its line terminator)
    line_sep: str  # the line terminator the header ends with: Spark is told to split records on it


@dataclass
class FileGroup:
    """Files with the same header, read by Spark in one go."""

    columns: tuple[str, ...]
    line_sep: str
    files: list[RawFile] = field(default_factory=list)
    header_lines: dict[str, str] = field(default_factory=dict)  # relative path -> header line
    layout: str = CSV  # CSV, NDJSON or JSON_ARRAY


@dataclass(frozen=True)
class RejectedFile:
    """A file Spark cannot be given at all; it is quarantined whole without being read."""

    file: RawFile
    reason: str
    header_line: str | None


@dataclass
class ReadPlan:
    groups: list[FileGroup] = field(default_factory=list)
    empty: list[RawFile] = field(default_factory=list)  # no header at all: nothing to read
    rejected: list[RejectedFile] = field(default_factory=list)


class Reader(Protocol):
    def plan(self, storage: st.Storage, files: Sequence[RawFile], dataset: str) -> ReadPlan: ...

    def read(self, spark: SparkSession, storage: st.Storage, group: FileGroup) -> DataFrame: ...


def list_raw_files(storage: st.Storage, source_path: str) -> list[RawFile]:
    """Every file under the raw folder, except hidden ones (a path part starting with `.` or `_`,
    such as `_SUCCESS` markers or editor temp files)."""
    files = []
    for info in storage.list_files(source_path):
        rel = st.relative(info.path, source_path)
        if any(part.startswith((".", "_")) for part in rel.split("/")):
            continue
        files.append(RawFile(path=info.path, relative=rel, size=info.size))
    return files


# --- CSV -----------------------------------------------------------------------------------------


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


class NeedMoreBytes(Exception):
    pass


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


def _decompressor(path: str) -> zlib._Decompress | None:
    return zlib.decompressobj(wbits=16 + zlib.MAX_WBITS) if path.endswith(".gz") else None


T = TypeVar("T")


def _from_head(storage: st.Storage, file: RawFile, parse: Callable[[bytes, bool], T]) -> T:
    """`parse(head, complete)` on the file's first bytes (decompressed), reading more as long as it
    raises NeedMoreBytes. Raises zlib.error when a `.gz` file is not gzip."""
    size = HEAD_BYTES
    while True:
        head = storage.read_head(file.path, size)
        complete = len(head) < size or size >= file.size
        decompressor = _decompressor(file.path)
        if decompressor is not None:
            head = decompressor.decompress(head)
        try:
            return parse(head, complete)
        except NeedMoreBytes:
            size *= 4


def read_csv_header(storage: st.Storage, file: RawFile) -> Header | None:
    return _from_head(storage, file, parse_header)


def map_files(files: Sequence[RawFile], probe: Callable[[RawFile], T]) -> list[T]:
    """`probe` of every file, in file order, side by side: on S3 each first read is a round trip."""
    if len(files) <= 1:
        return [probe(f) for f in files]
    with ThreadPoolExecutor(max_workers=min(PROBE_THREADS, len(files))) as pool:
        return list(pool.map(probe, files))


def _unreadable_reason(file: RawFile) -> str | None:
    bad = sorted({c for c in UNREADABLE_NAME_CHARS if c in file.relative})
    if bad:
        return f"unreadable file name: Spark/Hadoop paths cannot contain {', '.join(map(repr, bad))}"
    return None


def _not_gzip(exc: zlib.error) -> str:
    # Spark would fail the whole run on it; better to set this one file aside.
    return f"unreadable file: not gzip data ({exc})"


def _log_planning(dataset: str, i: int, files: Sequence[RawFile], what: str) -> None:
    file = files[i - 1]
    log.info("dataset %s: file %d/%d %s (%d bytes): %s", dataset, i, len(files), file.relative, file.size, what)


def _usable_as_field_names(columns: Sequence[str]) -> bool:
    lowered = [c.lower() for c in columns]  # Spark compares names case-insensitively by default
    return all(lowered) and len(set(lowered)) == len(lowered) and CORRUPT_RECORD not in lowered


_GLOB_CHARS = re.compile(r"([\\\[\]{}*?])")


def escape_glob(path: str) -> str:
    """Spark expands glob patterns in the paths it reads; a file named `a[1].csv` must not be one."""
    return _GLOB_CHARS.sub(r"\\\1", path)


class CsvReader:
    """RFC 4180 CSV with a header, UTF-8 (with or without a BOM), LF, CRLF or CR line ends."""

    def plan(self, storage: st.Storage, files: Sequence[RawFile], dataset: str) -> ReadPlan:
        plan = ReadPlan()
        groups: dict[tuple[tuple[str, ...], str], FileGroup] = {}
        def probe(file: RawFile) -> tuple[Header | None, str | None]:
            reason = _unreadable_reason(file)
            try:
                return (read_csv_header(storage, file) if file.size else None), reason
            except zlib.error as exc:
                return None, reason or _not_gzip(exc)

        for i, (file, (header, reason)) in enumerate(zip(files, map_files(files, probe), strict=True), start=1):
            _log_planning(dataset, i, files, "header read")
            if reason:
                plan.rejected.append(RejectedFile(file, reason, header.line if header else None))
            elif header is None:
                plan.empty.append(file)
            else:
                group = groups.setdefault(
                    (header.columns, header.line_sep), FileGroup(header.columns, header.line_sep)
                )
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


# --- CSV as lines ------------------------------------------------------------------------------
#
# Most CSV files hold one record per line. Those are read with the text reader, which splits a large
# file across tasks, and each line is parsed with `from_csv`, by the same parser and options as the
# file reader. A file with a line that leaves a quoted field open (a line break inside quotes, or a
# stray quote) goes to the multi-line file reader above, which keeps the file in one task.
#
# Record numbers need no shuffle: a pre-pass counts the non-blank lines of each (file, split) and
# notes the first row id of each; a row's number is its split's offset in the file plus its place in
# the split (see `LineBlock`).

LINE = "_line"
BLOCK_START = "_block_start"
ROW_ID = "_row_id"
PARSED = "_parsed_line"
ROW_BASE = "_row_base"  # a block's row number base: record number = ROW_BASE + ROW_ID

_TASK_ROW_BITS = 33  # monotonically_increasing_id: the task's partition index above the low 33 bits
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


def row_ids(per_task: bool) -> Column:
    """Ids that increase through each task's rows; `per_task`: counting from 0 in each task."""
    row_id = F.monotonically_increasing_id()
    if per_task:
        row_id = row_id - F.spark_partition_id().cast(LongType()) * F.lit(1 << _TASK_ROW_BITS)
    return row_id


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
        columns.append(F.from_csv(F.col("value"), _csv_ddl(parse_width), csv_line_options()).alias(PARSED))
    return spark.read.text(list(paths), lineSep=line_sep).where(F.col("value") != "").select(*columns)


@dataclass(frozen=True)
class LineBlock:
    """The lines of one file that one split of it holds (the lines that start in it)."""

    uri: str
    start: int  # byte offset of the split in the file
    lines: int
    first_id: int  # ROW_ID of its first line
    opens_quote: bool = False  # some line leaves a quoted field open (CSV)
    no_records: int = 0  # lines that are no records (JSON: blank lines, which keep their numbers)


def line_blocks(
    lines: DataFrame,
    *,
    opens_quote: Column | None = None,
    blank: Column | None = None,
    first_blank: Column | None = None,
) -> list[LineBlock]:
    """The pre-pass: one cheap scan that counts lines per split (no parsing, no shuffle of rows).

    `blank`: lines that are no records; `first_blank`: the same, when it is the file's first line."""
    rows = (
        lines.groupBy(SOURCE_URI, BLOCK_START)
        .agg(
            F.count(F.lit(1)).alias("lines"),
            F.min(ROW_ID).alias("first_id"),
            (F.max(opens_quote.cast("int")) if opens_quote is not None else F.lit(0)).alias("opens_quote"),
            (F.sum(blank.cast("int")) if blank is not None else F.lit(0)).alias("blank"),
            (F.min_by(first_blank.cast("int"), F.col(ROW_ID)) if first_blank is not None else F.lit(0)).alias(
                "first_blank"
            ),
        )
        .collect()
    )
    blocks = []
    for r in rows:
        # Only the first line of the file's first split is the file's first line.
        first_blank_line = r[BLOCK_START] == 0 and bool(r["first_blank"])
        blocks.append(
            LineBlock(
                r[SOURCE_URI],
                r[BLOCK_START],
                r["lines"],
                r["first_id"],
                bool(r["opens_quote"]),
                (r["blank"] or 0) + int(first_blank_line),
            )
        )
    return sorted(blocks, key=lambda b: (b.uri, b.start))


def split_size(blocks: Sequence[LineBlock], sizes: Sequence[int]) -> int:
    """The split size the blocks were read with, or (when no file was split) one that splits none of
    the files of `sizes`. Reading with it again, one split per task, gives the same blocks."""
    starts = [b.start for b in blocks if b.start]
    return math.gcd(*starts) if starts else max(max(sizes, default=1), 1)


def block_bases(blocks: Sequence[LineBlock], per_task: bool, first_number: int) -> dict[tuple[str, int], int]:
    """(uri, split start) -> ROW_BASE, such that ROW_BASE + ROW_ID is the line's number: its place
    among the file's lines, the first being `first_number` (CSV: 0, the header; JSON lines: 1).

    `per_task`: the ids of a read with `ids_per_task`, which start at 0 in each split."""
    bases = {}
    offset: dict[str, int] = {}
    for b in sorted(blocks, key=lambda b: (b.uri, b.start)):
        before = offset.get(b.uri, 0)
        bases[(b.uri, b.start)] = before + first_number - (0 if per_task else b.first_id)
        offset[b.uri] = before + b.lines
    return bases


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


def _csv_ddl(width: int) -> str:
    return ", ".join(f"`{n}` STRING" for n in [*(position_column(i) for i in range(width)), CORRUPT_RECORD])


def csv_fields(lines: DataFrame, width: int, keep: Sequence[str]) -> DataFrame:
    """`_c0`... and `_corrupt_record` of lines read with `parse_width`, as the file reader gives them;
    plus the columns `keep`."""
    names = [*(position_column(i) for i in range(width)), CORRUPT_RECORD]
    return lines.select(*[F.col(PARSED)[n].alias(n) for n in names], *keep)


def line_text(line: Column) -> Column:
    """A line as text: bytes that are not UTF-8 as U+FFFD, as the file reader shows them."""
    return F.decode(line.cast(BinaryType()), "UTF-8")


# --- JSON ----------------------------------------------------------------------------------------

# Columns of the JSON reader's DataFrame, besides the contract columns (`_c0`, ...) and SOURCE_URI.
PRESENT = "_present"  # array<boolean>, per contract column: does the record have the key at all
EXTRA_TEXT = "_extra_text"  # JSON object of the keys the contract lacks; null when there are none
RECORD_ERROR = "_record_error"  # why the record cannot be loaded (invalid UTF-8 or JSON); else null
WHOLE_FILE = "_whole_file"  # the record is the whole file, which does not parse (RECORD_ERROR says why)
RAW_TEXT = "_raw_text"  # the record as delivered, for the quarantine (bad bytes as U+FFFD)
POSITION = "_position"  # the record number: line number, or position in the array; null if WHOLE_FILE
JSON_COLUMNS = (PRESENT, EXTRA_TEXT, RECORD_ERROR, WHOLE_FILE, RAW_TEXT, SOURCE_URI, POSITION)

_BYTES = "_bytes"
_PARSED = "_parsed"
_UTF8_BOM = b"\xef\xbb\xbf"
_JSON_SPACE = " \t\r\n"  # what JSON counts as whitespace (Python's str.strip would take more)
_SPACE_RE = re.compile(r"[ \t\r\n]*")
_SURROGATE_RE = re.compile("[\ud800-\udfff]")
# What decoding with errors="surrogateescape" puts in place of bytes that are not UTF-8.
_ESCAPED_BYTE_RE = re.compile("[\udc80-\udcff]")


class _Number(str):
    """A JSON number, as written: Python's float (and Spark) would turn `12.50` into `12.5`."""


class _Object(list):  # type: ignore[type-arg]
    """A JSON object as its (key, value) pairs, in order, duplicates kept."""


class _NotJson(ValueError):
    pass


def _reject_constant(name: str) -> Any:
    # Python accepts NaN and Infinity; JSON does not.
    raise _NotJson(f"{name} is not a JSON value")


_DECODER = json.JSONDecoder(
    object_pairs_hook=_Object, parse_float=_Number, parse_int=_Number, parse_constant=_reject_constant
)


class JsonRecord(NamedTuple):
    """One parsed record; Spark takes it as a struct (see RECORD_TYPE)."""

    values: list[str | None] | None = None  # the contract columns' text, in contract order
    present: list[bool] | None = None  # per contract column: the record has the key (maybe null)
    extra: str | None = None  # the other keys as a JSON object of text values; None if none
    error: str | None = None  # why the record cannot be loaded; None if it can


class JsonElement(NamedTuple):
    """One element of an array file, or (position None, whole_file True) the whole file."""

    position: int | None
    raw: str
    record: JsonRecord
    whole_file: bool = False


RECORD_TYPE = StructType(
    [
        StructField("values", ArrayType(StringType())),
        StructField("present", ArrayType(BooleanType())),
        StructField("extra", StringType()),
        StructField("error", StringType()),
    ]
)
ELEMENT_TYPE = StructType(
    [
        StructField("position", LongType()),
        StructField("raw", StringType()),
        StructField("record", RECORD_TYPE),
        StructField("whole_file", BooleanType()),
    ]
)


def _json_string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def json_text(value: Any) -> str:
    """Compact JSON text of a parsed value, numbers as written and keys in their order."""
    if isinstance(value, _Object):
        return "{" + ",".join(f"{_json_string(k)}:{json_text(v)}" for k, v in value) + "}"
    if isinstance(value, list):
        return "[" + ",".join(json_text(v) for v in value) + "]"
    if isinstance(value, _Number):
        return str(value)
    if isinstance(value, str):
        return _json_string(value)
    return {True: "true", False: "false", None: "null"}[value]


def value_text(value: Any) -> str | None:
    """A value as bronze stores it: a string as itself, null as null, anything else as its JSON text."""
    if value is None:
        return None
    if isinstance(value, str) and not isinstance(value, _Number):
        return value
    return json_text(value)


def _kind(value: Any) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, _Number):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return json_text(value)  # true, false, null


def _extra_object(extras: Sequence[tuple[str, str | None]]) -> str:
    """Values as text, nulls kept: the same shape as CSV's `_extra`."""
    return "{" + ",".join(f"{_json_string(k)}:{_json_string(v) if v is not None else 'null'}" for k, v in extras) + "}"


def _failed(error: str) -> JsonRecord:
    return JsonRecord(error=error)


def record_from_value(value: Any, columns: Sequence[str]) -> JsonRecord:
    """Map a parsed JSON value to the contract's columns, or say why it is not a loadable record."""
    if not isinstance(value, _Object):
        return _failed(f"{INVALID_JSON}: expected an object, got {_kind(value)}")
    duplicates = [k for k, n in Counter(k for k, _ in value).items() if n > 1]
    if duplicates:
        # Which one would count is anyone's guess (RFC 8259 leaves it open): load neither.
        return _failed(f"{INVALID_JSON}: duplicate key(s) {', '.join(map(_json_string, duplicates))}")
    fields = dict(value)
    wanted = set(columns)
    extras = [(k, value_text(v)) for k, v in value if k not in wanted]
    record = JsonRecord(
        values=[value_text(fields[c]) if c in fields else None for c in columns],
        present=[c in fields for c in columns],
        extra=_extra_object(extras) if extras else None,
    )
    texts = [*(v for v in record.values or () if v is not None), *(k for k, _ in extras), record.extra or ""]
    if any(_SURROGATE_RE.search(t) for t in texts):
        # `"\ud800"` is well-formed JSON but no character: it cannot be stored as UTF-8 text.
        return _failed(f"{INVALID_JSON}: unpaired surrogate in a \\u escape")
    return record


def _parse_value(text: str, columns: Sequence[str]) -> JsonRecord:
    try:
        value = _DECODER.decode(text)
    except json.JSONDecodeError as exc:
        return _failed(f"{INVALID_JSON}: {exc.msg}")  # no position: reasons are counted by their text
    except _NotJson as exc:
        return _failed(f"{INVALID_JSON}: {exc}")
    except RecursionError:
        return _failed(f"{INVALID_JSON}: nested too deeply")
    try:
        return record_from_value(value, columns)
    except RecursionError:  # json_text of a value nested almost too deeply to parse
        return _failed(f"{INVALID_JSON}: nested too deeply")


def parse_ndjson_line(data: bytes, columns: Sequence[str], first: bool) -> JsonRecord | None:
    """One line of a JSON-lines file (without its line end); None when blank: blank lines are not
    records. `first`: the file's first line, which may start with a UTF-8 byte order mark."""
    if first and data.startswith(_UTF8_BOM):
        data = data[len(_UTF8_BOM) :]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return _failed(INVALID_UTF8)
    if not text.strip(_JSON_SPACE):
        return None
    return _parse_value(text, columns)


def _array_items(text: str) -> Iterator[tuple[int, int, Any]]:
    """(start, end, value) of each element of the JSON array `text`; raises JSONDecodeError (or
    _NotJson, RecursionError) as soon as the text stops being one JSON array."""
    pos = _SPACE_RE.match(text).end()  # type: ignore[union-attr]
    if text[pos : pos + 1] != "[":
        raise json.JSONDecodeError("Expecting '['", text, pos)
    pos = _SPACE_RE.match(text, pos + 1).end()  # type: ignore[union-attr]
    if text[pos : pos + 1] == "]":
        end = pos + 1
    else:
        while True:
            value, end = _DECODER.raw_decode(text, pos)
            yield pos, end, value
            pos = _SPACE_RE.match(text, end).end()  # type: ignore[union-attr]
            delimiter = text[pos : pos + 1]
            if delimiter == "]":
                end = pos + 1
                break
            if delimiter != ",":
                raise json.JSONDecodeError("Expecting ',' delimiter" if delimiter else "Unterminated array", text, pos)
            pos = _SPACE_RE.match(text, pos + 1).end()  # type: ignore[union-attr]
    rest = _SPACE_RE.match(text, end).end()  # type: ignore[union-attr]
    if rest < len(text):
        raise json.JSONDecodeError("Extra data after the array", text, rest)


def _printable(text: str) -> str:
    """Text decoded with surrogateescape, with its undecodable bytes as U+FFFD (like the CSV reader)."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def parse_json_array(data: bytes, columns: Sequence[str]) -> list[JsonElement]:
    """The elements of a file holding one JSON array, each with its exact text; or, when the file is
    not one JSON array, a single whole-file element saying why."""
    if data.startswith(_UTF8_BOM):
        data = data[len(_UTF8_BOM) :]
    # Undecodable bytes become lone surrogates: inside a string they only spoil their own element.
    text = data.decode("utf-8", "surrogateescape")
    elements = []
    try:
        for position, (start, end, value) in enumerate(_array_items(text), start=1):
            raw = text[start:end]
            if _ESCAPED_BYTE_RE.search(raw):
                elements.append(JsonElement(position, _printable(raw), _failed(INVALID_UTF8)))
            else:
                elements.append(JsonElement(position, raw, record_from_value(value, columns)))
    except json.JSONDecodeError as exc:
        return [_whole_file(text, f"{INVALID_JSON}: {exc.msg} at line {exc.lineno} column {exc.colno}")]
    except _NotJson as exc:
        return [_whole_file(text, f"{INVALID_JSON}: {exc}")]
    except RecursionError:
        return [_whole_file(text, f"{INVALID_JSON}: nested too deeply")]
    return elements


def _whole_file(text: str, reason: str) -> JsonElement:
    return JsonElement(None, _printable(text), _failed(reason), whole_file=True)


def json_layout(head: bytes, complete: bool) -> str | None:
    """NDJSON or JSON_ARRAY from a file's first bytes; None when the file holds only whitespace."""
    if head.startswith(_UTF8_BOM):
        head = head[len(_UTF8_BOM) :]
    start = head.lstrip(_JSON_SPACE.encode())[:1]
    if not start:
        if not complete:
            raise NeedMoreBytes
        return None
    return JSON_ARRAY if start == b"[" else NDJSON


def _json_frame(parsed: Column, raw: Column, whole_file: Column, position: Column, width: int) -> list[Column]:
    """The JSON reader's columns from a parsed JsonRecord struct."""
    return [
        *[parsed["values"][i].alias(position_column(i)) for i in range(width)],
        parsed["present"].alias(PRESENT),
        parsed["extra"].alias(EXTRA_TEXT),
        parsed["error"].alias(RECORD_ERROR),
        whole_file.alias(WHOLE_FILE),
        raw.alias(RAW_TEXT),
        F.col(SOURCE_URI),
        position.cast(LongType()).alias(POSITION),
    ]


class JsonReader:
    """UTF-8 JSON: lines of objects (NDJSON/JSONL) or one array of objects, told apart per file.

    Records are parsed in Python, not with Spark's JSON functions: these rewrite numbers (`12.50`
    becomes `12.5`, `1e2` becomes `100.0`), and bronze keeps values exactly as delivered. A key the
    contract has becomes its column (a string as itself, anything else as its JSON text); the others
    go to the extra JSON object, as CSV's extra columns do.
    """

    def plan(self, storage: st.Storage, files: Sequence[RawFile], dataset: str) -> ReadPlan:
        columns = tuple(load_contract(dataset).column_names)
        plan = ReadPlan()
        groups: dict[str, FileGroup] = {}
        def probe(file: RawFile) -> tuple[str | None, str | None]:
            reason = _unreadable_reason(file)
            try:
                return (_from_head(storage, file, json_layout) if file.size else None), reason
            except zlib.error as exc:
                return None, reason or _not_gzip(exc)

        for i, (file, (layout, reason)) in enumerate(zip(files, map_files(files, probe), strict=True), start=1):
            _log_planning(dataset, i, files, "JSON layout detected")
            if reason:
                plan.rejected.append(RejectedFile(file, reason, None))
            elif layout is None:
                plan.empty.append(file)
            else:
                groups.setdefault(layout, FileGroup(columns, "", layout=layout)).files.append(file)
        plan.groups = list(groups.values())
        return plan

    def read(self, spark: SparkSession, storage: st.Storage, group: FileGroup) -> DataFrame:
        paths = [escape_glob(storage.spark_path(f.path)) for f in group.files]
        if group.layout != JSON_ARRAY:
            # JSON lines are read as lines, split across tasks (see jsonlines.py and stage.py).
            raise ValueError(f"JsonReader.read reads JSON arrays, not {group.layout}")
        return self._read_arrays(spark, paths, group.columns)

    @staticmethod
    def _read_arrays(spark: SparkSession, paths: list[str], columns: tuple[str, ...]) -> DataFrame:
        # One row per file: positions and raw texts of elements need the whole text.
        files = spark.read.text(paths, wholetext=True).select(
            F.col("value").cast(BinaryType()).alias(_BYTES), F.input_file_name().alias(SOURCE_URI)
        )
        parse = F.udf(_array_parser(columns), ArrayType(ELEMENT_TYPE))
        elements = files.select(F.col(SOURCE_URI), F.explode(parse(F.col(_BYTES))).alias(_PARSED))
        element = F.col(_PARSED)
        return elements.select(
            *_json_frame(element["record"], element["raw"], element["whole_file"], element["position"], len(columns))
        )


def _array_parser(columns: tuple[str, ...]) -> Callable[[bytes | bytearray], list[JsonElement]]:
    def parse(data: bytes | bytearray) -> list[JsonElement]:
        return parse_json_array(bytes(data), columns)

    return parse


def _comparable(path: str) -> str:
    path = unquote(path)
    for scheme in ("file:", *st.S3_SCHEMES):
        if path.startswith(scheme):
            path = path[len(scheme) :]
            break
    return path.lstrip("/")


def match_source_uris(uris: Sequence[str], files: Sequence[RawFile]) -> dict[str, RawFile]:
    """Map the file names Spark reports (URIs, percent-encoded) back to the files we listed."""
    by_path = {_comparable(f.path): f for f in files}
    matched = {}
    for uri in uris:
        file = by_path.get(_comparable(uri))
        if file is None:
            raise RuntimeError(f"Spark read {uri}, which is not one of the files planned for this run")
        matched[uri] = file
    return matched


READERS: dict[str, Reader] = {"csv": CsvReader(), "json": JsonReader()}


def reader_for(fmt: str) -> Reader:
    try:
        return READERS[fmt]
    except KeyError:
        raise NotImplementedError(
            f"no reader for format {fmt!r} yet (have: {', '.join(sorted(READERS))})"
        ) from None
