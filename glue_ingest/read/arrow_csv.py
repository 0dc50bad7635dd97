"""CSV lines parsed with pyarrow: the parser of the Arrow path that issue 12 plans (see its notes). Not used
by the job yet.

pyarrow's CSV parser is vectorised and some five times faster than Spark's `from_csv` here, but it is not
univocity, the parser Spark uses: they read text after a closing quote, or a quote inside an unquoted field,
differently. They agree on lines whose every field is either unquoted and without quotes, or quoted whole
(`"..."`, quotes doubled inside) and followed by a comma or the end of the line: `SIMPLE_QUOTING`. Only such
lines may take this path; `tests/python/test_ingest_arrow_csv.py` holds it equal to `from_csv` on every CSV line
of the bad-input matrix and of the quote check's test.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from glue_ingest.read.files import position_column

# RE2 (pyarrow.compute): linear time, so no possessive quantifiers are needed.
_FIELD = r'(?:[^",]*|"(?:[^"]|"")*")'
SIMPLE_QUOTING = rf"\A{_FIELD}(?:,{_FIELD})*\z"


def simple_quoting(lines: pa.Array) -> pa.Array:
    """True for each line (string) that pyarrow reads as Spark does (see the module's doc)."""
    return pc.match_substring_regex(lines, SIMPLE_QUOTING)


def parse_lines(lines: Sequence[str], width: int) -> tuple[pa.Table, list[int]]:
    """Lines (without terminators, none blank, each with SIMPLE_QUOTING) as `width` string columns `_c0`...,
    as `from_csv` reads them: empty fields, quoted or not, are null; spaces are kept. Returns the table of the
    lines with `width` fields and the indexes of the others (Spark's corrupt records), in line order."""
    names = [position_column(i) for i in range(width)]
    bad: list[int] = []

    def invalid(row: pa_csv.InvalidRow) -> str:
        bad.append(row.number - 1)  # 1-based, counted over the lines parsed (no header here)
        return "skip"

    data = "\n".join(lines).encode("utf-8") + b"\n"
    table = pa_csv.read_csv(
        io.BytesIO(data),
        read_options=pa_csv.ReadOptions(column_names=names, use_threads=False),
        parse_options=pa_csv.ParseOptions(
            quote_char='"', double_quote=True, escape_char=False, newlines_in_values=False,
            ignore_empty_lines=False, invalid_row_handler=invalid,
        ),
        convert_options=pa_csv.ConvertOptions(
            column_types=dict.fromkeys(names, pa.string()),
            null_values=[""],  # pyarrow's default list would make `NA`, `NULL`, `nan`... null too
            strings_can_be_null=True,
            quoted_strings_can_be_null=True,  # Spark reads `""` as null
        ),
    )
    return table, bad
