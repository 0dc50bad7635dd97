"""Stage / commit / recover and the manifest, on the local file system and on S3 (moto), without Spark.

Staged "Parquet" files here are just bytes: the protocol only moves files around.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from glue_ingest import storage as st
from glue_ingest.commit import InjectedFault, Layout, begin, commit, recover
from glue_ingest.manifest import (
    FileStats,
    Manifest,
    RunOrderError,
    check_run_order,
    ingested_paths,
    load_manifests,
    manifest_path,
)

RUN = "20240102T030405123456Z"
DAY = date(2024, 1, 2)


@pytest.fixture(params=["local", "s3"])
def layout_and_storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Layout, st.Storage]]:
    if request.param == "local":
        root = str(tmp_path)
        yield Layout(f"{root}/bronze/web_logs", f"{root}/quarantine/web_logs"), st.LocalStorage()
        return
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket="lake")
        yield Layout("s3://lake/bronze/web_logs", "s3://lake/quarantine/web_logs"), st.S3Storage(client)


def stage(storage: st.Storage, layout: Layout, run_id: str, bronze: int, quarantine: int) -> None:
    """What Spark leaves in staging: part files plus its own side files."""
    begin(storage, layout, run_id)
    for root, count in ((layout.bronze_path, bronze), (layout.quarantine_path, quarantine)):
        folder = layout.staging_partition(root, run_id, DAY)
        for i in range(count):
            storage.write_bytes(f"{folder}/part-{i:05d}-abc.c000.snappy.parquet", f"{root}:{i}".encode())
            storage.write_bytes(f"{folder}/.part-{i:05d}-abc.c000.snappy.parquet.crc", b"crc")
        storage.write_bytes(f"{folder}/_SUCCESS", b"")


def manifest(
    run_id: str = RUN, ingest_date: str = "2024-01-02", paths: tuple[str, ...] = ("a.csv",)
) -> Manifest:
    return Manifest(
        run_id=run_id,
        dataset="web_logs",
        ingest_date=ingest_date,
        started_at="2024-01-02T03:04:05.123456+00:00",
        committed_at="",
        files=[FileStats(p, 10, 3, 2, 1, {"invalid UTF-8": 1}) for p in paths],
    )


def relative_files(storage: st.Storage, root: str) -> list[str]:
    return [st.relative(f.path, root) for f in storage.list_files(root)]


def test_commit_publishes_under_final_names(layout_and_storage: tuple[Layout, st.Storage]) -> None:
    layout, storage = layout_and_storage
    stage(storage, layout, RUN, bronze=3, quarantine=2)
    committed = commit(storage, layout, manifest())

    bronze_names = [f"ingest_date=2024-01-02/{RUN}_{i:05d}.zstd.parquet" for i in range(3)]
    quarantine_names = [f"ingest_date=2024-01-02/{RUN}_{i:05d}.zstd.parquet" for i in range(2)]
    assert relative_files(storage, layout.bronze_path) == [f"_manifest/{RUN}.json", *bronze_names]
    assert relative_files(storage, layout.quarantine_path) == quarantine_names
    # seq follows the staged files' sorted order
    assert storage.read_bytes(f"{layout.bronze_path}/{bronze_names[2]}") == f"{layout.bronze_path}:2".encode()
    assert committed.bronze_files == bronze_names
    assert committed.quarantine_files == quarantine_names
    assert committed.committed_at

    (loaded,) = load_manifests(storage, layout.bronze_path)
    assert loaded == committed
    assert loaded.files == [FileStats("a.csv", 10, 3, 2, 1, {"invalid UTF-8": 1})]
    assert ingested_paths([loaded]) == {"a.csv"}


@pytest.mark.parametrize("fail_after", [0, 1, 3, 5])
def test_crash_during_commit_is_rolled_back(
    layout_and_storage: tuple[Layout, st.Storage], fail_after: int
) -> None:
    layout, storage = layout_and_storage
    stage(storage, layout, RUN, bronze=3, quarantine=2)
    with pytest.raises(InjectedFault):
        commit(storage, layout, manifest(), fail_after_moves=fail_after)
    published = [
        p
        for root in layout.roots
        for p in relative_files(storage, root)
        if p.startswith("ingest_date=")
    ]
    assert len(published) == fail_after
    assert not storage.exists(manifest_path(layout.bronze_path, RUN))

    assert recover(storage, layout) == [RUN]
    assert relative_files(storage, layout.bronze_path) == []
    assert relative_files(storage, layout.quarantine_path) == []
    assert recover(storage, layout) == []  # nothing left to do


def test_recover_keeps_committed_run_and_removes_its_leftover_staging(
    layout_and_storage: tuple[Layout, st.Storage],
) -> None:
    layout, storage = layout_and_storage
    stage(storage, layout, RUN, bronze=2, quarantine=1)
    commit(storage, layout, manifest())
    before = relative_files(storage, layout.bronze_path)
    # As if the run had died after writing its manifest, before deleting its staging.
    begin(storage, layout, RUN)
    storage.write_bytes(f"{layout.staging_dir(layout.quarantine_path, RUN)}/ingest_date=2024-01-02/x", b"x")

    assert recover(storage, layout) == []
    assert relative_files(storage, layout.bronze_path) == before
    assert storage.list_dirs(f"{layout.bronze_path}/_staging") == []
    assert storage.list_dirs(f"{layout.quarantine_path}/_staging") == []


def test_recover_only_touches_the_crashed_run(layout_and_storage: tuple[Layout, st.Storage]) -> None:
    layout, storage = layout_and_storage
    stage(storage, layout, RUN, bronze=2, quarantine=1)
    commit(storage, layout, manifest())
    later = "20240102T040000000000Z"
    stage(storage, layout, later, bronze=2, quarantine=1)
    with pytest.raises(InjectedFault):
        commit(storage, layout, manifest(later, paths=("b.csv",)), fail_after_moves=2)

    assert recover(storage, layout) == [later]
    assert relative_files(storage, layout.bronze_path) == [
        f"_manifest/{RUN}.json",
        f"ingest_date=2024-01-02/{RUN}_00000.zstd.parquet",
        f"ingest_date=2024-01-02/{RUN}_00001.zstd.parquet",
    ]
    assert relative_files(storage, layout.quarantine_path) == [
        f"ingest_date=2024-01-02/{RUN}_00000.zstd.parquet"
    ]


def test_load_manifests_ignores_temporary_files_and_rejects_garbage(tmp_path: Path) -> None:
    storage = st.LocalStorage()
    bronze = str(tmp_path / "bronze")
    storage.write_bytes(f"{bronze}/_manifest/{RUN}.json", manifest().to_json())
    storage.write_bytes(f"{bronze}/_manifest/.{RUN}.json.x.tmp", b"{half")
    assert [m.run_id for m in load_manifests(storage, bronze)] == [RUN]
    storage.write_bytes(f"{bronze}/_manifest/20990101T000000000000Z.json", b"{half")
    with pytest.raises(RuntimeError, match="unreadable"):
        load_manifests(storage, bronze)


def test_run_order() -> None:
    committed = [
        manifest("20240102T030405123456Z", "2024-01-02"),
        manifest("20240103T000000000000Z", "2024-01-05"),
    ]
    check_run_order([], "web_logs", "20000101T000000000000Z", date(2000, 1, 1))
    check_run_order(committed, "web_logs", "20240103T000000000001Z", date(2024, 1, 5))
    with pytest.raises(RunOrderError, match="is not after 20240103T000000000000Z.*clock went backwards"):
        check_run_order(committed, "web_logs", "20240103T000000000000Z", date(2024, 1, 6))
    with pytest.raises(RunOrderError, match="--ingest_date 2024-01-04 is before 2024-01-05"):
        check_run_order(committed, "web_logs", "20240104T000000000000Z", date(2024, 1, 4))
