"""Trino 476 from Maven Central, downloaded once into a cache outside the repository and checked by its checksum.

The tarball is about 820 MB with some forty connectors; only the two the local Athena uses (iceberg for the
lake's tables, hive for bronze and for the Hive DDL of Athena) are extracted, about 200 MB. The cache is
`$LAKEHOUSE_CACHE` or `~/.cache/lakehouse`, shared by every clone and lake root of the machine.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

log = logging.getLogger(__name__)

TRINO_VERSION = "476"
TRINO_URL = (f"https://repo1.maven.org/maven2/io/trino/trino-server/{TRINO_VERSION}/"
             f"trino-server-{TRINO_VERSION}.tar.gz")
# sha256 of the tarball, computed here; Maven Central publishes its sha1 beside it, checked as well.
TRINO_SHA256 = "cfd5accde17e8ebd251eeeb78aed1f490e77bb3a164d95a0f454bf8a7c1cbd3f"
TRINO_SHA1 = "c9b38be4017ebd2f7095455aaac772fb40247ebe"
PLUGINS = ("iceberg", "hive")


class InstallError(RuntimeError):
    """Something the user must act on; the message says what."""


def cache_dir() -> Path:
    return Path(os.environ.get("LAKEHOUSE_CACHE") or Path.home() / ".cache" / "lakehouse")


def trino_home() -> Path:
    return cache_dir() / f"trino-server-{TRINO_VERSION}"


def is_installed() -> bool:
    home = trino_home()
    return (home / ".complete").exists() and all((home / "plugin" / p).is_dir() for p in PLUGINS)


def _digests(path: Path) -> tuple[str, str]:
    sha256, sha1 = hashlib.sha256(), hashlib.sha1()  # noqa: S324 - sha1 only to compare with Maven's published one
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            sha256.update(chunk)
            sha1.update(chunk)
    return sha256.hexdigest(), sha1.hexdigest()


def download(tarball: Path) -> None:
    part = tarball.with_suffix(".part")
    log.info("downloading %s (about 820 MB) into %s", TRINO_URL, tarball.parent)
    try:
        with urllib.request.urlopen(TRINO_URL, timeout=60) as response, part.open("wb") as out:  # noqa: S310
            total = int(response.headers.get("Content-Length") or 0)
            done, next_report = 0, 0
            while chunk := response.read(1 << 20):
                out.write(chunk)
                done += len(chunk)
                if total and done >= next_report:
                    print(f"   {done >> 20} / {total >> 20} MB", file=sys.stderr, flush=True)
                    next_report += total // 10
    except (urllib.error.URLError, OSError) as exc:
        part.unlink(missing_ok=True)
        raise InstallError(f"could not download {TRINO_URL}: {exc}. The local Athena needs Maven Central; "
                           f"or put the tarball at {tarball} yourself.") from exc
    part.rename(tarball)


def verify(tarball: Path) -> None:
    sha256, sha1 = _digests(tarball)
    if sha256 != TRINO_SHA256 or sha1 != TRINO_SHA1:
        bad = tarball.with_suffix(".rejected")
        tarball.rename(bad)
        raise InstallError(f"{tarball.name} has sha256 {sha256}, expected {TRINO_SHA256}: moved aside to {bad}; "
                           f"run the command again to download it anew")


def extract(tarball: Path) -> None:
    """bin/, lib/ and the two plugins. The tarball stores the jars that plugins share as hard links into other
    plugins, so the whole tree is unpacked by tar (which keeps the links: ~10 s) and the rest is deleted."""
    home = trino_home()
    prefix = f"trino-server-{TRINO_VERSION}"
    staging = Path(tempfile.mkdtemp(prefix="trino-extract-", dir=cache_dir()))
    try:
        if shutil.which("tar"):
            subprocess.run(["tar", "-xzf", str(tarball), "-C", str(staging)], check=True)
        else:  # pragma: no cover - every supported machine has tar
            with tarfile.open(tarball, "r:gz") as archive:
                archive.extractall(staging, filter="tar")
        unpacked = staging / prefix
        for plugin in (unpacked / "plugin").iterdir():
            if plugin.name not in PLUGINS:
                shutil.rmtree(plugin)
        for extra in ("etc", "README.txt"):
            path = unpacked / extra
            if path.is_dir():
                shutil.rmtree(path)
            elif path.exists():
                path.unlink()
        shutil.rmtree(home, ignore_errors=True)
        unpacked.rename(home)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    (home / ".complete").write_text(TRINO_SHA256 + "\n")


def ensure_trino() -> Path:
    """The Trino home, downloading and extracting it on first use."""
    if is_installed():
        return trino_home()
    cache_dir().mkdir(parents=True, exist_ok=True)
    tarball = cache_dir() / f"trino-server-{TRINO_VERSION}.tar.gz"
    if not tarball.exists():
        download(tarball)
    verify(tarball)
    log.info("extracting Trino %s (plugins: %s) into %s", TRINO_VERSION, ", ".join(PLUGINS), trino_home())
    extract(tarball)
    return trino_home()
