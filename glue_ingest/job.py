"""The ingest job: arguments, Spark session, and one run per dataset (read, transform, stage, commit);
then, if asked (--catalog_database), bronze registered in the Glue Data Catalog (catalog.py).

Runs as an AWS Glue 5 job (`glue_job.py` calls `main()`) and locally (`python -m glue_ingest`).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import logging
import math
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from pyspark.sql import SparkSession

from glue_ingest import catalog
from glue_ingest import storage as st
from glue_ingest.commit import FAIL_AFTER_MOVES_ENV, Layout, begin, commit, recover
from glue_ingest.contracts import ContractError, available_datasets, load_contract
from glue_ingest.manifest import (
    FileStats,
    Manifest,
    RunOrderError,
    check_run_order,
    ingested_paths,
    ingested_sizes,
    load_manifests,
)
from glue_ingest.read import (
    list_raw_files,
    reader_for,
)
from glue_ingest.stage import COMPRESSION, StageError, Stager, StageTarget, session_conf
from glue_ingest.transform import (
    RunConfig,
)

log = logging.getLogger(__name__)

RUNS_DIR = "_runs"
MIN_SPLIT_BYTES = 64 * 1024 * 1024
RUN_ID_FORMAT = "%Y%m%dT%H%M%S%fZ"
GLUE_REQUIRED_ARGS = ["JOB_NAME", "dataset", "source_path", "bronze_path", "quarantine_path"]
GLUE_CATALOG_ARGS = ["catalog_database", "register_catalog"]  # optional, as is ingest_date

EXIT_STATUS_HELP = """\
exit status:
  0  every dataset committed (individual records may have been quarantined)
  1  a dataset failed: nothing of it was committed (others may have been); rerun once fixed
  2  bad arguments
  3  every dataset committed, but some file was quarantined whole (a required column missing,
     an unreadable file, a JSON array that does not parse): see the summary and the quarantine
"""

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_FILES_QUARANTINED_WHOLE = 3


class IngestError(RuntimeError):
    """An expected failure, reported with its message only (no traceback)."""


@dataclass(frozen=True)
class DatasetPaths:
    source_path: str
    bronze_path: str
    quarantine_path: str

    @classmethod
    def under_lake_root(cls, lake_root: str, dataset: str) -> DatasetPaths:
        return cls(*(st.join(lake_root, layer, dataset) for layer in ("raw", "bronze", "quarantine")))

    def normalized(self) -> DatasetPaths:
        return DatasetPaths(
            *(st.normalize(p) for p in (self.source_path, self.bronze_path, self.quarantine_path))
        )


@dataclass(frozen=True)
class IngestOptions:
    # Raw bytes per bronze file (the read's split size: each task writes one file). CSV shrinks about
    # ten times as zstd Parquet, so this gives files of some 50 MB, a good size for Athena and DuckDB.
    raw_bytes_per_file: int = 512 * 1024 * 1024
    max_records_per_file: int | None = None
    fail_after_moves: int | None = None  # testing only: see commit.commit


@dataclass
class RunSummary:
    run_id: str
    dataset: str
    ingest_date: str
    status: str  # committed | nothing new | no raw files
    files: list[FileStats] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # raw files already ingested by an earlier run
    # Skipped files whose size differs from the ingested one: changed in place, new content NOT ingested.
    changed_after_ingest: dict[str, str] = field(default_factory=dict)
    rejected_files: dict[str, str] = field(default_factory=dict)  # whole-file quarantine: path -> reason
    bronze_files: list[str] = field(default_factory=list)
    quarantine_files: list[str] = field(default_factory=list)
    duration_seconds: float = 0.0

    @property
    def totals(self) -> dict[str, int]:
        return {
            "files_ingested": len(self.files),
            "files_skipped": len(self.skipped),
            "files_changed_after_ingest": len(self.changed_after_ingest),
            "files_rejected": len(self.rejected_files),
            "records_read": sum(f.records_read for f in self.files),
            "records_written": sum(f.records_written for f in self.files),
            "records_quarantined": sum(f.records_quarantined for f in self.files),
        }

    @property
    def quarantined_by_reason(self) -> dict[str, int]:
        by_reason: dict[str, int] = {}
        for f in self.files:
            for reason, count in f.quarantined_by_reason.items():
                by_reason[reason] = by_reason.get(reason, 0) + count
        return dict(sorted(by_reason.items()))

    def to_json(self) -> bytes:
        data = asdict(self)
        # Per file, whether it was quarantined whole and why (the manifest does not say).
        data["files"] = [{**asdict(f), "quarantined_whole": self.rejected_files.get(f.path)} for f in self.files]
        data["totals"] = self.totals
        data["quarantined_by_reason"] = self.quarantined_by_reason
        return (json.dumps(data, indent=2) + "\n").encode("utf-8")

    def line(self) -> str:
        """One line for people, printed at the end of a run."""
        t = self.totals
        skipped = f"{t['files_skipped']} file(s) skipped as already ingested"
        if self.changed_after_ingest:
            skipped += f" ({len(self.changed_after_ingest)} of them changed since: not re-ingested, see the log)"
        if self.status != "committed":
            return f"{self.dataset}: {self.status}" + (f", {skipped}" if self.skipped else "")
        whole = ", ".join(f"{path} ({reason})" for path, reason in sorted(self.rejected_files.items()))
        return (
            f"{self.dataset}: run {self.run_id} committed in {self.duration_seconds:.1f} s: "
            f"{t['files_ingested']} file(s) ingested, {skipped}; records read {t['records_read']}, "
            f"written {t['records_written']}, quarantined {t['records_quarantined']}"
            + (f"; quarantined whole: {whole}" if whole else "")
        )


def new_run_id(started_at: datetime) -> str:
    return started_at.astimezone(UTC).strftime(RUN_ID_FORMAT)


def configure_session(spark: SparkSession) -> None:
    """Session settings bronze depends on, whoever built the session (Glue, local, tests)."""
    spark.conf.set("spark.sql.session.timeZone", "UTC")
    spark.conf.set("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS")
    spark.conf.set("spark.sql.parquet.compression.codec", COMPRESSION)


def split_bytes(raw_bytes: int, cores: int, options: IngestOptions) -> int:
    """The split size of the reads: each task writes one bronze file, so at most `raw_bytes_per_file`;
    and a multiple of `cores` splits of equal size, so that no core waits for the last one alone; but
    not below MIN_SPLIT_BYTES, so that a small run's files are packed into few tasks and bronze files."""
    tasks = cores * max(1, math.ceil(raw_bytes / (cores * options.raw_bytes_per_file)))
    return max(min(MIN_SPLIT_BYTES, options.raw_bytes_per_file), math.ceil(raw_bytes / tasks))


def ingest_dataset(
    spark: SparkSession,
    dataset: str,
    paths: DatasetPaths,
    ingest_date: date,
    started_at: datetime,
    options: IngestOptions | None = None,
) -> RunSummary:
    """Ingest the raw files of `dataset` not yet in any manifest, as one committed run."""
    options = options or IngestOptions()
    clock = time.monotonic()
    configure_session(spark)
    contract = load_contract(dataset)
    try:
        reader = reader_for(contract.format)
    except NotImplementedError as exc:
        raise IngestError(f"dataset {dataset}: {exc}") from exc
    paths = paths.normalized()
    run_id = new_run_id(started_at)
    summary = RunSummary(
        run_id=run_id, dataset=dataset, ingest_date=ingest_date.isoformat(), status="nothing new"
    )
    source = st.storage_for(paths.source_path)
    lake = st.storage_for(paths.bronze_path)
    if st.is_s3(paths.bronze_path) != st.is_s3(paths.quarantine_path):
        raise IngestError(f"dataset {dataset}: bronze and quarantine must be on the same storage")
    layout = Layout(paths.bronze_path, paths.quarantine_path, contract.partition_name)

    recover(lake, layout)
    manifests = load_manifests(lake, paths.bronze_path)
    raw_files = list_raw_files(source, paths.source_path)
    if not raw_files:
        log.info("dataset %s: no raw files under %s: nothing to do", dataset, paths.source_path)
        summary.status = "no raw files"
        return summary
    done = ingested_paths(manifests)
    new_files = [f for f in raw_files if f.relative not in done]
    summary.skipped = [f.relative for f in raw_files if f.relative in done]
    sizes = ingested_sizes(manifests)
    for f in raw_files:
        if f.relative in done and f.size != sizes[f.relative]:
            summary.changed_after_ingest[f.relative] = f"{sizes[f.relative]} bytes when ingested, {f.size} now"
            log.warning(
                "dataset %s: raw file %s was ingested before (%d bytes) and has changed since (%d bytes): its new "
                "content is NOT ingested; deliver a correction under a new file name",
                dataset, f.relative, sizes[f.relative], f.size,
            )
    log.info(
        "dataset %s: %d raw file(s): %d new, %d skipped as already ingested",
        dataset,
        len(raw_files),
        len(new_files),
        len(summary.skipped),
    )
    if not new_files:
        summary.duration_seconds = round(time.monotonic() - clock, 3)
        log.info("dataset %s: nothing new", dataset)
        return summary
    check_run_order(manifests, dataset, run_id, ingest_date)

    config = RunConfig(contract=contract, run_id=run_id, ingested_at=started_at)
    plan = reader.plan(source, new_files, dataset)
    stats = {f.relative: FileStats(path=f.relative, size=f.size) for f in new_files}
    begin(lake, layout, run_id)
    target = StageTarget(lake, layout, ingest_date, options.max_records_per_file)
    split = split_bytes(sum(f.size for f in new_files), spark.sparkContext.defaultParallelism, options)
    with session_conf(spark, {"spark.sql.files.maxPartitionBytes": str(split)}):
        try:
            summary.rejected_files = Stager(spark, reader, source, target, config, stats).stage(plan)
        except StageError as exc:
            raise IngestError(str(exc)) from exc

    manifest = Manifest(
        run_id=run_id,
        dataset=dataset,
        ingest_date=ingest_date.isoformat(),
        started_at=started_at.astimezone(UTC).isoformat(),
        committed_at="",  # set by commit
        files=[stats[f.relative] for f in new_files],
    )
    commit(lake, layout, manifest, options.fail_after_moves)

    summary.status = "committed"
    summary.files = manifest.files
    summary.bronze_files = manifest.bronze_files
    summary.quarantine_files = manifest.quarantine_files
    summary.duration_seconds = round(time.monotonic() - clock, 3)
    _log_files(dataset, summary)
    lake.write_bytes(st.join(paths.bronze_path, RUNS_DIR, f"{run_id}.json"), summary.to_json())
    return summary


def _log_files(dataset: str, summary: RunSummary) -> None:
    for i, f in enumerate(summary.files, start=1):
        by_reason = f" {f.quarantined_by_reason}" if f.quarantined_by_reason else ""
        log.info(
            "dataset %s: file %d/%d %s: read %d, written %d, quarantined %d%s",
            dataset,
            i,
            len(summary.files),
            f.path,
            f.records_read,
            f.records_written,
            f.records_quarantined,
            by_reason,
        )
    t = summary.totals
    log.info(
        "dataset %s: run %s committed in %.1f s: %d file(s) ingested, %d skipped, %d quarantined whole; "
        "records read %d, written %d, quarantined %d",
        dataset,
        summary.run_id,
        summary.duration_seconds,
        t["files_ingested"],
        t["files_skipped"],
        t["files_rejected"],
        t["records_read"],
        t["records_written"],
        t["records_quarantined"],
    )


# --- entry point ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class JobArgs:
    targets: list[tuple[str, DatasetPaths]]
    ingest_date: date
    job_name: str | None = None
    glue_args: dict[str, Any] = field(default_factory=dict)
    catalog_database: str | None = None  # the Glue database of the bronze tables (catalog.py)
    register_catalog: bool | None = None  # None: not given

    def registers_catalog(self, glue: bool) -> bool:
        """Whether bronze is registered in the catalog after the runs: as --register_catalog says, else
        on Glue when --catalog_database is given."""
        if self.catalog_database is None:
            return False
        if self.register_catalog is not None:
            return self.register_catalog
        # Locally the lake is usually a folder, which no Glue table can point at.
        return glue


def on_glue() -> bool:
    return importlib.util.find_spec("awsglue") is not None


def _ingest_date(value: str) -> date:
    try:
        if len(value) != 10:
            raise ValueError
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date in the form YYYY-MM-DD: {value!r}") from None


def _catalog_options(database: str | None, register: str | None) -> tuple[str | None, bool | None]:
    """--catalog_database and --register_catalog as given (None when absent) -> (database, register)."""
    database = database or None
    flag = None
    if register is not None:
        if register.lower() not in ("true", "false"):
            raise ValueError(f"--register_catalog must be true or false, not {register!r}")
        flag = register.lower() == "true"
    if flag and database is None:
        raise ValueError("--register_catalog true needs --catalog_database")
    return database, flag


def _targets(
    dataset: str, lake_root: str | None, source: str | None, bronze: str | None, quarantine: str | None
) -> list[tuple[str, DatasetPaths]]:
    names = available_datasets() if dataset == "all" else [d.strip() for d in dataset.split(",") if d.strip()]
    if not names:
        raise ValueError("no dataset to ingest" + (" (no contracts found)" if dataset == "all" else ""))
    for name in names:
        load_contract(name)  # fails early, with the list of known datasets, on a typo
    explicit = (source, bronze, quarantine)
    if lake_root is None:
        if None in explicit:
            raise ValueError("give --source_path, --bronze_path and --quarantine_path, or --lake_root")
        if len(names) != 1:
            raise ValueError("explicit paths need a single --dataset; use --lake_root for several")
        return [(names[0], DatasetPaths(*explicit))]  # type: ignore[arg-type]
    if any(explicit) and len(names) != 1:
        raise ValueError("explicit paths need a single --dataset")
    targets = []
    for name in names:
        default = DatasetPaths.under_lake_root(lake_root, name)
        targets.append(
            (
                name,
                DatasetPaths(
                    source or default.source_path,
                    bronze or default.bronze_path,
                    quarantine or default.quarantine_path,
                ),
            )
        )
    return targets


def parse_args(argv: Sequence[str], today: date) -> JobArgs:
    parser = argparse.ArgumentParser(
        prog="python -m glue_ingest",
        description=__doc__,
        epilog=EXIT_STATUS_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--dataset", required=True, help="a dataset, several comma-separated, or 'all'")
    parser.add_argument(
        "--lake_root", help="local lake folder: paths default to <root>/{raw,bronze,quarantine}/<dataset>"
    )
    parser.add_argument("--source_path", help="the dataset's raw folder")
    parser.add_argument("--bronze_path", help="the dataset's bronze folder")
    parser.add_argument("--quarantine_path", help="the dataset's quarantine folder")
    parser.add_argument(
        "--ingest_date", type=_ingest_date, default=today, help="YYYY-MM-DD, default today (UTC)"
    )
    parser.add_argument("--JOB_NAME", help="ignored locally (Glue passes it)")
    parser.add_argument(
        "--catalog_database", metavar="NAME", help="the Glue database of the bronze tables, e.g. prod_bronze"
    )
    parser.add_argument(
        "--register_catalog",
        metavar="true|false",
        help="register bronze in --catalog_database after the runs; default: true on Glue, false locally",
    )
    args = parser.parse_args(list(argv))
    try:
        catalog_database, register_catalog = _catalog_options(args.catalog_database, args.register_catalog)
        targets = _targets(
            args.dataset, args.lake_root, args.source_path, args.bronze_path, args.quarantine_path
        )
    except (ValueError, ContractError) as exc:
        parser.error(str(exc))
    return JobArgs(
        targets=targets,
        ingest_date=args.ingest_date,
        job_name=args.JOB_NAME,
        catalog_database=catalog_database,
        register_catalog=register_catalog,
    )


def parse_glue_args(argv: Sequence[str], today: date) -> JobArgs:
    from awsglue.utils import getResolvedOptions

    # getResolvedOptions requires every argument it is asked for: optional ones only when given.
    names = GLUE_REQUIRED_ARGS + (["ingest_date"] if _given(argv, "ingest_date") else [])
    names += [name for name in GLUE_CATALOG_ARGS if _given(argv, name)]
    resolved = getResolvedOptions(list(argv), names)
    try:
        catalog_database, register_catalog = _catalog_options(
            resolved.get("catalog_database"), resolved.get("register_catalog")
        )
        ingest_date = _ingest_date(resolved["ingest_date"]) if "ingest_date" in resolved else today
        targets = _targets(
            resolved["dataset"],
            None,
            resolved["source_path"],
            resolved["bronze_path"],
            resolved["quarantine_path"],
        )
    except (ValueError, argparse.ArgumentTypeError, ContractError) as exc:
        raise IngestError(f"bad job arguments: {exc}") from exc
    return JobArgs(
        targets=targets,
        ingest_date=ingest_date,
        job_name=resolved["JOB_NAME"],
        glue_args=resolved,
        catalog_database=catalog_database,
        register_catalog=register_catalog,
    )


def _given(argv: Sequence[str], name: str) -> bool:
    """Whether argv has `--name value` or `--name=value`."""
    return f"--{name}" in argv or any(arg.startswith(f"--{name}=") for arg in argv)


def build_local_session() -> SparkSession:
    # Python workers (the JSON reader's parser) run this interpreter, which has glue_ingest, rather
    # than whatever `python3` is first on the PATH.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    return (
        SparkSession.builder.master(os.environ.get("SPARK_MASTER", "local[*]"))
        .appName("glue_ingest")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS")
        .config("spark.sql.parquet.compression.codec", COMPRESSION)
        .config("spark.sql.shuffle.partitions", str(max(2, os.cpu_count() or 2)))
        .getOrCreate()
    )


def quiet_csv_warnings(spark: SparkSession) -> None:
    """Spark warns on every CSV read given a two-character lineSep, which CRLF files need (it keeps
    CRLF inside quoted values as delivered); the limitation it warns about does not apply to us."""
    try:
        jvm = spark.sparkContext._jvm
        level = jvm.org.apache.logging.log4j.Level.ERROR
        jvm.org.apache.logging.log4j.core.config.Configurator.setLevel(
            "org.apache.spark.sql.catalyst.csv.CSVOptions", level
        )
    except Exception:  # only cosmetics: never fail a run for it
        log.debug("could not quiet Spark's CSVOptions warnings", exc_info=True)


def _fail_after_moves() -> int | None:
    value = os.environ.get(FAIL_AFTER_MOVES_ENV)
    return int(value) if value else None


def main(argv: Sequence[str] | None = None) -> int:
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    started_at = datetime.now(UTC)
    glue = on_glue()
    try:
        if glue:
            args = parse_glue_args(sys.argv if argv is None else argv, started_at.date())
        else:
            args = parse_args(sys.argv[1:] if argv is None else argv, started_at.date())
    except IngestError as exc:
        log.error("%s", exc)
        return 2
    status = run_datasets(args, started_at, glue)
    return register_in_catalog(args, glue, status)


def run_datasets(args: JobArgs, started_at: datetime, glue: bool) -> int:
    """One run per dataset, in the Glue or local Spark session; returns the exit status."""
    glue_job = None
    owns_session = False
    if glue:
        from awsglue.context import GlueContext
        from awsglue.job import Job
        from pyspark.context import SparkContext

        glue_context = GlueContext(SparkContext.getOrCreate())
        spark = glue_context.spark_session
        glue_job = Job(glue_context)
        glue_job.init(args.job_name, args.glue_args)
    else:
        # Reuse a session the caller already has (tests, a notebook) as it is.
        active = SparkSession.getActiveSession()
        owns_session = active is None
        spark = active or build_local_session()
        if owns_session:
            spark.sparkContext.setLogLevel("WARN")
            quiet_csv_warnings(spark)

    options = IngestOptions(fail_after_moves=_fail_after_moves())
    failed = []
    lines = []
    rejected_whole = False
    try:
        for dataset, paths in args.targets:
            log.info(
                "dataset %s: run %s, ingest_date %s, %s -> %s",
                dataset,
                new_run_id(started_at),
                args.ingest_date,
                paths.source_path,
                paths.bronze_path,
            )
            try:
                summary = ingest_dataset(spark, dataset, paths, args.ingest_date, started_at, options)
            except (IngestError, RunOrderError, ContractError) as exc:
                log.error("dataset %s failed: %s", dataset, exc)
                failed.append(dataset)
                lines.append(f"{dataset}: FAILED, nothing committed: {exc}")
            except Exception as exc:
                log.exception("dataset %s failed: %s: %s", dataset, type(exc).__name__, exc)
                failed.append(dataset)
                lines.append(f"{dataset}: FAILED, nothing committed: {type(exc).__name__}: {exc}")
            else:
                rejected_whole = rejected_whole or bool(summary.rejected_files)
                lines.append(summary.line())
        print("\n".join(lines), flush=True)  # the CLI's own report, for people; details are in the log
        if failed:
            log.error("ingest failed for dataset(s): %s", ", ".join(failed))
            return EXIT_FAILED
        # Everything was committed: Glue may move its bookmark on, whatever was quarantined.
        if glue_job is not None:
            glue_job.commit()
        log.info("ingest done: %s", ", ".join(d for d, _ in args.targets))
        if rejected_whole:
            log.warning("some file(s) were quarantined whole: exit status %d", EXIT_FILES_QUARANTINED_WHOLE)
            return EXIT_FILES_QUARANTINED_WHOLE
        return EXIT_OK
    finally:
        if owns_session:
            spark.stop()


def register_in_catalog(args: JobArgs, glue: bool, status: int) -> int:
    """Register bronze in the Glue Data Catalog (catalog.py) if asked to; returns the job's exit status.

    Runs after every dataset's run, whether it committed, found nothing new or failed (and after the
    Glue job commit, which only follows when none failed), and covers every committed partition absent
    from the catalog, so it also repairs earlier failed registrations. Its failure makes the exit
    status non-zero without touching committed data.
    """
    database = args.catalog_database
    if database is None:
        log.debug("catalog registration skipped: no --catalog_database")
        return status
    if not args.registers_catalog(glue):
        if glue:
            log.info("catalog registration skipped: --register_catalog false")
        else:
            log.info("catalog registration skipped: not on Glue; pass --register_catalog true to register")
        return status
    targets = [(dataset, paths.bronze_path) for dataset, paths in args.targets]
    failed = catalog.register_bronze(targets, database, args.ingest_date)
    if failed:
        log.error("catalog registration failed for dataset(s): %s", ", ".join(failed))
        return status or EXIT_FAILED
    log.info("catalog: %s registered in %s", ", ".join(d for d, _ in targets), database)
    return status
