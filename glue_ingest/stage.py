"""One run's records, read and written to staging: bronze rows and quarantine rows, each counted.

Three ways through, chosen per file:

- **Arrow** (CSV whose every line pyarrow reads exactly as Spark's parser does, and JSON lines ended by LF or CRLF:
  nearly every file). Spark only schedules the tasks; a survey task counts the lines of each split of each file
  (and, for CSV, checks the quoting), which numbers the records without a shuffle; a write task parses blocks of
  lines with pyarrow and writes the bronze rows and the bad records itself (`stage_arrow`). The bad records are
  gathered into the run's one quarantine file with the others.
- **Lines** (CSV with quoting pyarrow reads otherwise, but without a quoted line break; JSON lines with a CR line
  end). A Spark pre-pass counts the non-blank lines of each split (`read.line_blocks`) and says which files hold a
  quoted line break. Bronze is then written in one pass over the files, with no cache and no sort. A file with
  fewer bronze rows than records has bad ones, and only such files are read again, for the quarantine.
- **Records** (JSON arrays, and CSV files with a quoted line break). Read, numbered, cached and counted, then
  written from the cache (see `transform`).

Whichever way, the staged Parquet is read back and bronze plus quarantine must equal the records counted
before the write, for every file, or the run fails and commits nothing. Files rejected whole get one
quarantine record each; their records are counted, not written. A JSON-lines file none of whose records has some
required key is rejected whole too, which only its records can tell (found while writing)."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import date
from functools import reduce

from pyspark.sql import Column, DataFrame, Observation, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import LongType, StringType, StructField, StructType

from glue_ingest import stage_arrow as arrow
from glue_ingest import storage as st
from glue_ingest.commit import Layout
from glue_ingest.manifest import FileStats
from glue_ingest.read import (
    BLOCK_START,
    CSV,
    LINE,
    NDJSON,
    PARSED,
    PRESENT,
    RAW_TEXT,
    RECORD_ERROR,
    ROW_BASE,
    ROW_ID,
    SOURCE_URI,
    FileGroup,
    LineBlock,
    RawFile,
    Reader,
    ReadPlan,
    block_bases,
    csv_fields,
    csv_lines,
    escape_glob,
    line_blocks,
    line_text,
    match_source_uris,
    opens_quoted_field,
    split_size,
)
from glue_ingest.read.arrow_csv import file_splits
from glue_ingest.read.json import BLANK, BOM_BLANK, JSON_MAP, JVM_EXACT, json_line_blocks, json_lines, json_records
from glue_ingest.transform import (
    FILE_REASON,
    MISSING_REQUIRED,
    REASON,
    RECORD_NUMBER,
    SOURCE_FILE,
    RunConfig,
    conform,
    conform_json,
    conform_json_lines,
    file_quarantine,
    header_problem,
    number_records,
    to_bronze,
    to_file_quarantine,
    to_quarantine,
    with_source_files,
)

log = logging.getLogger(__name__)

# zstd: bronze is mostly short repeated text (ids, endpoints, timestamps as delivered); snappy does not
# entropy-code it, zstd does. Athena, Trino, DuckDB and Spark all read zstd Parquet.
COMPRESSION = "zstd"

Rejected = tuple[str, str | None, str]  # a file quarantined whole: (relative path, header line, reason)


class StageError(RuntimeError):
    """The staged output does not account for every record read: nothing is committed."""


@dataclass(frozen=True)
class StageTarget:
    lake: st.Storage
    layout: Layout
    ingest_date: date
    max_records_per_file: int | None = None

    def bronze(self, run_id: str) -> str:
        return self.layout.staging_partition(self.layout.bronze_path, run_id, self.ingest_date)

    def quarantine(self, run_id: str) -> str:
        return self.layout.staging_partition(self.layout.quarantine_path, run_id, self.ingest_date)


@dataclass
class LineGroup:
    """The CSV files of one group that are read as lines, with their pre-pass."""

    group: FileGroup
    paths: list[str]  # what Spark is given: every file of the group, so splits stay as in the pre-pass
    blocks: list[LineBlock]
    files: dict[str, RawFile]  # uri -> file, for the files read as lines only
    expected: dict[str, int]  # relative path -> records (CSV: non-blank lines but the header)
    rejected: set[str] = field(default_factory=set)  # relative paths of files rejected whole (JSON)


@dataclass
class _Work:
    """What one run stages, gathered before any write."""

    rejected: list[Rejected] = field(default_factory=list)
    line_groups: list[LineGroup] = field(default_factory=list)
    record_frames: list[DataFrame] = field(default_factory=list)  # conformed, not numbered yet
    record_files: list[RawFile] = field(default_factory=list)
    found_rejected: list[Rejected] = field(default_factory=list)  # JSON-lines files, found on writing
    arrow_splits: list[arrow.SplitWork] = field(default_factory=list)  # CSV read with pyarrow (stage_arrow)
    arrow_expected: dict[str, int] = field(default_factory=dict)  # relative path -> records


_OBJECTS = "_objects"


def _key_presence(config: RunConfig) -> list[Column]:
    """Aggregates for `DataFrame.observe`: the files with object records (`_objects`), and for each
    required column the files where some object record has the key; each a JSON array of paths."""
    names = config.contract.column_names
    is_object = F.col(REASON).isNull()

    def files(condition: Column) -> Column:
        return F.to_json(F.collect_set(F.when(condition, F.col(SOURCE_FILE))))

    return [files(is_object).alias(_OBJECTS)] + [
        files(is_object & F.col(PRESENT)[names.index(c)]).alias(c) for c in config.contract.required_columns
    ]


def _write_parquet(df: DataFrame, path: str, max_records_per_file: int | None) -> None:
    # Append: the Arrow path's tasks may have written files of their own into the folder already.
    writer = df.write.mode("append").option("compression", COMPRESSION)
    if max_records_per_file:
        writer = writer.option("maxRecordsPerFile", max_records_per_file)
    writer.parquet(path)


def _bases(spark: SparkSession, line_group: LineGroup, per_task: bool) -> DataFrame:
    """(SOURCE_URI, BLOCK_START) -> SOURCE_FILE, ROW_BASE for the blocks of the files read as lines."""
    first_number = 0 if line_group.group.layout == CSV else 1  # CSV: the header is line 0
    bases = block_bases([b for b in line_group.blocks if b.uri in line_group.files], per_task, first_number)
    schema = StructType(
        [
            StructField(SOURCE_URI, StringType()),
            StructField(BLOCK_START, LongType()),
            StructField(SOURCE_FILE, StringType()),
            StructField(ROW_BASE, LongType()),
        ]
    )
    rows = [(uri, start, line_group.files[uri].relative, base) for (uri, start), base in bases.items()]
    return F.broadcast(spark.createDataFrame(rows, schema))


def _line_records(
    spark: SparkSession, line_group: LineGroup, config: RunConfig, paths: Sequence[str], per_task: bool
) -> DataFrame:
    """The conformed, numbered records of a line group's files (those of `paths` read as lines)."""
    if line_group.group.layout != CSV:
        return conform_json_lines(_json_line_records(spark, line_group, config, paths, per_task), config)
    width = len(line_group.group.columns)
    lines = csv_lines(spark, paths, line_group.group.line_sep, ids_per_task=per_task, parse_width=width)
    # Inner join: lines of files read another way (a quoted line break) have no base and drop out.
    numbered = (
        lines.join(_bases(spark, line_group, per_task), [SOURCE_URI, BLOCK_START])
        .select(PARSED, LINE, SOURCE_FILE, (F.col(ROW_BASE) + F.col(ROW_ID)).alias(RECORD_NUMBER))
        .where(F.col(RECORD_NUMBER) > 0)  # 0: the header
    )
    parsed = csv_fields(numbered, width, [LINE, SOURCE_FILE, RECORD_NUMBER])
    return conform(
        parsed,
        line_group.group.columns,
        config,
        raw_line=line_text(F.col(LINE)),
        keep=[SOURCE_FILE, RECORD_NUMBER],
    )


def _json_line_records(
    spark: SparkSession, line_group: LineGroup, config: RunConfig, paths: Sequence[str], per_task: bool
) -> DataFrame:
    lines = json_lines(spark, paths, ids_per_task=per_task, parse=True)
    numbered = lines.join(_bases(spark, line_group, per_task), [SOURCE_URI, BLOCK_START]).select(
        LINE, JSON_MAP, JVM_EXACT, BLANK, BOM_BLANK, SOURCE_FILE, (F.col(ROW_BASE) + F.col(ROW_ID)).alias(RECORD_NUMBER)
    )
    return json_records(numbered, config.contract.column_names)


@contextmanager
def session_conf(spark: SparkSession, settings: dict[str, str]) -> Iterator[None]:
    """Spark settings for the duration of a block (they apply to the actions run inside it)."""
    previous = {key: spark.conf.get(key, None) for key in settings}
    for key, value in settings.items():
        spark.conf.set(key, value)
    try:
        yield
    finally:
        for key, value in previous.items():
            if value is None:
                spark.conf.unset(key)
            else:
                spark.conf.set(key, value)


def _one_split_per_task(spark: SparkSession, split: int) -> Iterator[None]:
    """Files cut into splits of `split` bytes, each read by a task of its own (no packing)."""
    return session_conf(
        spark, {"spark.sql.files.maxPartitionBytes": str(split), "spark.sql.files.openCostInBytes": str(split)}
    )


class Stager:
    """Stages one run: `stage(plan)` reads, writes bronze and quarantine to staging and fills `stats`."""

    def __init__(
        self,
        spark: SparkSession,
        reader: Reader,
        source: st.Storage,
        target: StageTarget,
        config: RunConfig,
        stats: dict[str, FileStats],
    ) -> None:
        self.spark = spark
        self.reader = reader
        self.source = source
        self.target = target
        self.config = config
        self.stats = stats
        self.dataset = config.contract.dataset

    # --- planning: the pre-pass decides how each file is read ----------------------------------

    def _paths(self, files: Sequence[RawFile]) -> list[str]:
        return [escape_glob(self.source.spark_path(f.path)) for f in files]

    def _plan_lines(self, groups: Sequence[tuple[FileGroup, str | None]], work: _Work) -> None:
        """The survey of every CSV group (with its header problem, if any), in one Spark job: files whose every
        line pyarrow reads as Spark does take the Arrow path; the others, Spark's (`_plan_spark_lines`)."""
        clock = time.monotonic()
        split = self._split_bytes()
        splits = {
            f.relative: file_splits(f.path, f.relative, f.size, group.line_sep, split)
            for group, _ in groups
            for f in group.files
        }
        surveyed = arrow.survey(self.spark, [s for file in splits.values() for s in file], split)
        to_spark: list[tuple[FileGroup, str | None]] = []
        arrow_files = 0
        for group, problem in groups:
            spark_files = []
            for f in group.files:
                found = [surveyed[(s.relative, s.start)] for s in splits[f.relative]]
                if not all(simple for _, _, simple in found):
                    spark_files.append(f)
                    continue
                arrow_files += 1
                records = sum(lines for lines, _, _ in found) - 1  # less the header
                if problem:
                    self.stats[f.relative].add(problem, records)  # rejected whole: counted, not read
                    continue
                work.arrow_expected[f.relative] = records
                base = 0
                for s, (lines, _, _) in zip(splits[f.relative], found, strict=True):
                    work.arrow_splits.append(arrow.SplitWork(s, group.columns, base))
                    base += lines
            if spark_files:
                to_spark.append(
                    (FileGroup(group.columns, group.line_sep, spark_files, group.header_lines, group.layout), problem)
                )
        log.info(
            "dataset %s: survey of %d CSV file(s) in %.1f s: %d split(s), %d file(s) read with pyarrow, %d with "
            "Spark (quoting that pyarrow reads otherwise)",
            self.dataset,
            len(splits),
            time.monotonic() - clock,
            len(surveyed),
            arrow_files,
            len(splits) - arrow_files,
        )
        if to_spark:
            self._plan_spark_lines(to_spark, work)

    def _split_bytes(self) -> int:
        return int(self.spark.conf.get("spark.sql.files.maxPartitionBytes") or 128 * 1024 * 1024)

    def _plan_spark_lines(self, groups: Sequence[tuple[FileGroup, str | None]], work: _Work) -> None:
        """The pre-pass of CSV groups read with Spark (with their header problem, if any), in one Spark job."""
        clock = time.monotonic()
        paths = [self._paths(group.files) for group, _ in groups]
        # Each group is read as the write pass reads it (its own scan: the same splits and row ids).
        scans = [csv_lines(self.spark, p, group.line_sep) for p, (group, _) in zip(paths, groups, strict=True)]
        lines = reduce(DataFrame.union, scans)
        blocks = line_blocks(lines, opens_quote=opens_quoted_field(F.col(LINE)))
        files = [f for group, _ in groups for f in group.files]
        by_uri = match_source_uris(sorted({b.uri for b in blocks}), files)
        group_of = {f.relative: i for i, (group, _) in enumerate(groups) for f in group.files}
        lines_of: dict[str, int] = {}
        multi_line: set[str] = set()
        for b in blocks:
            lines_of[b.uri] = lines_of.get(b.uri, 0) + b.lines
            if b.opens_quote:
                multi_line.add(b.uri)
        log.info(
            "dataset %s: pre-pass over %d file(s) in %.1f s: %d split(s), %d line(s); %d file(s) with a "
            "quoted line break read whole",
            self.dataset,
            len(files),
            time.monotonic() - clock,
            len(blocks),
            sum(lines_of.values()),
            len(multi_line),
        )
        for i, (group, problem) in enumerate(groups):
            uris = {uri: f for uri, f in by_uri.items() if group_of[f.relative] == i}
            as_lines = {uri: f for uri, f in uris.items() if uri not in multi_line}
            expected = {f.relative: lines_of[uri] - 1 for uri, f in as_lines.items()}  # less the header
            whole = [uris[uri] for uri in sorted(multi_line) if uri in uris]
            if whole:
                sub = FileGroup(group.columns, group.line_sep, whole, group.header_lines, group.layout)
                work.record_frames.append(self._conformed(sub, problem))
                work.record_files += whole
            if problem:
                # Rejected whole: its records are counted (the pre-pass did), not read.
                for path, count in expected.items():
                    self.stats[path].add(problem, count)
            elif as_lines:
                group_blocks = [b for b in blocks if b.uri in uris]
                work.line_groups.append(LineGroup(group, paths[i], group_blocks, as_lines, expected))

    def _plan_json_lines(self, group: FileGroup, work: _Work) -> None:
        """The survey of the JSON-lines files: those with LF (or CRLF) line ends take the Arrow path; the others
        (a CR line end somewhere) Spark's line path, with its pre-pass (`_plan_spark_json_lines`)."""
        clock = time.monotonic()
        split = self._split_bytes()
        splits = {f.relative: file_splits(f.path, f.relative, f.size, "\n", split, json=True) for f in group.files}
        surveyed = arrow.survey(self.spark, [s for file in splits.values() for s in file], split)
        columns = tuple(self.config.contract.column_names)
        spark_files = []
        for f in group.files:
            found = [surveyed[(s.relative, s.start)] for s in splits[f.relative]]
            if not all(readable for _, _, readable in found):
                spark_files.append(f)
                continue
            work.arrow_expected[f.relative] = sum(records for _, records, _ in found)
            base = 0
            for s, (lines, _, _) in zip(splits[f.relative], found, strict=True):
                work.arrow_splits.append(arrow.SplitWork(s, columns, base))
                base += lines
        log.info(
            "dataset %s: survey of %d JSON-lines file(s) in %.1f s: %d split(s), %d file(s) read with pyarrow, %d "
            "with Spark (CR line ends)",
            self.dataset,
            len(group.files),
            time.monotonic() - clock,
            len(surveyed),
            len(group.files) - len(spark_files),
            len(spark_files),
        )
        if spark_files:
            self._plan_spark_json_lines(
                FileGroup(group.columns, group.line_sep, spark_files, group.header_lines, group.layout), work
            )

    def _plan_spark_json_lines(self, group: FileGroup, work: _Work) -> None:
        clock = time.monotonic()
        paths = self._paths(group.files)
        blocks = json_line_blocks(json_lines(self.spark, paths))
        by_uri = match_source_uris(sorted({b.uri for b in blocks}), group.files)
        expected: dict[str, int] = {}
        for b in blocks:
            path = by_uri[b.uri].relative
            expected[path] = expected.get(path, 0) + b.lines - b.no_records
        log.info(
            "dataset %s: pre-pass over %d file(s) in %.1f s: %d split(s), %d record(s)",
            self.dataset,
            len(group.files),
            time.monotonic() - clock,
            len(blocks),
            sum(expected.values()),
        )
        work.line_groups.append(LineGroup(group, paths, blocks, by_uri, expected))

    def _conformed(self, group: FileGroup, problem: str | None) -> DataFrame:
        df = self.reader.read(self.spark, self.source, group)
        if group.layout == CSV:
            return conform(df, group.columns, self.config, problem)
        return conform_json(df, self.config)

    def _plan(self, plan: ReadPlan) -> _Work:
        work = _Work(rejected=[(r.file.relative, r.header_line, r.reason) for r in plan.rejected])
        csv_groups: list[tuple[FileGroup, str | None]] = []
        for r in plan.rejected:
            self.stats[r.file.relative].add(r.reason, 1)
        for i, group in enumerate(plan.groups, start=1):
            problem = header_problem(group.columns, self.config.contract)
            if problem:
                work.rejected += [(f.relative, group.header_lines[f.relative], problem) for f in group.files]
            log.info(
                "dataset %s: group %d/%d: %d %s file(s), %d bytes",
                self.dataset,
                i,
                len(plan.groups),
                len(group.files),
                group.layout,
                sum(f.size for f in group.files),
            )
            if group.layout == CSV:
                csv_groups.append((group, problem))
            elif group.layout == NDJSON:
                self._plan_json_lines(group, work)
            else:
                work.record_frames.append(self._conformed(group, problem))
                work.record_files += group.files
        if csv_groups:
            self._plan_lines(csv_groups, work)
        return work

    # --- staging ----------------------------------------------------------------------------------

    def stage(self, plan: ReadPlan) -> dict[str, str]:
        """Read the planned files, count records into `stats`, and write bronze and quarantine rows to
        staging. Returns the files quarantined whole, with their reason."""
        work = self._plan(plan)
        rejected_paths = {path: reason for path, _, reason in work.rejected}
        found_rejected: dict[str, str] = {}  # rejected whole on what the records hold (JSON)
        run_id = self.config.run_id

        records = self._counted_records(work, rejected_paths, found_rejected)
        arrow_quarantine = self._write_arrow(work, found_rejected)
        observations = self._write_bronze(work, records)
        whole = self._json_files_missing_required(work, observations)
        if whole:
            # Rare: a JSON-lines file without a required key in any record is rejected whole (as a CSV
            # file without the column is), which only the written records could tell. Bronze is staged
            # again without it.
            self.target.lake.delete_tree(self.target.bronze(run_id))
            self._write_bronze(work, records, exclude=set(whole))
            self._reject_json_files(work, whole)
            found_rejected.update(whole)
        written = self._read_back_bronze()

        quarantine_parts: list[DataFrame] = []
        if arrow_quarantine:
            quarantine_parts.append(self.spark.read.parquet(self.target.lake.spark_path(self._arrow_quarantine())))
        bad_line_files = self._count_line_files(work, written)
        for line_group, paths in bad_line_files:
            quarantine_parts.append(
                to_quarantine(_line_records(self.spark, line_group, self.config, paths, per_task=True), self.config)
            )
        if records is not None:
            if any(
                self.stats[f.relative].records_quarantined
                for f in work.record_files
                if f.relative not in rejected_paths and f.relative not in found_rejected
            ):
                quarantine_parts.append(to_quarantine(records, self.config))
            if found_rejected:
                quarantine_parts.append(to_file_quarantine(records, self.config, sorted(found_rejected)))
            self._check_records_written(work, written)
        if work.rejected or work.found_rejected:
            quarantine_parts.append(file_quarantine(self.spark, work.rejected + work.found_rejected, self.config))
        if quarantine_parts:
            clock = time.monotonic()
            # The lines of bad files are read again with the pre-pass's splits; nothing else needs them.
            splits = (
                _one_split_per_task(self.spark, self._quarantine_split(bad_line_files))
                if bad_line_files
                else nullcontext()
            )
            with splits:
                # Quarantine rows are few: shuffled into one sorted file, while the scan stays parallel.
                _write_parquet(
                    reduce(DataFrame.unionByName, quarantine_parts)
                    .repartition(1)
                    .sortWithinPartitions(SOURCE_FILE, RECORD_NUMBER),
                    self.target.lake.spark_path(self.target.quarantine(run_id)),
                    self.target.max_records_per_file,
                )
            log.info("dataset %s: quarantine written to staging in %.1f s", self.dataset, time.monotonic() - clock)
            if arrow_quarantine:
                self.target.lake.delete_tree(self._arrow_quarantine())
        self._count_quarantined_lines(work, written)
        if records is not None:
            records.unpersist()
        rejected_paths.update(found_rejected)
        for path, reason in sorted(rejected_paths.items()):
            log.warning("dataset %s: %s quarantined whole: %s", self.dataset, path, reason)
        return rejected_paths

    def _arrow_quarantine(self) -> str:
        """Where the Arrow path's tasks write quarantine rows, for the quarantine write to gather into one file."""
        return st.join(self.target.layout.staging_dir(self.target.layout.quarantine_path, self.config.run_id), "_arrow")

    def _write_arrow(self, work: _Work, found_rejected: dict[str, str]) -> bool:
        """Stage the bronze rows of the files read with pyarrow (see `stage_arrow`), and their quarantine rows in
        `_arrow_quarantine`; whether there are any of the latter. A JSON-lines file whose records all lack a
        required key is rejected whole (as a CSV file without the column is), which only its records can tell: the
        Arrow output is then staged again without it."""
        if not work.arrow_splits:
            return False
        clock = time.monotonic()
        bronze = arrow.Bronze(
            contract_columns=tuple(self.config.contract.column_names),
            run_id=self.config.run_id,
            ingested_at=self.config.ingested_at_utc,
            bronze_dir=self.target.bronze(self.config.run_id),
            quarantine_dir=self._arrow_quarantine(),
            max_records_per_file=self.target.max_records_per_file,
            required_columns=tuple(self.config.contract.required_columns),
        )
        results = arrow.write(self.spark, work.arrow_splits, bronze, self._split_bytes())
        whole = self._arrow_files_missing_required(work, results)
        if whole:
            for r in results:
                for path in r.files:
                    self.target.lake.delete(path)
            for path, (reason, first) in whole.items():
                self.stats[path].add(reason, work.arrow_expected.pop(path))
                work.found_rejected.append((path, first, reason))
                found_rejected[path] = reason
            work.arrow_splits = [w for w in work.arrow_splits if w.split.relative not in whole]
            results = arrow.write(self.spark, work.arrow_splits, bronze, self._split_bytes())
        log.info(
            "dataset %s: %d file(s) read with pyarrow: %d record(s) staged in %d file(s) in %.1f s",
            self.dataset,
            len(work.arrow_expected),
            sum(n for r in results for n in r.counts.values()),
            sum(len(r.files) for r in results),
            time.monotonic() - clock,
        )
        return any(reason is not None for r in results for _, reason in r.counts)

    def _arrow_files_missing_required(
        self, work: _Work, results: Sequence[arrow.TaskResult]
    ) -> dict[str, tuple[str, str]]:
        """JSON-lines files read with pyarrow that have good records, none of which has some required key:
        path -> (reason, text of the first good record)."""
        required = self.config.contract.required_columns
        json_files = {w.split.relative for w in work.arrow_splits if w.split.json}
        if not required or not json_files:
            return {}
        keys: dict[str, set[str]] = {}
        first: dict[str, tuple[int, str]] = {}
        for r in results:
            for path, seen in r.keys.items():
                keys.setdefault(path, set()).update(seen)
            for path, good in r.first_good.items():
                first[path] = min(first.get(path, good), good)
        whole = {}
        for path in sorted(keys):
            missing = [c for c in required if c not in keys[path]]
            if missing:
                whole[path] = (MISSING_REQUIRED + ", ".join(missing), first[path][1])
        return whole

    def _write_bronze(
        self, work: _Work, records: DataFrame | None, exclude: set[str] | None = None
    ) -> list[tuple[LineGroup, Observation]]:
        """Write bronze to staging in one pass; observe, while writing, which JSON-lines files have
        object records and which of those have each required key."""
        parts = []
        observations = []
        for g in work.line_groups:
            frame = _line_records(self.spark, g, self.config, g.paths, per_task=False)
            if exclude:
                frame = frame.where(~F.col(SOURCE_FILE).isin(sorted(exclude)))
            elif g.group.layout != CSV and self.config.contract.required_columns:
                observation = Observation()
                frame = frame.observe(observation, *_key_presence(self.config))
                observations.append((g, observation))
            parts.append(frame)
        if records is not None and any(self.stats[f.relative].records_written for f in work.record_files):
            parts.append(records)
        if parts:
            clock = time.monotonic()
            _write_parquet(
                reduce(DataFrame.unionByName, [to_bronze(p, self.config) for p in parts]),
                self.target.lake.spark_path(self.target.bronze(self.config.run_id)),
                self.target.max_records_per_file,
            )
            log.info("dataset %s: bronze written to staging in %.1f s", self.dataset, time.monotonic() - clock)
        return observations

    def _json_files_missing_required(
        self, work: _Work, observations: list[tuple[LineGroup, Observation]]
    ) -> dict[str, str]:
        """JSON-lines files with object records, none of which has some required key: path -> reason."""
        whole: dict[str, str] = {}
        for _, observation in observations:
            seen = {name: set(json.loads(value or "[]")) for name, value in observation.get.items()}
            objects = seen.pop(_OBJECTS)
            for path in sorted(objects):
                missing = [c for c in self.config.contract.required_columns if path not in seen[c]]
                if missing:
                    whole[path] = MISSING_REQUIRED + ", ".join(missing)
        return whole

    def _reject_json_files(self, work: _Work, whole: dict[str, str]) -> None:
        """Count the records of JSON-lines files rejected whole, and quarantine one record for each: its
        first object record, as `transform.conform_json` does for a file read whole."""
        for g in work.line_groups:
            files = {uri: f for uri, f in g.files.items() if f.relative in whole}
            if not files:
                continue
            paths = self._paths(list(files.values()))
            for f in files.values():
                self.stats[f.relative].add(whole[f.relative], g.expected[f.relative])
                g.rejected.add(f.relative)
            with _one_split_per_task(self.spark, split_size(g.blocks, [f.size for f in files.values()])):
                firsts = (
                    _json_line_records(self.spark, g, self.config, paths, per_task=True)
                    .where(F.col(RECORD_ERROR).isNull())
                    .groupBy(SOURCE_FILE)
                    .agg(F.min_by(RAW_TEXT, F.col(RECORD_NUMBER)).alias("raw"))
                    .collect()
                )
            work.found_rejected += [(r[SOURCE_FILE], r["raw"], whole[r[SOURCE_FILE]]) for r in firsts]

    def _counted_records(
        self, work: _Work, rejected_paths: dict[str, str], found_rejected: dict[str, str]
    ) -> DataFrame | None:
        """The records of the files not read as lines: numbered, cached and counted into `stats`."""
        if not work.record_frames:
            return None
        # Cached: it is counted, then written twice; and Spark refuses queries on raw CSV that
        # filter on the corrupt-record column alone.
        records = number_records(reduce(DataFrame.unionByName, work.record_frames)).cache()
        clock = time.monotonic()
        counts = records.groupBy(SOURCE_URI, REASON, FILE_REASON).count().collect()
        files = match_source_uris(sorted({row[SOURCE_URI] for row in counts}), work.record_files)
        for row in counts:
            path = files[row[SOURCE_URI]].relative
            self.stats[path].add(row[REASON], row["count"])
            if row[FILE_REASON] is not None and path not in rejected_paths:
                found_rejected[path] = row[FILE_REASON]
        log.info(
            "dataset %s: read and counted the records of %d file(s) in %.1f s",
            self.dataset,
            len(files),
            time.monotonic() - clock,
        )
        return with_source_files(records, {uri: f.relative for uri, f in files.items()})

    def _read_back(self, path: str, keys: Sequence[str]) -> list[tuple[tuple[str, ...], int]]:
        """Row counts of the staged Parquet under `path` by `keys`; staged files without rows (Spark
        writes one for an empty result) are deleted."""
        lake = self.target.lake
        # (Not `lake.exists(path)`: on S3 a folder is a key prefix, which no HEAD request finds.)
        staged = [f.path for f in lake.list_files(path) if f.path.endswith(".parquet")]
        if not staged:
            return []
        totals: dict[tuple[str, ...], int] = {}
        for p, counts in arrow.read_back(self.spark, staged, keys):
            if not counts:
                lake.delete(p)
            for key, n in counts:
                totals[key] = totals.get(key, 0) + n
        return sorted(totals.items())

    def _read_back_bronze(self) -> dict[str, int]:
        return {key[0]: n for key, n in self._read_back(self.target.bronze(self.config.run_id), [SOURCE_FILE])}

    def _count_line_files(self, work: _Work, written: dict[str, int]) -> list[tuple[LineGroup, list[str]]]:
        """Count the bronze rows of the files read as lines; the groups and paths of those with bad records."""
        bad = []
        for g in work.line_groups:
            paths = []
            for f in g.files.values():
                if f.relative in g.rejected:
                    continue
                n = written.get(f.relative, 0)
                self.stats[f.relative].add(None, n)
                if n < g.expected[f.relative]:
                    paths += self._paths([f])
                elif n > g.expected[f.relative]:
                    raise StageError(
                        f"dataset {self.dataset}: {f.relative}: {n} bronze rows staged, but the file has "
                        f"{g.expected[f.relative]} records"
                    )
            if paths:
                bad.append((g, paths))
        for path, expected in work.arrow_expected.items():
            n = written.get(path, 0)
            self.stats[path].add(None, n)
            if n > expected:
                raise StageError(
                    f"dataset {self.dataset}: {path}: {n} bronze rows staged, but the file has {expected} records"
                )
        return bad

    def _quarantine_split(self, bad: Sequence[tuple[LineGroup, list[str]]]) -> int:
        blocks = [b for g, _ in bad for b in g.blocks]
        sizes = [f.size for g, _ in bad for f in g.files.values()]
        return split_size(blocks, sizes)

    def _check_records_written(self, work: _Work, written: dict[str, int]) -> None:
        for f in work.record_files:
            expected = self.stats[f.relative].records_written
            if written.get(f.relative, 0) != expected:
                raise StageError(
                    f"dataset {self.dataset}: {f.relative}: {written.get(f.relative, 0)} bronze rows staged, "
                    f"{expected} counted"
                )

    def _count_quarantined_lines(self, work: _Work, written: dict[str, int]) -> None:
        """Count the quarantine rows of the files read as lines, and check that every record is in bronze
        or in quarantine."""
        files = {
            f.relative: g.expected[f.relative]
            for g in work.line_groups
            for f in g.files.values()
            if f.relative not in g.rejected
        }
        files.update(work.arrow_expected)
        if not files:
            return
        quarantined: dict[str, int] = {}
        for (path, reason), n in self._read_back(self.target.quarantine(self.config.run_id), [SOURCE_FILE, "reason"]):
            if path in files:
                self.stats[path].add(reason, n)
                quarantined[path] = quarantined.get(path, 0) + n
        for path, expected in sorted(files.items()):
            found = written.get(path, 0) + quarantined.get(path, 0)
            if found != expected:
                raise StageError(
                    f"dataset {self.dataset}: {path} has {expected} records, but {written.get(path, 0)} bronze "
                    f"and {quarantined.get(path, 0)} quarantine rows were staged"
                )
