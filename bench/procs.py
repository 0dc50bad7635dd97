"""The bench's commands: the harness's (testkit) with the peak memory of the process tree measured, no timeout."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

from testkit.commands import BIN, REPO, Result, base_env
from testkit.commands import run as _run
from testkit.lake import Lake

__all__ = ["BIN", "REPO", "Lake", "Result", "base_env", "dbt", "dir_bytes", "ingest", "log", "run"]


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def run(command: Sequence[str], env: dict[str, str], log_file: Path, ok: Sequence[int] = (0,)) -> Result:
    """Run `command` in the repository; its output goes to `log_file`. Raises CommandFailed unless rc in ok."""
    return _run(command, env, log_file, ok, timeout=None, measure_memory=True)


def dir_bytes(path: Path, suffix: str = "") -> int:
    if not path.exists():
        return 0
    return sum(p.stat().st_size for p in path.rglob(f"*{suffix}") if p.is_file() and not p.name.startswith("."))



def dbt(lake: Lake, name: str, *args: str, **env: str) -> Result:
    """`dbt <args> --target local` on `lake` as a user types it, measured; output in cmd-logs/<name>.log."""
    return lake.dbt_cli(*args, log=name, timeout=None, measure_memory=True, **env)


def ingest(lake: Lake, name: str, dataset: str = "all", ingest_date: str | None = None, **env: str) -> Result:
    """`python -m glue_ingest` on `lake` (every dataset by default), measured; output in cmd-logs/<name>.log."""
    return lake.ingest_cli(dataset, ingest_date, log=name, timeout=None, measure_memory=True, **env)
