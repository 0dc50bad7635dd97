"""Running the project's commands as a user types them: in the repository, with the lake's environment.

Each command's output goes to a log file (or is kept in memory); a command that exits with a status not in `ok`
raises CommandFailed with the tail of its output. Wall time is always measured; the peak memory of the process tree
only when asked (`measure_memory=True`, for the bench: it samples /proc every 0.2 s).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent  # the virtualenv's bin: dbt, python, moto_server
_PAGE = os.sysconf("SC_PAGE_SIZE")


class CommandFailed(AssertionError):
    """A command of the project failed: the message has the command, its exit status and its output's tail.

    An AssertionError, so that pytest reports it as the test's failure with that message."""


def java_home() -> str | None:
    if os.environ.get("JAVA_HOME"):
        return os.environ["JAVA_HOME"]
    stamp = REPO / ".venv" / ".java_home"
    return stamp.read_text().strip() if stamp.exists() else None


def base_env(**extra: str) -> dict[str, str]:
    """The environment `make` gives the project's commands: the virtualenv and Java first on PATH, the
    repository's dbt profiles, the local target, Spark on the loopback address."""
    env = {**os.environ, "SPARK_LOCAL_IP": os.environ.get("SPARK_LOCAL_IP", "127.0.0.1"), "PYTHONUNBUFFERED": "1",
           "DBT_PROFILES_DIR": str(REPO / ".dbt"), "DBT_TARGET": "local"}
    path = f"{BIN}:{env.get('PATH', '')}"
    home = java_home()
    if home:
        env["JAVA_HOME"] = home
        path = f"{home}/bin:{path}"
    env["PATH"] = path
    env.update(extra)
    return env


@dataclass
class Result:
    command: list[str]
    returncode: int
    seconds: float
    output: str  # stdout and stderr, interleaved as written (stdout alone with separate_stderr)
    stderr: str = ""  # with separate_stderr only
    peak_tree_rss: int = 0  # bytes, sampled every 0.2 s: the sum over the process tree (measure_memory only)
    max_process_rss: int = 0  # bytes: the largest single process (wait4's ru_maxrss)

    @property
    def stdout(self) -> str:
        return self.output

    def tail(self, chars: int = 6000) -> str:
        return self.output[-chars:]


def _children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(b")") + 2:].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    return children


def tree_rss(pid: int) -> int:
    """Resident bytes of `pid` and all its descendants now (0 when gone)."""
    children = _children_map()
    total, stack = 0, [pid]
    while stack:
        p = stack.pop()
        try:
            with open(f"/proc/{p}/statm", "rb") as f:
                total += int(f.read().split()[1]) * _PAGE
        except OSError:
            pass
        stack.extend(children.get(p, ()))
    return total


def run(command: Sequence[str], env: dict[str, str], log_file: Path | None = None, ok: Sequence[int] | None = (0,),
        timeout: float | None = 1800, measure_memory: bool = False, separate_stderr: bool = False) -> Result:
    """Run `command` in the repository. Raises CommandFailed unless its exit status is in `ok` (None: any).

    Its stdout and stderr go to one stream, as in a terminal, unless `separate_stderr` (Result.stderr)."""
    command = [str(part) for part in command]
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        out = open(log_file, "w+", encoding="utf-8")  # noqa: SIM115 - closed below
    else:
        out = tempfile.TemporaryFile("w+", encoding="utf-8")  # noqa: SIM115
    err = tempfile.TemporaryFile("w+", encoding="utf-8") if separate_stderr else None  # noqa: SIM115
    with out, err or contextlib.nullcontext():
        started = time.perf_counter()
        proc = subprocess.Popen(command, cwd=REPO, env=env, stdout=out, stderr=err or subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)
        peak = 0
        done = threading.Event()

        def sample() -> None:
            nonlocal peak
            while not done.is_set():
                peak = max(peak, tree_rss(proc.pid))
                done.wait(0.2)

        sampler = threading.Thread(target=sample, daemon=True) if measure_memory else None
        if sampler:
            sampler.start()
        timer = threading.Timer(timeout, proc.kill) if timeout else None
        if timer:
            timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            if timer:
                timer.cancel()
            done.set()
            if sampler:
                sampler.join()
        seconds = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        output = out.read()
        if err:
            err.seek(0)
        stderr = err.read() if err else ""
    result = Result(command, proc.returncode, seconds, output, stderr, peak, usage.ru_maxrss * 1024)
    if ok is not None and result.returncode not in ok:
        where = f" (log: {log_file})" if log_file else ""
        killed = f", killed after the {timeout:.0f} s timeout" if timeout and seconds >= timeout else ""
        raise CommandFailed(f"{' '.join(command)} failed with exit status {result.returncode}{killed}{where}:\n"
                            f"{result.tail()}{stderr[-4000:]}")
    return result
