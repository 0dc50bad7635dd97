"""`dbt`, as the `dbt` command runs it, with one botocore data loader shared by every boto3 session of the process.

The Makefile runs dbt through this file (`make dbt-build`, `make scheduled-build`, what the daily schedule's
CodeBuild step runs), and so does `python -m local_athena dbt`. Arguments and exit status are dbt's own.

Why: dbt-athena opens a new boto3 session for each connection and a new client for each Glue, S3 and Athena call
(`client.session.client("glue", ...)` in dbt/adapters/athena/impl.py). botocore caches the service models it reads
(`glue/.../service-2.json.gz` and the others) per session only, so every one of those clients decompresses and
parses its service's model again. Profiled on the local Athena (py-spy, 2026-12-03), that was about half of the
dbt process's CPU in a build of this project, and the process held the GIL, so the build waited on it: a no-op
`dbt build --target athena` took 261-292 s with 192-210 s of dbt CPU without the shared loader, and 164-194 s
with 84-97 s of dbt CPU with it (two runs of each).

What changes: botocore's `create_loader` returns one Loader per search path for the whole process, so a model is
read once. A Loader only reads botocore's data files (models, endpoints, paginators) and caches what it read; it
holds no credentials, region or connection. The requests dbt-athena sends are the same, byte for byte, and dbt-athena
itself is unchanged.
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path
from typing import Any

_LOCK = threading.Lock()
_LOADERS: dict[str | None, Any] = {}


class _SearchPaths(list):  # type: ignore[type-arg]
    """A Loader's search paths, each kept once: every boto3 Session appends boto3's data folder to its loader's
    paths, which a shared loader would otherwise collect once per session."""

    def append(self, path: Any) -> None:
        if path not in self:
            super().append(path)


def share_botocore_loader() -> bool:
    """Make every botocore session of this process share one Loader per data path. True if botocore is installed
    (the DuckDB-only install has no boto3; then there is nothing to share)."""
    try:
        import botocore.loaders
        import botocore.session
    except ImportError:
        return False
    create = botocore.loaders.create_loader
    if getattr(botocore.session.create_loader, "shared", False):
        return True

    def create_loader(search_path_string: str | None = None) -> Any:
        with _LOCK:
            if search_path_string not in _LOADERS:
                loader = create(search_path_string)
                loader._search_paths = _SearchPaths(loader.search_paths)
                _LOADERS[search_path_string] = loader
            return _LOADERS[search_path_string]

    create_loader.shared = True  # type: ignore[attr-defined]
    botocore.session.create_loader = create_loader  # botocore.session imported the name: patch it where it is used
    return True


def main() -> int:
    # Run as a file, this folder is first on sys.path: take it off, so no script here can shadow a module dbt imports.
    if sys.path and sys.path[0] == str(Path(__file__).resolve().parent):
        sys.path.pop(0)
    share_botocore_loader()
    from dbt.cli.main import cli

    sys.argv[0] = "dbt"
    return cli()


if __name__ == "__main__":
    sys.exit(main())
