"""The storage interface, against the local file system and against S3 (moto, no network)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from glue_ingest import storage as st

BUCKET = "lake-bucket"


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[st.Storage, str]]:
    """(storage, root folder) for each back end."""
    if request.param == "local":
        yield st.LocalStorage(), str(tmp_path / "root")
        return
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        yield st.S3Storage(client), f"s3://{BUCKET}/lake/root"


def test_write_read_list(store: tuple[st.Storage, str]) -> None:
    storage, root = store
    assert storage.list_files(root) == []
    assert storage.list_dirs(root) == []
    storage.write_bytes(f"{root}/b/2.csv", b"two!")
    storage.write_bytes(f"{root}/a.csv", b"a")
    storage.write_bytes(f"{root}/b/c/3.csv", b"")
    storage.write_bytes(f"{root}-sibling/x.csv", b"not under root")

    assert storage.list_files(root) == [
        st.FileInfo(f"{root}/a.csv", 1),
        st.FileInfo(f"{root}/b/2.csv", 4),
        st.FileInfo(f"{root}/b/c/3.csv", 0),
    ]
    assert storage.list_dirs(root) == ["b"]
    assert storage.list_dirs(f"{root}/b") == ["c"]
    assert storage.read_bytes(f"{root}/b/2.csv") == b"two!"
    assert storage.read_head(f"{root}/b/2.csv", 2) == b"tw"
    assert storage.read_head(f"{root}/b/2.csv", 100) == b"two!"
    assert storage.read_head(f"{root}/b/c/3.csv", 10) == b""

    storage.write_bytes(f"{root}/a.csv", b"replaced")
    assert storage.read_bytes(f"{root}/a.csv") == b"replaced"


def test_exists_move_delete(store: tuple[st.Storage, str]) -> None:
    storage, root = store
    storage.write_bytes(f"{root}/staging/x.parquet", b"data")
    assert storage.exists(f"{root}/staging/x.parquet")
    assert not storage.exists(f"{root}/final/x.parquet")

    storage.move(f"{root}/staging/x.parquet", f"{root}/final/d=1/y.parquet")
    assert not storage.exists(f"{root}/staging/x.parquet")
    assert storage.read_bytes(f"{root}/final/d=1/y.parquet") == b"data"

    storage.delete(f"{root}/final/d=1/y.parquet")
    storage.delete(f"{root}/final/d=1/y.parquet")  # deleting a missing file is fine
    assert not storage.exists(f"{root}/final/d=1/y.parquet")


def test_delete_tree(store: tuple[st.Storage, str]) -> None:
    storage, root = store
    for i in range(3):
        storage.write_bytes(f"{root}/tree/sub{i}/f{i}", b"x")
    storage.write_bytes(f"{root}/keep", b"k")
    storage.delete_tree(f"{root}/tree")
    storage.delete_tree(f"{root}/tree")  # and a missing folder too
    assert storage.list_files(root) == [st.FileInfo(f"{root}/keep", 1)]


def test_local_atomic_write_leaves_no_temporary_file(tmp_path: Path) -> None:
    storage = st.LocalStorage()
    storage.write_bytes(str(tmp_path / "m" / "run.json"), b"{}")
    assert [p.name for p in (tmp_path / "m").iterdir()] == ["run.json"]


def test_path_helpers() -> None:
    assert st.join("s3://b/lake/", "bronze", "/web_logs/") == "s3://b/lake/bronze/web_logs"
    assert st.relative("s3://b/raw/2024/a b.csv", "s3://b/raw") == "2024/a b.csv"
    assert st.split_s3("s3://bucket/a/b.csv") == ("bucket", "a/b.csv")
    assert st.basename("/x/y/z.csv") == "z.csv"
    assert isinstance(st.storage_for("/tmp/x"), st.LocalStorage)
    with pytest.raises(ValueError):
        st.relative("/a/bc", "/a/b")
