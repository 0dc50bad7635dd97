"""Glue deployment (glue_deploy/) against moto, and the CloudFormation template (infra/lakehouse.yaml).

No AWS account is contacted: every AWS call goes to moto, with fake credentials. The expected job
definitions are written out here, not computed with the deployer's helpers, and the datasets are the
contract files found on disk.

moto 5.2 has no UpdateJob: the `aws` fixture adds one to moto's Glue service, with the semantics of the
real API (the JobUpdate replaces the whole job definition; Name and Tags are not part of it).
"""

from __future__ import annotations

import fnmatch
import importlib.machinery
import io
import subprocess
import sys
import types
import zipfile
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

import glue_deploy as deploy
from local_athena.iam import load_template, resolve

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "glue_ingest"
TEMPLATE = REPO / "infra" / "lakehouse.yaml"
REGION = "us-east-1"
ACCOUNT = "123456789012"  # moto's default account
LAKE = "acme-lake-dev"
ARTIFACTS = "acme-artifacts-dev"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/dev-lakehouse-glue-ingest"
DATASETS = sorted(p.stem for p in (PACKAGE / "contracts").glob("*.yml"))


# --- fixtures ------------------------------------------------------------------------------------------


def _moto_update_job(self: Any) -> Any:
    """UpdateJob for moto's Glue, as the API reference describes it: the job definition is overwritten."""
    from moto.core.responses import ActionResult
    from moto.core.utils import utcnow

    name = self._get_param("JobName")
    update = self._get_param("JobUpdate")
    job = self.glue_backend.get_job(name)  # EntityNotFoundException when missing, as on AWS
    job.description = update.get("Description")
    job.log_uri = update.get("LogUri")
    job.role = update["Role"]
    job.command = update["Command"]
    job.execution_property = update.get("ExecutionProperty") or {}
    job.default_arguments = update.get("DefaultArguments") or {}
    job.non_overridable_arguments = update.get("NonOverridableArguments")
    job.connections = update.get("Connections")
    job.max_retries = update.get("MaxRetries")
    job.allocated_capacity = update.get("AllocatedCapacity")
    job.timeout = update.get("Timeout")
    job.max_capacity = update.get("MaxCapacity")
    job.security_configuration = update.get("SecurityConfiguration")
    job.notification_property = update.get("NotificationProperty")
    job.glue_version = update.get("GlueVersion")
    job.number_of_workers = update.get("NumberOfWorkers")
    job.worker_type = update.get("WorkerType")
    job.execution_class = update.get("ExecutionClass") or "STANDARD"
    job.last_modified_on = utcnow()
    return ActionResult({"JobName": name})


@pytest.fixture
def fake_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SECURITY_TOKEN", "AWS_SESSION_TOKEN"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("LAKE_ENV", raising=False)


@pytest.fixture
def aws(fake_credentials: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """moto, with no bucket yet."""
    from moto.glue.responses import GlueResponse

    monkeypatch.setattr(GlueResponse, "update_job", _moto_update_job, raising=False)
    with mock_aws():
        yield


@pytest.fixture
def buckets(aws: None) -> None:
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket=LAKE)
    s3.create_bucket(Bucket=ARTIFACTS)


@pytest.fixture
def calls() -> list[str]:
    """Names of the AWS operations made through `session()`."""
    return []


@pytest.fixture
def session(aws: None, calls: list[str]) -> boto3.Session:
    s = boto3.Session(region_name=REGION)
    s.events.register("before-call", lambda model, **_: calls.append(model.name))
    return s


def settings(**overrides: Any) -> deploy.Settings:
    values: dict[str, Any] = {
        "env": "dev",
        "lake_bucket": LAKE,
        "artifacts_bucket": ARTIFACTS,
        "role_arn": ROLE_ARN,
        "region": REGION,
    }
    return deploy.Settings(**{**values, **overrides})


def run_deploy(session: boto3.Session, **overrides: Any) -> tuple[deploy.Plan, deploy.Report]:
    plan = deploy.make_plan(settings(**overrides))
    return plan, deploy.deploy(plan, session)


def glue() -> Any:
    return boto3.client("glue", region_name=REGION)


def job_names() -> list[str]:
    return sorted(n for page in glue().get_paginator("list_jobs").paginate() for n in page["JobNames"])


def expected_arguments(dataset: str, package_uri: str, env: str = "dev", prefix: str = "lake") -> dict[str, str]:
    return {
        "--extra-py-files": package_uri,
        # The versions the tests run with (pyproject.toml), so pyarrow's CSV parser on Glue is the tested one.
        "--additional-python-modules": "pyarrow==17.0.0,numpy==1.26.4,pandas==2.2.3",
        "--dataset": dataset,
        "--source_path": f"s3://{LAKE}/{prefix}/raw/{dataset}",
        "--bronze_path": f"s3://{LAKE}/{prefix}/bronze/{dataset}",
        "--quarantine_path": f"s3://{LAKE}/{prefix}/quarantine/{dataset}",
        "--catalog_database": f"{env}_bronze",
        "--job-bookmark-option": "job-bookmark-disable",
        "--enable-metrics": "true",
        "--enable-continuous-cloudwatch-log": "true",
        "--enable-auto-scaling": "true",
    }


# --- deploying against moto ---------------------------------------------------------------------------


def test_deploy_creates_databases_and_one_job_per_dataset(buckets: None, session: boto3.Session) -> None:
    plan, report = run_deploy(session)
    build = plan.package.build_id
    package_uri = f"s3://{ARTIFACTS}/glue/dev/{build}/glue_ingest.zip"
    script_uri = f"s3://{ARTIFACTS}/glue/dev/{build}/glue_job.py"

    for layer in ("bronze", "silver", "gold", "ops", "audit"):
        assert glue().get_database(Name=f"dev_{layer}")["Database"]["Name"] == f"dev_{layer}"
        assert report.status("database", f"dev_{layer}") == "created"

    assert DATASETS == ["customers", "sales_transactions", "user_events", "web_logs"]
    assert job_names() == [f"dev-ingest-{d}" for d in DATASETS]
    for dataset in DATASETS:
        name = f"dev-ingest-{dataset}"
        assert report.status("job", name) == "created"
        job = glue().get_job(JobName=name)["Job"]
        assert job["GlueVersion"] == "5.0"
        assert job["Command"] == {"Name": "glueetl", "ScriptLocation": script_uri, "PythonVersion": "3"}
        assert job["DefaultArguments"] == expected_arguments(dataset, package_uri)
        assert job["DefaultArguments"]["--job-bookmark-option"] == "job-bookmark-disable"
        assert job["ExecutionProperty"] == {"MaxConcurrentRuns": 1}
        assert (job["WorkerType"], job["NumberOfWorkers"]) == ("G.1X", 2)
        assert job["Timeout"] == 120
        assert job["MaxRetries"] == 0
        assert job["Role"] == ROLE_ARN
        tags = glue().get_tags(ResourceArn=f"arn:aws:glue:{REGION}:{ACCOUNT}:job/{name}")["Tags"]
        assert tags == {"project": "lakehouse", "env": "dev", "dataset": dataset, "managed-by": "glue_deploy",
                        "lakehouse-env": "dev"}


def test_databases_that_exist_are_kept(buckets: None, session: boto3.Session) -> None:
    glue().create_database(DatabaseInput={"Name": "dev_gold", "Description": "made by hand"})
    _, report = run_deploy(session)
    assert report.status("database", "dev_gold") == "exists"
    assert glue().get_database(Name="dev_gold")["Database"]["Description"] == "made by hand"
    assert report.status("database", "dev_silver") == "created"


def test_redeploy_updates_in_place_and_never_duplicates(
    buckets: None, session: boto3.Session, calls: list[str]
) -> None:
    plan, _ = run_deploy(session)
    # Someone edits a job by hand: an extra argument and a longer timeout.
    edited = glue().get_job(JobName="dev-ingest-web_logs")["Job"]
    update = {k: edited[k] for k in ("Role", "Command", "GlueVersion", "WorkerType", "NumberOfWorkers")}
    glue().update_job(
        JobName="dev-ingest-web_logs",
        JobUpdate={**update, "DefaultArguments": {**edited["DefaultArguments"], "--foo": "bar"}, "Timeout": 999},
    )

    calls.clear()
    _, report = run_deploy(session, workers=5, worker_type="G.2X")
    assert job_names() == [f"dev-ingest-{d}" for d in DATASETS]
    assert "CreateJob" not in calls
    assert calls.count("UpdateJob") == len(DATASETS)
    package_uri = f"s3://{ARTIFACTS}/glue/dev/{plan.package.build_id}/glue_ingest.zip"
    for dataset in DATASETS:
        job = glue().get_job(JobName=f"dev-ingest-{dataset}")["Job"]
        assert (job["WorkerType"], job["NumberOfWorkers"]) == ("G.2X", 5)
        # The whole definition is sent again: the hand edits are gone, nothing else changed.
        assert job["DefaultArguments"] == expected_arguments(dataset, package_uri)
        assert job["Timeout"] == 120
        assert job["ExecutionProperty"] == {"MaxConcurrentRuns": 1}
        assert job["GlueVersion"] == "5.0"
    status = report.status("job", "dev-ingest-web_logs")
    assert status.startswith("updated: ")
    assert "WorkerType 'G.1X' -> 'G.2X'" in status
    assert "NumberOfWorkers 2 -> 5" in status
    assert "argument --foo removed" in status
    assert "Timeout 999 -> 120" in status
    assert report.status("job", "dev-ingest-customers") == (
        "updated: WorkerType 'G.1X' -> 'G.2X'; NumberOfWorkers 2 -> 5"
    )

    # Same settings again: nothing to change, no UpdateJob, no upload.
    calls.clear()
    _, report = run_deploy(session, workers=5, worker_type="G.2X")
    assert {report.status("job", f"dev-ingest-{d}") for d in DATASETS} == {"unchanged"}
    assert "UpdateJob" not in calls and "CreateJob" not in calls and "PutObject" not in calls
    assert job_names() == [f"dev-ingest-{d}" for d in DATASETS]


def test_package_is_uploaded_with_the_contracts_inside(buckets: None, session: boto3.Session) -> None:
    plan, report = run_deploy(session)
    s3 = boto3.client("s3", region_name=REGION)
    job = glue().get_job(JobName="dev-ingest-web_logs")["Job"]
    package_uri = job["DefaultArguments"]["--extra-py-files"]
    script_uri = job["Command"]["ScriptLocation"]
    prefix = f"s3://{ARTIFACTS}/glue/dev/{plan.package.build_id}/"
    assert package_uri == prefix + "glue_ingest.zip" and script_uri == prefix + "glue_job.py"
    assert report.status("upload", package_uri).startswith("uploaded")

    body = s3.get_object(Bucket=ARTIFACTS, Key=package_uri.removeprefix(f"s3://{ARTIFACTS}/"))["Body"].read()
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        names = archive.namelist()
        assert "glue_ingest/contracts/web_logs.yml" in names
        assert "glue_ingest/cli.py" in names
        for name in names:  # every entry is the repository's file, byte for byte
            assert archive.read(name) == (REPO / name).read_bytes(), name
    expected = {f"glue_ingest/contracts/{d}.yml" for d in DATASETS}
    modules = ("__init__", "catalog", "cli", "commit", "contracts", "glue_job", "run", "session", "stage")
    expected |= {f"glue_ingest/{m}.py" for m in modules}
    assert expected <= set(names)
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    assert not [n for n in names if "deploy" in n]  # the deployer (glue_deploy/) is not shipped
    assert names == sorted(names)

    script = s3.get_object(Bucket=ARTIFACTS, Key=script_uri.removeprefix(f"s3://{ARTIFACTS}/"))["Body"].read()
    assert script == (PACKAGE / "glue_job.py").read_bytes()


def test_same_code_gives_the_same_key_and_no_upload(
    buckets: None, session: boto3.Session, calls: list[str], tmp_path: Path
) -> None:
    first, second = deploy.build_package(), deploy.build_package()
    assert (first.digest, first.zip_bytes) == (second.digest, second.zip_bytes)

    plan, report = run_deploy(session)
    uploaded = [name for kind, name, _ in report.lines if kind == "upload"]
    assert len(uploaded) == 2 and calls.count("PutObject") == 2

    calls.clear()
    plan_again, report = run_deploy(session)
    assert plan_again.package_artifact.key == plan.package_artifact.key
    assert [report.status("upload", name) for name in uploaded] == ["unchanged (already uploaded)"] * 2
    assert "PutObject" not in calls

    # Changed code: a new build id, so new keys; the jobs move to them.
    copy = tmp_path / "glue_ingest"
    subprocess.run(["cp", "-r", str(PACKAGE), str(copy)], check=True)
    (copy / "cli.py").write_bytes((PACKAGE / "cli.py").read_bytes() + b"\n# changed\n")
    changed = deploy.build_package(copy)
    assert changed.build_id != plan.package.build_id
    calls.clear()
    plan_changed = deploy.make_plan(settings(), changed)
    report = deploy.deploy(plan_changed, session)
    assert calls.count("PutObject") == 2
    assert glue().get_job(JobName="dev-ingest-web_logs")["Job"]["DefaultArguments"]["--extra-py-files"] == (
        f"s3://{ARTIFACTS}/glue/dev/{changed.build_id}/glue_ingest.zip"
    )


def test_another_env_and_prefix(buckets: None, session: boto3.Session) -> None:
    plan, _ = run_deploy(session, env="prod", prefix="/data/lake/", datasets=("web_logs",))
    assert job_names() == ["prod-ingest-web_logs"]
    job = glue().get_job(JobName="prod-ingest-web_logs")["Job"]
    package_uri = f"s3://{ARTIFACTS}/glue/prod/{plan.package.build_id}/glue_ingest.zip"
    assert job["DefaultArguments"] == expected_arguments("web_logs", package_uri, env="prod", prefix="data/lake")
    assert {d["Name"] for d in glue().get_databases()["DatabaseList"]} == {
        "prod_bronze",
        "prod_silver",
        "prod_gold",
        "prod_ops",
        "prod_audit",
    }


def test_job_of_a_removed_contract_is_reported_not_deleted(buckets: None, session: boto3.Session) -> None:
    glue().create_job(
        Name="dev-ingest-old_dataset", Role=ROLE_ARN, Command={"Name": "glueetl", "ScriptLocation": "s3://x/y.py"}
    )
    _, report = run_deploy(session)
    assert "dev-ingest-old_dataset" in job_names()
    assert any("dev-ingest-old_dataset has no dataset contract" in w for w in report.warnings)


def test_the_job_parses_the_deployed_arguments(monkeypatch: pytest.MonkeyPatch) -> None:
    """Glue passes the job's arguments to glue_job.py: the ingest job's own Glue parser accepts them."""
    from glue_ingest import cli

    def get_resolved_options(argv: list[str], names: list[str]) -> dict[str, str]:
        return {n: argv[argv.index(f"--{n}") + 1] for n in names}

    utils = types.ModuleType("awsglue.utils")
    utils.__spec__ = importlib.machinery.ModuleSpec("awsglue.utils", None)
    utils.getResolvedOptions = get_resolved_options  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "awsglue.utils", utils)

    plan = deploy.make_plan(settings())
    for definition in plan.jobs:
        argv = ["glue_job.py", "--JOB_NAME", definition["Name"]]
        for name, value in definition["DefaultArguments"].items():
            argv += [name, value]
        parsed = cli.parse_glue_args(argv, date(2024, 1, 2))
        dataset = definition["DefaultArguments"]["--dataset"]
        expected = cli.DatasetPaths(
            *(f"s3://{LAKE}/lake/{layer}/{dataset}" for layer in ("raw", "bronze", "quarantine"))
        )
        assert parsed.targets == [(dataset, expected)]
        assert parsed.job_name == definition["Name"]
        assert parsed.catalog_database == "dev_bronze"
        assert parsed.registers_catalog(glue=True)


# --- errors -------------------------------------------------------------------------------------------------


def test_missing_buckets_are_named(aws: None, session: boto3.Session) -> None:
    with pytest.raises(deploy.DeployError, match=f"the artifacts bucket '{ARTIFACTS}' does not exist"):
        run_deploy(session)
    boto3.client("s3", region_name=REGION).create_bucket(Bucket=ARTIFACTS)
    with pytest.raises(deploy.DeployError, match=f"the lake bucket '{LAKE}' does not exist"):
        run_deploy(session)
    assert job_names() == []


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"role_arn": "dev-lakehouse-glue-ingest"}, "--role-arn 'dev-lakehouse-glue-ingest' is not an IAM role ARN"),
        ({"role_arn": f"arn:aws:iam::{ACCOUNT}:user/me"}, "is not an IAM role ARN"),
        ({"role_arn": "arn:aws:iam::1234:role/x"}, "12-digit account id"),
        ({"artifacts_bucket": f"s3://{ARTIFACTS}"}, "--artifacts-bucket 's3://acme-artifacts-dev' is not a valid S3"),
        ({"lake_bucket": "Lake_Bucket"}, "--lake-bucket 'Lake_Bucket' is not a valid S3 bucket name"),
        ({"env": "Dev-1"}, "--env 'Dev-1' is not a valid environment name"),
        ({"prefix": "a//b"}, "--prefix 'a//b' is not a valid key prefix"),
        ({"datasets": ("web_logs", "weblogs")}, "no contract for dataset(s) weblogs; known datasets: customers"),
        ({"workers": 1}, "at least 2 workers"),
        ({"worker_type": "G.3X"}, "--worker-type 'G.3X' is not one of G.1X, G.2X, G.4X, G.8X"),
    ],
)
def test_bad_settings_are_refused_before_any_aws_call(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(deploy.SettingsError) as raised:
        deploy.make_plan(settings(**overrides))
    assert message in str(raised.value)


def test_cli_exit_status_and_messages(buckets: None, capsys: pytest.CaptureFixture[str]) -> None:
    base = ["--env", "dev", "--lake-bucket", LAKE, "--artifacts-bucket", ARTIFACTS, "--region", REGION]
    assert deploy.main([*base, "--role-arn", "not-an-arn"]) == 2
    assert "error: --role-arn 'not-an-arn' is not an IAM role ARN" in capsys.readouterr().err

    assert deploy.main([*base[:4], "--artifacts-bucket", "no-such-bucket", "--role-arn", ROLE_ARN]) == 1
    assert "error: the artifacts bucket 'no-such-bucket' does not exist" in capsys.readouterr().err

    assert deploy.main([*base, "--role-arn", ROLE_ARN, "--datasets", "web_logs", "--workers", "3"]) == 0
    out = capsys.readouterr().out
    assert "job       dev-ingest-web_logs: created" in out
    assert glue().get_job(JobName="dev-ingest-web_logs")["Job"]["NumberOfWorkers"] == 3
    assert job_names() == ["dev-ingest-web_logs"]


def test_dry_run_makes_no_aws_call(
    fake_credentials: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the dry run made an AWS client or call")

    import botocore.client
    import botocore.session

    monkeypatch.setattr(boto3.Session, "client", refuse)
    monkeypatch.setattr(boto3.Session, "resource", refuse)
    monkeypatch.setattr(botocore.session.Session, "create_client", refuse)
    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", refuse)
    argv = ["--lake-bucket", LAKE, "--artifacts-bucket", ARTIFACTS, "--role-arn", ROLE_ARN, "--dry-run"]
    assert deploy.main(argv) == 0
    out = capsys.readouterr().out
    assert "dry run: no AWS call made" in out
    build = deploy.build_package().build_id
    assert f"s3://{ARTIFACTS}/glue/dev/{build}/glue_ingest.zip" in out
    for dataset in DATASETS:
        assert f"job       dev-ingest-{dataset} (created, or updated if it exists)" in out
        assert f'"--source_path": "s3://{LAKE}/lake/raw/{dataset}"' in out
    assert out.count('"--job-bookmark-option": "job-bookmark-disable"') == len(DATASETS)
    assert out.count('"MaxConcurrentRuns": 1') == len(DATASETS)


# --- the package as Glue loads it -----------------------------------------------------------------------------

# Glue puts each --extra-py-files zip on sys.path as it is: the package is imported with zipimport.
ZIP_IMPORT = """
import sys
sys.path.insert(0, sys.argv[1])
import glue_ingest.contracts as contracts
import glue_ingest.cli
assert contracts.__file__.startswith(sys.argv[1]), contracts.__file__
assert glue_ingest.cli.__file__.startswith(sys.argv[1]), glue_ingest.cli.__file__
{check}
"""


def _run_from_zip(tmp_path: Path, check: str) -> subprocess.CompletedProcess[str]:
    package = tmp_path / "glue_ingest.zip"
    package.write_bytes(deploy.build_package().zip_bytes)
    # -I: neither the repository folder nor PYTHONPATH on sys.path; the zip comes first.
    return subprocess.run(
        [sys.executable, "-I", "-c", ZIP_IMPORT.format(check=check), str(package)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )


def test_package_imports_from_the_zip_and_holds_the_contracts(tmp_path: Path) -> None:
    check = (
        "from importlib.resources import files\n"
        "names = sorted(p.name for p in (files('glue_ingest') / 'contracts').iterdir())\n"
        f"assert names == {[f'{d}.yml' for d in DATASETS]!r}, names\n"
    )
    result = _run_from_zip(tmp_path, check)
    assert result.returncode == 0, result.stderr


def test_contracts_load_when_imported_from_the_zip(tmp_path: Path) -> None:
    """On Glue the package is imported from the zip (--extra-py-files): the contracts must still load."""
    check = (
        "assert contracts.available_datasets() == " + repr(DATASETS) + ", contracts.available_datasets()\n"
        "contracts.load_contract('web_logs')\n"
    )
    result = _run_from_zip(tmp_path, check)
    assert result.returncode == 0, result.stderr


# --- the CloudFormation template ------------------------------------------------------------------------------


def test_cfn_lint_passes() -> None:
    cfn_lint = Path(sys.executable).parent / "cfn-lint"
    assert cfn_lint.exists(), "cfn-lint is not installed in the virtualenv (the dev extra pins it)"
    result = subprocess.run([str(cfn_lint), str(TEMPLATE)], capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 0, result.stdout + result.stderr


PARAMETERS = {
    "Env": "dev",
    "LakeBucketName": LAKE,
    "ArtifactsBucketName": ARTIFACTS,
    "AthenaResultsBucketName": "acme-athena-results-dev",
    "Prefix": "lake",
    "AWS::Partition": "aws",
    "AWS::Region": REGION,
    "AWS::AccountId": ACCOUNT,
}


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template(TEMPLATE)


def _references(template: dict[str, Any]) -> dict[str, str]:
    """What !Ref and !GetAtt give for the resources the policies name, with PARAMETERS."""
    refs = dict(PARAMETERS)
    resources = template["Resources"]
    for name, resource in resources.items():
        props = resource.get("Properties", {})
        if resource["Type"] == "AWS::S3::Bucket":
            refs[name] = resolve(props["BucketName"], refs)
        elif resource["Type"] == "AWS::Athena::WorkGroup":
            refs[name] = resolve(props["Name"], refs)
        elif resource["Type"] == "AWS::IAM::Role":
            refs[f"{name}.Arn"] = f"arn:aws:iam::{ACCOUNT}:role/{resolve(props['RoleName'], refs)}"
        elif resource["Type"] == "AWS::SNS::Topic":
            refs[name] = f"arn:aws:sns:{REGION}:{ACCOUNT}:{resolve(props['TopicName'], refs)}"
        elif resource["Type"] == "AWS::CodeBuild::Project":
            refs[name] = resolve(props["Name"], refs)
            refs[f"{name}.Arn"] = f"arn:aws:codebuild:{REGION}:{ACCOUNT}:project/{refs[name]}"
        elif resource["Type"] == "AWS::StepFunctions::StateMachine":
            refs[name] = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{resolve(props['StateMachineName'], refs)}"
        elif resource["Type"] == "AWS::Logs::LogGroup":
            refs[f"{name}.Arn"] = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{resolve(props['LogGroupName'], refs)}:*"
    return refs


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def policies(template: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Every policy document's statements, rendered, by the logical id of the resource holding it."""
    refs = _references(template)
    found: dict[str, list[dict[str, Any]]] = {}
    for name, resource in template["Resources"].items():
        props = resource.get("Properties", {})
        docs = [p["PolicyDocument"] for p in props.get("Policies", [])]
        if "PolicyDocument" in props:
            docs.append(props["PolicyDocument"])
        if docs:
            found[name] = [s for doc in docs for s in _as_list(resolve(doc, refs)["Statement"])]
    return found


def role_statements(template: dict[str, Any], role: str) -> list[dict[str, Any]]:
    """A role's statements: inline policies and the template's managed policies attached to it."""
    found = policies(template)
    attached = [ref["Ref"] for ref in template["Resources"][role]["Properties"].get("ManagedPolicyArns", [])]
    return found.get(role, []) + [s for name in attached for s in found[name]]


def allows(statements: list[dict[str, Any]], action: str, resource: str) -> bool:
    """Whether the statements allow `action` on `resource`: IAM wildcards, explicit Deny wins.
    Conditions are taken as met, so a False here holds whatever the request's context."""

    def matches(statement: dict[str, Any]) -> bool:
        assert "NotAction" not in statement and "NotResource" not in statement
        actions = _as_list(statement["Action"])
        return any(fnmatch.fnmatchcase(action.lower(), a.lower()) for a in actions) and any(
            fnmatch.fnmatchcase(resource, r) for r in _as_list(statement["Resource"])
        )

    relevant = [s for s in statements if matches(s)]
    return any(s["Effect"] == "Allow" for s in relevant) and not any(s["Effect"] == "Deny" for s in relevant)


S3_WRITES = [
    "s3:PutObject",
    "s3:DeleteObject",
    "s3:DeleteObjectVersion",
    "s3:PutObjectAcl",
    "s3:PutObjectTagging",
    "s3:RestoreObject",
    "s3:AbortMultipartUpload",
]


def obj(key: str, bucket: str = LAKE) -> str:
    return f"arn:aws:s3:::{bucket}/{key}"


def test_no_policy_grants_s3_on_every_resource(template: dict[str, Any]) -> None:
    found = policies(template)
    assert {"GlueJobRole", "DbtPolicy", "GlueDeployerPolicy", "LakeBucketPolicy"} <= set(found)
    for name, statements in found.items():
        for statement in statements:
            actions = [a.lower() for a in _as_list(statement["Action"])]
            if not any(a == "*" or a.startswith("s3:") for a in actions):
                continue
            for resource in _as_list(statement["Resource"]):
                assert resource != "*", (name, statement.get("Sid"))
                assert not fnmatch.fnmatchcase("arn:aws:s3:::another-bucket/x", resource), (name, resource)
                assert resource.startswith("arn:aws:s3:::"), (name, resource)


def test_glue_role_reads_raw_and_writes_only_bronze_and_quarantine(template: dict[str, Any]) -> None:
    glue_role = role_statements(template, "GlueJobRole")
    raw = obj("lake/raw/web_logs/2024/01/02/part-1.csv")
    assert allows(glue_role, "s3:GetObject", raw)
    for action in S3_WRITES:
        assert not allows(glue_role, action, raw), action
        assert not allows(glue_role, action, obj("lake/warehouse/silver/x.parquet")), action
        assert not allows(glue_role, action, obj("glue/dev/abc/glue_ingest.zip", ARTIFACTS)), action
    for key in ("lake/bronze/web_logs/ingest_date=2024-01-02/r_1.parquet", "lake/quarantine/web_logs/_staging/r/x"):
        for action in ("s3:GetObject", "s3:PutObject", "s3:DeleteObject"):
            assert allows(glue_role, action, obj(key)), (action, key)
    assert allows(glue_role, "s3:GetObject", obj("glue/dev/abc/glue_ingest.zip", ARTIFACTS))
    assert not allows(glue_role, "s3:GetObject", obj("glue/prod/abc/glue_ingest.zip", ARTIFACTS))
    assert not allows(glue_role, "s3:GetObject", obj("lake/warehouse/gold/x.parquet"))

    # The Glue catalog: the env's bronze database and its tables, nothing else.
    for statement in glue_role:
        if any(a.startswith("glue:") for a in _as_list(statement["Action"])):
            assert set(_as_list(statement["Resource"])) == {
                f"arn:aws:glue:{REGION}:{ACCOUNT}:catalog",
                f"arn:aws:glue:{REGION}:{ACCOUNT}:database/dev_bronze",
                f"arn:aws:glue:{REGION}:{ACCOUNT}:table/dev_bronze/*",
            }
    assert allows(glue_role, "glue:CreateTable", f"arn:aws:glue:{REGION}:{ACCOUNT}:table/dev_bronze/web_logs")
    assert not allows(glue_role, "glue:CreateTable", f"arn:aws:glue:{REGION}:{ACCOUNT}:table/dev_silver/x")
    assert not allows(glue_role, "glue:DeleteTable", f"arn:aws:glue:{REGION}:{ACCOUNT}:table/dev_bronze/web_logs")


def test_dbt_policy_writes_the_warehouse_and_only_reads_bronze(template: dict[str, Any]) -> None:
    dbt = role_statements(template, "DbtRole")
    assert allows(dbt, "s3:PutObject", obj("lake/warehouse/dev_silver/web_requests/x.parquet"))
    assert allows(dbt, "s3:GetObject", obj("lake/bronze/web_logs/ingest_date=2024-01-02/r_1.parquet"))
    assert allows(dbt, "s3:PutObject", obj("dev/query-id.csv", "acme-athena-results-dev"))
    for key in ("lake/bronze/web_logs/x.parquet", "lake/raw/web_logs/x.csv", "lake/quarantine/web_logs/x"):
        for action in S3_WRITES:
            assert not allows(dbt, action, obj(key)), (action, key)
    assert not allows(dbt, "s3:GetObject", obj("lake/raw/web_logs/x.csv"))
    workgroup = f"arn:aws:athena:{REGION}:{ACCOUNT}:workgroup/dev-lakehouse"
    assert allows(dbt, "athena:StartQueryExecution", workgroup)
    assert not allows(dbt, "athena:StartQueryExecution", f"arn:aws:athena:{REGION}:{ACCOUNT}:workgroup/primary")
    assert allows(dbt, "glue:CreateTable", f"arn:aws:glue:{REGION}:{ACCOUNT}:table/dev_gold/sales_summary")
    assert not allows(dbt, "glue:CreateTable", f"arn:aws:glue:{REGION}:{ACCOUNT}:table/dev_bronze/web_logs")
    assert not allows(dbt, "glue:GetTable", f"arn:aws:glue:{REGION}:{ACCOUNT}:table/prod_gold/sales_summary")


def test_deployer_may_pass_only_the_glue_role(template: dict[str, Any]) -> None:
    deployer = policies(template)["GlueDeployerPolicy"]
    role = f"arn:aws:iam::{ACCOUNT}:role/dev-lakehouse-glue-ingest"
    assert allows(deployer, "iam:PassRole", role)
    assert not allows(deployer, "iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/admin")
    assert allows(deployer, "glue:UpdateJob", f"arn:aws:glue:{REGION}:{ACCOUNT}:job/dev-ingest-web_logs")
    assert not allows(deployer, "glue:UpdateJob", f"arn:aws:glue:{REGION}:{ACCOUNT}:job/prod-ingest-web_logs")
    assert allows(deployer, "s3:PutObject", obj("glue/dev/abc/glue_ingest.zip", ARTIFACTS))
    for action in S3_WRITES:
        assert not allows(deployer, action, obj("lake/raw/web_logs/x.csv")), action


def test_buckets_workgroup_and_outputs(template: dict[str, Any]) -> None:
    resources = template["Resources"]
    params = template["Parameters"]
    assert set(params) == {
        "Env",
        "LakeBucketName",
        "ArtifactsBucketName",
        "AthenaResultsBucketName",
        "Prefix",
        "BytesScannedCutoffPerQuery",
        "DailyRawGigabytes",
        # the daily schedule (tests/python/test_schedule.py)
        "ScheduleExpression",
        "ScheduleState",
        "AlertEmail",
        "DbtBuildTimeoutMinutes",
        "DbtComputeType",
    }
    assert params["BytesScannedCutoffPerQuery"]["Default"] == 10 * 1024**3
    buckets = {n: r["Properties"] for n, r in resources.items() if r["Type"] == "AWS::S3::Bucket"}
    assert set(buckets) == {"LakeBucket", "ArtifactsBucket", "AthenaResultsBucket"}
    for props in buckets.values():
        assert set(props["PublicAccessBlockConfiguration"].values()) == {True}
        sse = props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]
        assert sse["SSEAlgorithm"] == "AES256"
    assert buckets["LakeBucket"]["VersioningConfiguration"] == {"Status": "Enabled"}
    assert resources["LakeBucket"]["DeletionPolicy"] == "Retain"

    refs = _references(template)
    databases = sorted(
        resolve(r["Properties"]["DatabaseInput"]["Name"], refs)
        for r in resources.values()
        if r["Type"] == "AWS::Glue::Database"
    )
    assert databases == ["dev_audit", "dev_bronze", "dev_gold", "dev_ops", "dev_silver"]

    config = resources["AthenaWorkGroup"]["Properties"]["WorkGroupConfiguration"]
    assert resolve(resources["AthenaWorkGroup"]["Properties"]["Name"], refs) == "dev-lakehouse"
    assert config["EnforceWorkGroupConfiguration"] is True
    assert config["BytesScannedCutoffPerQuery"] == {"Ref": "BytesScannedCutoffPerQuery"}
    config = {**config, "ResultConfiguration": resolve(config["ResultConfiguration"], refs)}
    assert config["ResultConfiguration"]["OutputLocation"] == "s3://acme-athena-results-dev/dev/"
    assert {
        "LakeBucketName",
        "ArtifactsBucketName",
        "GlueJobRoleArn",
        "AthenaWorkGroupName",
        "AthenaS3StagingDir",
        "AthenaS3DataDir",
        "DbtRoleArn",
    } <= set(template["Outputs"])
    assert resolve(template["Outputs"]["AthenaS3DataDir"]["Value"], refs) == f"s3://{LAKE}/lake/warehouse/"
    # The jobs are made by the deploy command, not the template.
    assert not [r for r in resources.values() if r["Type"] == "AWS::Glue::Job"]


# --- sizing ----------------------------------------------------------------------------------------------


def test_a_daily_volume_sizes_each_job_for_its_format(buckets: None, session: boto3.Session) -> None:
    """500 GB a day: enough 4-core G.1X executors (plus the driver's worker) to read it at the measured
    rate of its format within the target, and not one more; a timeout three times the expected run."""
    from glue_ingest.contracts import load_contract

    run_deploy(session, daily_raw_gb=500)
    seconds = deploy.TARGET_RUN_MINUTES * 60
    workers = {}
    for dataset in DATASETS:
        job = glue().get_job(JobName=f"dev-ingest-{dataset}")["Job"]
        rate = deploy.INGEST_BYTES_PER_CORE_SECOND[load_contract(dataset).format]
        assert rate > 0
        executors = job["NumberOfWorkers"] - 1
        assert executors * 4 * rate * seconds >= 500e9 > (executors - 1) * 4 * rate * seconds
        expected_minutes = deploy.START_MINUTES + 500e9 / (executors * 4 * rate) / 60
        assert job["Timeout"] == max(30, -(-expected_minutes * 3 // 1))
        assert job["DefaultArguments"]["--enable-auto-scaling"] == "true"
        workers[load_contract(dataset).format] = job["NumberOfWorkers"]
    # The format that costs more per byte gets at least as many workers for the same volume.
    rates = deploy.INGEST_BYTES_PER_CORE_SECOND
    cheaper, dearer = sorted(("csv", "json"), key=lambda fmt: -rates[fmt])
    assert workers[dearer] >= workers[cheaper] > 2


def test_explicit_workers_and_timeout_win_over_the_sizing(buckets: None, session: boto3.Session) -> None:
    run_deploy(session, daily_raw_gb=500, workers=7, timeout_minutes=45, datasets=("web_logs",))
    job = glue().get_job(JobName="dev-ingest-web_logs")["Job"]
    assert (job["NumberOfWorkers"], job["Timeout"]) == (7, 45)


def test_a_small_day_gets_the_minimum(buckets: None, session: boto3.Session) -> None:
    run_deploy(session, daily_raw_gb=0.1, datasets=("web_logs",))
    job = glue().get_job(JobName="dev-ingest-web_logs")["Job"]
    assert (job["NumberOfWorkers"], job["Timeout"]) == (2, 30)


def test_dry_run_states_the_size(capsys: pytest.CaptureFixture[str]) -> None:
    base = ["--lake-bucket", LAKE, "--artifacts-bucket", ARTIFACTS, "--role-arn", ROLE_ARN, "--region", REGION]
    assert deploy.main([*base, "--datasets", "web_logs", "--daily-raw-gb", "100", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "dev-ingest-web_logs (created, or updated if it exists):" in out
    assert "x G.1X at most, timeout" in out and "DPU-hours a day" in out
    assert deploy.main([*base, "--daily-raw-gb", "0", "--dry-run"]) == 2
    assert "--daily-raw-gb 0.0: must be a positive number of gigabytes" in capsys.readouterr().err


def test_the_template_passes_its_daily_volume_to_the_deploy_command(template: dict[str, Any]) -> None:
    assert template["Parameters"]["DailyRawGigabytes"]["Type"] == "Number"
    command = template["Outputs"]["GlueDeployCommand"]["Value"]
    assert "--daily-raw-gb ${DailyRawGigabytes}" in str(command)


def test_the_readme_states_the_sizing_the_code_does() -> None:
    """The README's Glue sizing table and its terabyte example are the constants and the sizing of glue_deploy."""
    import re
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    rows = dict(
        (fmt, rest) for fmt, rest in re.findall(r"^\| (CSV|JSON lines) \| (.+) \|$", readme, flags=re.MULTILINE)
    )
    assert set(rows) == {"CSV", "JSON lines"}
    for label, fmt in (("CSV", "csv"), ("JSON lines", "json")):
        measured = deploy.MEASURED_BYTES_PER_CORE_SECOND[fmt]
        sized = deploy.INGEST_BYTES_PER_CORE_SECOND[fmt]
        dpu_hours = deploy.dpu_hours_per_tb(fmt)
        assert rows[label] == (
            f"{measured / 1e6:.1f} MB/s per core | {sized / 1e6:.1f} MB/s per core | {dpu_hours:.1f} | "
            f"about ${dpu_hours * 0.44:.2f}"
        )
    size = deploy.JobSize.for_volume("csv", 1000e9, "G.1X")
    assert (
        f"`--daily-raw-gb 1000` gives {size.workers} workers and\nabout {size.expected_minutes} minutes"
        in readme
    )
