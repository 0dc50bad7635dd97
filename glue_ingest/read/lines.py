"""Reading files as lines, split across tasks, and numbering them without a shuffle.

A pre-pass counts the lines of each (file, split) and notes the first row id of each split
(`line_blocks`); a line's number is then its split's offset in the file plus its place in the split
(`block_bases`). Row ids come from `monotonically_increasing_id`, evaluated right above the scan, so
that they are consecutive within a split.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import (
    BinaryType,
    LongType,
)

from glue_ingest.read.files import SOURCE_URI

LINE = "_line"
BLOCK_START = "_block_start"
ROW_ID = "_row_id"
PARSED = "_parsed_line"
ROW_BASE = "_row_base"  # a block's row number base: record number = ROW_BASE + ROW_ID
_TASK_ROW_BITS = 33  # monotonically_increasing_id: the task's partition index above the low 33 bits


def row_ids(per_task: bool) -> Column:
    """Ids that increase through each task's rows; `per_task`: counting from 0 in each task."""
    row_id = F.monotonically_increasing_id()
    if per_task:
        row_id = row_id - F.spark_partition_id().cast(LongType()) * F.lit(1 << _TASK_ROW_BITS)
    return row_id


@dataclass(frozen=True)
class LineBlock:
    """The lines of one file that one split of it holds (the lines that start in it)."""

    uri: str
    start: int  # byte offset of the split in the file
    lines: int
    first_id: int  # ROW_ID of its first line
    opens_quote: bool = False  # some line leaves a quoted field open (CSV)
    no_records: int = 0  # lines that are no records (JSON: blank lines, which keep their numbers)


def line_blocks(
    lines: DataFrame,
    *,
    opens_quote: Column | None = None,
    blank: Column | None = None,
    first_blank: Column | None = None,
) -> list[LineBlock]:
    """The pre-pass: one cheap scan that counts lines per split (no parsing, no shuffle of rows).

    `blank`: lines that are no records; `first_blank`: the same, when it is the file's first line."""
    rows = (
        lines.groupBy(SOURCE_URI, BLOCK_START)
        .agg(
            F.count(F.lit(1)).alias("lines"),
            F.min(ROW_ID).alias("first_id"),
            (F.max(opens_quote.cast("int")) if opens_quote is not None else F.lit(0)).alias("opens_quote"),
            (F.sum(blank.cast("int")) if blank is not None else F.lit(0)).alias("blank"),
            (F.min_by(first_blank.cast("int"), F.col(ROW_ID)) if first_blank is not None else F.lit(0)).alias(
                "first_blank"
            ),
        )
        .collect()
    )
    blocks = []
    for r in rows:
        # Only the first line of the file's first split is the file's first line.
        first_blank_line = r[BLOCK_START] == 0 and bool(r["first_blank"])
        blocks.append(
            LineBlock(
                r[SOURCE_URI],
                r[BLOCK_START],
                r["lines"],
                r["first_id"],
                bool(r["opens_quote"]),
                (r["blank"] or 0) + int(first_blank_line),
            )
        )
    return sorted(blocks, key=lambda b: (b.uri, b.start))


def split_size(blocks: Sequence[LineBlock], sizes: Sequence[int]) -> int:
    """The split size the blocks were read with, or (when no file was split) one that splits none of
    the files of `sizes`. Reading with it again, one split per task, gives the same blocks."""
    starts = [b.start for b in blocks if b.start]
    return math.gcd(*starts) if starts else max(max(sizes, default=1), 1)


def block_bases(blocks: Sequence[LineBlock], per_task: bool, first_number: int) -> dict[tuple[str, int], int]:
    """(uri, split start) -> ROW_BASE, such that ROW_BASE + ROW_ID is the line's number: its place
    among the file's lines, the first being `first_number` (CSV: 0, the header; JSON lines: 1).

    `per_task`: the ids of a read with `ids_per_task`, which start at 0 in each split."""
    bases = {}
    offset: dict[str, int] = {}
    for b in sorted(blocks, key=lambda b: (b.uri, b.start)):
        before = offset.get(b.uri, 0)
        bases[(b.uri, b.start)] = before + first_number - (0 if per_task else b.first_id)
        offset[b.uri] = before + b.lines
    return bases


def line_text(line: Column) -> Column:
    """A line as text: bytes that are not UTF-8 as U+FFFD, as the file reader shows them."""
    return F.decode(line.cast(BinaryType()), "UTF-8")
