"""scripts/run_dbt.py: dbt with one botocore data loader per process (testkit's `Lake.dbt_cli`)."""

from __future__ import annotations

import copy
import importlib.util
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from testkit import REPO, Lake

SCRIPT = REPO / "scripts" / "run_dbt.py"


def _load() -> Any:
    spec = importlib.util.spec_from_file_location("run_dbt_under_test", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def shared(monkeypatch: pytest.MonkeyPatch) -> Any:
    """The launcher's sharing, applied in this process and undone after the test."""
    import botocore.session

    monkeypatch.setattr(botocore.session, "create_loader", botocore.session.create_loader)
    module = _load()
    assert module.share_botocore_loader()
    return module


def test_sessions_share_one_loader_and_read_a_model_once(shared: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import boto3
    import botocore.loaders

    reads: list[str] = []
    load_file = botocore.loaders.JSONFileLoader.load_file

    def counting(self: Any, file_path: str) -> Any:
        reads.append(file_path)
        return load_file(self, file_path)

    monkeypatch.setattr(botocore.loaders.JSONFileLoader, "load_file", counting)
    sessions = [boto3.session.Session(aws_access_key_id=f"key{i}", aws_secret_access_key="secret",
                                      region_name=region) for i, region in enumerate(("us-east-1", "eu-west-1"))]
    clients = [session.client("glue") for session in sessions for _ in range(3)]
    loaders = {id(session._session.get_component("data_loader")) for session in sessions}
    assert len(loaders) == 1
    glue_models = [path for path in reads if "/glue/" in path and "service-2" in path]
    assert glue_models and len(glue_models) == len(set(glue_models)), glue_models  # each file read once
    # boto3 adds its data folder to the loader of each session it makes: kept once, not once per session.
    paths = sessions[0]._session.get_component("data_loader").search_paths
    assert len(paths) == len(set(paths)) and any(str(path).endswith("boto3/data") for path in paths), paths
    # Each client keeps its own session's region and credentials: only the data files are shared.
    assert [c.meta.region_name for c in clients] == ["us-east-1"] * 3 + ["eu-west-1"] * 3
    assert {c._request_signer._credentials.access_key for c in clients} == {"key0", "key1"}


def test_a_shared_model_is_the_model_botocore_reads_and_stays_unchanged_by_use(shared: Any) -> None:
    import boto3
    import botocore.loaders

    fresh = botocore.loaders.Loader().load_service_model("glue", "service-2")  # a loader of its own, not shared
    session = boto3.session.Session(aws_access_key_id="k", aws_secret_access_key="s", region_name="us-east-1")
    loader = session._session.get_component("data_loader")
    cached = loader.load_service_model("glue", "service-2")
    before = copy.deepcopy(cached)
    client = session.client("glue")
    client.meta.service_model.operation_model("GetTable")  # what a Glue call builds from the model
    assert cached == fresh == before


def test_it_is_dbt(tmp_path: Path) -> None:
    """Same output and exit status as the `dbt` command, for a success and for a usage error."""
    lake = Lake.under(tmp_path)
    for args in (["--version"], ["no-such-command"]):
        ours = lake.run(["python", "scripts/run_dbt.py", *args], ok=None, separate_stderr=True)
        theirs = lake.run(["dbt", *args], ok=None, separate_stderr=True)
        assert ours.returncode == theirs.returncode == (0 if args == ["--version"] else 2), (args, ours.stderr)
        assert ours.output == theirs.output and ours.stderr == theirs.stderr, args


def test_the_makefile_and_the_local_athena_run_dbt_through_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dry = Lake.under(tmp_path).make("dbt-build", "-n").output
    assert "scripts/run_dbt.py build --target" in dry, dry

    from local_athena import cli

    ran: list[list[str]] = []
    monkeypatch.setattr(cli.subprocess, "run",
                        lambda command, **_: ran.append(command) or SimpleNamespace(returncode=0))
    monkeypatch.setenv("LAKE_ROOT", "/tmp/dry-run-lake")
    assert cli.dbt_command(SimpleNamespace(env=dict), ["build"]) == 0  # type: ignore[arg-type]
    assert ran == [[sys.executable, str(SCRIPT), "build", "--target", "athena"]]
