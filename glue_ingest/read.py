"""Raw files in, one Spark DataFrame per group of like files out.

Reading is two-step. First, in plain Python, each new file's header is read (a few KiB) and files
are grouped by identical header, so that Spark can read each group with a schema in that header's
column order. Then Spark reads each group. A reader hands the rest of the job a DataFrame of a fixed
shape, whatever the format: one string column per source column, named by position (`_c0`, `_c1`,
...; the group says which name each one has), plus:

- `_corrupt_record`: the raw text of a record that could not be split into the group's columns;
- `_source_uri`: the file the record came from, as Spark names it;
- `_read_order`: increasing in file order within each file (see `transform.number_records`).

Only CSV is implemented. A JSON reader would plug into READERS with the same two steps.
"""

from __future__ import annotations

import csv
import io
import logging
import re
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import unquote

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import StringType, StructField, StructType

from glue_ingest import storage as st

log = logging.getLogger(__name__)

CORRUPT_RECORD = "_corrupt_record"
SOURCE_URI = "_source_uri"
READ_ORDER = "_read_order"

HEAD_BYTES = 64 * 1024
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


def read_csv_header(storage: st.Storage, file: RawFile) -> Header | None:
    size = HEAD_BYTES
    while True:
        head = storage.read_head(file.path, size)
        complete = len(head) < size or size >= file.size
        decompressor = _decompressor(file.path)
        if decompressor is not None:
            head = decompressor.decompress(head)
        try:
            return parse_header(head, complete)
        except NeedMoreBytes:
            size *= 4


def _unreadable_reason(file: RawFile) -> str | None:
    bad = sorted({c for c in UNREADABLE_NAME_CHARS if c in file.relative})
    if bad:
        return f"unreadable file name: Spark/Hadoop paths cannot contain {', '.join(map(repr, bad))}"
    return None


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
        for i, file in enumerate(files, start=1):
            log.info(
                "dataset %s: file %d/%d %s (%d bytes): reading header",
                dataset,
                i,
                len(files),
                file.relative,
                file.size,
            )
            header = read_csv_header(storage, file) if file.size else None
            reason = _unreadable_reason(file)
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


READERS: dict[str, Reader] = {"csv": CsvReader()}


def reader_for(fmt: str) -> Reader:
    try:
        return READERS[fmt]
    except KeyError:
        raise NotImplementedError(
            f"no reader for format {fmt!r} yet (have: {', '.join(sorted(READERS))})"
        ) from None
