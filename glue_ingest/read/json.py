"""JSON: JSON-lines files read as lines, split across tasks, parsed in the JVM where that is exact;
JSON array files read whole, one per task, parsed in Python (`jsonrecords`).

(Most JSON-lines files take the Arrow path instead, `read.arrow_json`: this line path reads the files with a CR line
end, which only Spark's text reader splits as it should.)

Spark's `from_json` into `map<string,string>` is fast, but it is not the contract of `jsonrecords.parse_ndjson_line`:
Spark 3.5 rewrites decimals (`12.50` becomes `12.5`, SPARK-48148) and `-0`, writes nested values its own
way, keeps the last of duplicate keys, accepts text after the object, and has no words for why a line is
not JSON. So a line takes the JVM path only when it is, provably, a flat JSON object whose values Spark
keeps as written:

- it matches FLAT_OBJECT_ANY_NUMBER: string keys; values that are strings, numbers, true, false or null;
  no `\\u` escape of a surrogate (Spark would keep half a pair) or of a control character (Spark writes
  `\\u001F`, Python `\\u001f`); nothing after the closing brace. Its numbers are quoted before Spark
  reads it, unless they are all integers (FLAT_OBJECT), so their text stays as written;
- Spark parses it (strict options: no NaN, no single quotes, no control characters in strings);
- its keys are distinct (Spark's map keeps duplicates, so its size tells);
- it is valid UTF-8.

Every other line goes to `parse_ndjson_line` in a vectorised (Arrow) UDF, which gives it exactly the
result it has always had, error text included. `tests/python/test_ingest_json_paths.py` holds both
paths equal on every case of the bad-input matrix.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from functools import reduce

import pandas as pd
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import (
    ArrayType,
    BinaryType,
    BooleanType,
    LongType,
    StringType,
    StructField,
    StructType,
)

from glue_ingest import storage as st
from glue_ingest.contracts import load_contract
from glue_ingest.jsonrecords import _JSON_SPACE, _UTF8_BOM, JsonElement, parse_json_array, parse_ndjson_line
from glue_ingest.read.files import (
    JSON_ARRAY,
    NDJSON,
    RECORD_NUMBER,
    SOURCE_FILE,
    SOURCE_URI,
    FileGroup,
    NeedMoreBytes,
    RawFile,
    ReadPlan,
    RejectedFile,
    escape_glob,
    position_column,
    probe_heads,
)
from glue_ingest.read.lines import BLOCK_START, LINE, ROW_ID, LineBlock, line_blocks, line_text, row_ids

# Columns of the JSON reader's DataFrame, besides the contract columns (`_c0`, ...) and SOURCE_URI.
PRESENT = "_present"  # array<boolean>, per contract column: does the record have the key at all
EXTRA_TEXT = "_extra_text"  # JSON object of the keys the contract lacks; null when there are none
RECORD_ERROR = "_record_error"  # why the record cannot be loaded (invalid UTF-8 or JSON); else null
WHOLE_FILE = "_whole_file"  # the record is the whole file, which does not parse (RECORD_ERROR says why)
RAW_TEXT = "_raw_text"  # the record as delivered, for the quarantine (bad bytes as U+FFFD)
POSITION = "_position"  # the record number: line number, or position in the array; null if WHOLE_FILE
JSON_COLUMNS = (PRESENT, EXTRA_TEXT, RECORD_ERROR, WHOLE_FILE, RAW_TEXT, SOURCE_URI, POSITION)
_BYTES = "_bytes"
_PARSED = "_parsed"
RECORD_TYPE = StructType(
    [
        StructField("values", ArrayType(StringType())),
        StructField("present", ArrayType(BooleanType())),
        StructField("extra", StringType()),
        StructField("error", StringType()),
    ]
)


ELEMENT_TYPE = StructType(
    [
        StructField("position", LongType()),
        StructField("raw", StringType()),
        StructField("record", RECORD_TYPE),
        StructField("whole_file", BooleanType()),
    ]
)


def _json_frame(parsed: Column, raw: Column, whole_file: Column, position: Column, width: int) -> list[Column]:
    """The JSON reader's columns from a parsed JsonRecord struct."""
    return [
        *[parsed["values"][i].alias(position_column(i)) for i in range(width)],
        parsed["present"].alias(PRESENT),
        parsed["extra"].alias(EXTRA_TEXT),
        parsed["error"].alias(RECORD_ERROR),
        whole_file.alias(WHOLE_FILE),
        raw.alias(RAW_TEXT),
        F.col(SOURCE_URI),
        position.cast(LongType()).alias(POSITION),
    ]


def json_layout(head: bytes, complete: bool) -> str | None:
    """NDJSON or JSON_ARRAY from a file's first bytes; None when the file holds only whitespace."""
    if head.startswith(_UTF8_BOM):
        head = head[len(_UTF8_BOM) :]
    start = head.lstrip(_JSON_SPACE.encode())[:1]
    if not start:
        if not complete:
            raise NeedMoreBytes
        return None
    return JSON_ARRAY if start == b"[" else NDJSON


class JsonReader:
    """UTF-8 JSON: lines of objects (NDJSON/JSONL) or one array of objects, told apart per file.

    Records are parsed in Python, not with Spark's JSON functions: these rewrite numbers (`12.50`
    becomes `12.5`, `1e2` becomes `100.0`), and bronze keeps values exactly as delivered. A key the
    contract has becomes its column (a string as itself, anything else as its JSON text); the others
    go to the extra JSON object, as CSV's extra columns do.
    """

    def plan(self, storage: st.Storage, files: Sequence[RawFile], dataset: str) -> ReadPlan:
        columns = tuple(load_contract(dataset).column_names)
        plan = ReadPlan()
        groups: dict[str, FileGroup] = {}

        for file, layout, reason in probe_heads(storage, files, dataset, json_layout, "JSON layout detected"):
            if reason:
                plan.rejected.append(RejectedFile(file, reason, None))
            elif layout is None:
                plan.empty.append(file)
            else:
                groups.setdefault(layout, FileGroup(columns, "", layout=layout)).files.append(file)
        plan.groups = list(groups.values())
        return plan

    def read(self, spark: SparkSession, storage: st.Storage, group: FileGroup) -> DataFrame:
        paths = [escape_glob(storage.spark_path(f.path)) for f in group.files]
        if group.layout != JSON_ARRAY:
            # JSON lines are read as lines, split across tasks (`json_lines` below, and stage.py).
            raise ValueError(f"JsonReader.read reads JSON arrays, not {group.layout}")
        return self._read_arrays(spark, paths, group.columns)

    @staticmethod
    def _read_arrays(spark: SparkSession, paths: list[str], columns: tuple[str, ...]) -> DataFrame:
        # One row per file: positions and raw texts of elements need the whole text.
        files = spark.read.text(paths, wholetext=True).select(
            F.col("value").cast(BinaryType()).alias(_BYTES), F.input_file_name().alias(SOURCE_URI)
        )
        parse = F.udf(_array_parser(columns), ArrayType(ELEMENT_TYPE))
        elements = files.select(F.col(SOURCE_URI), F.explode(parse(F.col(_BYTES))).alias(_PARSED))
        element = F.col(_PARSED)
        return elements.select(
            *_json_frame(element["record"], element["raw"], element["whole_file"], element["position"], len(columns))
        )


def _array_parser(columns: tuple[str, ...]) -> Callable[[bytes | bytearray], list[JsonElement]]:
    def parse(data: bytes | bytearray) -> list[JsonElement]:
        return parse_json_array(bytes(data), columns)

    return parse


# --- JSON lines ------------------------------------------------------------------------------------


JSON_MAP = "_json_map"  # the line as map<string,string>, when Spark parses it
JVM_EXACT = "_jvm_exact"  # the JVM path's result is the Python parser's

_WS = "[ \\t]*"
# A JSON string without a `\\u` escape of a surrogate (Spark would keep half a pair) or of a control
# character (Spark writes `\\u001F`, Python `\\u001f`), and without U+FFFD: the pattern is matched on the
# line decoded by Java, which puts U+FFFD in place of bytes that are not UTF-8, so a line that is not UTF-8
# fails it (as does a line with a real U+FFFD, which the Python parser then reads: rare, and still exact).
_STRING = r'"(?:[^"\\\ufffd]++|\\["\\/bfnrt]|\\u(?![dD][89abAB]|00[01])[0-9a-fA-F]{4})*+"'
_INTEGER = "(?:0|-?[1-9][0-9]*+)"  # as Spark writes it back: not `-0`
_NUMBER = "-?(?:0|[1-9][0-9]*+)(?:[.][0-9]++)?(?:[eE][+-]?[0-9]++)?"  # any JSON number


def _flat_object(value: str) -> str:
    member = f"{_STRING}{_WS}:{_WS}{value}{_WS}"
    return rf"\A{_WS}\{{{_WS}(?:{member}(?:,{_WS}{member})*+)?\}}{_WS}\z"


# A flat object whose numbers are integers Spark keeps as written...
FLAT_OBJECT = _flat_object(f"(?:{_STRING}|{_INTEGER}|true|false|null)")
# ... or any flat object: its numbers are quoted before Spark parses it (QUOTE_NUMBERS), so that Spark
# keeps their text (`12.50`, `1E+2`, `-0`), as the Python parser does.
FLAT_OBJECT_ANY_NUMBER = _flat_object(f"(?:{_STRING}|{_NUMBER}|true|false|null)")
# Strings are matched whole and put back as they were; what else starts with a digit or `-` is a number.
QUOTE_NUMBERS = (r'"((?:[^"\\]++|\\.)*+)"|(-?[0-9][0-9.eE+-]*+)', '"$1$2"')

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


def flat_kind(line: Column) -> Column:
    """_FLAT: 1 for a flat object with integer numbers only, 2 with other numbers, else 0 (see the module's
    doc); each pattern is tried at most once."""
    return (
        F.when(line.rlike(FLAT_OBJECT), F.lit(1)).when(line.rlike(FLAT_OBJECT_ANY_NUMBER), F.lit(2)).otherwise(0)
    ).alias(_FLAT)


def jvm_map(line: Column, kind: Column) -> Column:
    """JSON_MAP: a flat object's line as map<string,string> (its numbers quoted first if kind 2), else null."""
    text = F.when(kind == 1, line).when(kind == 2, F.regexp_replace(line, *QUOTE_NUMBERS))
    return F.from_json(text, "map<string,string>", JSON_OPTIONS).alias(JSON_MAP)


def jvm_exact(as_map: Column) -> Column:
    """JVM_EXACT: the JVM path's result for the line is the Python parser's (see the module's doc)."""
    exact = (
        (F.col(_FLAT) > 0)
        & as_map.isNotNull()
        # Spark's map keeps every key, duplicates too: only distinct keys give the same size.
        & (F.size(F.array_distinct(F.map_keys(as_map))) == F.size(as_map))
        # Valid UTF-8: the patterns of `flat_kind` refuse a line that is not (see _STRING).
    )
    return F.coalesce(exact, F.lit(False)).alias(JVM_EXACT)


_FLAT = "_flat"


def jvm_record(as_map: Column, columns: Sequence[str]) -> dict[str, Column | list[Column]]:
    """values (one column each), present and extra of a JVM-exact line, as `read.JsonRecord` has them."""
    contract = F.array(*[F.lit(c) for c in columns])
    present = [F.map_contains_key(as_map, c) for c in columns]
    known = reduce(lambda a, b: a + b, [p.cast("int") for p in present])
    # The keys are distinct (JVM_EXACT), so the line has keys the contract lacks exactly when it has more
    # keys than contract keys; only then is the (interpreted, higher-order) filter evaluated.
    extra = F.map_filter(as_map, lambda k, _v: ~F.array_contains(contract, k))
    return {
        "values": [as_map[c] for c in columns],
        "present": F.array(*present),
        "extra": F.when(F.size(as_map) > known, F.to_json(extra)),
    }


def python_parser(columns: Sequence[str]):  # type: ignore[no-untyped-def]
    """A vectorised UDF: (line bytes or null, is the file's first line) -> PY_RESULT as JSON text, or
    null where the line is null (a JVM-exact line: nothing to do)."""
    names = tuple(columns)

    def one(raw: bytes, first: bool) -> str:
        record = parse_ndjson_line(bytes(raw), names, first)
        if record is None:
            return '{"blank":true}'
        return json.dumps(record._asdict(), ensure_ascii=False)

    def parse(data: pd.Series, first: pd.Series) -> pd.Series:
        out = pd.Series(None, index=data.index, dtype=object)
        routed = data.notna()  # most batches have none: the JVM took every line
        if routed.any():
            out[routed] = [one(raw, bool(f)) for raw, f in zip(data[routed], first[routed], strict=True)]
        return out

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
    text = spark.read.text(list(paths))
    if parse:
        # The patterns in a projection of their own: the projections here are interpreted (from_json has
        # no generated code), and evaluate an expression once per use.
        text = text.select(value, flat_kind(value))
    columns = [
        value.alias(LINE),
        F.input_file_name().alias(SOURCE_URI),
        F.input_file_block_start().alias(BLOCK_START),
        row_ids(ids_per_task).alias(ROW_ID),
        value.rlike(_BLANK_LINE).alias(BLANK),
        value.rlike(_BOM_BLANK_LINE).alias(BOM_BLANK),
    ]
    if not parse:
        return text.select(*columns)
    # Parsed in the projection of the row id, which Spark pushes no filter below.
    parsed = text.select(*columns, F.col(_FLAT), jvm_map(value, F.col(_FLAT)))
    return parsed.select(*[c for c in parsed.columns if c != _FLAT], jvm_exact(F.col(JSON_MAP)))


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
    values = [F.when(exact, jvm_value).otherwise(py["values"][i]) for i, jvm_value in enumerate(jvm["values"])]
    error = F.when(~exact, F.when(py["blank"], F.lit("invalid JSON: blank line")).otherwise(py["error"]))
    return with_py.select(
        *[value.alias(position_column(i)) for i, value in enumerate(values)],
        F.when(exact, jvm["present"]).otherwise(py["present"]).alias(PRESENT),
        F.when(exact, jvm["extra"]).otherwise(py["extra"]).alias(EXTRA_TEXT),
        error.alias(RECORD_ERROR),
        F.lit(False).alias(WHOLE_FILE),
        line_text(F.col(LINE)).alias(RAW_TEXT),
        *[c for c in numbered.columns if c in (SOURCE_FILE, RECORD_NUMBER)],
    )


_PY = "_py_result"
