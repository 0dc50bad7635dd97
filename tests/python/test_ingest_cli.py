"""The entry points: `python -m glue_ingest` (local) and the Glue script path (with a stand-in awsglue)."""

from __future__ import annotations

import importlib.machinery
import sys
import types
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from glue_ingest import catalog
from glue_ingest.cli import main
from glue_ingest.commit import FAIL_AFTER_MOVES_ENV
from testkit import Lake

pytestmark = pytest.mark.spark

REPO = Path(__file__).resolve().parents[2]
HEADER = "event_time,user_id,endpoint,status_code,response_ms,user_agent"


def lake_args(lake: Lake, *extra: str) -> list[str]:
    return ["--lake_root", str(lake.root), "--dataset", "all", "--ingest_date", "2024-01-02", *extra]


def test_lake_root_all(spark: Any, lake: Lake, caplog: pytest.LogCaptureFixture) -> None:
    lake.deliver("a.csv", HEADER + "\nt,u1,/x,200,1,ua\nbad\n")
    with caplog.at_level("INFO"):
        assert main(lake_args(lake)) == 0
    assert lake.duckdb_rows(columns="_source_file, _record_number, ingest_date::varchar") == [
        ("a.csv", 1, "2024-01-02")
    ]
    messages = [r.getMessage() for r in caplog.records]
    assert any("file 1/1 a.csv: read 2, written 1, quarantined 1" in m for m in messages), messages
    # Rerun: nothing new, still success.
    assert main(lake_args(lake)) == 0
    assert lake.duckdb_rows(columns="count(*)") == [(1,)]


def test_injected_crash_exits_non_zero_and_rerun_recovers(
    spark: Any, lake: Lake, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    lake.deliver("a.csv", HEADER + "\nt,u1,/x,200,1,ua\nbad\n")
    monkeypatch.setenv(FAIL_AFTER_MOVES_ENV, "1")
    assert main(lake_args(lake)) == 1
    assert any("injected failure after 1 moved file" in r.getMessage() for r in caplog.records)
    assert len(lake.parquet_files("bronze")) == 1  # published, but not committed

    monkeypatch.delenv(FAIL_AFTER_MOVES_ENV)
    assert main(lake_args(lake)) == 0
    assert lake.duckdb_rows("bronze", "_source_file, _record_number") == [("a.csv", 1)]
    assert lake.duckdb_rows("quarantine", "_source_file, _record_number") == [("a.csv", 2)]


def test_ingest_date_going_back_exits_non_zero(
    spark: Any, lake: Lake, caplog: pytest.LogCaptureFixture
) -> None:
    lake.deliver("a.csv", HEADER + "\nt,u1,/x,200,1,ua\n")
    assert main(lake_args(lake)) == 0
    lake.deliver("b.csv", HEADER + "\nt,u2,/x,200,1,ua\n")
    assert main(["--lake_root", str(lake.root), "--dataset", "web_logs", "--ingest_date", "2024-01-01"]) == 1
    errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert any("--ingest_date 2024-01-01 is before 2024-01-02" in e for e in errors), errors


def test_explicit_paths_and_missing_raw_folder(spark: Any, tmp_path: Path) -> None:
    paths = ["--source_path", str(tmp_path / "in"), "--bronze_path", str(tmp_path / "b"),
             "--quarantine_path", str(tmp_path / "q")]
    assert main(["--dataset", "web_logs", *paths]) == 0  # no raw folder: nothing to do
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "x.csv").write_text(HEADER + "\nt,u,/x,200,1,ua\n")
    assert main(["--dataset", "web_logs", "--JOB_NAME", "ignored", *paths]) == 0
    assert len(list((tmp_path / "b").glob("ingest_date=*/*.zstd.parquet"))) == 1


@pytest.mark.parametrize(
    "argv",
    [
        ["--lake_root", "/tmp/x", "--dataset", "no_such_dataset"],
        ["--lake_root", "/tmp/x", "--dataset", "web_logs", "--ingest_date", "2024-1-2"],
        ["--dataset", "web_logs", "--source_path", "/tmp/x"],
        ["--lake_root", "/tmp/x"],
        ["--lake_root", "/tmp/x", "--dataset", "web_logs", "--register_catalog", "true"],
        ["--lake_root", "/tmp/x", "--dataset", "web_logs", "--catalog_database", "db", "--register_catalog", "yes"],
    ],
)
def test_bad_arguments(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    assert "error:" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("extra", "optional", "registered"),
    [
        ([], (), []),
        # The catalog arguments are asked for only when given; registration follows the Glue job commit.
        (["--catalog_database", "db"], ("catalog_database",), [("register_bronze", "db", date(2024, 1, 2))]),
        (["--catalog_database", "db", "--register_catalog", "false"], ("catalog_database", "register_catalog"), []),
    ],
)
def test_glue_entry_point(
    spark: Any,
    lake: Lake,
    monkeypatch: pytest.MonkeyPatch,
    extra: list[str],
    optional: tuple[str, ...],
    registered: list[tuple],
) -> None:
    """With awsglue importable, arguments come from getResolvedOptions and the Glue Job is committed."""
    calls: list[tuple] = []

    def register_bronze(targets: list[tuple[str, str]], database: str, ingest_date: date) -> list[str]:
        assert targets == [("web_logs", str(lake.bronze))]
        calls.append(("register_bronze", database, ingest_date))
        return []

    monkeypatch.setattr(catalog, "register_bronze", register_bronze)

    def get_resolved_options(argv: list[str], names: list[str]) -> dict[str, str]:
        calls.append(("getResolvedOptions", tuple(names)))
        return {n: argv[argv.index(f"--{n}") + 1] for n in names}

    class GlueContext:
        def __init__(self, sc: Any) -> None:
            self.spark_session = spark

    class Job:
        def __init__(self, context: Any) -> None:
            pass

        def init(self, name: str, args: dict[str, str]) -> None:
            calls.append(("init", name, args["dataset"]))

        def commit(self) -> None:
            calls.append(("commit",))

    def module(name: str, **attrs: Any) -> types.ModuleType:
        mod = types.ModuleType(name)
        mod.__spec__ = importlib.machinery.ModuleSpec(name, None)
        mod.__dict__.update(attrs)
        return mod

    monkeypatch.setitem(sys.modules, "awsglue", module("awsglue"))
    utils = module("awsglue.utils", getResolvedOptions=get_resolved_options)
    monkeypatch.setitem(sys.modules, "awsglue.utils", utils)
    monkeypatch.setitem(sys.modules, "awsglue.context", module("awsglue.context", GlueContext=GlueContext))
    monkeypatch.setitem(sys.modules, "awsglue.job", module("awsglue.job", Job=Job))

    lake.deliver("a.csv", HEADER + "\nt,u1,/x,200,1,ua\n")
    argv = ["glue_job.py", "--JOB_NAME", "ingest-web_logs", "--dataset", "web_logs",
            "--source_path", str(lake.raw), "--bronze_path", str(lake.bronze),
            "--quarantine_path", str(lake.quarantine), "--ingest_date", "2024-01-02", "--extra", "x", *extra]
    assert main(argv) == 0
    assert calls == [
        ("getResolvedOptions",
         ("JOB_NAME", "dataset", "source_path", "bronze_path", "quarantine_path", "ingest_date", *optional)),
        ("init", "ingest-web_logs", "web_logs"),
        ("commit",),
        *registered,
    ]
    assert lake.duckdb_rows(columns="_source_file, ingest_date::varchar") == [("a.csv", "2024-01-02")]


def test_importing_the_glue_script_runs_nothing() -> None:
    import glue_ingest.glue_job  # noqa: F401  (importing must not start a job)


def test_python_dash_m(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    lake.deliver("2024/a.csv", HEADER + "\nt,u1,/x,200,1,ua\n")
    result = lake.run(["python", "-m", "glue_ingest", *lake_args(lake)], timeout=300)  # raises unless exit 0
    assert "dataset web_logs: file 1/1 2024/a.csv: read 1, written 1, quarantined 0" in result.output
    assert lake.duckdb_rows(columns="_source_file") == [("2024/a.csv",)]
