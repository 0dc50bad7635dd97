"""Where the lake's files live: one small interface over the local file system and S3.

The ingest job only needs a handful of object-store operations (list, read, atomic write, move,
delete), so it talks to this interface and never to `os` or boto3 directly. Paths are plain strings:
an absolute local path, or `s3://bucket/key`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, BinaryIO

log = logging.getLogger(__name__)

S3_SCHEMES = ("s3://", "s3a://", "s3n://")


@dataclass(frozen=True)
class FileInfo:
    path: str
    size: int


def join(base: str, *parts: str) -> str:
    """Join path segments with `/` (both back ends use it)."""
    out = base.rstrip("/")
    for part in parts:
        out = f"{out}/{part.strip('/')}"
    return out


def relative(path: str, root: str) -> str:
    prefix = root.rstrip("/") + "/"
    if not path.startswith(prefix):
        raise ValueError(f"{path} is not under {root}")
    return path[len(prefix) :]


def basename(path: str) -> str:
    return path.rstrip("/").rsplit("/", 1)[-1]


def is_s3(path: str) -> bool:
    return path.startswith(S3_SCHEMES)


class Storage(ABC):
    """The operations the ingest job needs. Listings are recursive and sorted by path."""

    @abstractmethod
    def list_files(self, root: str) -> list[FileInfo]:
        """Every file under `root` (recursively), sorted; empty when `root` does not exist."""

    @abstractmethod
    def list_dirs(self, root: str) -> list[str]:
        """Names of the immediate sub-folders of `root`, sorted."""

    @abstractmethod
    def read_bytes(self, path: str) -> bytes: ...

    @abstractmethod
    def read_head(self, path: str, size: int) -> bytes:
        """At most the first `size` bytes of the file."""

    @abstractmethod
    def open_at(self, path: str, offset: int) -> BinaryIO:
        """The file as a stream read from byte `offset` on (`offset` < its size); close it when done."""

    @abstractmethod
    def write_bytes(self, path: str, data: bytes) -> None:
        """Write a whole file atomically: readers see either no file or all of it."""

    @abstractmethod
    def move(self, src: str, dst: str) -> None: ...

    @abstractmethod
    def delete(self, path: str) -> None:
        """Delete a file; a missing file is not an error."""

    @abstractmethod
    def delete_tree(self, root: str) -> None:
        """Delete `root` and everything under it; a missing folder is not an error."""

    @abstractmethod
    def exists(self, path: str) -> bool: ...

    def spark_path(self, path: str) -> str:
        """The path as Spark's file sources should be given it."""
        return path


class LocalStorage(Storage):
    def list_files(self, root: str) -> list[FileInfo]:
        if not os.path.isdir(root):
            return []
        found = []
        for folder, _dirs, names in os.walk(root):
            for name in names:
                path = os.path.join(folder, name)
                found.append(FileInfo(path=path, size=os.path.getsize(path)))
        return sorted(found, key=lambda f: f.path)

    def list_dirs(self, root: str) -> list[str]:
        if not os.path.isdir(root):
            return []
        return sorted(entry.name for entry in os.scandir(root) if entry.is_dir())

    def read_bytes(self, path: str) -> bytes:
        with open(path, "rb") as f:
            return f.read()

    def read_head(self, path: str, size: int) -> bytes:
        with open(path, "rb") as f:
            return f.read(size)

    def open_at(self, path: str, offset: int) -> BinaryIO:
        f = open(path, "rb")  # noqa: SIM115 -- the caller closes it
        f.seek(offset)
        return f

    def write_bytes(self, path: str, data: bytes) -> None:
        folder = os.path.dirname(path)
        os.makedirs(folder, exist_ok=True)
        # The temporary name starts with a dot so that listings of the folder (and Spark, Hive,
        # Athena) ignore it if we crash before the rename.
        fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=folder)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.remove(tmp)
            raise

    def move(self, src: str, dst: str) -> None:
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        os.replace(src, dst)

    def delete(self, path: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.remove(path)

    def delete_tree(self, root: str) -> None:
        if os.path.exists(root):
            shutil.rmtree(root)

    def exists(self, path: str) -> bool:
        return os.path.exists(path)


def split_s3(path: str) -> tuple[str, str]:
    """`s3://bucket/a/b` -> (`bucket`, `a/b`)."""
    for scheme in S3_SCHEMES:
        if path.startswith(scheme):
            bucket, _, key = path[len(scheme) :].partition("/")
            return bucket, key
    raise ValueError(f"not an S3 path: {path}")


class S3Storage(Storage):
    """S3 through boto3. A "folder" is a key prefix ending in `/`."""

    def __init__(self, client: Any = None) -> None:
        if client is None:
            import boto3

            client = boto3.client("s3")
        self.client = client

    def _scheme(self, path: str) -> str:
        return path.split("://", 1)[0] + "://"

    def list_files(self, root: str) -> list[FileInfo]:
        bucket, key = split_s3(root)
        prefix = key.rstrip("/") + "/" if key else ""
        scheme = self._scheme(root)
        found = []
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for obj in page.get("Contents", []):
                if obj["Key"].endswith("/"):  # a console-made "folder" marker, not a file
                    continue
                found.append(FileInfo(path=f"{scheme}{bucket}/{obj['Key']}", size=int(obj["Size"])))
        return sorted(found, key=lambda f: f.path)

    def list_dirs(self, root: str) -> list[str]:
        bucket, key = split_s3(root)
        prefix = key.rstrip("/") + "/" if key else ""
        names = []
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=bucket, Prefix=prefix, Delimiter="/"):
            for common in page.get("CommonPrefixes", []):
                names.append(common["Prefix"][len(prefix) :].rstrip("/"))
        return sorted(names)

    def read_bytes(self, path: str) -> bytes:
        bucket, key = split_s3(path)
        return self.client.get_object(Bucket=bucket, Key=key)["Body"].read()

    def read_head(self, path: str, size: int) -> bytes:
        from botocore.exceptions import ClientError

        bucket, key = split_s3(path)
        try:
            response = self.client.get_object(Bucket=bucket, Key=key, Range=f"bytes=0-{size - 1}")
        except ClientError as exc:
            # S3 refuses any range of an empty object.
            if exc.response.get("Error", {}).get("Code") == "InvalidRange":
                return b""
            raise
        return response["Body"].read()

    def open_at(self, path: str, offset: int) -> BinaryIO:
        bucket, key = split_s3(path)
        body: BinaryIO = self.client.get_object(Bucket=bucket, Key=key, Range=f"bytes={offset}-")["Body"]
        return body

    def write_bytes(self, path: str, data: bytes) -> None:
        # A single PUT is atomic on S3: the object appears whole or not at all.
        bucket, key = split_s3(path)
        self.client.put_object(Bucket=bucket, Key=key, Body=data)

    def move(self, src: str, dst: str) -> None:
        # S3 has no rename: copy then delete. Not atomic, which is why the commit protocol never relies
        # on a move being atomic (see commit.py).
        src_bucket, src_key = split_s3(src)
        dst_bucket, dst_key = split_s3(dst)
        self.client.copy({"Bucket": src_bucket, "Key": src_key}, dst_bucket, dst_key)
        self.client.delete_object(Bucket=src_bucket, Key=src_key)

    def delete(self, path: str) -> None:
        bucket, key = split_s3(path)
        self.client.delete_object(Bucket=bucket, Key=key)

    def delete_tree(self, root: str) -> None:
        bucket, _ = split_s3(root)
        keys = [split_s3(f.path)[1] for f in self.list_files(root)]
        for start in range(0, len(keys), 1000):  # the DeleteObjects limit
            batch = [{"Key": k} for k in keys[start : start + 1000]]
            response = self.client.delete_objects(Bucket=bucket, Delete={"Objects": batch, "Quiet": True})
            if response.get("Errors"):
                raise OSError(f"could not delete under {root}: {response['Errors'][:3]}")

    def exists(self, path: str) -> bool:
        from botocore.exceptions import ClientError

        bucket, key = split_s3(path)
        try:
            self.client.head_object(Bucket=bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True


def normalize(path: str) -> str:
    """Local paths become absolute; S3 paths are kept as given."""
    return path.rstrip("/") if is_s3(path) else os.path.abspath(path)


def storage_for(path: str) -> Storage:
    return S3Storage() if is_s3(path) else LocalStorage()
