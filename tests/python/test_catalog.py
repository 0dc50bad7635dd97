"""Bronze in the Glue Data Catalog (glue_ingest/catalog.py), against moto: no AWS account is contacted.

Expected schemas are read from the contract YAML files directly, not through glue_ingest.contracts.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.machinery
import logging
import re
import subprocess
import sys
import types
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from moto import mock_aws

from glue_ingest import catalog, cli
from glue_ingest import storage as st
from glue_ingest.contracts import Column, available_datasets, load_contract
from glue_ingest.manifest import FileStats, Manifest, write_manifest

REPO = Path(__file__).resolve().parents[2]
BUCKET = "lake-bucket"
DATABASE = "test_bronze"
SERDE = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
INPUT_FORMAT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"
OUTPUT_FORMAT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"
# The lineage columns the ingest job appends to every bronze record (README, bronze layer).
METADATA = [
    ("_extra", "string"),
    ("_source_file", "string"),
    ("_record_number", "bigint"),
    ("_ingest_run_id", "string"),
    ("_ingested_at", "timestamp"),
]


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SECURITY_TOKEN", "AWS_SESSION_TOKEN"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws():
        boto3.client("s3").create_bucket(Bucket=BUCKET)
        yield


@pytest.fixture
def glue(aws: None) -> Any:
    client = boto3.client("glue")
    catalog.ensure_database(client, DATABASE)
    return client


def bronze_location(dataset: str) -> str:
    return f"s3://{BUCKET}/lake/bronze/{dataset}"


def yaml_contract(dataset: str) -> dict[str, Any]:
    return yaml.safe_load((REPO / "glue_ingest" / "contracts" / f"{dataset}.yml").read_text(encoding="utf-8"))


def one_line(text: str) -> str:
    return " ".join(str(text).split())


def columns_of(table: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [(c["Name"], c["Type"], c.get("Comment", "")) for c in table["StorageDescriptor"]["Columns"]]


def partition_values(glue: Any, table: str) -> dict[str, str]:
    """value -> location of every partition of the table."""
    partitions = glue.get_partitions(DatabaseName=DATABASE, TableName=table)["Partitions"]
    return {p["Values"][0]: p["StorageDescriptor"]["Location"] for p in partitions}


def days(start: date, count: int) -> list[str]:
    return [(start + timedelta(days=i)).isoformat() for i in range(count)]


def record_batches(glue: Any) -> list[int]:
    """Sizes of the BatchCreatePartition calls the client makes; refuses more than the API's 100."""
    sizes: list[int] = []

    def check(params: dict[str, Any], **_: Any) -> None:
        sizes.append(len(params["PartitionInputList"]))
        assert sizes[-1] <= 100, "BatchCreatePartition takes at most 100 partitions"

    glue.meta.events.register("provide-client-params.glue.BatchCreatePartition", check)
    return sizes


def refuse_partitions(events: Any, refused: Callable[[str], bool], code: str = "InternalServiceException") -> None:
    """Make BatchCreatePartition fail, as the service does, for the partition values `refused` picks:
    those are reported in the response's Errors and not created; the others go through to moto."""
    rejected: list[list[str]] = []

    def split(params: dict[str, Any], **_: Any) -> None:
        keep = [p for p in params["PartitionInputList"] if not refused(p["Values"][0])]
        rejected.append([p["Values"][0] for p in params["PartitionInputList"] if refused(p["Values"][0])])
        params["PartitionInputList"] = keep

    def report(parsed: dict[str, Any], **_: Any) -> None:
        errors = [
            {"PartitionValues": [v], "ErrorDetail": {"ErrorCode": code, "ErrorMessage": "injected"}}
            for v in rejected.pop()
        ]
        if errors:
            parsed["Errors"] = parsed.get("Errors", []) + errors

    events.register("provide-client-params.glue.BatchCreatePartition", split)
    events.register("after-call.glue.BatchCreatePartition", report)


def stage_run(
    storage: st.Storage, bronze: str, run_id: str, ingest_date: str, committed: bool = True, files: int = 1
) -> None:
    """Fake bronze files of a run in `ingest_date=<date>/`, and its manifest if it committed."""
    names = [f"ingest_date={ingest_date}/{run_id}_{seq:05d}.zstd.parquet" for seq in range(files)]
    for name in names:
        storage.write_bytes(st.join(bronze, name), b"PAR1 not really parquet PAR1")
    if committed:
        manifest = Manifest(
            run_id=run_id,
            dataset="web_logs",
            ingest_date=ingest_date,
            started_at=f"{ingest_date}T00:00:00+00:00",
            committed_at=f"{ingest_date}T00:01:00+00:00",
            files=[FileStats(path=f"{run_id}.csv", size=1, records_read=1, records_written=1)],
            bronze_files=names,
        )
        write_manifest(storage, bronze, manifest)


# --- tables ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("dataset", available_datasets())
def test_table_is_the_contract(glue: Any, dataset: str) -> None:
    raw = yaml_contract(dataset)
    assert catalog.ensure_table(glue, DATABASE, load_contract(dataset), bronze_location(dataset)) == "created"

    table = glue.get_table(DatabaseName=DATABASE, Name=dataset)["Table"]
    expected = [(c["name"], c.get("type", "string"), one_line(c["description"])) for c in raw["columns"]]
    # Metadata comments come from the code; their names and types are pinned above.
    assert columns_of(table)[: len(expected)] == expected
    assert [(n, t) for n, t, _ in columns_of(table)[len(expected) :]] == METADATA
    assert all(comment for _, _, comment in columns_of(table))
    partitioning = raw["partitioning"][0]
    assert columns_of({"StorageDescriptor": {"Columns": table["PartitionKeys"]}}) == [
        (partitioning["name"], partitioning["type"], one_line(partitioning["description"]))
    ]
    assert table["PartitionKeys"][0]["Name"] == "ingest_date" and table["PartitionKeys"][0]["Type"] == "date"
    assert table["TableType"] == "EXTERNAL_TABLE"
    assert table["Description"] == one_line(raw["description"])
    sd = table["StorageDescriptor"]
    assert sd["Location"] == f"s3://{BUCKET}/lake/bronze/{dataset}/"
    assert (sd["InputFormat"], sd["OutputFormat"], sd["SerdeInfo"]["SerializationLibrary"]) == (
        INPUT_FORMAT,
        OUTPUT_FORMAT,
        SERDE,
    )
    params = table["Parameters"]
    assert params["classification"] == "parquet"
    assert params["parquet.compression"] == "ZSTD"
    assert params["lakehouse.contract"] == f"glue_ingest/contracts/{dataset}.yml"
    assert (REPO / params["lakehouse.contract"]).is_file()
    assert not any(key.startswith("projection.") for key in params)

    # Nothing changed: no new table version.
    assert catalog.ensure_table(glue, DATABASE, load_contract(dataset), bronze_location(dataset)) == "unchanged"
    assert glue.get_table(DatabaseName=DATABASE, Name=dataset)["Table"]["VersionId"] == table["VersionId"]


def test_ensure_database_is_idempotent(aws: None) -> None:
    client = boto3.client("glue")
    assert catalog.ensure_database(client, "db", "Bronze.") is True
    assert catalog.ensure_database(client, "db", "Bronze.") is False
    assert client.get_database(Name="db")["Database"]["Description"] == "Bronze."


def test_contract_gaining_a_column_updates_the_table(glue: Any, caplog: pytest.LogCaptureFixture) -> None:
    contract = load_contract("web_logs")
    catalog.ensure_table(glue, DATABASE, contract, bronze_location("web_logs"))
    # Parameters the catalog owns elsewhere (e.g. statistics) survive an update.
    table = glue.get_table(DatabaseName=DATABASE, Name="web_logs")["Table"]
    glue.update_table(
        DatabaseName=DATABASE,
        TableInput={
            **{k: table[k] for k in ("Name", "Description", "TableType", "PartitionKeys", "StorageDescriptor")},
            "Parameters": {**table["Parameters"], "numRows": "42"},
        },
    )
    grown = dataclasses.replace(
        contract, columns=(*contract.columns, Column("referrer", "string", "Referring page, if any."))
    )

    with caplog.at_level(logging.INFO, logger="glue_ingest.catalog"):
        assert catalog.ensure_table(glue, DATABASE, grown, bronze_location("web_logs")) == "updated"

    table = glue.get_table(DatabaseName=DATABASE, Name="web_logs")["Table"]
    names = [name for name, _, _ in columns_of(table)]
    assert names == [*contract.column_names, "referrer", *(n for n, _ in METADATA)]
    assert ("referrer", "string", "Referring page, if any.") in columns_of(table)
    assert table["Parameters"]["numRows"] == "42"
    assert table["Parameters"]["lakehouse.contract"] == "glue_ingest/contracts/web_logs.yml"
    assert any("added column referrer string" in r.getMessage() for r in caplog.records)

    # A type change is applied too (and logged as such), never guessed from the data.
    retyped = dataclasses.replace(
        grown,
        columns=tuple(dataclasses.replace(c, type="bigint") if c.name == "referrer" else c for c in grown.columns),
    )
    assert catalog.ensure_table(glue, DATABASE, retyped, bronze_location("web_logs")) == "updated"
    assert any("column referrer type string -> bigint" in r.getMessage() for r in caplog.records)
    assert ("referrer", "bigint") in [
        (n, t) for n, t, _ in columns_of(glue.get_table(DatabaseName=DATABASE, Name="web_logs")["Table"])
    ]


def test_partition_projection(glue: Any) -> None:
    contract = load_contract("web_logs")
    location = f"s3a://{BUCKET}/lake/bronze/web_logs/"  # Spark's scheme is accepted, stored as s3://
    assert catalog.ensure_table(glue, DATABASE, contract, location, partition_projection=True) == "created"

    table = glue.get_table(DatabaseName=DATABASE, Name="web_logs")["Table"]
    assert table["StorageDescriptor"]["Location"] == f"s3://{BUCKET}/lake/bronze/web_logs/"
    projection = {k: v for k, v in table["Parameters"].items() if k.startswith(("projection.", "storage."))}
    assert projection == {
        "projection.enabled": "true",
        "projection.ingest_date.type": "date",
        "projection.ingest_date.format": "yyyy-MM-dd",
        "projection.ingest_date.range": "2020-01-01,NOW",
        "projection.ingest_date.interval": "1",
        "projection.ingest_date.interval.unit": "DAYS",
        "storage.location.template": f"s3://{BUCKET}/lake/bronze/web_logs/ingest_date=${{ingest_date}}/",
    }
    assert table["PartitionKeys"][0]["Name"] == "ingest_date"  # still declared: Athena needs the column

    # Turning projection off again removes exactly those parameters.
    assert catalog.ensure_table(glue, DATABASE, contract, location) == "updated"
    params = glue.get_table(DatabaseName=DATABASE, Name="web_logs")["Table"]["Parameters"]
    assert not any(k.startswith(("projection.", "storage.location")) for k in params)
    assert params["classification"] == "parquet"


def test_a_table_can_only_point_at_s3(glue: Any, tmp_path: Path) -> None:
    with pytest.raises(catalog.CatalogError, match="not an S3 path"):
        catalog.ensure_table(glue, DATABASE, load_contract("web_logs"), str(tmp_path / "bronze"))


# --- partitions -----------------------------------------------------------------------------------


def test_partitions_registered_once(glue: Any) -> None:
    location = bronze_location("web_logs")
    catalog.ensure_table(glue, DATABASE, load_contract("web_logs"), location)
    batches = record_batches(glue)

    added = catalog.register_partitions(glue, DATABASE, "web_logs", location, [date(2024, 1, 3), "2024-01-02"])

    assert added == ["2024-01-02", "2024-01-03"]
    assert partition_values(glue, "web_logs") == {
        "2024-01-02": f"{location}/ingest_date=2024-01-02/",
        "2024-01-03": f"{location}/ingest_date=2024-01-03/",
    }
    partition = glue.get_partition(DatabaseName=DATABASE, TableName="web_logs", PartitionValues=["2024-01-02"])
    table = glue.get_table(DatabaseName=DATABASE, Name="web_logs")["Table"]
    sd = partition["Partition"]["StorageDescriptor"]
    assert sd["Columns"] == table["StorageDescriptor"]["Columns"]
    assert sd["SerdeInfo"]["SerializationLibrary"] == SERDE

    # Re-run: nothing to add, and no call that could fail.
    assert catalog.register_partitions(glue, DATABASE, "web_logs", location, ["2024-01-02", "2024-01-03"]) == []
    assert catalog.register_partitions(glue, DATABASE, "web_logs", location, ["2024-01-03", "2024-01-04"]) == [
        "2024-01-04"
    ]
    assert batches == [2, 1]


def test_existing_partitions_reads_every_page(aws: None) -> None:
    """moto returns every partition in one page, so paging is checked against stubbed responses."""
    from botocore.stub import Stubber

    glue = boto3.client("glue")
    with Stubber(glue) as stub:
        request = {"DatabaseName": DATABASE, "TableName": "web_logs", "ExcludeColumnSchema": True}
        stub.add_response("get_partitions", {"Partitions": [{"Values": ["2024-01-02"]}], "NextToken": "page2"}, request)
        stub.add_response(
            "get_partitions", {"Partitions": [{"Values": ["2024-01-03"]}]}, {**request, "NextToken": "page2"}
        )
        assert catalog.existing_partitions(glue, DATABASE, "web_logs") == {"2024-01-02", "2024-01-03"}
        stub.assert_no_pending_responses()


def test_partitions_in_chunks_of_100(glue: Any) -> None:
    location = bronze_location("web_logs")
    catalog.ensure_table(glue, DATABASE, load_contract("web_logs"), location)
    dates = days(date(2023, 1, 1), 250)
    catalog.register_partitions(glue, DATABASE, "web_logs", location, dates[:10])
    batches = record_batches(glue)

    added = catalog.register_partitions(glue, DATABASE, "web_logs", location, dates)

    assert added == dates[10:]
    assert batches == [100, 100, 40]
    assert sorted(partition_values(glue, "web_logs")) == dates
    assert catalog.register_partitions(glue, DATABASE, "web_logs", location, dates) == []
    assert batches == [100, 100, 40]


def test_partition_errors_are_raised_after_every_batch(glue: Any) -> None:
    location = bronze_location("web_logs")
    catalog.ensure_table(glue, DATABASE, load_contract("web_logs"), location)
    dates = days(date(2023, 1, 1), 150)
    refuse_partitions(glue.meta.events, lambda value: value in {dates[5], dates[120]})

    with pytest.raises(catalog.CatalogError) as exc:
        catalog.register_partitions(glue, DATABASE, "web_logs", location, dates)

    assert exc.value.partitions == [dates[5], dates[120]]
    assert f"ingest_date={dates[5]}: InternalServiceException: injected" in str(exc.value)
    assert sorted(partition_values(glue, "web_logs")) == [d for d in dates if d not in exc.value.partitions]


def test_already_exists_errors_are_not_failures(glue: Any) -> None:
    """A partition created by someone else between listing and creating is reported by the service as
    AlreadyExistsException: the outcome wanted, so not an error."""
    location = bronze_location("web_logs")
    catalog.ensure_table(glue, DATABASE, load_contract("web_logs"), location)
    refuse_partitions(glue.meta.events, lambda value: value == "2024-01-02", code="AlreadyExistsException")
    assert catalog.register_partitions(glue, DATABASE, "web_logs", location, ["2024-01-02", "2024-01-03"]) == [
        "2024-01-02",
        "2024-01-03",
    ]


def test_bad_partition_value(glue: Any) -> None:
    location = bronze_location("web_logs")
    catalog.ensure_table(glue, DATABASE, load_contract("web_logs"), location)
    with pytest.raises(catalog.CatalogError, match="not a date"):
        catalog.register_partitions(glue, DATABASE, "web_logs", location, ["2024-1-2"])


def test_committed_partitions_skip_uncommitted_folders(aws: None) -> None:
    storage = st.S3Storage(boto3.client("s3"))
    bronze = bronze_location("web_logs")
    stage_run(storage, bronze, "20240102T000000000000Z", "2024-01-02", files=2)
    stage_run(storage, bronze, "20240103T000000000000Z", "2024-01-03")
    stage_run(storage, bronze, "20240104T000000000000Z", "2024-01-04", committed=False)  # crashed mid-commit
    storage.write_bytes(f"{bronze}/_staging/20240104T000000000000Z/_RUN_STARTED", b"{}")
    storage.write_bytes(f"{bronze}/_runs/20240102T000000000000Z.json", b"{}")

    assert catalog.committed_partitions(storage, bronze) == ["2024-01-02", "2024-01-03"]


# --- the job's entry point ------------------------------------------------------------------------

GLUE_SCRIPT = ["glue_job.py", "--JOB_NAME", "ingest"]
NO_DATABASE = "--register_catalog true needs --catalog_database"
NOT_A_BOOL = "--register_catalog must be true or false, not 'yes'"


def local_argv(*extra: str) -> list[str]:
    paths = {layer: f"s3://{BUCKET}/lake/{layer}/web_logs" for layer in ("raw", "bronze", "quarantine")}
    return [
        "--dataset", "web_logs", "--source_path", paths["raw"], "--bronze_path", paths["bronze"],
        "--quarantine_path", paths["quarantine"], "--ingest_date", "2024-01-03", *extra,
    ]  # fmt: skip


def local_job_args(**fields: Any) -> cli.JobArgs:
    """What the job makes of local_argv(), with `fields` on top (the catalog options, Glue's)."""
    paths = cli.DatasetPaths(*(f"s3://{BUCKET}/lake/{layer}/web_logs" for layer in ("raw", "bronze", "quarantine")))
    return cli.JobArgs(targets=[("web_logs", paths)], ingest_date=date(2024, 1, 3), **fields)


@pytest.fixture
def resolved_options(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """A stand-in awsglue.utils.getResolvedOptions, argparse-based like Glue's: every name asked for is
    required, other arguments are ignored. Returns the lists of names it was asked for."""
    asked: list[list[str]] = []

    def get_resolved_options(argv: list[str], names: list[str]) -> dict[str, str]:
        assert argv[0] == "glue_job.py"  # Glue's parser skips the script name
        asked.append(list(names))
        parser = argparse.ArgumentParser()
        for name in names:
            parser.add_argument(f"--{name}", required=True)
        return vars(parser.parse_known_args(argv[1:])[0])

    utils = types.ModuleType("awsglue.utils")
    utils.__spec__ = importlib.machinery.ModuleSpec("awsglue.utils", None)
    utils.getResolvedOptions = get_resolved_options  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "awsglue.utils", utils)
    return asked


@pytest.mark.parametrize(
    ("argv", "database", "register"),
    [
        (local_argv(), None, None),
        (["--catalog_database", "db", *local_argv(), "--register_catalog", "FALSE"], "db", False),
        (local_argv("--catalog_database=db", "--register_catalog=true"), "db", True),
        (local_argv("--catalog_database", ""), None, None),
    ],
)
def test_parse_catalog_args(
    argv: list[str], database: str | None, register: bool | None, resolved_options: list[list[str]]
) -> None:
    """The catalog options, wherever they are among the job's arguments, and nothing else changed."""
    expected = local_job_args(catalog_database=database, register_catalog=register)
    assert cli.parse_args(argv, date(2000, 1, 1)) == expected

    # On Glue: the same, and getResolvedOptions is only asked for the catalog arguments given.
    glue_args = cli.parse_glue_args([*GLUE_SCRIPT, *argv], date(2000, 1, 1))
    assert dataclasses.replace(glue_args, job_name=None, glue_args={}) == expected
    given = [name for name in ("catalog_database", "register_catalog") if any(a.startswith(f"--{name}") for a in argv)]
    assert resolved_options == [[*cli.GLUE_REQUIRED_ARGS, "ingest_date", *given]]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--register_catalog", "true"], NO_DATABASE),
        (["--catalog_database", "db", "--register_catalog", "yes"], NOT_A_BOOL),
        (["--catalog_database"], "argument --catalog_database: expected one argument"),
        (["--catalog_database", "--dataset", "x"], "argument --catalog_database: expected one argument"),
    ],
)
def test_bad_catalog_args(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        cli.parse_args(local_argv(*argv), date(2000, 1, 1))
    assert exc.value.code == 2
    assert f"error: {message}" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--register_catalog", "true"], NO_DATABASE),
        (["--catalog_database", "db", "--register_catalog", "yes"], NOT_A_BOOL),
        (["--catalog_database", "", "--register_catalog", "TRUE"], NO_DATABASE),
    ],
)
def test_bad_catalog_args_on_glue(argv: list[str], message: str, resolved_options: list[list[str]]) -> None:
    with pytest.raises(cli.IngestError, match=f"^{re.escape(f'bad job arguments: {message}')}$"):
        cli.parse_glue_args([*GLUE_SCRIPT, *local_argv(*argv)], date(2000, 1, 1))


class FakeRuns:
    """Stands in for cli.run_datasets: records the arguments it was given and returns a fixed status."""

    def __init__(self, status: int = 0) -> None:
        self.status = status
        self.calls: list[cli.JobArgs] = []

    def __call__(self, args: cli.JobArgs, started_at: Any, glue: bool) -> int:
        self.calls.append(args)
        return self.status


def fake_runs(monkeypatch: pytest.MonkeyPatch, status: int = 0) -> FakeRuns:
    runs = FakeRuns(status)
    monkeypatch.setattr(cli, "run_datasets", runs)
    return runs


@pytest.mark.parametrize(
    ("on_glue", "argv", "registers"),
    [
        (True, ["--catalog_database", "db"], True),
        (False, ["--catalog_database", "db"], False),  # locally only when asked for
        (False, ["--catalog_database", "db", "--register_catalog", "true"], True),
        (True, ["--catalog_database", "db", "--register_catalog", "false"], False),
        (True, [], False),
    ],
)
def test_when_registration_runs(
    on_glue: bool, argv: list[str], registers: bool, monkeypatch: pytest.MonkeyPatch, resolved_options: Any
) -> None:
    registered: list[str] = []

    def register_bronze(targets: Any, database: str, ingest_date: date) -> list[str]:
        registered.append(database)
        return []

    monkeypatch.setattr(catalog, "register_bronze", register_bronze)
    monkeypatch.setattr(cli, "on_glue", lambda: on_glue)
    runs = fake_runs(monkeypatch)
    assert cli.main([*GLUE_SCRIPT, *local_argv(*argv)] if on_glue else local_argv(*argv)) == 0
    assert len(runs.calls) == 1
    assert registered == (["db"] if registers else [])


def test_entry_point_registers_and_catches_up(
    aws: None, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    storage = st.S3Storage(boto3.client("s3"))
    bronze = bronze_location("web_logs")
    stage_run(storage, bronze, "20240102T000000000000Z", "2024-01-02")
    stage_run(storage, bronze, "20240103T000000000000Z", "2024-01-03")
    runs = fake_runs(monkeypatch)
    main = cli.main

    # The Glue service fails on this run's partition: the run's data stays, the exit status says so.
    session = boto3.Session()
    refuse_partitions(session.events, lambda value: value == "2024-01-03")
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", session)
    with caplog.at_level(logging.INFO):
        assert main(local_argv("--catalog_database", DATABASE, "--register_catalog", "true")) == 1
    # The runs see the job's own arguments, whatever the catalog ones.
    assert runs.calls == [local_job_args(catalog_database=DATABASE, register_catalog=True)]
    glue = boto3.client("glue")
    assert glue.get_table(DatabaseName=DATABASE, Name="web_logs")["Table"]["StorageDescriptor"]["Location"] == (
        f"{bronze}/"
    )
    assert sorted(partition_values(glue, "web_logs")) == ["2024-01-02"]
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert any("dataset web_logs" in e and "ingest_date=2024-01-03" in e for e in errors), errors
    assert len(storage.list_files(f"{bronze}/ingest_date=2024-01-03")) == 1

    # The next run (nothing new for the job) registers what is still missing, and what it wrote.
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
    stage_run(storage, bronze, "20240104T000000000000Z", "2024-01-04")
    stage_run(storage, bronze, "20240105T000000000000Z", "2024-01-05", committed=False)
    assert main(local_argv("--catalog_database", DATABASE, "--register_catalog", "true")) == 0
    assert partition_values(glue, "web_logs") == {
        d: f"{bronze}/ingest_date={d}/" for d in ("2024-01-02", "2024-01-03", "2024-01-04")
    }


def test_entry_point_keeps_the_job_status(aws: None, monkeypatch: pytest.MonkeyPatch) -> None:
    stage_run(st.S3Storage(boto3.client("s3")), bronze_location("web_logs"), "20240102T000000000000Z", "2024-01-02")
    fake_runs(monkeypatch, status=1)
    # A failed ingest still registers what is committed, and still fails the job.
    assert cli.main(local_argv("--catalog_database", DATABASE, "--register_catalog", "true")) == 1
    assert sorted(partition_values(boto3.client("glue"), "web_logs")) == ["2024-01-02"]


def test_entry_point_skips_registration_locally(
    aws: None, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    glue = boto3.client("glue")
    runs = fake_runs(monkeypatch)
    main = cli.main
    with caplog.at_level(logging.DEBUG, logger="glue_ingest.cli"):
        assert main(local_argv()) == 0
        assert main(local_argv("--catalog_database", DATABASE)) == 0  # local: only with --register_catalog
    assert runs.calls == [local_job_args(), local_job_args(catalog_database=DATABASE)]
    assert glue.get_databases()["DatabaseList"] == []
    messages = [r.getMessage() for r in caplog.records]
    assert any("no --catalog_database" in m for m in messages), messages
    assert any("skipped: not on Glue; pass --register_catalog true" in m for m in messages), messages
    with pytest.raises(SystemExit) as exc:
        main(local_argv("--register_catalog", "true"))  # no database to register in
    assert exc.value.code == 2
    assert "error: --register_catalog true needs --catalog_database" in capsys.readouterr().err
    assert len(runs.calls) == 2


def test_entry_point_on_glue_registers_by_default(
    aws: None, monkeypatch: pytest.MonkeyPatch, resolved_options: list[list[str]]
) -> None:
    monkeypatch.setattr(cli, "on_glue", lambda: True)
    monkeypatch.setattr(sys, "argv", [*GLUE_SCRIPT, *local_argv(), "--catalog_database", "prod_bronze"])
    stage_run(st.S3Storage(boto3.client("s3")), bronze_location("web_logs"), "20240102T000000000000Z", "2024-01-02")
    runs = fake_runs(monkeypatch)

    assert cli.main() == 0

    assert resolved_options == [[*cli.GLUE_REQUIRED_ARGS, "ingest_date", "catalog_database"]]
    (args,) = runs.calls
    assert args == local_job_args(job_name="ingest", glue_args=args.glue_args, catalog_database="prod_bronze")
    assert args.glue_args["dataset"] == "web_logs"
    glue = boto3.client("glue")
    assert glue.get_table(DatabaseName="prod_bronze", Name="web_logs")["Table"]["Parameters"]["classification"] == (
        "parquet"
    )
    assert glue.get_partitions(DatabaseName="prod_bronze", TableName="web_logs")["Partitions"][0]["Values"] == [
        "2024-01-02"
    ]


def test_the_job_main_registers(aws: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """cli.main is the entry point (glue_job.py and `python -m glue_ingest` call it) and registers itself;
    catalog.py does not import the job."""
    import glue_ingest.__main__
    import glue_ingest.glue_job

    assert glue_ingest.glue_job.main is cli.main
    assert glue_ingest.__main__.main is cli.main
    stage_run(st.S3Storage(boto3.client("s3")), bronze_location("web_logs"), "20240102T000000000000Z", "2024-01-02")
    fake_runs(monkeypatch)
    assert cli.main(local_argv("--catalog_database", DATABASE, "--register_catalog", "true")) == 0
    assert sorted(partition_values(boto3.client("glue"), "web_logs")) == ["2024-01-02"]
    imported = subprocess.run(
        [sys.executable, "-c", "import sys, glue_ingest.catalog; print('glue_ingest.cli' in sys.modules)"],
        cwd=REPO, capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert imported.stdout.strip() == "False"


@pytest.mark.spark
def test_job_run_then_registration(spark: Any, aws: None) -> None:
    """The real job (local Spark, S3 paths on moto): no raw files, so no Spark I/O on S3, then the
    committed bronze partitions are registered."""
    stage_run(st.S3Storage(boto3.client("s3")), bronze_location("web_logs"), "20240102T000000000000Z", "2024-01-02")
    assert cli.main(local_argv("--catalog_database", DATABASE, "--register_catalog", "true")) == 0
    assert sorted(partition_values(boto3.client("glue"), "web_logs")) == ["2024-01-02"]
