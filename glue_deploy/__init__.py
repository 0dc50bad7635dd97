"""Deploy the ingest job to AWS Glue 5: package, upload, databases, one Glue job per dataset.

    python -m glue_deploy --env dev --lake-bucket B [--prefix lake] --artifacts-bucket A \\
        --role-arn ARN [--region R] [--datasets all] [--worker-type G.1X] [--daily-raw-gb GB]
        [--workers N] [--timeout-minutes M] [--dry-run]

1. Builds the job package: a zip of the `glue_ingest` package (its modules and `contracts/*.yml`), made
   from the repository files with fixed timestamps and sorted entries, so the same code always gives the
   same bytes. Its content hash (the build id) is part of the S3 keys:

       s3://<A>/glue/<env>/<build id>/glue_ingest.zip   the package (--extra-py-files)
       s3://<A>/glue/<env>/<build id>/glue_job.py       the script Glue runs

   An object already uploaded with the same content is not uploaded again, so redeploying unchanged
   code uploads nothing; a job keeps pointing at its own build until it is updated.
2. Creates the Glue databases `<env>_bronze`, `<env>_silver`, `<env>_gold`, `<env>_ops` and `<env>_audit` if missing.
   infra/lakehouse.yaml creates them too: deploy the stack first (it also makes the buckets and the
   role), or its creation would fail on databases that already exist.
3. Creates or updates one Glue job per dataset contract, `<env>-ingest-<dataset>`, reading
   `s3://<B>/<prefix>/raw/<dataset>/` and writing `.../bronze/<dataset>/` and `.../quarantine/<dataset>/`,
   registering bronze in `<env>_bronze`. An existing job is updated in place (UpdateJob replaces the
   whole definition, so settings changed by hand in the console are reverted); nothing is duplicated.
   Glue job bookmarks are off (the ingest manifest is the job's own bookmark) and at most one run of a
   job runs at a time: a second concurrent run would take the first one's staging folder for a crashed
   run's and roll it back (see commit.py).

`--dry-run` prints the plan and the job definitions without creating any AWS client. Jobs of datasets
whose contract was removed are reported, never deleted.

Exit status: 0 deployed (or planned), 1 the deployment failed (the message names the problem), 2 bad
arguments.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import io
import json
import math
import os
import re
import sys
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from glue_ingest.contracts import available_datasets, load_contract

PACKAGE_DIR = Path(__file__).resolve().parents[1] / "glue_ingest"  # what is shipped to Glue
PACKAGE_NAME = "glue_ingest"
PACKAGE_FILE = "glue_ingest.zip"
SCRIPT_FILE = "glue_job.py"
PACKAGE_FORMAT = "glue_ingest-zip-1"  # part of the build id: changing how the zip is made changes it
ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # the earliest date a zip entry can hold

GLUE_VERSION = "5.0"
PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"
# What the job imports beyond Spark (the Arrow path's tasks: pyarrow and numpy; the JSON parsers' vectorised UDFs:
# pandas), installed on Glue at the versions the tests ran with, so that pyarrow's CSV and JSON parsers are the
# tested ones.
TASK_MODULES = ("pyarrow", "numpy", "pandas")
LAYERS = ("bronze", "silver", "gold", "ops", "audit")
WORKER_TYPES = ("G.1X", "G.2X", "G.4X", "G.8X")
MIN_WORKERS = 2  # Glue's minimum for Spark jobs
MAX_WORKERS = 299  # a cap on what sizing gives one job; check the account's Glue quotas before raising it
DEFAULT_TIMEOUT_MINUTES = 120  # Glue's own default is 48 hours; an ingest run takes minutes

# --- sizing: workers and timeout from the day's raw volume ---------------------------------------------
#
# Raw bytes one core turns into bronze per second: the whole job (JVM start included) on 10M rows on 2 cores, from
# bench/results-ingest-10m.md (make bench, 2026-12-02 19:42, best of 3), divided by SIZING_MARGIN. Glue's vCPUs are
# of the same class; Glue counts in DPUs of 4 vCPUs and 16 GB (a G.1X worker is 1 DPU, a G.2X 2 ...).
MEASURED_BYTES_PER_CORE_SECOND = {
    "csv": 45.0e6,  # 1,080 MB in 12.0 s on 2 cores
    "json": 48.0e6,  # 2,206 MB in 23.0 s on 2 cores
}
# Nothing has run on Glue (we have no AWS): its tasks read S3 rather than the page cache, a single run here has
# taken a third longer than the best of three, and a day's files come in sizes the bench did not try. So the
# sizing assumes half the measured rate.
SIZING_MARGIN = 2.0
INGEST_BYTES_PER_CORE_SECOND = {fmt: rate / SIZING_MARGIN for fmt, rate in MEASURED_BYTES_PER_CORE_SECOND.items()}
CORES_PER_DPU = 4
DPUS_PER_WORKER = {"G.1X": 1, "G.2X": 2, "G.4X": 4, "G.8X": 8}
TARGET_RUN_MINUTES = 30  # a day's files ingested within half an hour
START_MINUTES = 2.0  # Glue 5 starts a job in about a minute; listing, planning and the commit add some
TIMEOUT_FACTOR = 3  # the timeout allows three times the expected run: a slow day, a retry of a task
MIN_TIMEOUT_MINUTES = 30


@dataclass(frozen=True)
class JobSize:
    """Workers and timeout of one dataset's job for a day's raw volume."""

    workers: int  # the maximum: auto scaling starts executors as the tasks need them
    timeout_minutes: int
    expected_minutes: float
    dpu_hours: float  # at most (every worker busy for the whole run); auto scaling pays less

    @staticmethod
    def for_volume(fmt: str, raw_bytes: float, worker_type: str, run_minutes: int = TARGET_RUN_MINUTES) -> JobSize:
        """Enough executors to ingest `raw_bytes` of `fmt` in `run_minutes`, plus the driver's worker."""
        core_seconds = raw_bytes / INGEST_BYTES_PER_CORE_SECOND[fmt]
        cores = CORES_PER_DPU * DPUS_PER_WORKER[worker_type]
        executors = max(1, math.ceil(core_seconds / (run_minutes * 60) / cores))
        workers = min(MAX_WORKERS, executors + 1)
        expected = START_MINUTES + core_seconds / ((workers - 1) * cores) / 60
        return JobSize(
            workers=max(MIN_WORKERS, workers),
            timeout_minutes=max(MIN_TIMEOUT_MINUTES, math.ceil(expected * TIMEOUT_FACTOR)),
            expected_minutes=round(expected, 1),
            dpu_hours=round(workers * DPUS_PER_WORKER[worker_type] * expected / 60, 2),
        )


def dpu_hours_per_tb(fmt: str) -> float:
    """DPU-hours of executor time to ingest a terabyte (10**12 bytes) of raw `fmt` files."""
    return 1e12 / INGEST_BYTES_PER_CORE_SECOND[fmt] / CORES_PER_DPU / 3600

ENV_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,19}$")
BUCKET_PATTERN = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
PREFIX_PATTERN = re.compile(r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$")
ROLE_ARN_PATTERN = re.compile(r"^arn:aws(-cn|-us-gov)?:iam::(\d{12}):role/([\w+=,.@-]+/)*[\w+=,.@-]{1,64}$")

DATABASE_DESCRIPTIONS = {
    "bronze": "Bronze layer of the lakehouse: one table per dataset, registered by the glue_ingest job "
    "from the dataset contracts (no crawler).",
    "silver": "Silver layer of the lakehouse: typed, validated, deduplicated tables built by dbt.",
    "gold": "Gold layer of the lakehouse: business tables built by dbt.",
    "ops": "Operational tables of the lakehouse (dbt incremental watermarks).",
    "audit": "Failing rows of dbt data tests (store_failures), one table per test.",
}


class DeployError(RuntimeError):
    """An expected failure, reported with its message only."""


class SettingsError(DeployError):
    """Bad arguments: found before any AWS call."""


# --- settings ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    env: str
    lake_bucket: str
    artifacts_bucket: str
    role_arn: str
    prefix: str = "lake"
    region: str | None = None
    datasets: tuple[str, ...] = ()  # empty: every dataset with a contract
    worker_type: str = "G.1X"
    workers: int | None = None  # None: sized from daily_raw_gb, else MIN_WORKERS
    timeout_minutes: int | None = None  # None: sized from daily_raw_gb, else DEFAULT_TIMEOUT_MINUTES
    daily_raw_gb: float | None = None  # the largest day of raw files of one dataset, in GB (10**9 bytes)

    def job_size(self, dataset: str) -> JobSize:
        """The size of one dataset's job: from its day's volume and format when given; --workers and
        --timeout-minutes, when given, win."""
        if self.daily_raw_gb is not None:
            fmt = load_contract(dataset).format
            size = JobSize.for_volume(fmt, self.daily_raw_gb * 1e9, self.worker_type)
        else:
            size = JobSize(MIN_WORKERS, DEFAULT_TIMEOUT_MINUTES, 0.0, 0.0)
        return dataclasses.replace(
            size,
            workers=self.workers if self.workers is not None else size.workers,
            timeout_minutes=self.timeout_minutes if self.timeout_minutes is not None else size.timeout_minutes,
        )

    def validated(self) -> Settings:
        """These settings with the prefix normalized and the dataset list resolved; DeployError if wrong."""
        problems = []
        if not ENV_PATTERN.fullmatch(self.env):
            problems.append(
                f"--env {self.env!r} is not a valid environment name: lower-case letters, digits and '_', "
                "starting with a letter, at most 20 characters (it becomes part of Glue database names)"
            )
        for flag, bucket in (("--lake-bucket", self.lake_bucket), ("--artifacts-bucket", self.artifacts_bucket)):
            if not BUCKET_PATTERN.fullmatch(bucket) or ".." in bucket:
                problems.append(f"{flag} {bucket!r} is not a valid S3 bucket name (give the name, not an s3:// URL)")
        prefix = self.prefix.strip("/")
        if not PREFIX_PATTERN.fullmatch(prefix):
            problems.append(
                f"--prefix {self.prefix!r} is not a valid key prefix: one or more '/'-separated parts of "
                "letters, digits, '_', '.' and '-'"
            )
        if not ROLE_ARN_PATTERN.fullmatch(self.role_arn):
            problems.append(
                f"--role-arn {self.role_arn!r} is not an IAM role ARN: expected "
                "arn:aws:iam::<12-digit account id>:role/<role name> (the GlueJobRoleArn output of "
                "infra/lakehouse.yaml)"
            )
        if self.worker_type not in WORKER_TYPES:
            problems.append(f"--worker-type {self.worker_type!r} is not one of {', '.join(WORKER_TYPES)}")
        if self.workers is not None and self.workers < MIN_WORKERS:
            problems.append(f"--workers {self.workers}: a Glue Spark job needs at least {MIN_WORKERS} workers")
        if self.timeout_minutes is not None and self.timeout_minutes < 1:
            problems.append(f"--timeout-minutes {self.timeout_minutes}: must be at least 1")
        if self.daily_raw_gb is not None and not self.daily_raw_gb > 0:
            problems.append(f"--daily-raw-gb {self.daily_raw_gb}: must be a positive number of gigabytes")
        known = available_datasets()
        datasets = self.datasets or tuple(known)
        unknown = [d for d in datasets if d not in known]
        if unknown:
            problems.append(
                f"no contract for dataset(s) {', '.join(unknown)}; known datasets: {', '.join(known) or 'none'}"
            )
        if not datasets:
            problems.append(f"no dataset to deploy: no contract found in {PACKAGE_DIR / 'contracts'}")
        if problems:
            raise SettingsError("; ".join(problems))
        return dataclasses.replace(self, prefix=prefix, datasets=tuple(sorted(set(datasets))))

    @property
    def role_account(self) -> str:
        match = ROLE_ARN_PATTERN.fullmatch(self.role_arn)
        return match.group(2) if match else ""

    def lake_path(self, layer: str, dataset: str) -> str:
        return f"s3://{self.lake_bucket}/{self.prefix}/{layer}/{dataset}"

    def database(self, layer: str) -> str:
        return f"{self.env}_{layer}"

    def job_name(self, dataset: str) -> str:
        return f"{self.env}-ingest-{dataset}"


# --- the package ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Package:
    files: tuple[tuple[str, bytes], ...]  # (name in the zip, content), sorted by name
    zip_bytes: bytes
    script: bytes
    digest: str  # sha256 of the format, every entry's name and content, and the script

    @property
    def build_id(self) -> str:
        return self.digest[:16]

    @property
    def names(self) -> list[str]:
        return [name for name, _ in self.files]


def package_files(package_dir: Path = PACKAGE_DIR) -> list[tuple[str, bytes]]:
    """The package's modules (sub-packages included) and contracts, as (name in the zip, content)."""
    paths = [
        p
        for p in package_dir.rglob("*.py")
        if "__pycache__" not in p.parts
    ]
    paths += list((package_dir / "contracts").glob("*.yml"))
    files = [(f"{PACKAGE_NAME}/{p.relative_to(package_dir).as_posix()}", p.read_bytes()) for p in paths]
    return sorted(files)


def _zip(files: Sequence[tuple[str, bytes]]) -> bytes:
    """A zip of `files` whose bytes depend only on the names and contents (and zlib)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files:
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # unix, whatever the machine
            info.external_attr = 0o644 << 16
            archive.writestr(info, data, compresslevel=9)
    return buffer.getvalue()


def build_package(package_dir: Path = PACKAGE_DIR) -> Package:
    files = package_files(package_dir)
    if not any(name.startswith(f"{PACKAGE_NAME}/contracts/") for name, _ in files):
        raise DeployError(f"no contract found in {package_dir / 'contracts'}: nothing to deploy")
    script = (package_dir / SCRIPT_FILE).read_bytes()
    # The build id hashes names and contents, not the zip bytes, so that another zlib build gives the
    # same id for the same code.
    digest = hashlib.sha256(PACKAGE_FORMAT.encode())
    for name, data in [*files, (f"script:{SCRIPT_FILE}", script)]:
        digest.update(name.encode() + b"\0" + hashlib.sha256(data).digest())
    return Package(files=tuple(files), zip_bytes=_zip(files), script=script, digest=digest.hexdigest())


# --- the plan ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Artifact:
    key: str
    body: bytes
    content_type: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.body).hexdigest()


@dataclass(frozen=True)
class Plan:
    settings: Settings
    package: Package
    package_artifact: Artifact
    script_artifact: Artifact
    databases: list[str]
    jobs: list[dict[str, Any]]  # CreateJob requests, Tags included

    def uri(self, artifact: Artifact) -> str:
        return f"s3://{self.settings.artifacts_bucket}/{artifact.key}"


def python_modules(pyproject: Path = PYPROJECT) -> str:
    """`--additional-python-modules`: TASK_MODULES pinned as pyproject.toml pins them."""
    import tomllib

    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    requirements = [*project.get("dependencies", [])]
    for group in project.get("optional-dependencies", {}).values():
        requirements += group
    pins = {}
    for requirement in requirements:
        name, _, version = requirement.partition("==")
        pins[name.strip().lower()] = version.strip()
    missing = [m for m in TASK_MODULES if not pins.get(m)]
    if missing:
        raise ValueError(f"{pyproject}: no exact pin (==) of {', '.join(missing)} in the project's dependencies")
    return ",".join(f"{m}=={pins[m]}" for m in TASK_MODULES)


def artifact_prefix(settings: Settings, package: Package) -> str:
    return f"glue/{settings.env}/{package.build_id}"


def job_definition(
    settings: Settings, dataset: str, package_uri: str, script_uri: str, build_id: str
) -> dict[str, Any]:
    """The CreateJob request of one dataset's job (UpdateJob takes the same fields but Name and Tags)."""
    size = settings.job_size(dataset)
    return {
        "Name": settings.job_name(dataset),
        "Description": f"Ingest raw {dataset} files into bronze (glue_ingest build {build_id}).",
        "Role": settings.role_arn,
        "GlueVersion": GLUE_VERSION,
        "Command": {"Name": "glueetl", "ScriptLocation": script_uri, "PythonVersion": "3"},
        "DefaultArguments": {
            "--extra-py-files": package_uri,
            "--additional-python-modules": python_modules(),
            "--dataset": dataset,
            "--source_path": settings.lake_path("raw", dataset),
            "--bronze_path": settings.lake_path("bronze", dataset),
            "--quarantine_path": settings.lake_path("quarantine", dataset),
            "--catalog_database": settings.database("bronze"),
            # The ingest manifest is the job's bookmark: it knows which raw files were committed.
            "--job-bookmark-option": "job-bookmark-disable",
            "--enable-metrics": "true",
            "--enable-continuous-cloudwatch-log": "true",
            # NumberOfWorkers is the most a run may use: a small day starts few executors.
            "--enable-auto-scaling": "true",
        },
        # Two concurrent runs of one dataset would roll back each other's staging (commit.recover).
        "ExecutionProperty": {"MaxConcurrentRuns": 1},
        "MaxRetries": 0,  # a failed run is rolled back by the next one; rerun it once the cause is fixed
        "Timeout": size.timeout_minutes,
        "WorkerType": settings.worker_type,
        "NumberOfWorkers": size.workers,
        "Tags": {
            "project": "lakehouse",
            "env": settings.env,
            "dataset": dataset,
            "managed-by": "glue_deploy",
            # The daily schedule finds the env's ingest jobs by this one tag (infra/lakehouse.yaml, ListIngestJobs):
            # one key, so the filter means the same whether ListJobs matches all of its tags or any.
            "lakehouse-env": settings.env,
        },
    }


def make_plan(settings: Settings, package: Package | None = None) -> Plan:
    settings = settings.validated()
    package = package or build_package()
    prefix = artifact_prefix(settings, package)
    package_artifact = Artifact(f"{prefix}/{PACKAGE_FILE}", package.zip_bytes, "application/zip")
    script_artifact = Artifact(f"{prefix}/{SCRIPT_FILE}", package.script, "text/x-python")
    package_uri = f"s3://{settings.artifacts_bucket}/{package_artifact.key}"
    script_uri = f"s3://{settings.artifacts_bucket}/{script_artifact.key}"
    return Plan(
        settings=settings,
        package=package,
        package_artifact=package_artifact,
        script_artifact=script_artifact,
        databases=[settings.database(layer) for layer in LAYERS],
        jobs=[job_definition(settings, d, package_uri, script_uri, package.build_id) for d in settings.datasets],
    )


def describe_plan(plan: Plan) -> str:
    s = plan.settings
    package = plan.package
    lines = [
        f"plan for env {s.env} in region {s.region or '(the default region)'} (dry run: no AWS call made)",
        f"  package   {len(package.files)} files, {len(package.zip_bytes)} bytes, build {package.build_id}",
        f"  upload    {plan.uri(plan.package_artifact)} (skipped if already there)",
        f"  upload    {plan.uri(plan.script_artifact)} (skipped if already there)",
        f"  check     s3://{s.lake_bucket}/ exists (lake: {s.prefix}/raw|bronze|quarantine/<dataset>/)",
    ]
    lines += [f"  database  {name} (created if missing)" for name in plan.databases]
    for job, dataset in zip(plan.jobs, s.datasets, strict=True):
        size = s.job_size(dataset)
        sized = (
            f"; expect about {size.expected_minutes} min and at most {size.dpu_hours} DPU-hours a day"
            if s.daily_raw_gb is not None
            else ""
        )
        lines.append(
            f"  job       {job['Name']} (created, or updated if it exists): {job['NumberOfWorkers']} x "
            f"{job['WorkerType']} at most, timeout {job['Timeout']} min{sized}"
        )
    lines.append("job definitions:")
    lines.append(json.dumps(plan.jobs, indent=2, sort_keys=True))
    return "\n".join(lines)


# --- applying it ---------------------------------------------------------------------------------------


@dataclass
class Report:
    lines: list[tuple[str, str, str]] = field(default_factory=list)  # (kind, name, status)
    warnings: list[str] = field(default_factory=list)

    def add(self, kind: str, name: str, status: str) -> None:
        self.lines.append((kind, name, status))

    def status(self, kind: str, name: str) -> str:
        return next(status for k, n, status in self.lines if (k, n) == (kind, name))

    def text(self) -> str:
        out = [f"  {kind:<9} {name}: {status}" for kind, name, status in self.lines]
        out += [f"  warning   {w}" for w in self.warnings]
        return "\n".join(out)


def _error_code(exc: Exception) -> str:
    return str((getattr(exc, "response", None) or {}).get("Error", {}).get("Code", ""))


def check_bucket(s3: Any, bucket: str, what: str, region: str) -> None:
    from botocore.exceptions import ClientError

    try:
        s3.head_bucket(Bucket=bucket)
    except ClientError as exc:
        code = _error_code(exc)
        if code in ("404", "NoSuchBucket", "NotFound"):
            raise DeployError(
                f"the {what} bucket {bucket!r} does not exist: create it first (infra/lakehouse.yaml creates it) "
                "or fix the bucket name"
            ) from None
        if code in ("403", "AccessDenied", "Forbidden"):
            raise DeployError(
                f"no access to the {what} bucket {bucket!r} (403): it belongs to another account, or these "
                "credentials may not list it"
            ) from None
        if code in ("301", "PermanentRedirect"):
            raise DeployError(f"the {what} bucket {bucket!r} is not in region {region}: pass its --region") from None
        raise


def upload(s3: Any, bucket: str, artifact: Artifact) -> str:
    """Upload unless an object with the same content is already at the key; returns what happened."""
    from botocore.exceptions import ClientError

    try:
        head = s3.head_object(Bucket=bucket, Key=artifact.key)
    except ClientError as exc:
        if _error_code(exc) not in ("404", "NoSuchKey", "NotFound"):
            raise
        head = None
    if head is not None and head.get("Metadata", {}).get("sha256") == artifact.sha256:
        return "unchanged (already uploaded)"
    s3.put_object(
        Bucket=bucket,
        Key=artifact.key,
        Body=artifact.body,
        ContentType=artifact.content_type,
        Metadata={"sha256": artifact.sha256},
    )
    return f"uploaded ({len(artifact.body)} bytes)" if head is None else "replaced (its content differed)"


def job_changes(current: dict[str, Any], wanted: dict[str, Any]) -> list[str]:
    """What UpdateJob would change in `current` (a GetJob result) to make it `wanted` (a job_definition)."""
    changes = []
    for key, value in wanted.items():
        if key in ("Name", "Tags"):
            continue
        old = current.get(key)
        if key == "DefaultArguments":
            old = old or {}
            changes += [f"argument {k} added" for k in sorted(value.keys() - old.keys())]
            changes += [f"argument {k} removed" for k in sorted(old.keys() - value.keys())]
            changes += [
                f"argument {k} {old[k]!r} -> {value[k]!r}" for k in sorted(value) if k in old and old[k] != value[k]
            ]
        elif isinstance(value, dict):
            old = old or {}
            changes += [f"{key}.{k} {old.get(k)!r} -> {v!r}" for k, v in value.items() if old.get(k) != v]
        elif old != value:
            changes.append(f"{key} {old!r} -> {value!r}")
    return changes


def apply_job(glue: Any, definition: dict[str, Any], job_arn: str) -> str:
    name = definition["Name"]
    tags = definition["Tags"]
    try:
        current = glue.get_job(JobName=name)["Job"]
    except glue.exceptions.EntityNotFoundException:
        current = None
    if current is None:
        glue.create_job(**definition)
        return "created"
    changes = job_changes(current, definition)
    if changes:
        # UpdateJob replaces the whole definition: send all of it.
        glue.update_job(JobName=name, JobUpdate={k: v for k, v in definition.items() if k not in ("Name", "Tags")})
    current_tags = glue.get_tags(ResourceArn=job_arn).get("Tags", {})
    missing = {k: v for k, v in tags.items() if current_tags.get(k) != v}
    if missing:
        glue.tag_resource(ResourceArn=job_arn, TagsToAdd=missing)
        changes.append(f"tags {', '.join(sorted(missing))}")
    return f"updated: {'; '.join(changes)}" if changes else "unchanged"


def stale_jobs(glue: Any, env: str, wanted: set[str]) -> list[str]:
    prefix = f"{env}-ingest-"
    names = [n for page in glue.get_paginator("list_jobs").paginate() for n in page.get("JobNames", [])]
    return sorted(n for n in names if n.startswith(prefix) and n not in wanted)


def deploy(plan: Plan, session: Any = None) -> Report:
    """Apply the plan with `session` (a boto3 Session; by default one for the plan's region)."""
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, NoRegionError

    from glue_ingest.catalog import ensure_database

    s = plan.settings
    session = session or boto3.Session(region_name=s.region)
    report = Report()
    try:
        region = s.region or session.region_name
        if not region:
            raise DeployError("no AWS region: pass --region or set AWS_REGION")
        s3 = session.client("s3", region_name=region)
        glue = session.client("glue", region_name=region)
        account = session.client("sts", region_name=region).get_caller_identity()["Account"]
        if s.role_account != account:
            report.warnings.append(
                f"--role-arn is in account {s.role_account}, these credentials in {account}: Glue needs a "
                "role of the job's own account"
            )
        partition = session.get_partition_for_region(region)

        check_bucket(s3, s.artifacts_bucket, "artifacts", region)
        check_bucket(s3, s.lake_bucket, "lake", region)
        for artifact in (plan.package_artifact, plan.script_artifact):
            report.add("upload", plan.uri(artifact), upload(s3, s.artifacts_bucket, artifact))
        for name in plan.databases:
            layer = name[len(s.env) + 1 :]
            created = ensure_database(glue, name, DATABASE_DESCRIPTIONS[layer])
            report.add("database", name, "created" if created else "exists")
        for definition in plan.jobs:
            arn = f"arn:{partition}:glue:{region}:{account}:job/{definition['Name']}"
            report.add("job", definition["Name"], apply_job(glue, definition, arn))
        if set(s.datasets) == set(available_datasets()):
            for name in stale_jobs(glue, s.env, {job["Name"] for job in plan.jobs}):
                report.warnings.append(
                    f"job {name} has no dataset contract any more; left in place "
                    f"(aws glue delete-job --job-name {name} removes it)"
                )
    except NoCredentialsError:
        raise DeployError("no AWS credentials found (environment, ~/.aws or an instance role)") from None
    except NoRegionError:
        raise DeployError("no AWS region: pass --region or set AWS_REGION") from None
    except ClientError as exc:
        operation = getattr(exc, "operation_name", "a call")
        message = exc.response.get("Error", {}).get("Message", "")
        raise DeployError(f"AWS refused {operation}: {_error_code(exc)}: {message}") from None
    except BotoCoreError as exc:
        raise DeployError(f"AWS call failed: {exc}") from None
    return report


# --- command line -------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str]) -> tuple[Settings, bool]:
    parser = argparse.ArgumentParser(
        prog="python -m glue_deploy",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--env", default=os.environ.get("LAKE_ENV", "dev"), help="environment, default $LAKE_ENV or dev"
    )
    parser.add_argument("--lake-bucket", required=True, help="the lake's bucket (raw, bronze, quarantine)")
    parser.add_argument("--prefix", default="lake", help="the lake's key prefix in that bucket, default lake")
    parser.add_argument("--artifacts-bucket", required=True, help="bucket for the job package and script")
    parser.add_argument("--role-arn", required=True, help="IAM role the Glue jobs run as")
    parser.add_argument("--region", help="AWS region, default the AWS configuration's")
    parser.add_argument("--datasets", default="all", help="'all' (default) or comma-separated dataset names")
    parser.add_argument("--worker-type", default="G.1X", help=f"one of {', '.join(WORKER_TYPES)}; default G.1X")
    parser.add_argument(
        "--daily-raw-gb",
        type=float,
        help="the largest day of raw files of one dataset, in GB: sizes each job's workers (the most auto "
        f"scaling may start) and timeout to ingest it in about {TARGET_RUN_MINUTES} minutes",
    )
    parser.add_argument(
        "--workers", type=int, help=f"number of workers (the auto-scaling maximum); default sized, else {MIN_WORKERS}"
    )
    parser.add_argument(
        "--timeout-minutes",
        type=int,
        help=f"job run timeout; default sized from --daily-raw-gb, else {DEFAULT_TIMEOUT_MINUTES}",
    )
    parser.add_argument("--dry-run", action="store_true", help="print the plan; create no AWS client")
    args = parser.parse_args(list(argv))
    datasets = () if args.datasets == "all" else tuple(d.strip() for d in args.datasets.split(",") if d.strip())
    if args.datasets != "all" and not datasets:
        parser.error("--datasets: give 'all' or at least one dataset name")
    settings = Settings(
        env=args.env,
        lake_bucket=args.lake_bucket,
        artifacts_bucket=args.artifacts_bucket,
        role_arn=args.role_arn,
        prefix=args.prefix,
        region=args.region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION"),
        datasets=datasets,
        worker_type=args.worker_type,
        workers=args.workers,
        timeout_minutes=args.timeout_minutes,
        daily_raw_gb=args.daily_raw_gb,
    )
    return settings, args.dry_run


def main(argv: Sequence[str] | None = None) -> int:
    settings, dry_run = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        plan = make_plan(settings)
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        if dry_run:
            print(describe_plan(plan))
            return 0
        report = deploy(plan)
    except DeployError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"deployed env {plan.settings.env}, build {plan.package.build_id}:")
    print(report.text())
    return 0

