"""One way for tests to drive the project as a user does: `make <target>` with a private lake and dbt folders.

Every end-to-end test runs the real Makefile targets in a subprocess, each with its own LAKE_ROOT and its own
dbt target/log folders (dbt's partial-parse state in a shared target/ would collide between tests).
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Workspace:
    """A lake plus the dbt target and log folders that go with it."""

    lake: Path
    target: Path
    logs: Path

    @classmethod
    def under(cls, folder: Path, tag: str = "") -> Workspace:
        suffix = f"-{tag}" if tag else ""
        return cls(folder / "lake", folder / f"dbt-target{suffix}", folder / f"dbt-logs{suffix}")

    @property
    def warehouse(self) -> Path:
        return self.lake / "warehouse.duckdb"

    def env(self, **extra: str) -> dict[str, str]:
        return {**os.environ, "LAKE_ROOT": str(self.lake), "DBT_PROFILES_DIR": str(REPO / ".dbt"),
                "DBT_TARGET_PATH": str(self.target), "DBT_LOG_PATH": str(self.logs), **extra}

    def run(self, command: list[str], timeout: int = 900, **extra_env: str) -> subprocess.CompletedProcess[str]:
        """Run a command in the repository with this workspace's environment; fail the test with its output."""
        result = subprocess.run(command, cwd=REPO, env=self.env(**extra_env), capture_output=True, text=True,
                                timeout=timeout, check=False)
        if result.returncode != 0:
            pytest.fail(f"{' '.join(command)} failed ({result.returncode}):\n"
                        f"{result.stdout[-6000:]}\n{result.stderr[-4000:]}")
        return result

    def make(self, target: str, *args: str, timeout: int = 900, **extra_env: str) -> subprocess.CompletedProcess[str]:
        return self.run(["make", "--no-print-directory", target, f"LAKE_ROOT={self.lake}", *args], timeout=timeout,
                        **extra_env)

    def query(self, sql: str) -> list[tuple]:
        with duckdb.connect(str(self.warehouse), read_only=True) as con:
            return con.execute(sql).fetchall()
