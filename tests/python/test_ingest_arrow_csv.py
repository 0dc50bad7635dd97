"""The differential test of the Arrow CSV line parser (`read.arrow_csv`, issue 12's planned Arrow path) against
`from_csv`, the parser of the job's CSV line path.

Every line that `simple_quoting` lets through must parse to the same values as `from_csv` gives, or be a
corrupt record for both. The lines: every CSV line of the bad-input matrix, the quote check's tricky lines,
and the cases below. The test also shows the path is really taken: plain lines must be simple, and the lines
the two parsers read differently must not be.
"""

from __future__ import annotations

import re
from typing import Any

import pyarrow as pa
import pytest

from glue_ingest.read.arrow_csv import parse_lines, simple_quoting
from tests.python import test_bad_input_matrix as matrix
from tests.python.test_ingest_csv_lines import TRICKY_LINES

pytestmark = pytest.mark.spark

WIDTH = 3
MUST_BE_SIMPLE = ['a,b,c', '"a",b,c', '"a""b",c,d', '"",,', 'a,,"x,y"', ' , ,', 'NA,NULL,nan', '"a,b",,',
                  'a,"b""",c', 'a,b', 'a,b,c,d', '"""",x,y', ',,']
# Pyarrow and univocity read these differently (text after a closing quote, quotes in unquoted fields).
MUST_NOT_BE_SIMPLE = ['"abc"d,e,f', '"abc"d"ef,g,h', '"abc" ,x,y', ' "a",b,c', 'x"y,"z', '"a"b"c",d,e',
                      'a,"b"   ,c', '"a""', 'a,"b', '"a,b,c']


def matrix_lines() -> list[tuple[int, str]]:
    """(field count of the file's header, line) of every CSV file of the bad-input matrix; lines that are
    not UTF-8 are left out (the job checks UTF-8 before any parser)."""
    found = []
    for case in matrix.CASES:
        for name, content in {**case.files, **case.run2}.items():
            if not name.endswith(".csv"):
                continue
            data = content.encode("utf-8") if isinstance(content, str) else content
            try:
                text = data.decode("utf-8").lstrip("\ufeff")
            except UnicodeDecodeError:
                continue
            lines = [line for line in re.split(r"\r\n|\r|\n", text) if line]
            if lines:
                width = len(lines[0].split(","))
                found += [(width, line) for line in lines[1:]]
    return found


def spark_rows(spark: Any, cases: list[tuple[int, str]]) -> dict[tuple[int, str], tuple[Any, ...]]:
    """(width, line) -> (values..., corrupt) as `from_csv` with the job's options reads it."""
    from pyspark.sql import functions as F

    from glue_ingest.read import csv_ddl, csv_line_options

    result = {}
    for width in sorted({w for w, _ in cases}):
        lines = sorted({line for w, line in cases if w == width})
        df = spark.createDataFrame([(line,) for line in lines], "line string")
        for r in df.select("line", F.from_csv("line", csv_ddl(width), csv_line_options()).alias("p")).collect():
            p = r["p"]
            result[(width, r["line"])] = (*[p[f"_c{i}"] for i in range(width)], p["_corrupt_record"] is not None)
    return result


def test_simple_lines_parse_as_from_csv_parses_them(spark: Any) -> None:
    cases = sorted({*matrix_lines(), *[(WIDTH, line) for line in [*TRICKY_LINES, *MUST_BE_SIMPLE,
                                                                   *MUST_NOT_BE_SIMPLE]]})
    simple = dict(zip(cases, simple_quoting(pa.array([line for _, line in cases])).to_pylist(), strict=True))
    for line in MUST_BE_SIMPLE:
        assert simple[(WIDTH, line)], line
    for line in MUST_NOT_BE_SIMPLE:
        assert not simple[(WIDTH, line)], line
    expected = spark_rows(spark, cases)
    checked = 0
    for width in sorted({w for w, _ in cases}):
        lines = [line for w, line in cases if w == width and simple[(w, line)]]
        table, bad = parse_lines(lines, width)
        rows = iter(table.to_pylist())
        for i, line in enumerate(lines):
            want = expected[(width, line)]
            if i in bad:
                assert want[-1], (line, "corrupt for Arrow only", want)
                continue
            got = next(rows)
            assert not want[-1], (line, "corrupt for Spark only", got)
            assert tuple(got[f"_c{j}"] for j in range(width)) == want[:-1], (line, got, want)
            checked += 1
    assert checked > 50  # the matrix holds well over fifty simple, well-formed lines
