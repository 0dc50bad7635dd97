"""The durable record of what has been ingested: one manifest file per committed run.

`<bronze_path>/_manifest/<run_id>.json` is written once, atomically, as the last step of a commit;
its existence is what makes a run committed. The raw files already ingested are the union of the
paths listed by every manifest.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field
from datetime import date

from glue_ingest import storage as st

log = logging.getLogger(__name__)

MANIFEST_DIR = "_manifest"
FORMAT_VERSION = 1


class RunOrderError(RuntimeError):
    """This run cannot be committed after the runs already committed (clock or ingest_date went back)."""


@dataclass
class FileStats:
    """What happened to one raw file."""

    path: str  # relative to the dataset's raw folder
    size: int
    records_read: int = 0
    records_written: int = 0
    records_quarantined: int = 0
    quarantined_by_reason: dict[str, int] = field(default_factory=dict)

    def add(self, reason: str | None, count: int) -> None:
        self.records_read += count
        if reason is None:
            self.records_written += count
        else:
            self.records_quarantined += count
            self.quarantined_by_reason[reason] = self.quarantined_by_reason.get(reason, 0) + count


@dataclass
class Manifest:
    run_id: str
    dataset: str
    ingest_date: str
    started_at: str
    committed_at: str
    files: list[FileStats]
    bronze_files: list[str] = field(default_factory=list)  # relative to the bronze path
    quarantine_files: list[str] = field(default_factory=list)  # relative to the quarantine path
    format_version: int = FORMAT_VERSION

    def to_json(self) -> bytes:
        return (json.dumps(asdict(self), indent=2, sort_keys=False) + "\n").encode("utf-8")

    @classmethod
    def from_json(cls, data: bytes) -> Manifest:
        raw = json.loads(data.decode("utf-8"))
        files = [FileStats(**f) for f in raw.pop("files")]
        return cls(files=files, **raw)


def manifest_dir(bronze_path: str) -> str:
    return st.join(bronze_path, MANIFEST_DIR)


def manifest_path(bronze_path: str, run_id: str) -> str:
    return st.join(manifest_dir(bronze_path), f"{run_id}.json")


def load_manifests(storage: st.Storage, bronze_path: str) -> list[Manifest]:
    """Every committed run of the dataset, oldest first."""
    manifests = []
    for info in storage.list_files(manifest_dir(bronze_path)):
        name = st.basename(info.path)
        if name.startswith(".") or not name.endswith(".json"):  # e.g. an interrupted local temp file
            continue
        try:
            manifests.append(Manifest.from_json(storage.read_bytes(info.path)))
        except (ValueError, TypeError, KeyError) as exc:
            # Ignoring it would silently re-ingest its files, so refuse to go on.
            raise RuntimeError(f"manifest {info.path} is unreadable: {exc}") from exc
    return sorted(manifests, key=lambda m: m.run_id)


def write_manifest(storage: st.Storage, bronze_path: str, manifest: Manifest) -> str:
    path = manifest_path(bronze_path, manifest.run_id)
    storage.write_bytes(path, manifest.to_json())
    return path


def ingested_paths(manifests: list[Manifest]) -> set[str]:
    return {f.path for m in manifests for f in m.files}


def ingested_sizes(manifests: list[Manifest]) -> dict[str, int]:
    """Raw path -> its size in bytes when it was ingested."""
    return {f.path: f.size for m in sorted(manifests, key=lambda m: m.run_id) for f in m.files}


def check_run_order(manifests: list[Manifest], dataset: str, run_id: str, ingest_date: date) -> None:
    """Silver reads bronze incrementally by run id and prunes partitions by ingest_date, which is only
    correct if both grow with every commit."""
    if not manifests:
        return
    last = max(manifests, key=lambda m: m.run_id)
    if run_id <= last.run_id:
        raise RunOrderError(
            f"dataset {dataset}: run id {run_id} is not after {last.run_id}, the last committed run; "
            "the clock went backwards? Refusing to commit a run that would sort before it."
        )
    latest_date = max(m.ingest_date for m in manifests)
    if ingest_date.isoformat() < latest_date:
        run = next(m.run_id for m in manifests if m.ingest_date == latest_date)
        raise RunOrderError(
            f"dataset {dataset}: --ingest_date {ingest_date.isoformat()} is before {latest_date}, the "
            f"ingest_date of committed run {run}; ingest dates must never go backwards."
        )
