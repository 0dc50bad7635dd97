"""One ingest run of one dataset: list the raw files, skip those already committed, plan, stage
(stage.py), commit exactly once (commit.py), and write the run summary."""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime

from pyspark.sql import SparkSession

from glue_ingest import storage as st
from glue_ingest.commit import Layout, begin, commit, recover
from glue_ingest.contracts import load_contract
from glue_ingest.manifest import (
    FileStats,
    Manifest,
    check_run_order,
    ingested_paths,
    ingested_sizes,
    load_manifests,
)
from glue_ingest.read import (
    list_raw_files,
    reader_for,
)
from glue_ingest.session import configure_session
from glue_ingest.stage import StageError, Stager, StageTarget, session_conf
from glue_ingest.stage_arrow import warm_up
from glue_ingest.transform import (
    RunConfig,
)

log = logging.getLogger(__name__)


RUNS_DIR = "_runs"
MIN_SPLIT_BYTES = 64 * 1024 * 1024
RUN_ID_FORMAT = "%Y%m%dT%H%M%S%fZ"


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
        return DatasetPaths(*(st.normalize(p) for p in (self.source_path, self.bronze_path, self.quarantine_path)))


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
    # The Python workers (the Arrow path's tasks run in them) start while the driver sets the session up (its SQL
    # state is made on first use, which takes a moment), lists and plans.
    threading.Thread(target=warm_up, args=(spark,), name="warm-up", daemon=True).start()
    configure_session(spark)
    contract = load_contract(dataset)
    try:
        reader = reader_for(contract.format)
    except NotImplementedError as exc:
        raise IngestError(f"dataset {dataset}: {exc}") from exc
    paths = paths.normalized()
    run_id = new_run_id(started_at)
    summary = RunSummary(run_id=run_id, dataset=dataset, ingest_date=ingest_date.isoformat(), status="nothing new")
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
                dataset,
                f.relative,
                sizes[f.relative],
                f.size,
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
