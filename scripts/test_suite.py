"""The pytest half of `make test`: the local-Athena tests and the rest, as two pytest processes side by side.

The local-Athena module (marker `athena`) spends most of its 20-odd minutes waiting on round trips between dbt-athena,
the Athena API front and Trino, with about one and a half of the two cores busy; the rest of the suite is Spark, DuckDB
and dbt work. Run one after the other they took 42 minutes on 2 cores; side by side the idle time of one is used by the
other. Each process has its own pytest temporary folder, so neither can clean up the other's files, and every test
already works in its own lake root and dbt target folder (testkit.Lake).

The rest of the suite prints as it runs; the Athena half is written to test-output/pytest-athena.log, reported when it
ends and printed in full if it failed. The exit status is non-zero if either half failed. Arguments go to both pytest
runs, e.g. `python scripts/test_suite.py -x`. `TEST_SERIAL=1` runs the two halves one after the other instead.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LOG = REPO / "test-output" / "pytest-athena.log"


def main(argv: list[str]) -> int:
    base = Path(tempfile.mkdtemp(prefix="lakehouse-tests-"))
    LOG.parent.mkdir(parents=True, exist_ok=True)
    pytest = [sys.executable, "-m", "pytest", *argv]
    began = time.monotonic()
    print(f">> pytest in two processes: `-m athena` (log: {LOG.relative_to(REPO)}) and `-m 'not athena'`", flush=True)
    with LOG.open("w") as log:
        athena = subprocess.Popen([*pytest, "-m", "athena", f"--basetemp={base / 'athena'}"], cwd=REPO,
                                  stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        try:
            if os.environ.get("TEST_SERIAL"):
                athena.wait()
            rest = subprocess.run([*pytest, "-m", "not athena", f"--basetemp={base / 'rest'}"], cwd=REPO,
                                  check=False).returncode
            if athena.poll() is None:
                print(f">> the rest of the suite is done ({time.monotonic() - began:.0f} s); waiting for the local "
                      "Athena tests", flush=True)
            athena_rc = athena.wait()
        except BaseException:
            athena.kill()
            raise
    text = LOG.read_text()
    summary = [line for line in text.splitlines() if line.startswith("=") and (" passed" in line or " failed" in line
                                                                              or " error" in line)]
    if athena_rc != 0:
        print(f">> the local Athena tests FAILED (exit {athena_rc}); their output:\n{text}", flush=True)
    else:
        print(f">> the local Athena tests: {summary[-1] if summary else 'no summary line'}", flush=True)
    print(f">> pytest took {time.monotonic() - began:.0f} s in all", flush=True)
    shutil.rmtree(base, ignore_errors=True)
    # 5 is pytest's "no test selected": arguments such as -k may leave one half empty.
    return 1 if rest not in (0, 5) or athena_rc not in (0, 5) else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
