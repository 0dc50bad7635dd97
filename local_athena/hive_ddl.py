"""Athena's Hive DDL, parsed as Athena parses it and carried out on Trino.

On Athena, a statement without `AS` that creates, alters, drops, shows or describes (and MSCK) goes to its Hive
DDL engine, not to Trino. That engine has Hive's lexical rules: identifiers are bare or in backticks, a name is
`db.table` at most (no catalog), a double-quoted token is a string, and its types are Hive's (`string`, `int`,
`timestamp`, `array<...>`). So `create table "awsdatacatalog"."db"."t" (ts timestamp(6))` fails there, though
Trino would take it. This module rejects what Athena rejects, with a message in Athena's words, and translates
the rest into Trino statements.

    classify(sql)  -> 'hive_ddl' | None     is the statement Athena's Hive DDL?
    translate(sql, default_schema) -> HivePlan    Trino statements (and Glue parameter updates) that carry it out
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

ICEBERG = "awsdatacatalog"
HIVE = "hive"


class HiveDdlError(ValueError):
    """Athena's Hive DDL engine rejects the statement (a ParseException or a SemanticException there)."""


_TOKEN = re.compile(r"""
    (?P<ws>\s+|--[^\n]*)
  | (?P<backtick>`(?:[^`]|``)*`)
  | (?P<string>'(?:[^'\\]|\\.|'')*')
  | (?P<dquoted>"(?:[^"\\]|\\.)*")
  | (?P<number>\d+(?:\.\d+)?)
  | (?P<word>[A-Za-z_][A-Za-z0-9_$]*)
  | (?P<punct><>|[(),.;=<>:\[\]*])
  | (?P<other>\S)
""", re.VERBOSE)


@dataclass
class Token:
    kind: str
    text: str
    pos: int

    @property
    def value(self) -> str:
        if self.kind == "backtick":
            return self.text[1:-1].replace("``", "`")
        if self.kind == "string":
            return self.text[1:-1].replace("''", "'").replace("\\'", "'")
        return self.text

    def is_word(self, *words: str) -> bool:
        return self.kind == "word" and self.text.lower() in words


def tokenize(sql: str) -> list[Token]:
    tokens, pos = [], 0
    while pos < len(sql):
        match = _TOKEN.match(sql, pos)
        if not match:
            raise HiveDdlError(f"line {_line_col(sql, pos)} cannot recognize input near '{sql[pos:pos + 10]}'")
        if match.lastgroup != "ws":
            tokens.append(Token(match.lastgroup, match.group(), pos))
        pos = match.end()
    while tokens and tokens[-1].text == ";":
        tokens.pop()
    return tokens


def _line_col(sql: str, pos: int) -> str:
    line = sql.count("\n", 0, pos) + 1
    col = pos - (sql.rfind("\n", 0, pos) + 1)
    return f"{line}:{col}"


HIVE_DDL_STARTS = (
    ("create", "external"), ("create", "table"), ("create", "database"), ("create", "schema"),
    ("alter", "table"), ("alter", "database"), ("alter", "schema"), ("drop", "table"), ("drop", "database"),
    ("drop", "schema"), ("show",), ("describe",), ("desc",), ("msck",),
)


def _words(sql: str, n: int = 3) -> list[str]:
    stripped = re.sub(r"^(\s|--[^\n]*\n|/\*.*?\*/)*", "", sql, flags=re.DOTALL)
    return [w.lower() for w in re.findall(r"[A-Za-z_]+", stripped[:200])[:n]]


def is_ctas(sql: str) -> bool:
    """`create table ... as select`: Trino's (a CTAS is not Hive DDL on Athena)."""
    try:
        tokens = tokenize(sql)
    except HiveDdlError:
        return False
    depth = 0
    for token in tokens:
        if token.text == "(":
            depth += 1
        elif token.text == ")":
            depth -= 1
        elif depth == 0 and token.is_word("as"):
            return True
    return False


def classify(sql: str) -> str | None:
    words = _words(sql)
    if not words:
        return None
    if words[0] == "create" and len(words) > 1 and words[1] == "table" and is_ctas(sql):
        return None
    if words[:2] == ["create", "or"] or (len(words) > 1 and words[1] == "view"):
        return None  # views are Trino's on Athena (Presto views)
    if words[0] == "drop" and len(words) > 1 and words[1] == "view":
        return None
    for start in HIVE_DDL_STARTS:
        if tuple(words[: len(start)]) == start:
            return "hive_ddl"
    return None


# --- a small recursive parser over the tokens ------------------------------------------------------------


@dataclass
class HivePlan:
    statements: list[tuple[str, str]] = field(default_factory=list)  # (catalog, Trino SQL)
    glue_parameters: dict | None = None  # {"schema", "table", "parameters"}: a tblproperties change
    kind: str = "DDL"  # Athena's StatementType: DDL, or UTILITY for SHOW / DESCRIBE
    result_columns: list[str] | None = None
    glue_partitions: dict | None = None  # MSCK REPAIR TABLE: {"schema", "table"}


class Parser:
    def __init__(self, sql: str, default_schema: str) -> None:
        self.sql = sql
        self.tokens = tokenize(sql)
        self.i = 0
        self.default_schema = default_schema

    # -- helpers
    def peek(self, offset: int = 0) -> Token | None:
        j = self.i + offset
        return self.tokens[j] if j < len(self.tokens) else None

    def fail(self, token: Token | None, expecting: str) -> HiveDdlError:
        if token is None:
            return HiveDdlError(f"line 1:{len(self.sql)} mismatched input '<EOF>' expecting {expecting}")
        return HiveDdlError(f"line {_line_col(self.sql, token.pos)} cannot recognize input near "
                            f"'{token.text}' expecting {expecting}")

    def next(self) -> Token:
        token = self.peek()
        if token is None:
            raise self.fail(None, "more input")
        self.i += 1
        return token

    def accept(self, *words: str) -> bool:
        token = self.peek()
        if token is not None and token.is_word(*words):
            self.i += 1
            return True
        return False

    def expect(self, *words: str) -> None:
        if not self.accept(*words):
            raise self.fail(self.peek(), " or ".join(words).upper())

    def accept_punct(self, text: str) -> bool:
        token = self.peek()
        if token is not None and token.kind == "punct" and token.text == text:
            self.i += 1
            return True
        return False

    def expect_punct(self, text: str) -> None:
        if not self.accept_punct(text):
            raise self.fail(self.peek(), f"'{text}'")

    def identifier(self, what: str = "identifier") -> str:
        token = self.next()
        if token.kind == "dquoted":
            # Hive reads "..." as a string literal, which is no name.
            raise HiveDdlError(f"line {_line_col(self.sql, token.pos)} cannot recognize input near "
                               f"'{token.text}' in {what}: Athena's Hive DDL takes backticks, not double quotes")
        if token.kind in ("backtick", "word"):
            return token.value.lower()
        raise self.fail(token, what)

    def table_name(self) -> tuple[str, str]:
        first = self.identifier("table name")
        if self.accept_punct("."):
            second = self.identifier("table name")
            if self.peek() is not None and self.peek().text == ".":
                raise HiveDdlError(f"line {_line_col(self.sql, self.peek().pos)} mismatched input '.': Athena's "
                                   "Hive DDL takes `database`.`table`, not a catalog-qualified name")
            return first, second
        return self.default_schema, first

    def string(self) -> str:
        token = self.next()
        if token.kind != "string":
            raise self.fail(token, "StringLiteral")
        return token.value

    def properties(self) -> dict[str, str]:
        self.expect_punct("(")
        props: dict[str, str] = {}
        while True:
            key = self.string()
            self.expect_punct("=")
            props[key] = self.string()
            if not self.accept_punct(","):
                break
        self.expect_punct(")")
        return props

    # -- types
    PRIMITIVE = {"tinyint": "tinyint", "smallint": "smallint", "int": "integer", "integer": "integer",
                 "bigint": "bigint", "boolean": "boolean", "float": "real", "double": "double",
                 "string": "varchar", "date": "date", "binary": "varbinary"}

    def data_type(self, iceberg: bool) -> str:
        token = self.next()
        name = token.text.lower()
        if token.kind != "word":
            raise self.fail(token, "a type")
        if name in self.PRIMITIVE:
            return self.PRIMITIVE[name]
        if name == "timestamp":
            if self.peek() is not None and self.peek().text == "(":
                raise HiveDdlError(f"line {_line_col(self.sql, self.peek().pos)} mismatched input '(': "
                                   "Athena's Hive DDL has no timestamp precision; write `timestamp`")
            return "timestamp(6)" if iceberg else "timestamp(3)"
        if name in ("varchar", "char"):
            self.expect_punct("(")
            length = self.next().text
            self.expect_punct(")")
            return f"{name}({length})"
        if name == "decimal":
            if self.accept_punct("("):
                precision = self.next().text
                scale = "0"
                if self.accept_punct(","):
                    scale = self.next().text
                self.expect_punct(")")
                return f"decimal({precision},{scale})"
            return "decimal(10,0)"
        if name == "array":
            self.expect_punct("<")
            inner = self.data_type(iceberg)
            self.expect_punct(">")
            return f"array({inner})"
        if name == "map":
            self.expect_punct("<")
            key = self.data_type(iceberg)
            self.expect_punct(",")
            value = self.data_type(iceberg)
            self.expect_punct(">")
            return f"map({key}, {value})"
        if name == "struct":
            self.expect_punct("<")
            fields = []
            while True:
                field_name = self.identifier("struct field")
                self.expect_punct(":")
                fields.append(f'"{field_name}" {self.data_type(iceberg)}')
                if not self.accept_punct(","):
                    break
            self.expect_punct(">")
            return f"row({', '.join(fields)})"
        raise HiveDdlError(f"line {_line_col(self.sql, token.pos)} cannot recognize input near '{token.text}': "
                           f"DataType {name} is not supported")

    def columns(self, iceberg: bool) -> list[tuple[str, str, str | None]]:
        self.expect_punct("(")
        columns = []
        while True:
            name = self.identifier("column name")
            data_type = self.data_type(iceberg)
            comment = None
            if self.accept("comment"):
                comment = self.string()
            columns.append((name, data_type, comment))
            if not self.accept_punct(","):
                break
        self.expect_punct(")")
        return columns

    def done(self) -> None:
        if self.peek() is not None:
            raise self.fail(self.peek(), "<EOF>")


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _column_sql(columns: list[tuple[str, str, str | None]]) -> str:
    return ", ".join(f"{_q(n)} {t}" + (f" comment {_lit(c)}" if c else "") for n, t, c in columns)


SERDE_FORMATS = {
    "org.apache.hadoop.hive.serde2.opencsvserde": "CSV",
    "org.apache.hadoop.hive.serde2.lazy.lazysimpleserde": "TEXTFILE",
    "org.apache.hadoop.hive.ql.io.parquet.serde.parquethiveserde": "PARQUET",
    "org.openx.data.jsonserde.jsonserde": "JSON",
    "org.apache.hive.hcatalog.data.jsonserde": "JSON",
}
STORED_AS = {"parquet": "PARQUET", "textfile": "TEXTFILE", "orc": "ORC", "avro": "AVRO", "json": "JSON"}


def _create(p: Parser, external: bool) -> HivePlan:
    if_not_exists = False
    if p.accept("if"):
        p.expect("not")
        p.expect("exists")
        if_not_exists = True
    schema, table = p.table_name()
    # The table's kind is only known from its properties: parse columns after a look-ahead for ICEBERG.
    is_iceberg = re.search(r"'table_type'\s*=\s*'iceberg'", p.sql, re.IGNORECASE) is not None
    if is_iceberg and external:
        raise HiveDdlError("CREATE EXTERNAL TABLE is not supported for Iceberg tables: use CREATE TABLE")
    if not is_iceberg and not external:
        raise HiveDdlError("Only external table creation is supported: use CREATE EXTERNAL TABLE "
                           "(or 'table_type'='ICEBERG' in TBLPROPERTIES)")
    columns = p.columns(is_iceberg)
    comment = None
    partitioned: list[tuple[str, str, str | None]] = []
    partition_transforms: list[str] = []
    fmt = "PARQUET"
    location = None
    props: dict[str, str] = {}
    serde_props: dict[str, str] = {}
    field_delimiter = None
    while p.peek() is not None:
        if p.accept("comment"):
            comment = p.string()
        elif p.accept("partitioned"):
            p.expect("by")
            if is_iceberg:
                # Iceberg: `partitioned by (col, month(col), bucket(16, col))` over declared columns
                p.expect_punct("(")
                depth, current = 0, []
                while True:
                    token = p.next()
                    if token.text == "(":
                        depth += 1
                    elif token.text == ")":
                        if depth == 0:
                            break
                        depth -= 1
                    elif token.text == "," and depth == 0:
                        partition_transforms.append("".join(current))
                        current = []
                        continue
                    current.append(token.value if token.kind == "backtick" else token.text)
                if current:
                    partition_transforms.append("".join(current))
            else:
                partitioned = p.columns(False)
        elif p.accept("row"):
            p.expect("format")
            if p.accept("serde"):
                serde = p.string()
                fmt = SERDE_FORMATS.get(serde.lower(), "")
                if not fmt:
                    raise HiveDdlError(f"SerDe {serde} is not available on the local Athena")
                if p.accept("with"):
                    p.expect("serdeproperties")
                    serde_props = p.properties()
            else:
                p.expect("delimited")
                fmt = "TEXTFILE"
                while p.accept("fields", "lines", "collection", "map", "escaped"):
                    while p.accept("terminated", "by", "items", "keys"):
                        pass
                    field_delimiter = p.string()
        elif p.accept("stored"):
            p.expect("as")
            token = p.next()
            if token.text.lower() == "inputformat":
                input_format = p.string()
                p.expect("outputformat")
                p.string()
                fmt = "PARQUET" if "parquet" in input_format.lower() else "TEXTFILE"
            else:
                fmt = STORED_AS.get(token.text.lower(), "")
                if not fmt:
                    raise p.fail(token, "a file format")
        elif p.accept("location"):
            location = p.string()
        elif p.accept("tblproperties"):
            props = p.properties()
        else:
            raise p.fail(p.peek(), "COMMENT, PARTITIONED BY, ROW FORMAT, STORED AS, LOCATION or TBLPROPERTIES")
    if location is None:
        raise HiveDdlError("Athena needs a LOCATION for a table: it has no default warehouse folder")
    lowered = {k.lower(): v for k, v in props.items()}
    if is_iceberg:
        with_props = [f"location = {_lit(location)}", f"format = {_lit(lowered.get('format', 'parquet').upper())}"]
        if partition_transforms:
            with_props.append("partitioning = ARRAY[" + ", ".join(_lit(t) for t in partition_transforms) + "]")
        sql = (f"create table {'if not exists ' if if_not_exists else ''}{ICEBERG}.{_q(schema)}.{_q(table)} "
               f"({_column_sql(columns)})" + (f" comment {_lit(comment)}" if comment else "")
               + f" with ({', '.join(with_props)})")
        return HivePlan([(ICEBERG, sql)])
    all_columns = columns + partitioned
    if fmt == "CSV":
        # Trino's CSV tables hold varchar columns only, as OpenCSVSerde reads every column as a string.
        all_columns = [(n, "varchar", c) for n, _, c in all_columns]
    with_props = [f"external_location = {_lit(location)}", f"format = {_lit(fmt)}"]
    if partitioned:
        with_props.append("partitioned_by = ARRAY[" + ", ".join(_lit(n) for n, _, _ in partitioned) + "]")
    if "skip.header.line.count" in lowered:
        with_props.append(f"skip_header_line_count = {int(lowered['skip.header.line.count'])}")
    delimiter = serde_props.get("separatorChar") or serde_props.get("field.delim") or field_delimiter
    if delimiter and fmt == "CSV":
        with_props.append(f"csv_separator = {_lit(delimiter)}")
    elif delimiter and fmt == "TEXTFILE":
        with_props.append(f"textfile_field_separator = {_lit(delimiter)}")
    sql = (f"create table {'if not exists ' if if_not_exists else ''}{HIVE}.{_q(schema)}.{_q(table)} "
           f"({_column_sql(all_columns)})" + (f" comment {_lit(comment)}" if comment else "")
           + f" with ({', '.join(with_props)})")
    extra = {k: v for k, v in props.items() if k.lower() not in ("skip.header.line.count",)}
    plan = HivePlan([(HIVE, sql)])
    if extra:
        plan.glue_parameters = {"schema": schema, "table": table, "parameters": extra}
    return plan


def _alter(p: Parser) -> HivePlan:
    schema, table = p.table_name()
    name = f"{ICEBERG}.{_q(schema)}.{_q(table)}"
    if p.accept("rename"):
        p.expect("to")
        new_schema, new_table = p.table_name()
        p.done()
        return HivePlan([(ICEBERG, f"alter table {name} rename to {ICEBERG}.{_q(new_schema)}.{_q(new_table)}")])
    if p.accept("set"):
        p.expect("tblproperties")
        props = p.properties()
        p.done()
        return HivePlan([], glue_parameters={"schema": schema, "table": table, "parameters": props})
    if p.accept("add"):
        if p.accept("if") or p.accept("partition"):
            raise HiveDdlError("ALTER TABLE ADD PARTITION is not supported on the local Athena: use MSCK REPAIR TABLE")
        p.expect("columns")
        columns = p.columns(True)
        p.done()
        return HivePlan([(ICEBERG, f"alter table {name} add column {_q(n)} {t}" + (f" comment {_lit(c)}" if c else ""))
                         for n, t, c in columns])
    if p.accept("drop"):
        p.expect("column")
        column = p.identifier("column name")
        p.done()
        return HivePlan([(ICEBERG, f"alter table {name} drop column {_q(column)}")])
    if p.accept("change"):
        p.accept("column")
        old = p.identifier("column name")
        new = p.identifier("column name")
        new_type = p.data_type(True)
        if p.accept("comment"):
            p.string()
        p.done()
        statements = []
        if old != new:
            statements.append((ICEBERG, f"alter table {name} rename column {_q(old)} to {_q(new)}"))
        statements.append((ICEBERG, f"alter table {name} alter column {_q(new)} set data type {new_type}"))
        return HivePlan(statements)
    if p.accept("replace"):
        p.expect("columns")
        columns = p.columns(True)
        p.done()
        return HivePlan([], glue_parameters={"schema": schema, "table": table, "replace_columns": columns})
    raise p.fail(p.peek(), "RENAME, SET TBLPROPERTIES, ADD COLUMNS, REPLACE COLUMNS, CHANGE or DROP COLUMN")


def translate(sql: str, default_schema: str) -> HivePlan:
    """Trino statements that carry out one statement of Athena's Hive DDL; HiveDdlError if Athena rejects it."""
    p = Parser(sql, default_schema)
    if p.accept("create"):
        if p.accept("database", "schema"):
            if_not_exists = False
            if p.accept("if"):
                p.expect("not")
                p.expect("exists")
                if_not_exists = True
            schema = p.identifier("database name")
            while p.peek() is not None:
                p.next()  # COMMENT / LOCATION / WITH DBPROPERTIES: Glue database details
            return HivePlan([(ICEBERG, f"create schema {'if not exists ' if if_not_exists else ''}"
                                       f"{ICEBERG}.{_q(schema)}")])
        external = p.accept("external")
        p.expect("table")
        return _create(p, external)
    if p.accept("alter"):
        p.expect("table")
        return _alter(p)
    if p.accept("drop"):
        if p.accept("database", "schema"):
            if_exists = p.accept("if") and (p.expect("exists") or True)
            schema = p.identifier("database name")
            cascade = p.accept("cascade")
            p.done()
            return HivePlan([(ICEBERG, f"drop schema {'if exists ' if if_exists else ''}{ICEBERG}.{_q(schema)}"
                                       + (" cascade" if cascade else ""))])
        p.expect("table")
        if_exists = False
        if p.accept("if"):
            p.expect("exists")
            if_exists = True
        schema, table = p.table_name()
        p.accept("purge")
        p.done()
        exists = "if exists " if if_exists else ""
        return HivePlan([(ICEBERG, f"drop table {exists}{ICEBERG}.{_q(schema)}.{_q(table)}")])
    if p.accept("msck"):
        p.expect("repair")
        p.expect("table")
        schema, table = p.table_name()
        p.done()
        return HivePlan([(HIVE, f"call {HIVE}.system.sync_partition_metadata({_lit(schema)}, {_lit(table)}, 'ADD')")])
    if p.accept("show"):
        if p.accept("tables"):
            schema = default_schema
            if p.accept("in", "from"):
                schema = p.identifier("database name")
            pattern = p.string() if p.peek() is not None and p.peek().kind == "string" else None
            p.done()
            like = f" like {_lit(pattern.replace('*', '%'))}" if pattern else ""
            return HivePlan([(ICEBERG, f"show tables from {ICEBERG}.{_q(schema)}{like}")], kind="UTILITY")
        if p.accept("databases", "schemas"):
            p.done()
            return HivePlan([(ICEBERG, f"show schemas from {ICEBERG}")], kind="UTILITY")
        if p.accept("columns"):
            p.expect("in", "from")
            schema, table = p.table_name()
            p.done()
            return HivePlan([(ICEBERG, f"select column_name from {ICEBERG}.information_schema.columns where "
                                       f"table_schema = {_lit(schema)} and table_name = {_lit(table)} "
                                       "order by ordinal_position")], kind="UTILITY")
        if p.accept("partitions"):
            schema, table = p.table_name()
            p.done()
            return HivePlan([(HIVE, f'select * from {HIVE}.{_q(schema)}.{_q(table + "$partitions")}')],
                            kind="UTILITY")
        if p.accept("create"):
            p.expect("table")
            schema, table = p.table_name()
            p.done()
            return HivePlan([(ICEBERG, f"show create table {ICEBERG}.{_q(schema)}.{_q(table)}")], kind="UTILITY")
        raise p.fail(p.peek(), "TABLES, DATABASES, COLUMNS, PARTITIONS or CREATE TABLE")
    if p.accept("describe", "desc"):
        p.accept("formatted", "extended")
        schema, table = p.table_name()
        p.done()
        return HivePlan([(ICEBERG, f"describe {ICEBERG}.{_q(schema)}.{_q(table)}")], kind="UTILITY")
    raise p.fail(p.peek(), "a Hive DDL statement")
