"""JSON lines read with pyarrow: the Arrow path's parser for JSON (see `stage_arrow`).

`jsonrecords.parse_ndjson_line` is the contract: numbers keep their text, a value that is not a string is stored as
its JSON text, duplicate keys and invalid UTF-8 are errors with a reason, keys the contract lacks go to the extra
object in their order. `pyarrow.json` is some fifty times faster, but reads numbers as numbers (`12.50` becomes
`12.5`), strings that look like dates as timestamps, and fails a whole read on one bad line. So a block of lines is
read in three ways, chosen per line:

- **Flat strings** (FLAT_STRINGS, nearly every line of a clean feed): an object whose values are strings or null,
  with no backslash and no control character anywhere in its strings. pyarrow reads these lines with every contract
  column declared a string, so nothing is converted. Without escapes, a string holds no `"`: every `"` delimits a
  key or a value, which lets the patterns below find keys exactly.
- **Flat scalars** (FLAT_SCALARS): the same, but with numbers, `true` or `false` among the values. Their numbers and
  literals are quoted first (QUOTE_SCALARS), so that pyarrow keeps their text, which is what bronze stores for them.
- **Everything else** (escapes, nested values, not UTF-8, not JSON, a byte order mark) goes to `parse_ndjson_line`,
  as do the lines of a flat read that pyarrow refuses (duplicate keys: the read is cut in halves until the bad lines
  are found) and lines with keys the contract lacks (their order in the extra object is the line's).

Lines are cut on LF; a CR right before it belongs to the line end. Files with a CR anywhere else (a CR line end,
which Spark's text reader also splits on) are not read this way (`survey_json_block`). Blank lines (spaces and tabs
only) are counted, not records, so that record numbers stay line numbers.

`tests/python/test_ingest_arrow_json.py` holds `parse_json_block` equal to `parse_ndjson_line` on every JSON line of
the bad-input matrix, of the parser's own table and of the JSON paths' test.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pa_json

from glue_ingest.jsonrecords import _UTF8_BOM, parse_ndjson_line
from glue_ingest.read.arrow_csv import Block, _as_block, _as_text

EXTRA_COLUMN = "_extra"
_LF = 10
_STRING = r'"[^"\\\x00-\x1f]*"'  # no escape, no control character: Python's and pyarrow's readings agree
_NUMBER = "-?(?:0|[1-9][0-9]*)(?:[.][0-9]+)?(?:[eE][+-]?[0-9]+)?"
_WS = "[ \\t]*"
_END = r"\r?\n?\z"  # the line end, kept on each line


def _flat_object(value: str) -> str:
    member = f"{_STRING}{_WS}:{_WS}{value}{_WS}"
    return rf"\A{_WS}\{{{_WS}(?:{member}(?:,{_WS}{member})*)?\}}{_WS}{_END}"


FLAT_STRINGS = _flat_object(f"(?:{_STRING}|null)")
FLAT_SCALARS = _flat_object(f"(?:{_STRING}|{_NUMBER}|true|false|null)")
BLANK = rf"\A{_WS}{_END}"
# Strings are matched whole and put back as they were; numbers and true/false are quoted: their text is their value.
QUOTE_SCALARS = (rf'"([^"]*)"|({_NUMBER}|true|false)', r'"\1\2"')


def survey_json_block(block: Block | bytes, first_of_file: bool) -> tuple[int, int, bool]:
    """(lines, records, readable) of a block of `split_blocks` (cut on LF): records are the lines that are not
    blank; readable is False when the block holds a CR that does not end a line with the LF after it."""
    block = _as_block(block)
    data = np.frombuffer(block.view(), np.uint8)
    starts = np.flatnonzero(data == _LF) + 1  # where each line but the first starts (or the block ends)
    lines = len(starts) + (0 if len(starts) and starts[-1] == len(data) or not len(data) else 1)
    crs = block.count(b"\r")
    if crs and crs != block.count(b"\r\n"):
        return lines, 0, False
    # A blank line starts with a blank or a line end: only if some line does are the lines looked at one by one.
    heads = data[starts[starts < len(data)]]
    if (
        _BLANK_START[heads].any()
        or (len(data) and _BLANK_START[data[0]])
        or (first_of_file and block.startswith(_UTF8_BOM))
    ):
        texts = _texts(block)
        blank = sum(1 for line in texts if _is_blank(line))
        if first_of_file and texts and texts[0].startswith(_UTF8_BOM) and _is_blank(texts[0][len(_UTF8_BOM) :]):
            blank += 1  # a byte order mark and blanks: no record either
        return lines, lines - blank, True
    return lines, lines, True


_BLANK_START = np.zeros(256, dtype=bool)
_BLANK_START[[ord(c) for c in "\n\r \t"]] = True


def _texts(block: Block) -> list[bytes]:
    """The block's lines without their line ends."""
    data = block.tobytes()
    lines = data.split(b"\n")
    if data.endswith(b"\n") or not data:
        lines.pop()
    return [line[:-1] if line.endswith(b"\r") else line for line in lines]


def _is_blank(line: bytes) -> bool:
    return not line.strip(b" \t")


@dataclass
class JsonBad:
    index: int  # the line's index in the block
    text: str  # the line, bytes that are not UTF-8 as U+FFFD
    reason: str


@dataclass
class ParsedJson:
    lines: int  # every line of the block, blank ones too
    records: int  # the lines that are records (not blank)
    table: pa.Table  # the good records: the contract columns (strings) and EXTRA_COLUMN, in line order
    index: pa.Array  # int64: each good record's line index in the block
    bad: list[JsonBad]
    keys: set[str] = field(default_factory=set)  # the required keys some good record of the block has
    first_good: tuple[int, str] | None = None  # (line index, text) of the block's first good record
    python: int = 0  # the lines read by the Python parser (not blank)


def _lines(view: memoryview, utf8: bool) -> tuple[pa.Array, np.ndarray]:
    """Each line of the block with its line end, as one array over the block's bytes (no copy), and the offsets."""
    data = np.frombuffer(view, np.uint8)
    ends = np.flatnonzero(data == _LF) + 1
    tail = [len(data)] if len(data) and (not len(ends) or ends[-1] != len(data)) else []
    large = len(data) >= 2**31 - 1
    offsets = np.concatenate([[0], ends, tail]).astype(np.int64 if large else np.int32)
    kind = (pa.large_string() if large else pa.string()) if utf8 else (pa.large_binary() if large else pa.binary())
    return pa.Array.from_buffers(kind, len(offsets) - 1, [None, pa.py_buffer(offsets), pa.py_buffer(view)]), offsets


def _raw_line(view: memoryview, offsets: np.ndarray, i: int) -> bytes:
    """Line `i` of the block without its line end."""
    raw = bytes(view[int(offsets[i]) : int(offsets[i + 1])])
    raw = raw[:-1] if raw.endswith(b"\n") else raw
    return raw[:-1] if raw.endswith(b"\r") else raw


def _utf8(block: Block) -> bool:
    if len(block) >= 2**31 - 1:
        try:
            block.tobytes().decode("utf-8")
        except UnicodeDecodeError:
            return False
        return True
    return _as_text(block) is not None


def _data(texts: pa.Array) -> pa.Buffer:
    """The bytes of a string array's values, back to back."""
    offsets = np.frombuffer(texts.buffers()[1], np.int64 if pa.types.is_large_string(texts.type) else np.int32)
    first, last = offsets[texts.offset], offsets[texts.offset + len(texts)]
    return texts.buffers()[2].slice(int(first), int(last - first))


class _Reader:
    """pyarrow.json over lines known to be flat objects of strings (and nulls), with every contract column a string."""

    MIN_SPLIT = 64  # a failed read of fewer lines sends them to the Python parser

    def __init__(self, columns: Sequence[str]) -> None:
        self.columns = list(columns)
        self.schema = pa.schema([(c, pa.string()) for c in columns])

    def read(self, texts: pa.Array) -> tuple[list[tuple[int, pa.Table]], list[int]]:
        """(start, table of the contract columns) for runs of `texts` pyarrow reads, and the indexes of the lines it
        cannot read, or that have keys the contract lacks: these go to the Python parser."""
        tables: list[tuple[int, pa.Table]] = []
        refused: list[int] = []
        pending = [(0, len(texts))]
        while pending:
            start, stop = pending.pop()
            part = texts.slice(start, stop - start)
            try:
                table = self._read(part)
            except pa.ArrowInvalid:
                if stop - start <= self.MIN_SPLIT:
                    refused += range(start, stop)
                else:
                    middle = (start + stop) // 2
                    pending += [(middle, stop), (start, middle)]  # popped first half first: in order
                continue
            extra = [name for name in table.column_names if name not in self.schema.names]
            if extra:
                # Lines with keys the contract lacks: the extra object keeps their order, so Python writes it.
                pattern = "|".join(f'"{re.escape(name)}"{_WS}:' for name in extra)
                has_extra = pc.match_substring_regex(part, pattern)
                refused += [start + i for i in np.flatnonzero(has_extra.to_numpy(zero_copy_only=False))]
                table = table.select(self.columns).filter(pc.invert(has_extra))
                if not table.num_rows:
                    continue
                # (The rows left are not contiguous: record where each came from.)
                keep = np.flatnonzero(~has_extra.to_numpy(zero_copy_only=False)) + start
                tables.append((-1, table.append_column("_at", pa.array(keep, pa.int64()))))
                continue
            tables.append((start, table.select(self.columns)))
        return tables, refused

    def _read(self, texts: pa.Array) -> pa.Table:
        data = _data(texts)
        table = pa_json.read_json(
            pa.BufferReader(data),
            read_options=pa_json.ReadOptions(use_threads=False, block_size=max(len(data) + 1, 1 << 20)),
            parse_options=pa_json.ParseOptions(explicit_schema=self.schema, unexpected_field_behavior="infer"),
        )
        if table.num_rows != len(texts):  # not possible for flat objects, one per line: refuse them all
            raise pa.ArrowInvalid(f"{table.num_rows} rows read from {len(texts)} lines")
        return table


def _quote(texts: pa.Array) -> pa.Array:
    return pc.replace_substring_regex(texts, QUOTE_SCALARS[0], QUOTE_SCALARS[1])


def parse_json_block(
    block: Block | bytes, columns: Sequence[str], first_of_file: bool, required: Sequence[str] = ()
) -> ParsedJson:
    """The lines of a block of `split_blocks` (cut on LF) of a file that `survey_json_block` found readable.
    `required`: the contract's required keys, for ParsedJson.keys."""
    block = _as_block(block)
    view = block.view()
    utf8 = _utf8(block)
    lines, offsets = _lines(view, utf8)
    n = len(lines)
    python = np.zeros(n, dtype=bool)  # the lines for the Python parser
    if not utf8:
        python = np.array([not _decodes(raw) for raw in lines.to_pylist()], dtype=bool)
        lines = pc.if_else(pa.array(~python), lines, pa.scalar(b"", pa.binary())).cast(pa.string())
    strings = _mask(pc.match_substring_regex(lines, FLAT_STRINGS)) & ~python
    scalars = np.zeros(n, dtype=bool)
    blank = np.zeros(n, dtype=bool)
    others = np.flatnonzero(~strings & ~python)
    if len(others):
        rest = lines.take(pa.array(others))
        blank[others] = _mask(pc.match_substring_regex(rest, BLANK))
        scalars[others] = _mask(pc.match_substring_regex(rest, FLAT_SCALARS)) & ~blank[others]
        python[others] |= ~blank[others] & ~scalars[others]
    if first_of_file and n and lines[0].as_py().startswith("\ufeff"):
        python[0], blank[0], strings[0], scalars[0] = True, False, False, False

    # pyarrow: the flat lines, numbers and literals quoted.
    texts = lines
    if scalars.any():
        texts = pc.replace_with_mask(lines, pa.array(scalars), _quote(lines.take(pa.array(np.flatnonzero(scalars)))))
    flat = strings | scalars
    positions = None if flat.all() else np.flatnonzero(flat)  # line index of each line read
    parts, refused = _Reader(columns).read(texts if positions is None else texts.take(pa.array(positions)))
    tables: list[pa.Table] = []
    indexes: list[np.ndarray] = []
    for start, table in parts:
        at = table.column("_at").to_numpy() if start < 0 else np.arange(start, start + table.num_rows)
        tables.append(table.select(list(columns)).append_column(EXTRA_COLUMN, pa.nulls(table.num_rows, pa.string())))
        indexes.append(at if positions is None else positions[at])
    arrow_index = np.concatenate(indexes) if indexes else np.zeros(0, np.int64)
    if refused:
        python[np.asarray(refused) if positions is None else positions[np.asarray(refused)]] = True

    # Python: the lines no pattern let through, and those pyarrow refused.
    bad: list[JsonBad] = []
    good: list[tuple[int, list[str | None], str | None]] = []
    keys: set[str] = set()
    for i in np.flatnonzero(python):
        raw = _raw_line(view, offsets, i)
        record = parse_ndjson_line(raw, columns, first_of_file and i == 0)
        if record is None:  # a byte order mark and blanks on the file's first line
            blank[i] = True
        elif record.error is not None:
            bad.append(JsonBad(int(i), raw.decode("utf-8", errors="replace"), record.error))
        else:
            good.append((int(i), record.values or [], record.extra))
            keys |= {c for c, present in zip(columns, record.present or [], strict=True) if present and c in required}
    if good:
        values = [pa.array([v[k] for _, v, _ in good], pa.string()) for k in range(len(columns))]
        extra = pa.array([e for _, _, e in good], pa.string())
        tables.append(pa.Table.from_arrays([*values, extra], names=[*columns, EXTRA_COLUMN]))
        indexes.append(np.array([i for i, _, _ in good], dtype=np.int64))

    schema = pa.schema([*[(c, pa.string()) for c in columns], (EXTRA_COLUMN, pa.string())])
    table = pa.concat_tables(tables) if tables else schema.empty_table()
    index = np.concatenate(indexes).astype(np.int64) if indexes else np.zeros(0, np.int64)
    if len(tables) > 1 and (np.diff(index) < 0).any():
        order = np.argsort(index, kind="stable")
        table, index = table.take(pa.array(order)), index[order]

    # The required keys the good records have: a value says so; where there is none, the text of the lines pyarrow
    # read (without escapes, `"key":` in such a line is its key and nothing else).
    for key in required:
        if key in keys or not table.num_rows:
            continue
        if table.column(key).null_count < table.num_rows or (
            len(arrow_index)
            and pc.any(pc.match_substring_regex(texts.take(pa.array(arrow_index)), f'"{re.escape(key)}"{_WS}:')).as_py()
        ):
            keys.add(key)
    first_good = (int(index[0]), _raw_line(view, offsets, index[0]).decode("utf-8")) if len(index) else None
    return ParsedJson(
        n, n - int(blank.sum()), table, pa.array(index, pa.int64()), bad, keys, first_good, int((python & ~blank).sum())
    )


def _decodes(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _mask(matches: pa.Array) -> np.ndarray:
    return matches.to_numpy(zero_copy_only=False).astype(bool)
