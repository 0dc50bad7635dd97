"""Raw files and the read plan: listing, first bytes (headers, JSON layout) read in parallel, grouping
like files, and mapping the file names Spark reports back to the listed files."""

from __future__ import annotations

import logging
import re
import zlib
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Protocol, TypeVar
from urllib.parse import unquote

from pyspark.sql import DataFrame, SparkSession

from glue_ingest import storage as st

log = logging.getLogger(__name__)

CORRUPT_RECORD = "_corrupt_record"
SOURCE_URI = "_source_uri"
# Lineage columns of bronze and quarantine, which the readers number and name.
SOURCE_FILE = "_source_file"
RECORD_NUMBER = "_record_number"
READ_ORDER = "_read_order"
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


class NeedMoreBytes(Exception):
    pass


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


def probe_heads(
    storage: st.Storage, files: Sequence[RawFile], dataset: str, parse: Callable[[bytes, bool], T], what: str
) -> Iterator[tuple[RawFile, T | None, str | None]]:
    """(file, what `parse` finds in its first bytes or None for an empty file, why it cannot be read at all or
    None) for every file, in file order; read side by side, and logged per file as `what`."""

    def probe(file: RawFile) -> tuple[T | None, str | None]:
        reason = _unreadable_reason(file)
        try:
            return (_from_head(storage, file, parse) if file.size else None), reason
        except zlib.error as exc:
            return None, reason or _not_gzip(exc)

    for i, (file, (found, reason)) in enumerate(zip(files, map_files(files, probe), strict=True), start=1):
        _log_planning(dataset, i, files, what)
        yield file, found, reason


def _log_planning(dataset: str, i: int, files: Sequence[RawFile], what: str) -> None:
    file = files[i - 1]
    log.info("dataset %s: file %d/%d %s (%d bytes): %s", dataset, i, len(files), file.relative, file.size, what)


_GLOB_CHARS = re.compile(r"([\\\[\]{}*?])")


def escape_glob(path: str) -> str:
    """Spark expands glob patterns in the paths it reads; a file named `a[1].csv` must not be one."""
    return _GLOB_CHARS.sub(r"\\\1", path)


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
