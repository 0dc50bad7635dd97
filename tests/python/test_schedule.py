"""The daily schedule of infra/lakehouse.yaml, offline: EventBridge -> Step Functions -> the Glue ingest jobs ->
CodeBuild (dbt build, data-quality report, docs site) -> S3, with an SNS alert on failure and a guard against two
runs at once.

What is checked, and against what:
- the state machine's definition, with the Amazon States Language validator `asl-validator` (npm, pinned in
  infra/package.json; `make test` installs it), which also rejects a broken copy here, so it is not a no-op;
- the whole stack, created on moto's CloudFormation. moto 5.2 has no CloudFormation model for five of the
  template's types (Glue databases, the Athena workgroup, S3 bucket policies, the SNS subscription, the CodeBuild
  project): this module adds one for each that creates the resource in moto's own service backend, so the stack
  is created whole and every resource can be read back through the AWS API;
- the state machine *executed* by moto's Step Functions interpreter (moto's port of LocalStack's ASL interpreter),
  against moto's Glue, SNS and Step Functions. Glue job runs succeed on moto; a test makes one fail. The one
  thing moto's interpreter lacks is CodeBuild's `.sync` pattern: `_CodeBuildSync` below adds it as the AWS
  documentation describes it (StartBuild, then BatchGetBuilds until the build ends; the output is
  `{"Build": ...}` in Step Functions' casing; a build that fails raises States.TaskFailed with the build as the
  cause), with the build's outcome set by the test. What the build itself runs is checked apart: the build spec's
  build phase must be the command `make athena-local` runs on the local Athena, and the local-Athena tests run it;
- the IAM policies of the new roles, with the small IAM evaluator of test_deploy.py.

Not checked (no AWS here): a real deployment, IAM's own evaluation, EventBridge firing on time, a real CodeBuild
build, and the error names AWS gives throttling and concurrency errors (taken from the AWS documentation).
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from moto import mock_aws
from moto.core.common_models import CloudFormationModel

from local_athena.iam import load_template, resolve
from tests.python.test_deploy import ACCOUNT, ARTIFACTS, LAKE, REGION, _references, allows, obj, policies

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = REPO / "infra" / "lakehouse.yaml"
BUILDSPEC = REPO / "infra" / "buildspec.yml"
ASL_VALIDATOR = REPO / "infra" / "node_modules" / ".bin" / "asl-validator"
STACK = "lakehouse-dev"
STACK_PARAMETERS = {
    "Env": "dev",
    "LakeBucketName": LAKE,
    "ArtifactsBucketName": ARTIFACTS,
    "AthenaResultsBucketName": "acme-athena-results-dev",
    "AlertEmail": "data-team@example.com",
}
STATE_MACHINE = "dev-lakehouse-daily"
TOPIC_ARN = f"arn:aws:sns:{REGION}:{ACCOUNT}:dev-lakehouse-alerts"
PROJECT = "dev-lakehouse-dbt"


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template(TEMPLATE)


def definition(template: dict[str, Any]) -> dict[str, Any]:
    """The state machine's definition as CloudFormation would render it for env dev."""
    refs = _references(template)  # with test_deploy's PARAMETERS, AWS::Partition included
    return json.loads(resolve(template["Resources"]["DailyStateMachine"]["Properties"]["DefinitionString"], refs))


# --- the build spec is what the local Athena runs ----------------------------------------------------------


def test_the_build_spec_runs_exactly_what_make_athena_local_runs() -> None:
    from local_athena.cli import SCHEDULED_BUILD

    spec = yaml.safe_load(BUILDSPEC.read_text())
    phases = spec["phases"]
    assert set(phases) == {"install", "build", "post_build"}
    assert phases["build"]["commands"] == [shlex.join(SCHEDULED_BUILD)]
    assert phases["install"]["commands"] == ["make setup-runner"]
    assert phases["install"]["runtime-versions"] == {"python": "3.11"}
    # ... and the Makefile's athena-local gets there through `python -m local_athena run` and nothing else dbt.
    dry = subprocess.run(["make", "-n", "--no-print-directory", "athena-local", "LAKE_ROOT=/tmp/dry-run-lake"],
                         cwd=REPO, capture_output=True, text=True, check=True).stdout
    assert re.search(r"/python -m local_athena run\s*$", dry, re.MULTILINE), dry
    assert "--target athena" not in dry


def test_local_athena_run_calls_the_scheduled_build(monkeypatch: pytest.MonkeyPatch) -> None:
    """`python -m local_athena run [dbt args]` runs SCHEDULED_BUILD, with the dbt arguments as DBT_ARGS, and compares
    the tables after it (the stack itself is stubbed: this checks the wiring; the local-Athena tests run it)."""
    import argparse

    from local_athena import cli

    ran: list[list[str]] = []
    monkeypatch.setattr(cli, "_started", lambda: object())
    monkeypatch.setattr(cli, "cmd_sync_bronze", lambda _args: 0)
    monkeypatch.setattr(cli, "_dbt_env", lambda _stack: {"PATH": "/usr/bin"})
    monkeypatch.setattr(cli, "cmd_compare", lambda _args: ran.append(["compare"]) or 0)

    def fake_run(command: list[str], **_: Any) -> subprocess.CompletedProcess[str]:
        ran.append(list(command))
        return subprocess.CompletedProcess(command, 0)

    monkeypatch.setattr(cli.subprocess, "run", fake_run)
    assert cli.cmd_run(argparse.Namespace(dbt_args=["--full-refresh", "--select", "a b"])) == 0
    assert ran == [[*cli.SCHEDULED_BUILD, "DBT_ARGS=--full-refresh --select 'a b'"], ["compare"]]
    ran.clear()
    assert cli.cmd_run(argparse.Namespace(dbt_args=[])) == 0
    assert ran == [list(cli.SCHEDULED_BUILD), ["compare"]]


def test_the_runner_installs_the_makefiles_pins(tmp_path: Path) -> None:
    """The CodeBuild install (make setup-runner) and the developer install (make setup) take the same pinned
    constraints file; the runner's extra is one of the developer's."""
    def recipe(target: str) -> str:
        return subprocess.run(["make", "-n", "-B", "--no-print-directory", target, f"VENV={tmp_path}/venv"],
                              cwd=REPO, capture_output=True, text=True, check=True).stdout

    runner = re.findall(r'pip install --quiet -c constraints.txt -e "\.\[([a-z,]+)\]"', recipe("setup-runner"))
    developer = re.findall(r'pip install --quiet -c constraints.txt -e "\.\[([a-z,]+)\]"', recipe("setup"))
    assert runner == ["dbt"], recipe("setup-runner")
    assert len(developer) == 1 and "dbt" in developer[0].split(","), recipe("setup")
    assert not (tmp_path / "venv").exists()  # a dry run


# --- the state machine -------------------------------------------------------------------------------------


def _validate(path: Path) -> subprocess.CompletedProcess[str]:
    assert ASL_VALIDATOR.exists(), "asl-validator is missing: `make asl-validator` installs it (infra/package.json)"
    return subprocess.run([str(ASL_VALIDATOR), "--json-path", str(path)], capture_output=True, text=True)


def test_the_state_machine_is_valid_amazon_states_language(template: dict[str, Any], tmp_path: Path) -> None:
    good = tmp_path / "daily.asl.json"
    good.write_text(json.dumps(definition(template)))
    result = _validate(good)
    assert result.returncode == 0, result.stdout + result.stderr

    # The validator is not a no-op: a Choice that goes nowhere and a bad JSONPath are refused.
    for where, value, expected in ((("IsAnotherRunInProgress", "Default"), "NoSuchState", "target: NoSuchState"),
                                   (("CollectIngestStates", "Parameters", "states.$"), "$.ingest[[runs",
                                    "CollectIngestStates/Parameters/states.$ is invalid")):
        broken = definition(template)
        node = broken["States"]
        for key in where[:-1]:
            node = node[key]
        node[where[-1]] = value
        bad = tmp_path / "broken.asl.json"
        bad.write_text(json.dumps(broken))
        result = _validate(bad)
        assert result.returncode != 0 and expected in result.stdout + result.stderr, result.stdout + result.stderr


def test_every_step_is_retried_on_transient_errors_and_caught(template: dict[str, Any]) -> None:
    states = definition(template)["States"]
    ingest = states["Ingest"]["ItemProcessor"]["States"]["RunIngestJob"]
    assert ingest["Resource"].endswith(":states:::glue:startJobRun.sync")
    retried = {e for r in ingest["Retry"] for e in r["ErrorEquals"]}
    assert {"Glue.ConcurrentRunsExceededException", "Glue.ThrottlingException"} <= retried
    build = states["BuildWarehouse"]
    assert build["Resource"].endswith(":states:::codebuild:startBuild.sync")
    assert "CodeBuild.AccountLimitExceededException" in {e for r in build["Retry"] for e in r["ErrorEquals"]}
    # ICEBERG_COMMIT_ERROR and Athena throttling are retried statement by statement inside dbt-athena
    # (num_iceberg_retries, num_retries), where a retry is safe; the profile keeps them on.
    profile = yaml.safe_load((REPO / "profiles.example.yml").read_text())
    athena = next(iter(profile.values()))["outputs"]["athena"]
    assert athena.get("num_retries", 5) >= 1 and athena.get("num_iceberg_retries", 3) >= 1
    # Every Task has a Catch that leads to the alert, except the alert itself.
    for name, state in [*states.items(), *states["Ingest"]["ItemProcessor"]["States"].items()]:
        if state["Type"] == "Task" and name != "Notify":
            assert state["Catch"][0]["ErrorEquals"] == ["States.ALL"], name


# --- moto: CloudFormation models moto lacks, and CodeBuild's .sync for its Step Functions interpreter --------


def _recase(node: Any, first: Any) -> Any:
    """`node` with the first letter of every key passed through `first` (str.lower: CloudFormation's casing to
    CodeBuild's API; str.upper: the API's to Step Functions' output)."""
    if isinstance(node, list):
        return [_recase(n, first) for n in node]
    if isinstance(node, dict):
        return {first(k[0]) + k[1:]: _recase(v, first) for k, v in node.items()}
    return node


def _moto_model(cfn_type: str, create: Any, arn_attribute: bool = False) -> type[CloudFormationModel]:
    """A CloudFormation model for moto: `create(properties, account, region)` makes the resource in moto's own
    service backend and returns its physical id (an ARN where `arn_attribute`, which `!GetAtt X.Arn` then gives)."""

    class Model(CloudFormationModel):
        def __init__(self, physical_id: str) -> None:
            self.physical_id = physical_id

        @staticmethod
        def cloudformation_type() -> str:
            return cfn_type

        @staticmethod
        def cloudformation_name_type() -> str:
            return ""

        @classmethod
        def has_cfn_attr(cls, attr: str) -> bool:
            return arn_attribute and attr == "Arn"

        def get_cfn_attribute(self, attribute_name: str) -> str:
            return self.physical_id

        @property
        def physical_resource_id(self) -> str:
            return self.physical_id.rsplit("/", 1)[-1] if arn_attribute else self.physical_id

        @classmethod
        def create_from_cloudformation_json(cls, resource_name: str, cloudformation_json: Any, account_id: str,
                                            region_name: str, **kwargs: Any) -> CloudFormationModel:
            return cls(create(cloudformation_json["Properties"], account_id, region_name))

    Model.__name__ = Model.__qualname__ = "Moto" + cfn_type.replace("::", "")
    return Model


def _glue_database(props: dict, account: str, region: str) -> str:
    from moto.glue.models import glue_backends

    glue_backends[account][region].create_database(props["DatabaseInput"]["Name"], props["DatabaseInput"])
    return props["DatabaseInput"]["Name"]


def _athena_work_group(props: dict, account: str, region: str) -> str:
    from moto.athena.models import athena_backends

    athena_backends[account][region].create_work_group(
        props["Name"], props["WorkGroupConfiguration"], props["Description"], props.get("Tags", []))
    return props["Name"]


def _bucket_policy(props: dict, account: str, region: str) -> str:
    from moto.s3.models import s3_backends

    s3_backends[account]["aws"].put_bucket_policy(props["Bucket"], json.dumps(props["PolicyDocument"]).encode())
    return props["Bucket"]


def _sns_subscription(props: dict, account: str, region: str) -> str:
    from moto.sns.models import sns_backends

    return sns_backends[account][region].subscribe(props["TopicArn"], props["Endpoint"], props["Protocol"]).arn


def _codebuild_project(props: dict, account: str, region: str) -> str:
    from moto.codebuild.models import codebuild_backends

    def camel(node: Any) -> Any:
        return _recase(node, str.lower)

    project = codebuild_backends[account][region].create_project(
        props["Name"], props.get("Description"), camel(props["Source"]), camel(props["Artifacts"]),
        camel(props["Environment"]), props["ServiceRole"], camel(props.get("Tags")), None,
        props.get("TimeoutInMinutes"), props.get("QueuedTimeoutInMinutes"), None, camel(props.get("LogsConfig")),
        None)
    return project["arn"]


# Kept here: moto finds its models as the live direct subclasses of CloudFormationModel.
MOTO_MODELS = (
    _moto_model("AWS::Glue::Database", _glue_database),
    _moto_model("AWS::Athena::WorkGroup", _athena_work_group),
    _moto_model("AWS::S3::BucketPolicy", _bucket_policy),
    _moto_model("AWS::SNS::Subscription", _sns_subscription),
    _moto_model("AWS::CodeBuild::Project", _codebuild_project, arn_attribute=True),
)


# The builds the state machine started: (project, environment overrides). The test decides how they end.
class Builds:
    def __init__(self) -> None:
        self.started: list[tuple[str, dict[str, str]]] = []
        self.outcome = "SUCCEEDED"
        self.release = threading.Event()
        self.release.set()


BUILDS = Builds()


def _codebuild_sync_service() -> Any:
    from moto.stepfunctions.parser.api import HistoryEventType, TaskFailedEventDetails
    from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
        FailureEvent,
        FailureEventException,
    )
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import (
        StatesErrorNameType,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.resource import ResourceCondition
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_callback import (
        StateTaskServiceCallback,
    )
    from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails
    from moto.stepfunctions.parser.asl.utils.boto_client import boto_client_for

    class CodeBuildSync(StateTaskServiceCallback):
        def __init__(self) -> None:
            super().__init__(supported_integration_patterns={ResourceCondition.Sync})

        def _get_supported_parameters(self) -> set[str]:  # StartBuild's, as Step Functions passes them
            return {"ProjectName", "EnvironmentVariablesOverride", "SourceVersion", "BuildspecOverride",
                    "TimeoutInMinutesOverride", "ComputeTypeOverride", "ImageOverride"}

        def _eval_service_task(self, env: Any, resource_runtime_part: Any, normalised_parameters: dict,
                               state_credentials: Any) -> None:
            assert self._get_boto_service_action() == "start_build"
            client = boto_client_for(service="codebuild", region=resource_runtime_part.region,
                                     state_credentials=state_credentials)
            overrides = {v["Name"]: v["Value"] for v in normalised_parameters.get("EnvironmentVariablesOverride", [])}
            BUILDS.started.append((normalised_parameters["ProjectName"], overrides))
            build = client.start_build(projectName=normalised_parameters["ProjectName"])["build"]
            env.stack.append(build)

        def _build_sync_resolver(self, env: Any, resource_runtime_part: Any, normalised_parameters: dict,
                                 state_credentials: Any) -> Any:
            build_id = env.stack.pop()["id"]
            client = boto_client_for(service="codebuild", region=resource_runtime_part.region,
                                     state_credentials=state_credentials)

            def resolve_build() -> Any:
                if not BUILDS.release.is_set():
                    return None  # still running
                build = client.batch_get_builds(ids=[build_id])["builds"][0]
                build["buildStatus"] = BUILDS.outcome
                build["logs"] = {"groupName": f"/aws/codebuild/{PROJECT}", "deepLink": f"https://logs/{build_id}"}
                build = json.loads(json.dumps(build, default=str))
                if BUILDS.outcome == "SUCCEEDED":
                    return {"Build": _recase(build, str.upper)}
                raise FailureEventException(FailureEvent(
                    env=env, error_name=StatesErrorName(typ=StatesErrorNameType.StatesTaskFailed),
                    event_type=HistoryEventType.TaskFailed,
                    event_details=EventDetails(taskFailedEventDetails=TaskFailedEventDetails(
                        resource=self._get_sfn_resource(), resourceType=self._get_sfn_resource_type(),
                        error=StatesErrorNameType.StatesTaskFailed.to_name(),
                        cause=json.dumps({"Build": _recase(build, str.upper)})))))

            return resolve_build

    return CodeBuildSync


FAILING_JOBS: set[str] = set()


def _sync_without_a_callback(monkeypatch: pytest.MonkeyPatch) -> None:
    """moto 5.2.5's interpreter ends every `.sync` task (Glue's included) with `callback_endpoint.interrupt_all()`,
    although a task that has no `.waitForTaskToken` has no callback endpoint (None): every `.sync` task then fails
    with States.Runtime. Make that call conditional, changing nothing else of the method."""
    import inspect
    import textwrap

    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
        state_task_service_callback as callback,
    )

    method = callback.StateTaskServiceCallback._eval_integration_pattern
    source, fixes = re.subn(r"^(\s*)callback_endpoint\.interrupt_all\(\)$",
                            r"\1if callback_endpoint is not None:\n\1    callback_endpoint.interrupt_all()",
                            textwrap.dedent(inspect.getsource(method)), flags=re.MULTILINE)
    if fixes == 0:
        return  # a moto that no longer has the bug
    namespace = dict(vars(callback))
    exec(compile(source, inspect.getsourcefile(method), "exec"), namespace)  # noqa: S102 - moto's own source
    monkeypatch.setattr(callback.StateTaskServiceCallback, "_eval_integration_pattern",
                        namespace["_eval_integration_pattern"])


def _aws_sdk_casing(monkeypatch: pytest.MonkeyPatch) -> None:
    """AWS SDK integrations (`arn:aws:states:::aws-sdk:<service>:<action>`) take and give the API's members in
    PascalCase whatever the API's own casing (`StateMachineArn` in, `Executions` out, for Step Functions' own
    camelCase API). moto's interpreter has the converters (ported from LocalStack) but leaves them unplugged, so
    the sfn call fails on moto; plug them in, as LocalStack does."""
    from botocore.session import get_session
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_aws_sdk import (
        StateTaskServiceAwsSdk,
    )
    from moto.stepfunctions.parser.utils import camel_to_snake_case

    def operation(self: Any) -> Any:
        model = get_session().get_service_model(self._get_boto_service_name())
        action = self._get_boto_service_action()
        return model.operation_model(next(n for n in model.operation_names if camel_to_snake_case(n) == action))

    def normalise_parameters(self: Any, parameters: dict, *_: Any) -> None:
        self._to_boto_request(parameters, operation(self).input_shape)

    original = StateTaskServiceAwsSdk._eval_service_task

    def eval_service_task(self: Any, env: Any, *args: Any, **kwargs: Any) -> None:
        original(self, env, *args, **kwargs)
        self._from_boto_response(env.stack[-1], operation(self).output_shape)

    monkeypatch.setattr(StateTaskServiceAwsSdk, "_normalise_parameters", normalise_parameters)
    monkeypatch.setattr(StateTaskServiceAwsSdk, "_eval_service_task", eval_service_task)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """moto with the models above, an interpreter that executes state machines, and Glue runs that fail on demand."""
    from moto.cloudformation import parsing
    from moto.glue import models as glue_models
    from moto.stepfunctions.parser.asl.component.state.exec.state_task import state_task_factory

    parsing.get_model_map.cache_clear()
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    for var in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):
        monkeypatch.delenv(var, raising=False)

    codebuild_sync = _codebuild_sync_service()
    original_factory = state_task_factory.state_task_service_for
    monkeypatch.setattr(state_task_factory, "state_task_service_for",
                        lambda service_name: codebuild_sync() if service_name == "codebuild"
                        else original_factory(service_name=service_name))
    original_init = glue_models.FakeJobRun.__init__

    def job_run_init(self: Any, job_name: str, *args: Any, **kwargs: Any) -> None:
        original_init(self, job_name, *args, **kwargs)
        if job_name in FAILING_JOBS:
            self._transitions = [("STARTING", "RUNNING"), ("RUNNING", "FAILED")]

    monkeypatch.setattr(glue_models.FakeJobRun, "__init__", job_run_init)
    _aws_sdk_casing(monkeypatch)
    _sync_without_a_callback(monkeypatch)
    # CloudFormation makes its state machines in moto's plain Step Functions backend; the API reads the
    # interpreter's when it executes them.
    from moto.stepfunctions import models as sfn_models
    from moto.stepfunctions.parser.models import stepfunctions_parser_backends

    monkeypatch.setattr(sfn_models, "stepfunctions_backends", stepfunctions_parser_backends)
    FAILING_JOBS.clear()
    BUILDS.__init__()
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        yield


def create_stack(**overrides: str) -> dict[str, Any]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cloudformation = boto3.client("cloudformation", region_name=REGION)
        cloudformation.create_stack(
            StackName=STACK, TemplateBody=TEMPLATE.read_text(), Capabilities=["CAPABILITY_NAMED_IAM"],
            Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in {**STACK_PARAMETERS, **overrides}.items()])
    return cloudformation.describe_stacks(StackName=STACK)["Stacks"][0]


def test_the_stack_is_created_on_moto(aws: None, template: dict[str, Any]) -> None:
    stack = create_stack()
    assert stack["StackStatus"] == "CREATE_COMPLETE", stack.get("StackStatusReason")
    resources = boto3.client("cloudformation", region_name=REGION).list_stack_resources(
        StackName=STACK)["StackResourceSummaries"]
    assert {r["LogicalResourceId"] for r in resources} == set(template["Resources"])
    assert {r["ResourceStatus"] for r in resources} == {"CREATE_COMPLETE"}
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}

    sfn = boto3.client("stepfunctions", region_name=REGION)
    machine = sfn.describe_state_machine(stateMachineArn=outputs["DailyStateMachineArn"])
    assert machine["name"] == STATE_MACHINE
    assert machine["roleArn"] == f"arn:aws:iam::{ACCOUNT}:role/dev-lakehouse-schedule"
    assert json.loads(machine["definition"]) == definition(template)

    events = boto3.client("events", region_name=REGION)
    rule = events.describe_rule(Name="dev-lakehouse-daily")
    assert (rule["ScheduleExpression"], rule["State"]) == ("cron(0 4 * * ? *)", "ENABLED")
    [target] = events.list_targets_by_rule(Rule="dev-lakehouse-daily")["Targets"]
    assert target["Arn"] == outputs["DailyStateMachineArn"]
    assert target["RoleArn"] == f"arn:aws:iam::{ACCOUNT}:role/dev-lakehouse-schedule-trigger"

    sns = boto3.client("sns", region_name=REGION)
    [subscription] = sns.list_subscriptions_by_topic(TopicArn=outputs["AlertTopicArn"])["Subscriptions"]
    assert (subscription["Protocol"], subscription["Endpoint"]) == ("email", "data-team@example.com")

    codebuild = boto3.client("codebuild", region_name=REGION)
    [project] = codebuild.batch_get_projects(names=[outputs["DbtBuildProjectName"]])["projects"]
    assert (project["source"]["type"], project["source"]["location"]) == ("S3", f"{ARTIFACTS}/dbt/dev/project.zip")
    # (moto keeps no build spec path; the template's names the file this repository has)
    spec_path = template["Resources"]["DbtBuildProject"]["Properties"]["Source"]["BuildSpec"]
    assert (REPO / spec_path) == BUILDSPEC and BUILDSPEC.is_file()
    assert project["serviceRole"] == f"arn:aws:iam::{ACCOUNT}:role/dev-lakehouse-dbt-runner"
    variables = {v["name"]: v["value"] for v in project["environment"]["environmentVariables"]}
    assert variables == {
        "LAKE_ENV": "dev",
        "ATHENA_WORK_GROUP": "dev-lakehouse",
        "ATHENA_S3_STAGING_DIR": "s3://acme-athena-results-dev/dev/",
        "ATHENA_S3_DATA_DIR": f"s3://{LAKE}/lake/warehouse/",
        "PUBLISH_URI": f"s3://{ARTIFACTS}/published/dev",
    }
    # The build spec reads exactly the variables the profile's athena target reads, plus its own.
    profile = (REPO / "profiles.example.yml").read_text()
    for name in ("LAKE_ENV", "ATHENA_WORK_GROUP", "ATHENA_S3_STAGING_DIR", "ATHENA_S3_DATA_DIR"):
        assert f"env_var('{name}'" in profile, name
    assert "$PUBLISH_URI" in BUILDSPEC.read_text()

    glue = boto3.client("glue", region_name=REGION)
    assert {d["Name"] for d in glue.get_databases()["DatabaseList"]} == {
        "dev_bronze", "dev_silver", "dev_gold", "dev_ops", "dev_audit"}
    athena = boto3.client("athena", region_name=REGION)
    assert athena.get_work_group(WorkGroup="dev-lakehouse")["WorkGroup"]["Configuration"][
        "EnforceWorkGroupConfiguration"] is True
    roles = {r["RoleName"] for r in boto3.client("iam").list_roles()["Roles"]}
    assert {"dev-lakehouse-schedule", "dev-lakehouse-schedule-trigger", "dev-lakehouse-dbt-runner"} <= roles


def test_without_an_email_the_topic_has_no_subscription(aws: None) -> None:
    stack = create_stack(AlertEmail="", ScheduleState="DISABLED")
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
    assert boto3.client("sns", region_name=REGION).list_subscriptions_by_topic(
        TopicArn=outputs["AlertTopicArn"])["Subscriptions"] == []
    assert boto3.client("events", region_name=REGION).describe_rule(Name="dev-lakehouse-daily")["State"] == "DISABLED"


# --- executions ----------------------------------------------------------------------------------------------


def make_jobs(*datasets: str, env: str = "dev") -> list[str]:
    """Ingest jobs as python -m glue_deploy makes them (name and tags), plus jobs the schedule must not start."""
    glue = boto3.client("glue", region_name=REGION)
    names = []
    for dataset in datasets:
        name = f"{env}-ingest-{dataset}"
        glue.create_job(Name=name, Role="r", Command={"Name": "glueetl", "ScriptLocation": "s3://x/glue_job.py"},
                        ExecutionProperty={"MaxConcurrentRuns": 1},
                        Tags={"project": "lakehouse", "env": env, "dataset": dataset, "managed-by": "glue_deploy",
                              "lakehouse-env": env})
        names.append(name)
    return names


def job_runs(name: str) -> list[dict[str, Any]]:
    return boto3.client("glue", region_name=REGION).get_job_runs(JobName=name)["JobRuns"]


def start(name: str | None = None) -> str:
    sfn = boto3.client("stepfunctions", region_name=REGION)
    arn = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{STATE_MACHINE}"
    return sfn.start_execution(stateMachineArn=arn, **({"name": name} if name else {}))["executionArn"]


def finish(execution: str, timeout: float = 120) -> dict[str, Any]:
    sfn = boto3.client("stepfunctions", region_name=REGION)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        described = sfn.describe_execution(executionArn=execution)
        if described["status"] != "RUNNING":
            return described
        time.sleep(0.2)
    raise AssertionError(f"{execution} still running after {timeout} s")


def entered(execution: str) -> list[str]:
    """The states the execution entered, in order."""
    events = boto3.client("stepfunctions", region_name=REGION).get_execution_history(
        executionArn=execution, maxResults=1000)["events"]
    return [e["stateEnteredEventDetails"]["name"] for e in events if "stateEnteredEventDetails" in e]


def alerts() -> list[tuple[str | None, str]]:
    from moto.sns.models import sns_backends

    topic = sns_backends[ACCOUNT][REGION].topics[TOPIC_ARN]
    return [(subject, message) for _, message, subject, _, _ in topic.sent_notifications]


def test_a_run_ingests_every_dataset_of_its_env_then_builds(aws: None) -> None:
    create_stack()
    jobs = make_jobs("web_logs", "sales_transactions", "customers")
    make_jobs("web_logs", env="prod")  # another env's job: not this schedule's
    boto3.client("glue", region_name=REGION).create_job(  # shares the project's other tags, not its env
        Name="someone-elses-job", Role="r", Command={"Name": "glueetl", "ScriptLocation": "s3://x/y.py"},
        Tags={"project": "lakehouse", "env": "dev", "managed-by": "glue_deploy"})

    execution = start("2026-12-03-daily")
    described = finish(execution)
    assert described["status"] == "SUCCEEDED", described
    for job in jobs:
        assert [r["JobRunState"] for r in job_runs(job)] == ["SUCCEEDED"], job
    assert job_runs("prod-ingest-web_logs") == [] and job_runs("someone-elses-job") == []
    assert BUILDS.started == [(PROJECT, {"RUN_ID": "2026-12-03-daily"})]
    output = json.loads(described["output"])
    assert sorted(r["job"] for r in output["ingest"]["runs"]) == sorted(jobs)
    assert output["ingest"]["outcome"] == {"failed": False}
    assert output["build"]["status"] == "SUCCEEDED"
    assert alerts() == []
    # The ingest ran before the build: every job run had ended when the build started.
    states = entered(execution)
    assert states.index("BuildWarehouse") > max(i for i, s in enumerate(states) if s == "RunIngestJob")


def test_a_second_run_started_during_a_run_ends_at_once_touching_nothing(aws: None) -> None:
    create_stack()
    jobs = make_jobs("web_logs", "customers")
    BUILDS.release.clear()  # the first run's dbt build keeps running
    first = start("first")
    deadline = time.monotonic() + 60
    while not BUILDS.started and time.monotonic() < deadline:
        time.sleep(0.1)
    assert BUILDS.started, "the first run never reached its build"

    second = finish(start("second"))
    assert second["status"] == "SUCCEEDED"
    assert entered(second["executionArn"]) == ["FindOtherRuns", "IsAnotherRunInProgress", "AnotherRunInProgress"]
    assert len(BUILDS.started) == 1  # the second started no build ...
    assert [len(job_runs(j)) for j in jobs] == [1, 1]  # ... and no ingest job run
    assert alerts() == []

    BUILDS.release.set()
    assert finish(first)["status"] == "SUCCEEDED"
    # Once the first has ended, the next run goes ahead.
    third = finish(start("third"))
    assert third["status"] == "SUCCEEDED" and "BuildWarehouse" in entered(third["executionArn"])
    assert [len(job_runs(j)) for j in jobs] == [2, 2]


def test_a_failed_ingest_job_is_alerted_by_name_after_the_others_and_the_build_ran(aws: None) -> None:
    create_stack()
    jobs = make_jobs("web_logs", "sales_transactions", "customers")
    FAILING_JOBS.add("dev-ingest-sales_transactions")

    described = finish(start("with-a-failed-ingest"))
    assert described["status"] == "FAILED"
    assert described["error"] == "LakehouseRunFailed"
    assert {j: [r["JobRunState"] for r in job_runs(j)] for j in jobs} == {
        "dev-ingest-web_logs": ["SUCCEEDED"],
        "dev-ingest-sales_transactions": ["FAILED"],
        "dev-ingest-customers": ["SUCCEEDED"],
    }
    assert len(BUILDS.started) == 1  # the other datasets were still built
    [(subject, message)] = alerts()
    assert subject == "lakehouse dev: the daily run failed in ingest"
    assert "Step: ingest" in message and "Error: IngestJobFailed" in message
    assert "dev-ingest-sales_transactions" in message and "FAILED" in message
    assert "/aws-glue/jobs/error" in message
    assert "executions/details/arn:aws:states" in message and "with-a-failed-ingest" in message


def test_a_failed_build_is_alerted_with_its_log(aws: None) -> None:
    create_stack()
    make_jobs("web_logs")
    BUILDS.outcome = "FAILED"

    described = finish(start("with-a-failed-build"))
    assert described["status"] == "FAILED"
    [(subject, message)] = alerts()
    assert subject.startswith("lakehouse dev: the daily run failed in dbt build")
    assert f"CodeBuild {PROJECT}" in message and "Error: States.TaskFailed" in message
    assert f"/aws/codebuild/{PROJECT}" in message  # the log group, and the build's own link in the detail:
    assert "https://logs/" in message
    assert f"s3://{ARTIFACTS}/published/dev/latest/data_quality.md" in message
    assert len(subject) <= 100 and subject.isascii()  # SNS's limits on a subject


def test_no_ingest_job_is_an_alert_not_a_silent_success(aws: None) -> None:
    create_stack()
    make_jobs("web_logs", env="prod")
    described = finish(start())
    assert described["status"] == "FAILED"
    assert BUILDS.started == []
    [(subject, message)] = alerts()
    assert "NoIngestJobs" in message and "glue_deploy" in message


# --- IAM: each new role can do its step to this env, and nothing else ----------------------------------------


def test_the_schedule_roles_are_scoped_to_the_env(template: dict[str, Any]) -> None:
    found = policies(template)
    machine = found["StateMachineRole"]
    job = f"arn:aws:glue:{REGION}:{ACCOUNT}:job/"
    assert allows(machine, "glue:StartJobRun", job + "dev-ingest-web_logs")
    assert not allows(machine, "glue:StartJobRun", job + "prod-ingest-web_logs")
    assert not allows(machine, "glue:UpdateJob", job + "dev-ingest-web_logs")
    project = f"arn:aws:codebuild:{REGION}:{ACCOUNT}:project/"
    assert allows(machine, "codebuild:StartBuild", project + PROJECT)
    assert not allows(machine, "codebuild:StartBuild", project + "prod-lakehouse-dbt")
    assert allows(machine, "sns:Publish", TOPIC_ARN)
    assert not allows(machine, "sns:Publish", f"arn:aws:sns:{REGION}:{ACCOUNT}:prod-lakehouse-alerts")
    own = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{STATE_MACHINE}"
    assert allows(machine, "states:ListExecutions", own)
    assert not allows(machine, "states:StartExecution", own)
    assert not any(a.startswith("s3:") for s in machine for a in ([s["Action"]] if isinstance(s["Action"], str)
                                                                  else s["Action"]))

    trigger = found["ScheduleRole"]
    assert allows(trigger, "states:StartExecution", own)
    assert not allows(trigger, "states:StartExecution", own.replace("dev-", "prod-"))

    runner = found["DbtRunnerRole"] + found["DbtPolicy"]
    assert allows(runner, "s3:PutObject", obj("published/dev/latest/docs/index.html", ARTIFACTS))
    assert allows(runner, "s3:GetObject", obj("dbt/dev/project.zip", ARTIFACTS))
    for key in ("published/prod/latest/data_quality.md", "glue/dev/abc/glue_ingest.zip", "dbt/dev/project.zip"):
        assert not allows(runner, "s3:PutObject", obj(key, ARTIFACTS)), key
    assert not allows(runner, "s3:PutObject", obj("lake/raw/web_logs/x.csv"))
    operator = found["OperatorPolicy"]
    assert allows(operator, "states:StartExecution", own)
    assert allows(operator, "s3:GetObject", obj("published/dev/latest/docs/index.html", ARTIFACTS))
    assert not allows(operator, "s3:GetObject", obj("lake/bronze/web_logs/x.parquet"))


# --- publishing the report and the docs site -----------------------------------------------------------------


def test_publish_writes_the_run_and_then_latest(aws: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("publish_reports", REPO / "scripts" / "publish_reports.py")
    publish = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(publish)

    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket=ARTIFACTS)
    reports, target = tmp_path / "reports", tmp_path / "target"
    reports.mkdir()
    target.mkdir()
    (reports / "data_quality.md").write_text("# report\n")
    (reports / "data_quality.json").write_text('{"tests": {}}\n')
    (target / "static_index.html").write_text("<html>docs</html>")

    assert publish.main(["--to", f"s3://{ARTIFACTS}/published/dev", "--run-id", "exec-1",
                         "--reports-dir", str(reports), "--target-path", str(target)]) == 0
    keys = [line.removeprefix(f"published s3://{ARTIFACTS}/") for line in capsys.readouterr().out.splitlines()]
    assert keys == [f"published/dev/{folder}/{name}" for folder in ("runs/exec-1", "latest")
                    for name in ("data_quality.md", "data_quality.json", "docs/index.html")]
    page = s3.get_object(Bucket=ARTIFACTS, Key="published/dev/latest/docs/index.html")
    assert page["Body"].read() == b"<html>docs</html>" and page["ContentType"].startswith("text/html")

    # A build that failed before dbt wrote its artifacts: the report is missing, named, the rest published.
    (target / "static_index.html").unlink()
    assert publish.main(["--to", f"s3://{ARTIFACTS}/published/dev/", "--run-id", "exec-2",
                         "--reports-dir", str(reports), "--target-path", str(target)]) == 1
    captured = capsys.readouterr()
    assert "docs/index.html" in captured.err and "static_index.html does not exist" in captured.err
    assert s3.get_object(Bucket=ARTIFACTS, Key="published/dev/runs/exec-2/data_quality.md")["Body"].read() == (
        b"# report\n")

    with pytest.raises(SystemExit) as exited:
        publish.main(["--to", "https://not-s3", "--run-id", "x"])
    assert exited.value.code == 2
