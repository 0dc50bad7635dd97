"""The harness itself (testkit): a failed command fails loudly with its output, a hung one is killed, the lake's
environment reaches the command and does not leak into this process, and in-process dbt reports its failures."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import duckdb
import pytest

from testkit import BIN, CommandFailed, Lake

SCRIPT = "import sys; print('to stdout', flush=True); print('to stderr', file=sys.stderr, flush=True); sys.exit(3)"


def test_a_failed_command_raises_with_its_status_and_output(tmp_path: Path) -> None:
    lake = Lake.under(tmp_path)
    with pytest.raises(CommandFailed) as failed:
        lake.run(["python", "-c", SCRIPT])
    assert "failed with exit status 3" in str(failed.value)
    assert "to stdout" in str(failed.value) and "to stderr" in str(failed.value)

    result = lake.run(["python", "-c", SCRIPT], ok=[3], log="three")
    assert result.returncode == 3 and result.output == "to stdout\nto stderr\n"
    assert (lake.command_logs / "three.log").read_text() == result.output

    apart = lake.run(["python", "-c", SCRIPT], ok=None, separate_stderr=True)
    assert (apart.stdout, apart.stderr) == ("to stdout\n", "to stderr\n")


def test_a_hung_command_is_killed_at_its_timeout(tmp_path: Path) -> None:
    started = time.monotonic()
    with pytest.raises(CommandFailed, match="killed after the 1 s timeout"):
        Lake.under(tmp_path).run(["python", "-c", "import time; time.sleep(60)"], timeout=1)
    assert time.monotonic() - started < 30


def test_commands_get_the_lakes_environment_and_the_virtualenvs_tools(tmp_path: Path) -> None:
    lake = Lake.under(tmp_path, "x")
    code = "import os, sys; print(os.environ['LAKE_ROOT'], os.environ['DBT_TARGET_PATH'], sys.prefix)"
    out = lake.run(["python", "-c", code]).output.split()
    assert out == [str(tmp_path / "lake"), str(tmp_path / "dbt-target-x"), str(Path(sys.prefix))]
    assert str(BIN) in lake.env()["PATH"].split(":")[:2]  # after Java's bin, if any
    # A test may point one command elsewhere (the charts test gives each target its own dbt folder).
    assert lake.env(DBT_TARGET_PATH="/elsewhere")["DBT_TARGET_PATH"] == "/elsewhere"


def test_in_process_dbt_names_its_failure_and_leaves_the_environment_as_it_was(tmp_path: Path) -> None:
    lake = Lake.under(tmp_path)
    before = {name: os.environ.get(name) for name in ("LAKE_ROOT", "DBT_TARGET_PATH", "DBT_TARGET")}
    with pytest.raises(CommandFailed, match="no_such_macro"):
        lake.dbt("run-operation", "no_such_macro")
    assert {name: os.environ.get(name) for name in before} == before
    result = lake.dbt("run-operation", "no_such_macro", check=False)
    assert not result.success
    # dbt wrote its state where the lake says, and left the warehouse closed: it opens read-write at once.
    assert (lake.target / "manifest.json").exists()
    with duckdb.connect(str(lake.warehouse)) as con:
        assert con.execute("select 1").fetchone() == (1,)
