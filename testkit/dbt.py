"""dbt in this process, through dbtRunner: no interpreter start and no dbt import per command.

A `dbt` command in a subprocess spends seconds starting Python and importing dbt and its adapters before it
reads the project; in this process that is paid once. The lake's environment (LAKE_ROOT, ...) is set for the
length of the invocation only, and dbt-duckdb's DuckDB instance is closed after it, so that the warehouse can
then be read, copied or deleted, and the next invocation opens the file afresh.

`manifest=True` goes further: the project is parsed once per lake path and target folder, and later invocations
reuse that parsed manifest (`dbtRunner(manifest=...)`). Only for commands whose parse does not depend on their
arguments (no `--vars` that change a config); the property tests use it, since they run dbt hundreds of times.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator, Mapping
from typing import Any

from testkit.commands import CommandFailed

# dbt keeps process-wide state (flags, adapters, the event logger): one invocation at a time.
_LOCK = threading.Lock()
_MANIFESTS: dict[tuple[str, ...], Any] = {}


@contextlib.contextmanager
def environ(values: Mapping[str, str]) -> Iterator[None]:
    """os.environ with `values` set, restored afterwards."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def close_duckdb() -> None:
    """Close the DuckDB instance dbt-duckdb keeps open in the process after an invocation (if any)."""
    try:
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    except ImportError:  # the dbt extra is not installed: there is nothing to close
        return
    with DuckDBConnectionManager._LOCK:
        if DuckDBConnectionManager._ENV is not None:
            DuckDBConnectionManager._ENV.close()
            DuckDBConnectionManager._ENV = None


def failures(result: Any) -> list[str]:
    """`node: message` for every node of a dbtRunnerResult that neither passed nor was skipped."""
    nodes = getattr(result.result, "results", None) or []
    return [f"{r.node.name}: {r.status}: {r.message}" for r in nodes
            if str(r.status) not in ("success", "pass", "skipped", "no-op")]


def invoke(args: list[str], env: Mapping[str, str], manifest_key: tuple[str, ...] | None = None,
           persist_docs: bool = True, check: bool = True) -> Any:
    """`dbt <args>` in this process with `env` set; returns the dbtRunnerResult.

    With `manifest_key`, the manifest parsed for that key is reused (parsed on first use). `persist_docs=False`
    switches column and relation comments off in that manifest (no data changes; a fifth of a run's cost).
    With `check`, a failed invocation raises CommandFailed naming the failed nodes."""
    from dbt.cli.main import dbtRunner

    with _LOCK, environ(env):
        try:
            manifest = None
            if manifest_key is not None:
                key = (*manifest_key, str(persist_docs))
                if key not in _MANIFESTS:
                    parsed = dbtRunner().invoke(["parse", "--quiet", *_shared_flags(args)])
                    if not parsed.success:
                        raise CommandFailed(f"dbt parse failed: {parsed.exception}")
                    if not persist_docs:
                        for node in parsed.result.nodes.values():
                            if hasattr(node.config, "persist_docs"):
                                node.config.persist_docs = {}
                    _MANIFESTS[key] = parsed.result
                manifest = _MANIFESTS[key]
            result = dbtRunner(manifest=manifest).invoke(args)
        finally:
            close_duckdb()
    if check and not result.success:
        raise CommandFailed(f"dbt {' '.join(args)} failed: {result.exception or ''}\n" + "\n".join(failures(result)))
    return result


def _shared_flags(args: list[str]) -> list[str]:
    """The project, profile, target and folder flags of `args` (what a parse needs)."""
    keep = {"--project-dir", "--profiles-dir", "--target", "--target-path", "--log-path"}
    flags: list[str] = []
    for i, arg in enumerate(args[:-1]):
        if arg in keep:
            flags += [arg, args[i + 1]]
    return flags
