"""CSV lines read and parsed with pyarrow, as Spark's CSV line path reads them (`read.csv`): the Arrow path.

Spark-free: everything here runs inside a task (`glue_ingest.stage_arrow` schedules the tasks).

- **Splits and blocks.** A file is cut into splits of a fixed size; a line belongs to the split its first byte is
  in, and is read whole even when it runs past the split's end (`split_blocks`). A split is read in blocks of
  whole lines, some tens of MiB each, so memory stays flat whatever the file's size. A `.gz` file is one split.
- **Records.** Lines are cut at the group's separator only (LF, CRLF or CR, from the header), as Spark's text
  reader with `lineSep` cuts them; empty lines are no records. A line's number is its place among the file's
  non-empty lines, the header being 0.
- **Parsing.** pyarrow's CSV parser is vectorised and some five times faster than Spark's `from_csv`, but it is
  not univocity, the parser Spark uses: they read text after a closing quote, or a quote inside an unquoted
  field, differently, and pyarrow breaks lines at any CR or LF. They agree on lines whose every field is either
  unquoted with no quote, CR or LF in it, or quoted whole (`"..."`, quotes doubled inside, no CR or LF) and
  followed by a comma or the end of the line: `SIMPLE_QUOTING`. Only files whose every line is such take this
  path (`survey_block`); the job reads the others with Spark. `tests/python/test_ingest_arrow_csv.py` holds
  `parse_lines` equal to `from_csv` on every CSV line of the bad-input matrix and of the quote check's test.
- **Two ways through a block** (`parse_block`). Fast: the block is UTF-8 without U+FFFD, and pyarrow reads it
  whole into as many rows of the right width as it has non-empty lines. Otherwise, line by line: each line is
  decoded (bytes that are not UTF-8 become U+FFFD, as Java decodes them) and parsed on its own row; a line with
  the wrong field count, or with U+FFFD, is a bad record with its text, as on Spark's path.
"""

from __future__ import annotations

import gzip
import io
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from glue_ingest import storage as st
from glue_ingest.read.files import position_column

# RE2 (pyarrow.compute): linear time, so no possessive quantifiers are needed.
_FIELD = r'(?:[^",\r\n]*|"(?:[^"\r\n]|"")*")'
_LINE = rf"{_FIELD}(?:,{_FIELD})*"
SIMPLE_QUOTING = rf"\A{_LINE}\z"
REPLACEMENT_CHAR = "\ufffd"  # what a UTF-8 decoder puts in place of bytes that are not UTF-8
BOM = b"\xef\xbb\xbf"
BLOCK_BYTES = 32 * 1024 * 1024


# A line with SIMPLE_QUOTING that is not empty: its first field is not empty, or a comma follows it.
_NON_EMPTY_LINE = rf'(?:(?:[^",\r\n]+|"(?:[^"\r\n]|"")*")(?:,{_FIELD})*|(?:,{_FIELD})+)'


def _block_pattern(sep: str, line: str = _LINE) -> str:
    """A block of lines, each matching `line`, ended by `sep` (the last one may not be)."""
    escaped = sep.replace("\r", r"\r").replace("\n", r"\n")
    return rf"\A(?:{line}{escaped})*(?:{line})?\z"


def simple_quoting(lines: pa.Array) -> pa.Array:
    """True for each line (string) that pyarrow reads as Spark does (see the module's doc)."""
    return pc.match_substring_regex(lines, SIMPLE_QUOTING)


@dataclass(frozen=True)
class Split:
    """Part of a raw file: the lines that start in [start, end). A gzip file is one split, read whole."""

    path: str  # as the storage names it
    relative: str
    start: int
    end: int
    sep: str  # the file's line separator
    json: bool = False  # JSON lines (`read.arrow_json`), else CSV

    @property
    def gzip(self) -> bool:
        return self.path.endswith(".gz")


def file_splits(path: str, relative: str, size: int, sep: str, split_bytes: int, *, json: bool = False) -> list[Split]:
    if path.endswith(".gz") or size <= split_bytes:
        return [Split(path, relative, 0, size, sep, json)]
    return [Split(path, relative, s, min(s + split_bytes, size), sep, json) for s in range(0, size, split_bytes)]


class Block:
    """Bytes `start:end` of a buffer that the reader reuses: valid until the next block is read. Holds whole lines."""

    def __init__(self, data: bytes | bytearray, start: int = 0, end: int | None = None) -> None:
        self.data, self.start, self.end = data, start, len(data) if end is None else end

    def __len__(self) -> int:
        return self.end - self.start

    def view(self) -> memoryview:
        return memoryview(self.data)[self.start : self.end]

    def tobytes(self) -> bytes:
        return bytes(self.data[self.start : self.end])

    def count(self, sub: bytes) -> int:
        return self.data.count(sub, self.start, self.end)

    def find(self, sub: bytes) -> int:
        i = self.data.find(sub, self.start, self.end)
        return i - self.start if i >= 0 else i

    def startswith(self, prefix: bytes) -> bool:
        return self.data.startswith(prefix, self.start, self.end)

    def endswith(self, suffix: bytes) -> bool:
        return self.data.endswith(suffix, self.start, self.end)


def _as_block(block: Block | bytes) -> Block:
    return block if isinstance(block, Block) else Block(block)


def split_blocks(split: Split, block_bytes: int = BLOCK_BYTES) -> Iterator[Block]:
    """The lines of `split` (those whose first byte is in it, each read whole), in blocks of whole lines ended by
    the separator (the file's last line may have none). Blocks are about `block_bytes` long; each is only valid
    until the next is asked for, as the read buffer is reused (fresh memory for every block costs more here than
    the reading)."""
    sep = split.sep.encode()
    width = len(sep)
    begin = 0 if split.gzip else max(0, split.start - width)  # the separator that ends at `start`, if any
    end = math.inf if split.gzip else split.end
    raw = st.storage_for(split.path).open_at(split.path, begin)
    stream: BinaryIO = gzip.GzipFile(fileobj=raw) if split.gzip else raw  # type: ignore[assignment]
    try:
        yield from _blocks(_Buffer(stream, block_bytes), begin, split.start if not split.gzip else 0, end, sep)
    finally:
        stream.close()
        raw.close()


class _Buffer:
    """A read buffer over a stream: `data[:held]` are the bytes read and not consumed yet."""

    def __init__(self, stream: BinaryIO, size: int) -> None:
        self.stream = stream
        self.data = bytearray(max(size, 1))
        self.held = 0
        self.eof = False

    def fill(self) -> None:
        """Read until the buffer is full or the stream ends."""
        while self.held < len(self.data) and not self.eof:
            with memoryview(self.data) as whole, whole[self.held :] as target:
                got = _read_into(self.stream, target)
            if got:
                self.held += got
            else:
                self.eof = True

    def consume(self, n: int) -> None:
        """Drop the first `n` bytes held (the rest moves to the front; the buffer keeps its size)."""
        rest = self.held - n
        self.data[:rest] = self.data[n : self.held]
        self.held = rest

    def grow(self) -> None:
        """Twice the room, for a line longer than the buffer (a new buffer: blocks handed out keep the old one)."""
        data = bytearray(2 * len(self.data))
        data[: self.held] = self.data[: self.held]
        self.data = data


def _read_into(stream: BinaryIO, target: memoryview) -> int:
    readinto = getattr(stream, "readinto", None)
    if readinto is not None:
        try:
            return int(readinto(target) or 0)
        except (AttributeError, io.UnsupportedOperation):
            pass
    data = stream.read(len(target))
    target[: len(data)] = data
    return len(data)


def _blocks(buf: _Buffer, pos: int, start: int, end: float, sep: bytes) -> Iterator[Block]:
    """`pos`: the file offset of the stream's first byte."""
    width = len(sep)
    if start > 0:
        # Skip to the first line that starts at or after `start`: the rest of the line before is the last
        # line of the split before.
        scanned = 0
        while True:
            buf.fill()
            i = buf.data.find(sep, scanned, buf.held)
            if i >= 0:
                break
            if buf.eof:
                return
            keep = min(width - 1, buf.held)  # a separator may begin in the last bytes
            if keep == buf.held:
                buf.grow()
            pos += buf.held - keep
            buf.consume(buf.held - keep)
        pos += i + width
        buf.consume(i + width)
    while pos < end:
        buf.fill()
        limit = end - pos  # where the split ends, as an index into the buffer
        if limit <= buf.held:
            # The last block: up to the end of the line the split ends in (the first separator that ends at
            # or after `limit`); the file's last line may have no separator.
            scanned = max(0, int(limit) - width)
            while (i := buf.data.find(sep, scanned, buf.held)) < 0 and not buf.eof:
                scanned = max(scanned, buf.held - width + 1)
                if buf.held == len(buf.data):
                    buf.grow()
                buf.fill()
            yield Block(buf.data, 0, i + width if i >= 0 else buf.held)
            return
        if buf.eof:
            if buf.held:
                yield Block(buf.data, 0, buf.held)
            return
        i = buf.data.rfind(sep, 0, buf.held)
        if i < 0:  # one line longer than the buffer: read on
            buf.grow()
            continue
        yield Block(buf.data, 0, i + width)
        pos += i + width
        buf.consume(i + width)


def _lines(block: Block, sep: bytes) -> list[bytes]:
    """The non-empty lines of a block, without their separators."""
    return [line for line in block.tobytes().split(sep) if line]


def _count_lines(block: Block, sep: bytes) -> int:
    """The number of non-empty lines of a block."""
    if block.find(sep + sep) >= 0 or block.startswith(sep):
        return len(_lines(block, sep))
    return block.count(sep) + (0 if block.endswith(sep) or not len(block) else 1)


def _as_text(block: Block) -> pa.Array | None:
    """The block as a one-element string array, or None if it is not UTF-8 (pyarrow checks, in C++; the block's
    bytes are not copied)."""
    offsets = pa.py_buffer(np.array([0, len(block)], dtype=np.int32))
    try:
        return pa.Array.from_buffers(pa.binary(), 1, [None, offsets, pa.py_buffer(block.view())]).cast(pa.string())
    except pa.ArrowInvalid:
        return None


def survey_block(block: Block | bytes, sep: str) -> tuple[int, bool]:
    """(non-empty lines, whether every line has SIMPLE_QUOTING) of a block of `split_blocks`."""
    block = _as_block(block)
    sep_bytes = sep.encode()
    text = _as_text(block)
    if text is not None:
        if pc.match_substring_regex(text, _block_pattern(sep, _NON_EMPTY_LINE))[0].as_py():
            return block.count(sep_bytes) + (0 if block.endswith(sep_bytes) or not len(block) else 1), True
        if pc.match_substring_regex(text, _block_pattern(sep))[0].as_py():  # with empty lines
            return len(_lines(block, sep_bytes)), True
    # Rare: some line is not simple, or the block is not UTF-8 (bytes that are not UTF-8 are neither a quote,
    # a comma nor a line break, so a line of them can still be simple).
    lines = _lines(block, sep_bytes)
    decoded = pa.array([line.decode("utf-8", errors="replace") for line in lines], pa.string())
    return len(lines), bool(pc.all(simple_quoting(decoded)).as_py() is not False)


def _read_csv(
    source: pa.NativeFile | io.BytesIO, width: int, *, ignore_empty_lines: bool
) -> tuple[pa.Table, list[int]]:
    """`width` string columns `_c0`... read as `from_csv` reads a line: empty fields, quoted or not, are null;
    spaces are kept; text that is not UTF-8 raises ArrowInvalid. Returns the table of the rows with `width`
    fields and the (1-based) numbers pyarrow gives the others, which are skipped."""
    names = [position_column(i) for i in range(width)]
    skipped: list[int] = []

    def invalid(row: pa_csv.InvalidRow) -> str:
        skipped.append(row.number)
        return "skip"

    table = pa_csv.read_csv(
        source,
        read_options=pa_csv.ReadOptions(column_names=names, use_threads=False),
        parse_options=pa_csv.ParseOptions(
            quote_char='"',
            double_quote=True,
            escape_char=False,
            newlines_in_values=False,
            ignore_empty_lines=ignore_empty_lines,
            invalid_row_handler=invalid,
        ),
        convert_options=pa_csv.ConvertOptions(
            column_types=dict.fromkeys(names, pa.string()),
            null_values=[""],  # pyarrow's default list would make `NA`, `NULL`, `nan`... null too
            strings_can_be_null=True,
            quoted_strings_can_be_null=True,  # Spark reads `""` as null
        ),
    )
    return table, skipped


def parse_lines(lines: Sequence[str], width: int) -> tuple[pa.Table, list[int]]:
    """Lines (without terminators, none empty, each with SIMPLE_QUOTING) as `width` string columns `_c0`...,
    as `from_csv` reads them: empty fields, quoted or not, are null; spaces are kept. Returns the table of the
    lines with `width` fields and the indexes of the others (Spark's corrupt records), in line order."""
    # A sentinel row of empty fields first: pyarrow drops a byte order mark at the start of its input, which
    # would otherwise be taken from the first line.
    data = ("," * (width - 1) + "\n" + "\n".join(lines)).encode("utf-8") + b"\n"
    table, skipped = _read_csv(io.BytesIO(data), width, ignore_empty_lines=False)
    return table.slice(1), [number - 2 for number in skipped]  # 1-based, and the first row is the sentinel


@dataclass
class BadLine:
    index: int  # among the block's non-empty lines
    text: str  # bytes that are not UTF-8 as U+FFFD
    wrong_field_count: bool  # else: not UTF-8 (or holds U+FFFD, which Spark's path cannot tell apart)


@dataclass
class ParsedBlock:
    lines: int  # non-empty lines
    table: pa.Table  # the good lines, `width` string columns, in line order
    good: pa.Array | None  # their indexes among the non-empty lines; None: every line is good
    bad: list[BadLine]


def parse_block(block: Block | bytes, sep: str, width: int) -> ParsedBlock:
    """The lines of a block of `split_blocks` of a file that `survey_block` found simple, parsed."""
    block = _as_block(block)
    sep_bytes = sep.encode()
    # (U+FFFD starts with the byte EF, which most text never holds: a one-byte search is much the faster.)
    if block.find(b"\xef") < 0 or block.find(REPLACEMENT_CHAR.encode()) < 0:
        try:
            table, flagged = _read_csv(pa.BufferReader(pa.py_buffer(block.view())), width, ignore_empty_lines=True)
        except pa.ArrowInvalid:  # not UTF-8
            table, flagged = None, []
        # With every line simple, rows and non-empty lines can only differ when pyarrow drops a byte order mark
        # at the start of its input and the line it starts is otherwise empty: count the lines then.
        if (
            table is not None
            and not flagged
            and (not block.startswith(BOM) or table.num_rows == _count_lines(block, sep_bytes))
        ):
            return ParsedBlock(table.num_rows, table, None, [])
    # Line by line: some line is bad, or the fast read does not line up with the lines (a byte order mark).
    raw_lines = _lines(block, sep_bytes)
    texts = [line.decode("utf-8", errors="replace") for line in raw_lines]
    table, wrong = parse_lines(texts, width)
    wrong_set = set(wrong)
    parsed = [i for i in range(len(texts)) if i not in wrong_set]  # the rows of `table`
    keep = [REPLACEMENT_CHAR not in texts[i] for i in parsed]
    bad = [BadLine(i, texts[i], True) for i in wrong]
    bad += [BadLine(i, texts[i], False) for i, ok in zip(parsed, keep, strict=True) if not ok]
    bad.sort(key=lambda b: b.index)
    good = [i for i, ok in zip(parsed, keep, strict=True) if ok]
    return ParsedBlock(len(texts), table.filter(pa.array(keep, pa.bool_())), pa.array(good, pa.int64()), bad)
