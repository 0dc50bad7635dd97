"""A private lake with its own dbt target and log folders, driven as a user drives the project."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.procs import BIN, Result, base_env, copy_tree, run

# Exit 3: everything was committed but some file was quarantined whole (not a failure; README).
INGEST_OK = (0, 3)


@dataclass(frozen=True)
class Workspace:
    root: Path

    @property
    def lake(self) -> Path:
        return self.root / "lake"

    @property
    def target(self) -> Path:
        return self.root / "target"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def warehouse(self) -> Path:
        return self.lake / "warehouse.duckdb"

    def env(self, **extra: str) -> dict[str, str]:
        return base_env(LAKE_ROOT=str(self.lake), DBT_TARGET_PATH=str(self.target), DBT_LOG_PATH=str(self.logs),
                        **extra)

    def fresh(self) -> Workspace:
        if self.root.exists():
            shutil.rmtree(self.root)
        self.lake.mkdir(parents=True)
        return self

    def copy_to(self, root: Path) -> Workspace:
        """A copy of the lake and the dbt target folder (its partial-parse state) under `root`."""
        other = Workspace(root)
        copy_tree(self.lake, other.lake)
        if self.target.exists():
            copy_tree(self.target, other.target)
        return other

    def ingest(self, name: str, dataset: str = "all", ingest_date: str | None = None, **env: str) -> Result:
        command = [str(BIN / "python"), "-m", "glue_ingest", "--lake_root", str(self.lake), "--dataset", dataset]
        if ingest_date:
            command += ["--ingest_date", ingest_date]
        return run(command, self.env(**env), self.root / "cmd-logs" / f"{name}.log", ok=INGEST_OK)

    def dbt(self, name: str, *args: str, **env: str) -> Result:
        command = [str(BIN / "dbt"), *args, "--target", "local"]
        return run(command, self.env(**env), self.root / "cmd-logs" / f"{name}.log")

    def run_summaries(self) -> list[dict[str, Any]]:
        """Every ingest run summary (bronze/<dataset>/_runs/<run_id>.json), oldest first."""
        found = sorted(self.lake.glob("bronze/*/_runs/*.json"), key=lambda p: p.name)
        return [json.loads(p.read_text()) for p in found]

    def run_results(self) -> list[dict[str, Any]]:
        """dbt's per-node results of the last command in this workspace's target folder."""
        data = json.loads((self.target / "run_results.json").read_text())
        return data["results"]
