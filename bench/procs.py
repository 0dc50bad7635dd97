"""Running the project's commands as a user does, with wall time and the peak memory of the process tree."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
_PAGE = os.sysconf("SC_PAGE_SIZE")


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def java_home() -> str | None:
    if os.environ.get("JAVA_HOME"):
        return os.environ["JAVA_HOME"]
    stamp = REPO / ".venv" / ".java_home"
    return stamp.read_text().strip() if stamp.exists() else None


def base_env(**extra: str) -> dict[str, str]:
    env = {**os.environ, "SPARK_LOCAL_IP": os.environ.get("SPARK_LOCAL_IP", "127.0.0.1"), "PYTHONUNBUFFERED": "1",
           "DBT_PROFILES_DIR": os.environ.get("DBT_PROFILES_DIR", str(REPO / ".dbt")), "DBT_TARGET": "local"}
    home = java_home()
    if home:
        env["JAVA_HOME"] = home
        env["PATH"] = f"{home}/bin:{BIN}:{env.get('PATH', '')}"
    env.update(extra)
    return env


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


@dataclass
class Result:
    command: list[str]
    returncode: int
    seconds: float
    peak_tree_rss: int  # bytes, sampled every 0.2 s: the sum over the process tree
    max_process_rss: int  # bytes: the largest single process (wait4's ru_maxrss)
    output: str

    def tail(self, chars: int = 4000) -> str:
        return self.output[-chars:]


class CommandFailed(RuntimeError):
    pass


def run(command: list[str], env: dict[str, str], log_file: Path, ok: tuple[int, ...] = (0,)) -> Result:
    """Run `command` in the repository; its output goes to `log_file`. Raises CommandFailed unless rc in ok."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with open(log_file, "w", encoding="utf-8") as out:
        started = time.perf_counter()
        proc = subprocess.Popen(command, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
        peak = 0
        done = threading.Event()

        def sample() -> None:
            nonlocal peak
            while not done.is_set():
                peak = max(peak, tree_rss(proc.pid))
                done.wait(0.2)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
        done.set()
        sampler.join()
        proc.returncode = os.waitstatus_to_exitcode(status)
    output = log_file.read_text(encoding="utf-8", errors="replace")
    result = Result(command, proc.returncode, seconds, peak, usage.ru_maxrss * 1024, output)
    if result.returncode not in ok:
        raise CommandFailed(f"{' '.join(command)} failed with exit status {result.returncode} "
                            f"(log: {log_file}):\n{result.tail()}")
    return result


def dir_bytes(path: Path, suffix: str = "") -> int:
    if not path.exists():
        return 0
    return sum(p.stat().st_size for p in path.rglob(f"*{suffix}") if p.is_file() and not p.name.startswith("."))


def copy_tree(source: Path, dest: Path) -> None:
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(source, dest)
