"""JSON lines parsed in the JVM, with the Python parser for the lines the JVM cannot keep exact.

Spark's `from_json` into `map<string,string>` is fast, but it is not the contract of `read.parse_ndjson_line`:
Spark 3.5 rewrites decimals (`12.50` becomes `12.5`, SPARK-48148) and `-0`, keeps the last of duplicate
keys, accepts text after the object, and has no words for why a line is not JSON. So a line takes the
JVM path only when it is, provably, a flat JSON object whose values Spark keeps as written:

- once its strings are blanked, it matches FLAT_OBJECT: string keys; values that are strings, integers
  (no `-0`, no leading zeros), true, false or null; nothing after the closing brace;
- Spark parses it (strict options: no NaN, no single quotes, no control characters in strings);
- its keys are distinct (one `:` per key, with strings blanked);
- it is valid UTF-8 and has no `\\u` escape of a surrogate or of a control character (Spark escapes
  those as `\\u001F`, Python as `\\u001f`).

Every other line goes to `parse_ndjson_line` in a vectorised (Arrow) UDF, which gives it exactly the
result it has always had, error text included. `tests/python/test_ingest_json_paths.py` holds both
paths equal on every case of the bad-input matrix.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import pandas as pd
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import ArrayType, BinaryType, BooleanType, StringType, StructField, StructType

from glue_ingest.read import (
    BLOCK_START,
    EXTRA_TEXT,
    LINE,
    PRESENT,
    RAW_TEXT,
    RECORD_ERROR,
    ROW_ID,
    SOURCE_URI,
    WHOLE_FILE,
    LineBlock,
    line_blocks,
    line_text,
    parse_ndjson_line,
    position_column,
    row_ids,
)

RECORD_NUMBER = "_record_number"  # as transform names it (transform imports read; read does not import it)
SOURCE_FILE = "_source_file"

JSON_MAP = "_json_map"  # the line as map<string,string>, when Spark parses it
JVM_EXACT = "_jvm_exact"  # the JVM path's result is the Python parser's

_WS = "[ \\t]*"
_STRING = r'"(?:[^"\\]++|\\.)*+"'
_VALUE = '(?:""|0|-?[1-9][0-9]*+|true|false|null)'
_MEMBER = f'""{_WS}:{_WS}{_VALUE}{_WS}'
FLAT_OBJECT = rf"\A{_WS}\{{{_WS}(?:{_MEMBER}(?:,{_WS}{_MEMBER})*+)?\}}{_WS}\z"
_RISKY_ESCAPE = r"\\u(?:[dD][89abAB]|00[01])"
REPLACEMENT_CHAR = "\ufffd"

JSON_OPTIONS = {
    "mode": "PERMISSIVE",
    "allowNonNumericNumbers": "false",
    "allowSingleQuotes": "false",
    "allowNumericLeadingZeros": "false",
    "allowUnquotedControlChars": "false",
    "allowUnquotedFieldNames": "false",
    "allowComments": "false",
    "allowBackslashEscapingAnyCharacter": "false",
}

# What the Python parser returns for a line, as JSON text Spark reads back exactly (strings only).
PY_RESULT = StructType(
    [
        StructField("blank", BooleanType()),
        StructField("values", ArrayType(StringType())),
        StructField("present", ArrayType(BooleanType())),
        StructField("extra", StringType()),
        StructField("error", StringType()),
    ]
)


def jvm_columns(line: Column) -> list[Column]:
    """JSON_MAP and JVM_EXACT of a line (a string column holding the line's bytes)."""
    as_map = F.from_json(line, "map<string,string>", JSON_OPTIONS)
    blanked = F.regexp_replace(line, _STRING, '""')
    keys = F.length(blanked) - F.length(F.regexp_replace(blanked, ":", ""))
    exact = (
        blanked.rlike(FLAT_OBJECT)
        & as_map.isNotNull()
        & (F.size(F.array_distinct(F.map_keys(as_map))) == keys)
        & ~line.rlike(_RISKY_ESCAPE)
        & ~F.decode(line.cast(BinaryType()), "UTF-8").contains(REPLACEMENT_CHAR)
    )
    return [as_map.alias(JSON_MAP), F.coalesce(exact, F.lit(False)).alias(JVM_EXACT)]


def jvm_record(as_map: Column, columns: Sequence[str]) -> dict[str, Column]:
    """values, present and extra of a JVM-exact line, as `read.JsonRecord` has them."""
    contract = F.array(*[F.lit(c) for c in columns])
    extra = F.map_filter(as_map, lambda k, _v: ~F.array_contains(contract, k))
    return {
        "values": F.array(*[as_map[c] for c in columns]),
        "present": F.array(*[F.map_contains_key(as_map, c) for c in columns]),
        "extra": F.when(F.size(extra) > 0, F.to_json(extra)),
        "error": F.lit(None).cast(StringType()),
    }


def python_parser(columns: Sequence[str]):  # type: ignore[no-untyped-def]
    """A vectorised UDF: (line bytes or null, is the file's first line) -> PY_RESULT as JSON text, or
    null where the line is null (a JVM-exact line: nothing to do)."""
    names = tuple(columns)

    def parse(data: pd.Series, first: pd.Series) -> pd.Series:
        out = []
        for raw, is_first in zip(data, first, strict=True):
            if raw is None:
                out.append(None)
                continue
            record = parse_ndjson_line(bytes(raw), names, bool(is_first))
            if record is None:
                out.append('{"blank":true}')
            else:
                out.append(
                    json.dumps(
                        {"values": record.values, "present": record.present, "extra": record.extra,
                         "error": record.error},
                        ensure_ascii=False,
                    )
                )
        return pd.Series(out, dtype=object)

    return F.pandas_udf(parse, StringType()).asNondeterministic()  # type: ignore[call-overload]


# --- reading ---------------------------------------------------------------------------------------

BLANK = "_blank"  # only JSON whitespace: no record, but a line, so numbers stay line numbers
BOM_BLANK = "_bom_blank"  # a byte order mark and whitespace: no record when it is the file's first line
_BLANK_LINE = r"\A[ \t]*\z"
_BOM_BLANK_LINE = "\\A\ufeff[ \\t]*\\z"


def json_lines(
    spark: SparkSession, paths: Sequence[str], *, ids_per_task: bool = False, parse: bool = False
) -> DataFrame:
    """Every line of JSON-lines files (split on LF, CRLF or CR, as Spark's text reader does), blank
    ones too, with their file, split start, row id (see `read.csv_lines`), BLANK and BOM_BLANK; and,
    with `parse`, JSON_MAP and JVM_EXACT, computed in the same projection as the row id so that no
    filter is pushed below it (which would parse the line once more per filter)."""
    value = F.col("value")
    columns = [
        value.alias(LINE),
        F.input_file_name().alias(SOURCE_URI),
        F.input_file_block_start().alias(BLOCK_START),
        row_ids(ids_per_task).alias(ROW_ID),
        value.rlike(_BLANK_LINE).alias(BLANK),
        value.rlike(_BOM_BLANK_LINE).alias(BOM_BLANK),
    ]
    if parse:
        columns += jvm_columns(value)
    return spark.read.text(list(paths)).select(*columns)


def json_line_blocks(lines: DataFrame) -> list[LineBlock]:
    return line_blocks(lines, blank=F.col(BLANK), first_blank=F.col(BOM_BLANK))


def json_records(numbered: DataFrame, columns: Sequence[str]) -> DataFrame:
    """The JSON reader's columns (`read.JSON_COLUMNS` but SOURCE_URI and POSITION) from numbered lines
    (LINE, JSON_MAP, JVM_EXACT, BLANK, BOM_BLANK, RECORD_NUMBER), blank lines dropped."""
    first = F.col(RECORD_NUMBER) == 1
    records = numbered.where(~(F.col(BLANK) | (first & F.col(BOM_BLANK))))
    exact = F.col(JVM_EXACT)
    parse = python_parser(columns)
    with_py = records.withColumn(
        _PY, F.from_json(parse(F.when(~exact, F.col(LINE).cast(BinaryType())), first), PY_RESULT)
    )
    jvm = jvm_record(F.col(JSON_MAP), columns)
    py = F.col(_PY)

    def pick(name: str) -> Column:
        return F.when(exact, jvm[name]).otherwise(py[name])

    values = pick("values")
    error = F.when(py["blank"], F.lit("invalid JSON: blank line")).otherwise(pick("error"))
    return with_py.select(
        *[values[i].alias(position_column(i)) for i in range(len(columns))],
        pick("present").alias(PRESENT),
        pick("extra").alias(EXTRA_TEXT),
        error.alias(RECORD_ERROR),
        F.lit(False).alias(WHOLE_FILE),
        line_text(F.col(LINE)).alias(RAW_TEXT),
        *[c for c in numbered.columns if c in (SOURCE_FILE, RECORD_NUMBER)],
    )


_PY = "_py_result"
