"""The RE2 patterns of the planned Arrow path for JSON (`read.arrow_json`) against the Java ones of the JVM path
(`read.json`): the same lines must be flat objects, with or without numbers other than integers."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pytest

from glue_ingest.read.arrow_json import flat_kind
from tests.python import test_ingest_json as parser_table
from tests.python.test_ingest_json_paths import MUST_GO_TO_PYTHON, MUST_STAY_IN_THE_JVM, matrix_lines

pytestmark = pytest.mark.spark


def escape_lines() -> list[bytes]:
    """A `\\u` escape of every class the lookahead tells apart, and hex digits in both cases."""
    lines = []
    for first in "0123456789abcdefABCDEF":
        for second in "0189abcdefABF":
            for third in "0129fF":
                lines.append(f'{{"e":"x\\u{first}{second}{third}a"}}'.encode())
    return lines


def test_the_flat_object_patterns_agree_with_the_jvm_path(spark: Any) -> None:
    from pyspark.sql import functions as F

    from glue_ingest.read.json import flat_kind as jvm_flat_kind

    cases = {line for _, line in matrix_lines()}
    cases |= set(MUST_GO_TO_PYTHON) | set(MUST_STAY_IN_THE_JVM) | set(escape_lines())
    cases |= {line for line, *_ in parser_table.test_parse_ndjson_line.pytestmark[0].args[1]}  # type: ignore[attr-defined]
    cases |= {b"", b"  ", b'{"a":1} ', b'{"a":-0}', b'{"a":1.0}', b'{"a":"\xef\xbf\xbd"}', b'{"a":"\\uD7FF\\uE000"}'}
    # Lines as Java sees them: decoded, bytes that are not UTF-8 as U+FFFD.
    texts = sorted({line.decode("utf-8", errors="replace") for line in cases})
    df = spark.createDataFrame([(t,) for t in texts], "line string")
    jvm = {r["line"]: r["kind"] for r in df.select("line", jvm_flat_kind(F.col("line")).alias("kind")).collect()}
    arrow = dict(zip(texts, flat_kind(pa.array(texts, pa.string())).to_pylist(), strict=True))
    assert arrow == jvm
    kinds = list(jvm.values())
    assert kinds.count(0) > 20 and kinds.count(1) > 50 and kinds.count(2) >= 3  # every answer exercised
