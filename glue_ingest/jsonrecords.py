"""JSON records parsed exactly, in plain Python (no Spark): the reference the JVM path is held to.

Numbers keep their text (`12.50` stays `12.50`), nested values become compact JSON text with keys in
their order, duplicate keys and invalid UTF-8 are errors with a reason. Record numbers:

- JSON lines (NDJSON, JSONL): the physical line number in the (decompressed) file, lines split on
  LF, CRLF or CR. Blank lines are not records, but they are counted, so numbers may have gaps and
  `sed -n <number>p` shows the record.
- a JSON array (the file's first non-whitespace character is `[`): the 1-based position of the
  element in the array. An array file that does not parse as a whole (say it is truncated) is one
  record without a number, quarantined whole, since where its elements begin can no longer be told.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator, Sequence
from typing import Any, NamedTuple

INVALID_UTF8 = "invalid UTF-8"
INVALID_JSON = "invalid JSON"
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
