"""Stage, commit, recover: how a run's files become visible exactly once.

1. `begin` writes a marker into `<bronze>/_staging/<run_id>/`; Spark then writes the run's Parquet
   files under `<bronze>/_staging/<run_id>/` and `<quarantine>/_staging/<run_id>/`.
2. `commit` moves each staged file to its final name `ingest_date=D/<run_id>_<seq>.zstd.parquet`,
   then writes the manifest (the commit point), then deletes the staging folders, marker last.
3. `recover`, at the start of every run, finishes or undoes what a crashed run left: a staging
   folder whose run has a manifest is just deleted; one without a manifest means the run never
   committed, so its final files (found by their `<run_id>_` prefix) are deleted before it. Its raw
   files are not in any manifest, so this run ingests them again.

A move need not be atomic (S3 has copy + delete): until the manifest exists nothing of the run
counts, and recovery can always find and delete its files by name. The marker keeps the staging
folder, and so the run, discoverable until the very end, even once every data file has moved.

Two runs of one dataset must not overlap (a Glue job with max concurrency 1): recovery would take
the other run's staging folder for a crashed run's.
"""

from __future__ import annotations

import json
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime

from glue_ingest import storage as st
from glue_ingest.manifest import Manifest, manifest_path, write_manifest

log = logging.getLogger(__name__)

STAGING_DIR = "_staging"
MARKER = "_RUN_STARTED"
FAIL_AFTER_MOVES_ENV = "GLUE_INGEST_FAIL_AFTER_MOVES"
MOVE_THREADS = 16


class InjectedFault(RuntimeError):
    """Raised on purpose in the middle of a commit, to test recovery."""


@dataclass(frozen=True)
class Layout:
    bronze_path: str
    quarantine_path: str
    partition_name: str = "ingest_date"

    @property
    def roots(self) -> tuple[str, str]:
        return (self.bronze_path, self.quarantine_path)

    def staging_dir(self, root: str, run_id: str) -> str:
        return st.join(root, STAGING_DIR, run_id)

    def staging_partition(self, root: str, run_id: str, ingest_date: date) -> str:
        """Where Spark writes the run's files for `root`."""
        return st.join(self.staging_dir(root, run_id), self.partition_dir(ingest_date))

    def partition_dir(self, ingest_date: date) -> str:
        return f"{self.partition_name}={ingest_date.isoformat()}"

    def marker(self, run_id: str) -> str:
        return st.join(self.staging_dir(self.bronze_path, run_id), MARKER)


def final_name(run_id: str, seq: int) -> str:
    return f"{run_id}_{seq:05d}.zstd.parquet"


def begin(storage: st.Storage, layout: Layout, run_id: str) -> None:
    storage.write_bytes(layout.marker(run_id), json.dumps({"run_id": run_id}).encode("utf-8"))


def _planned_moves(storage: st.Storage, layout: Layout, root: str, run_id: str) -> list[tuple[str, str]]:
    staging = layout.staging_dir(root, run_id)
    staged = []
    for info in storage.list_files(staging):
        rel = st.relative(info.path, staging)
        name = st.basename(rel)
        if name.startswith((".", "_")) or not name.endswith(".parquet"):  # _SUCCESS, .crc, the marker
            continue
        partition = rel.split("/")[0]
        if "/" not in rel or not partition.startswith(f"{layout.partition_name}="):
            raise RuntimeError(f"staged file {info.path} is not inside a {layout.partition_name}= folder")
        staged.append((rel, partition, info.path))
    return [
        (path, st.join(root, partition, final_name(run_id, seq)))
        for seq, (_, partition, path) in enumerate(sorted(staged))
    ]


def commit(
    storage: st.Storage, layout: Layout, manifest: Manifest, fail_after_moves: int | None = None
) -> Manifest:
    """Publish the staged files of `manifest.run_id` and write its manifest.

    `fail_after_moves=k` raises InjectedFault once k files have moved (before the manifest when all
    have), to simulate a crash.
    """
    run_id = manifest.run_id
    bronze_moves = _planned_moves(storage, layout, layout.bronze_path, run_id)
    quarantine_moves = _planned_moves(storage, layout, layout.quarantine_path, run_id)
    moves = bronze_moves + quarantine_moves
    # An injected fault stops after exactly `fail_after_moves` moves, as a crash between two would.
    count = len(moves) if fail_after_moves is None else min(fail_after_moves, len(moves))
    move_all(storage, moves[:count])
    _maybe_fail(count, fail_after_moves)
    manifest.committed_at = datetime.now(UTC).isoformat()
    manifest.bronze_files = [st.relative(dst, layout.bronze_path) for _, dst in bronze_moves]
    manifest.quarantine_files = [st.relative(dst, layout.quarantine_path) for _, dst in quarantine_moves]
    path = write_manifest(storage, layout.bronze_path, manifest)
    log.info(
        "run %s committed: %d bronze and %d quarantine files, manifest %s",
        run_id,
        len(bronze_moves),
        len(quarantine_moves),
        path,
    )
    delete_staging(storage, layout, run_id)
    return manifest


def move_all(storage: st.Storage, moves: list[tuple[str, str]]) -> None:
    """Move files side by side: on S3 each move is a copy and a delete, a round trip of its own."""
    if len(moves) <= 1:
        for src, dst in moves:
            storage.move(src, dst)
        return
    with ThreadPoolExecutor(max_workers=min(MOVE_THREADS, len(moves))) as pool:
        for future in [pool.submit(storage.move, src, dst) for src, dst in moves]:
            future.result()  # the first failure is raised once every move has ended


def _maybe_fail(moved: int, fail_after_moves: int | None) -> None:
    if fail_after_moves is not None and moved >= fail_after_moves:
        raise InjectedFault(f"injected failure after {moved} moved file(s) ({FAIL_AFTER_MOVES_ENV})")


def delete_staging(storage: st.Storage, layout: Layout, run_id: str) -> None:
    storage.delete_tree(layout.staging_dir(layout.quarantine_path, run_id))
    bronze_staging = layout.staging_dir(layout.bronze_path, run_id)
    marker = layout.marker(run_id)
    for info in storage.list_files(bronze_staging):
        if info.path != marker:
            storage.delete(info.path)
    storage.delete(marker)
    storage.delete_tree(bronze_staging)


def _final_files_of(storage: st.Storage, layout: Layout, root: str, run_id: str) -> list[str]:
    found = []
    for info in storage.list_files(root):
        parts = st.relative(info.path, root).split("/")
        if (
            len(parts) == 2
            and parts[0].startswith(f"{layout.partition_name}=")
            and parts[1].startswith(f"{run_id}_")
        ):
            found.append(info.path)
    return found


def recover(storage: st.Storage, layout: Layout) -> list[str]:
    """Clean up after crashed runs; returns the ids of the runs that were rolled back."""
    run_ids = sorted(
        {run_id for root in layout.roots for run_id in storage.list_dirs(st.join(root, STAGING_DIR))}
    )
    rolled_back = []
    for run_id in run_ids:
        if storage.exists(manifest_path(layout.bronze_path, run_id)):
            log.info("recovery: run %s was committed; deleting its leftover staging", run_id)
        else:
            bronze = _final_files_of(storage, layout, layout.bronze_path, run_id)
            quarantine = _final_files_of(storage, layout, layout.quarantine_path, run_id)
            for path in bronze + quarantine:
                storage.delete(path)
            log.warning(
                "recovery: run %s never committed; rolled back %d bronze and %d quarantine file(s) it had "
                "published; its raw files will be ingested again",
                run_id,
                len(bronze),
                len(quarantine),
            )
            rolled_back.append(run_id)
        delete_staging(storage, layout, run_id)
    return rolled_back
