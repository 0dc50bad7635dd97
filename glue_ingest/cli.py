"""The ingest job's command lines: `python -m glue_ingest` locally, and the Glue 5 job script
(`glue_job.py`, arguments from `getResolvedOptions`); one run per dataset (run.py), then, if asked
(--catalog_database), bronze registered in the Glue Data Catalog (catalog.py)."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from pyspark.sql import SparkSession

from glue_ingest import catalog
from glue_ingest.commit import FAIL_AFTER_MOVES_ENV
from glue_ingest.contracts import ContractError, available_datasets, load_contract
from glue_ingest.manifest import (
    RunOrderError,
)
from glue_ingest.run import DatasetPaths, IngestError, IngestOptions, ingest_dataset, new_run_id
from glue_ingest.session import build_local_session, on_glue, quiet_csv_warnings

log = logging.getLogger(__name__)


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
    parser.add_argument("--ingest_date", type=_ingest_date, default=today, help="YYYY-MM-DD, default today (UTC)")
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
        targets = _targets(args.dataset, args.lake_root, args.source_path, args.bronze_path, args.quarantine_path)
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
            stop_local_session(spark)


def stop_local_session(spark: SparkSession) -> None:
    """Stop the session this process built, without PySpark's one-second wait at the end of every local run:
    `SparkContext.stop` shuts its accumulator server down, whose handler only looks for the shutdown between polls
    of a second each. The server runs in a daemon thread, which ends with the process a moment later."""
    context = spark.sparkContext
    if getattr(context, "_accumulatorServer", None) is not None:
        context._accumulatorServer = None  # type: ignore[assignment]
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
