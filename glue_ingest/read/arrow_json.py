"""JSON lines checked with pyarrow: the first piece of an Arrow path for JSON (issue 12; see its notes). Not used by
the job yet.

The JVM path decides per line, with Java regexes, whether Spark can read it exactly (`read.json.flat_kind`). An
Arrow path must make the same decision vectorised, with RE2 (`pyarrow.compute`). RE2 has no possessive
quantifiers (it needs none: it runs in linear time) and no lookahead, so the one lookahead of `read.json._STRING`
(no `\\u` escape of a surrogate or of a control character) is written out as the escapes it allows.
`tests/python/test_ingest_arrow_json.py` holds these patterns equal to the Java ones on every JSON line of the
bad-input matrix, the JSON paths' test and every `\\u` escape class.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

_HEX = "[0-9a-fA-F]"
# \uXXXX but D800-DBFF (half a surrogate pair) and 0000-001F (a control character), as read.json's lookahead.
_UNICODE_ESCAPE = (
    rf"\\u(?:[1-9a-cA-Ce-fE-F]{_HEX}{{3}}|[dD][0-7c-fC-F]{_HEX}{{2}}|0[1-9a-fA-F]{_HEX}{{2}}|00[2-9a-fA-F]{_HEX})"
)
_STRING = rf'"(?:[^"\\\x{{FFFD}}]|\\["\\/bfnrt]|{_UNICODE_ESCAPE})*"'
_INTEGER = "(?:0|-?[1-9][0-9]*)"
_NUMBER = "-?(?:0|[1-9][0-9]*)(?:[.][0-9]+)?(?:[eE][+-]?[0-9]+)?"
_WS = "[ \\t]*"


def _flat_object(value: str) -> str:
    member = f"{_STRING}{_WS}:{_WS}{value}{_WS}"
    return rf"\A{_WS}\{{{_WS}(?:{member}(?:,{_WS}{member})*)?\}}{_WS}\z"


FLAT_OBJECT = _flat_object(f"(?:{_STRING}|{_INTEGER}|true|false|null)")
FLAT_OBJECT_ANY_NUMBER = _flat_object(f"(?:{_STRING}|{_NUMBER}|true|false|null)")


def flat_kind(lines: pa.Array) -> pa.Array:
    """Per line (string): 1 for a flat object whose numbers are all integers, 2 for any other flat object, 0 for
    the rest; as `read.json.flat_kind` decides it in the JVM."""
    integers = pc.match_substring_regex(lines, FLAT_OBJECT)
    numbers = pc.match_substring_regex(lines, FLAT_OBJECT_ANY_NUMBER)
    return pc.if_else(integers, 1, pc.if_else(numbers, 2, 0)).cast(pa.int8())
