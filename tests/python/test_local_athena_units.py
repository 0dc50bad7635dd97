"""The local Athena's own logic, without Trino: how statements are routed and rewritten as Athena would, the Hive
DDL rules, the Athena result shapes, and the comparison rules. Expectations are written by hand from Athena's
documented behaviour, not taken from the code's output."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from types import SimpleNamespace

import pytest

from local_athena import front, hive_ddl
from local_athena import stack as stacks
from local_athena.compare import normalize, p95_rank_ok
from local_athena.trino import Result


@pytest.mark.parametrize(("sql", "expected"), [
    ("create table if not exists `db`.`t` (a string) location 's3://b/p/' tblproperties ('table_type'='ICEBERG')",
     "hive_ddl"),
    ("CREATE EXTERNAL TABLE `db`.`t` (a string) LOCATION 's3://b/p/'", "hive_ddl"),
    ("alter table `db`.`t` add columns (b int)", "hive_ddl"),
    ("drop table if exists `db`.`t`", "hive_ddl"),
    ("show tables in db", "hive_ddl"),
    ("msck repair table db.t", "hive_ddl"),
    ("-- a comment\ndescribe db.t", "hive_ddl"),
    # CTAS, views and queries are Trino's on Athena
    ('create table "awsdatacatalog"."db"."t" with (table_type=\'iceberg\') as select 1 as a', None),
    ("create table db.t as select 'a' || 'b' as c", None),
    ("create or replace view db.v as select 1", None),
    ("drop view db.v", None),
    ("select 1", None),
    ("insert into db.t select 1", None),
])
def test_statements_are_routed_as_athena_routes_them(sql: str, expected: str | None) -> None:
    assert hive_ddl.classify(sql) == expected


@pytest.mark.parametrize("sql", [
    # a double-quoted name is a string to Hive, so no table name
    'create table if not exists "awsdatacatalog"."dev_ops"."wm" (a string) location \'s3://b/\' '
    "tblproperties ('table_type'='ICEBERG')",
    # three-part names are Trino's, not Hive's
    "create table `awsdatacatalog`.`dev_ops`.`wm` (a string) location 's3://b/' tblproperties ('table_type'='ICEBERG')",
    # Hive has no timestamp precision
    "create table `dev_ops`.`wm` (a timestamp(6)) location 's3://b/' tblproperties ('table_type'='ICEBERG')",
    # Trino's type names are not Hive's
    "create table `dev_ops`.`wm` (a varbinary) location 's3://b/' tblproperties ('table_type'='ICEBERG')",
    # a managed Hive table needs EXTERNAL on Athena; Iceberg tables may not be EXTERNAL
    "create table `db`.`t` (a string) location 's3://b/'",
    "create external table `db`.`t` (a string) location 's3://b/' tblproperties ('table_type'='ICEBERG')",
    # Athena has no default location
    "create external table `db`.`t` (a string)",
    'drop table "db"."t"',
])
def test_hive_ddl_that_athena_rejects_is_rejected(sql: str) -> None:
    with pytest.raises(hive_ddl.HiveDdlError):
        hive_ddl.translate(sql, "dev_silver")


def test_iceberg_create_table_becomes_a_trino_iceberg_table_with_microseconds() -> None:
    plan = hive_ddl.translate(
        "create table if not exists `dev_ops`.`incremental_watermarks` (model_name string, n bigint, d date, "
        "recorded_at timestamp, amount decimal(18,2), tags array<string>, attrs map<string,int>) "
        "partitioned by (d) location 's3://lake/warehouse/dev_ops/wm/' "
        "tblproperties ('table_type' = 'ICEBERG', 'format' = 'parquet')", "dev_silver")
    assert plan.statements == [(
        "awsdatacatalog",
        'create table if not exists awsdatacatalog."dev_ops"."incremental_watermarks" ("model_name" varchar, '
        '"n" bigint, "d" date, "recorded_at" timestamp(6), "amount" decimal(18,2), "tags" array(varchar), '
        "\"attrs\" map(varchar, integer)) with (location = 's3://lake/warehouse/dev_ops/wm/', format = 'PARQUET', "
        "partitioning = ARRAY['d'])")]


def test_seed_staging_table_is_a_hive_csv_table_of_strings() -> None:
    plan = hive_ddl.translate(
        "create external table `dev_silver`.`reject_reasons__dbt_tmp` (`dataset` string, `n` string) "
        "row format serde 'org.apache.hadoop.hive.serde2.OpenCSVSerde' location 's3://lake/seeds/x/' "
        "tblproperties ('skip.header.line.count'='1')", "dev_silver")
    assert plan.statements == [(
        "hive",
        'create table hive."dev_silver"."reject_reasons__dbt_tmp" ("dataset" varchar, "n" varchar) with '
        "(external_location = 's3://lake/seeds/x/', format = 'CSV', skip_header_line_count = 1)")]


def test_alter_and_drop_and_msck() -> None:
    assert hive_ddl.translate("alter table `db`.`t` rename to `db`.`u`", "x").statements == [
        ("awsdatacatalog", 'alter table awsdatacatalog."db"."t" rename to awsdatacatalog."db"."u"')]
    assert hive_ddl.translate("alter table `db`.`t` add columns (`b` int, c string)", "x").statements == [
        ("awsdatacatalog", 'alter table awsdatacatalog."db"."t" add column "b" integer'),
        ("awsdatacatalog", 'alter table awsdatacatalog."db"."t" add column "c" varchar')]
    assert hive_ddl.translate("alter table t change column a b bigint", "db").statements == [
        ("awsdatacatalog", 'alter table awsdatacatalog."db"."t" rename column "a" to "b"'),
        ("awsdatacatalog", 'alter table awsdatacatalog."db"."t" alter column "b" set data type bigint')]
    plan = hive_ddl.translate("alter table `db`.`t` set tblproperties ('classification' = 'parquet')", "x")
    assert plan.statements == [] and plan.glue_parameters == {
        "schema": "db", "table": "t", "parameters": {"classification": "parquet"}}
    assert hive_ddl.translate("drop table if exists `db`.`t`", "x").statements == [
        ("awsdatacatalog", 'drop table if exists awsdatacatalog."db"."t"')]
    assert hive_ddl.translate("msck repair table t", "dev_bronze").statements == [
        ("hive", "call hive.system.sync_partition_metadata('dev_bronze', 't', 'ADD')")]
    assert hive_ddl.translate("show tables in dev_gold", "x").kind == "UTILITY"


def test_ctas_properties_become_trinos() -> None:
    catalog, sql = front.rewrite_ctas(
        'create table "awsdatacatalog"."dev_silver"."t"\n    with (\n      table_type=\'iceberg\',\n'
        "      is_external=false,location='s3://lake/warehouse/dev_silver/t/u-1',\n"
        "      partitioning=ARRAY['month(transaction_date)'],\n      format='parquet'\n    )\n    as\n select 1 as a",
        "dev_silver")
    assert catalog == "awsdatacatalog"
    assert sql.startswith('create table awsdatacatalog."dev_silver"."t" with (format = \'PARQUET\', '
                          "location = 's3://lake/warehouse/dev_silver/t/u-1', "
                          "partitioning = ARRAY['month(transaction_date)'])")
    assert sql.rstrip().endswith("select 1 as a")
    catalog, sql = front.rewrite_ctas(
        "create table \"awsdatacatalog\".\"dev_audit\".\"t\" with (table_type='hive', is_external=true, "
        "external_location='s3://r/t', format='parquet', partitioned_by=ARRAY['d']) as select 1 as a", "x")
    assert catalog == "hive"
    assert sql.startswith('create table hive."dev_audit"."t" with (format = \'PARQUET\', '
                          "external_location = 's3://r/t', partitioned_by = ARRAY['d'])")
    with pytest.raises(front.AthenaApiError, match="location"):
        front.rewrite_ctas("create table t with (table_type='hive', location='s3://x') as select 1", "x")


def test_optimize_and_vacuum_are_athenas_syntax_on_trino() -> None:
    kind, statement_type, _, statements, _ = front.plan_statement(
        'optimize "dev_gold"."t" rewrite data using bin_pack where event_date >= date \'2026-11-01\';', "dev_gold")
    assert (kind, statement_type) == ("OPTIMIZE", "DML")
    assert statements == [("awsdatacatalog",
                           'alter table "dev_gold"."t" execute optimize where event_date >= date \'2026-11-01\'')]
    kind, _, _, statements, _ = front.plan_statement('vacuum "dev_gold"."t"', "dev_gold")
    assert kind == "VACUUM"
    assert [sql for _, sql in statements] == [
        "alter table \"dev_gold\".\"t\" execute expire_snapshots(retention_threshold => '5d')",
        "alter table \"dev_gold\".\"t\" execute remove_orphan_files(retention_threshold => '5d')"]


@pytest.mark.parametrize(("trino", "athena"), [
    ("varchar(5)", ("varchar", 5, 0)), ("varchar", ("varchar", 2147483647, 0)),
    ("decimal(18,2)", ("decimal", 18, 2)), ("timestamp(6)", ("timestamp", 6, 0)),
    ("timestamp(3) with time zone", ("timestamp with time zone", 3, 0)), ("bigint", ("bigint", 19, 0)),
    ("array(varchar)", ("array", 0, 0)), ("real", ("float", 0, 0)),
])
def test_column_types_lose_their_parameters_as_in_athenas_results(trino: str, athena: tuple) -> None:
    assert front.athena_type(trino) == athena


def test_values_are_athenas_text() -> None:
    assert [front.athena_text(v) for v in (True, False, 3, 1.5, "x", [1, None], {"a": 1})] == [
        "true", "false", "3", "1.5", "x", "[1, null]", "{a=1}"]


def test_p95_rank_rule_accepts_near_ranks_only() -> None:
    values = [float(v) for v in range(1, 201)]  # 200 distinct values; the p95 rank is 189.05 (0-based)
    assert p95_rank_ok(values, 190.0)  # rank 189
    assert p95_rank_ok(values, 194.0)  # rank 193: within 2% of 200 = 4 ranks
    assert not p95_rank_ok(values, 195.0)  # rank 194: 4.95 ranks away
    assert not p95_rank_ok(values, 181.0)  # p90
    assert not p95_rank_ok(values, 200.0)  # max
    assert p95_rank_ok(values, 190.5)  # between ranks 189 and 190, as a quantile digest may answer
    assert not p95_rank_ok(values, 195.5)  # between ranks 194 and 195
    assert not p95_rank_ok(values, 250.0)  # above every value
    assert p95_rank_ok([7.0], 7.0) and not p95_rank_ok([], 7.0)


def test_normalize_puts_both_engines_in_one_form() -> None:
    from datetime import datetime
    from decimal import Decimal

    assert normalize("2026-11-01 10:00:00.123", "TIMESTAMP") == normalize(datetime(2026, 11, 1, 10, 0, 0, 123000),
                                                                         "TIMESTAMP")
    assert normalize("2026-11-01 10:00:00.123456 UTC", "TIMESTAMP WITH TIME ZONE") == "2026-11-01 10:00:00.123456"
    assert normalize("12.50", "DECIMAL(18,2)") == normalize(Decimal("12.5"), "DECIMAL(18,2)")
    assert normalize("0.30000000000000004", "DOUBLE") == normalize(0.1 + 0.2, "DOUBLE") == 0.3
    assert normalize("0.3001", "DOUBLE") != normalize(0.3, "DOUBLE")


# --- IAM: the dbt policy of infra/lakehouse.yaml, evaluated as AWS evaluates it -------------------------------

REGION = "us-east-1"
ARN = "123456789012"


@pytest.fixture(scope="module")
def dbt_policy() -> dict:
    from local_athena import iam

    layout = iam.Layout(env="dev", lake_bucket="my-lake", prefix="lake", results_bucket="my-results", region=REGION)
    return iam.dbt_policy_document(layout)


def test_dbt_policy_is_the_templates_resolved(dbt_policy: dict) -> None:
    import json

    text = json.dumps(dbt_policy)
    assert "${" not in text and "Fn::" not in text
    sids = {s["Sid"] for s in dbt_policy["Statement"]}
    assert {"AthenaWorkGroup", "ReadLakeCatalog", "WriteDbtCatalog", "ReadWriteWarehouse", "ReadBronze",
            "ListWarehouseAndBronze", "QueryResults"} <= sids
    workgroup = next(s for s in dbt_policy["Statement"] if s["Sid"] == "AthenaWorkGroup")
    assert workgroup["Resource"] == f"arn:aws:athena:{REGION}:{ARN}:workgroup/dev-lakehouse"


@pytest.mark.parametrize(("action", "resource", "context", "expected"), [
    # objects: the warehouse is read-write, bronze read-only, the results bucket has no delete (issue 11, defect 2)
    ("s3:GetObject", "arn:aws:s3:::my-lake/lake/warehouse/dev_silver/t/a.parquet", {}, "allow"),
    ("s3:DeleteObject", "arn:aws:s3:::my-lake/lake/warehouse/dev_audit/t/a.parquet", {}, "allow"),
    ("s3:GetObject", "arn:aws:s3:::my-lake/lake/bronze/web_logs/a.parquet", {}, "allow"),
    ("s3:PutObject", "arn:aws:s3:::my-lake/lake/bronze/web_logs/a.parquet", {}, "implicit"),
    ("s3:GetObject", "arn:aws:s3:::my-lake/lake/raw/web_logs/a.csv", {}, "implicit"),
    ("s3:DeleteObject", "arn:aws:s3:::my-results/dev/tables/x.parquet", {}, "implicit"),
    ("s3:PutObject", "arn:aws:s3:::my-results/dev/q.csv", {}, "allow"),
    # listing: only with a prefix inside the warehouse or bronze (StringLike on s3:prefix)
    ("s3:ListBucket", "arn:aws:s3:::my-lake", {"s3:prefix": ["lake/warehouse/dev_gold/t/"]}, "allow"),
    ("s3:ListBucket", "arn:aws:s3:::my-lake", {"s3:prefix": ["lake/warehouse"]}, "allow"),
    ("s3:ListBucket", "arn:aws:s3:::my-lake", {"s3:prefix": ["lake/raw/"]}, "implicit"),
    ("s3:ListBucket", "arn:aws:s3:::my-lake", {}, "implicit"),
    ("s3:ListBucket", "arn:aws:s3:::my-results", {}, "allow"),
    # actions are case-insensitive, resources are not
    ("S3:getobject", "arn:aws:s3:::my-lake/lake/bronze/x", {}, "allow"),
    ("s3:GetObject", "arn:aws:s3:::MY-LAKE/lake/bronze/x", {}, "implicit"),
    ("athena:StartQueryExecution", f"arn:aws:athena:{REGION}:{ARN}:workgroup/dev-lakehouse", {}, "allow"),
    ("athena:StartQueryExecution", f"arn:aws:athena:{REGION}:{ARN}:workgroup/primary", {}, "implicit"),
    ("athena:DeleteWorkGroup", f"arn:aws:athena:{REGION}:{ARN}:workgroup/dev-lakehouse", {}, "implicit"),
])
def test_dbt_policy_decisions(dbt_policy: dict, action: str, resource: str, context: dict, expected: str) -> None:
    from local_athena import iam

    assert iam.decide([dbt_policy], action, resource, context) == expected


def test_glue_needs_the_resource_and_its_ancestors(dbt_policy: dict) -> None:
    from local_athena import iam

    def allowed(action: str, body: dict) -> bool:
        return all(iam.decide([dbt_policy], f"glue:{action}", arn) == "allow"
                   for arn in iam.glue_resources(action, body, REGION))

    assert iam.glue_resources("GetTable", {"DatabaseName": "d", "Name": "t"}, REGION) == [
        f"arn:aws:glue:{REGION}:{ARN}:catalog", f"arn:aws:glue:{REGION}:{ARN}:database/d",
        f"arn:aws:glue:{REGION}:{ARN}:table/d/t"]
    assert allowed("GetTable", {"DatabaseName": "dev_bronze", "Name": "web_logs"})
    assert allowed("DeleteTable", {"DatabaseName": "dev_silver", "Name": "web_requests"})
    assert not allowed("DeleteTable", {"DatabaseName": "dev_bronze", "Name": "web_logs"})  # bronze is the ingest's
    assert not allowed("GetTable", {"DatabaseName": "other_env_silver", "Name": "t"})
    assert allowed("BatchDeleteTable", {"DatabaseName": "dev_gold", "TablesToDelete": ["a", "b"]})
    assert allowed("CreateTable", {"DatabaseName": "dev_ops", "TableInput": {"Name": "w"}})
    assert not allowed("CreateTable", {"DatabaseName": "dev_bronze", "TableInput": {"Name": "w"}})
    assert not allowed("DeleteDatabase", {"Name": "dev_silver"})


def test_explicit_deny_wins_and_conditions_need_their_key() -> None:
    from local_athena import iam

    allow_all = {"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    deny = {"Statement": {"Effect": "Deny", "NotAction": "s3:Get*", "Resource": "arn:aws:s3:::b/*"}}
    assert iam.decide([allow_all], "s3:PutObject", "arn:aws:s3:::b/k") == "allow"
    assert iam.decide([allow_all, deny], "s3:PutObject", "arn:aws:s3:::b/k") == "deny"
    assert iam.decide([allow_all, deny], "s3:GetObject", "arn:aws:s3:::b/k") == "allow"
    conditional = {"Statement": [{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*",
                                  "Condition": {"StringEqualsIfExists": {"s3:prefix": "a/"}}}]}
    assert iam.decide([conditional], "s3:ListBucket", "arn:aws:s3:::b") == "allow"
    assert iam.decide([conditional], "s3:ListBucket", "arn:aws:s3:::b", {"s3:prefix": ["b/"]}) == "implicit"
    with pytest.raises(ValueError, match="NumericLessThan"):
        iam.decide([{"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*",
                                    "Condition": {"NumericLessThan": {"s3:max-keys": "10"}}}]}],
                   "s3:ListBucket", "arn:aws:s3:::b")


def test_callers_are_named_by_their_access_key() -> None:
    from local_athena import iam

    header = ("AWS4-HMAC-SHA256 Credential=AKIAEXAMPLE/20261202/us-east-1/s3/aws4_request, "
              "SignedHeaders=host, Signature=abc")
    assert iam.access_key_of({"Authorization": header}) == "AKIAEXAMPLE"
    assert iam.access_key_of({}, {"X-Amz-Credential": ["AKIAPRESIGNED/20261202/us-east-1/s3/aws4_request"]}) \
        == "AKIAPRESIGNED"
    assert iam.access_key_of({}) is None
    assert iam.athena_resource("GetDataCatalog", {"Name": "awsdatacatalog"}, "wg", REGION) \
        == f"arn:aws:athena:{REGION}:{ARN}:datacatalog/AwsDataCatalog"


class _RecordingTrino:
    """Stands in for Trino: records what it was asked to run."""

    def __init__(self) -> None:
        self.ran: list[str] = []

    def execute(self, sql: str, **_: object) -> Result:
        self.ran.append(sql)
        return Result(query_id=f"q{len(self.ran)}")


def test_stop_fault_refuses_everything_after_the_kth_merge_into_the_schema(tmp_path: Path) -> None:
    """The fault behind the "build stopped between statements" test: after the 2nd MERGE into dev_gold succeeds,
    nothing more reaches the engine; a MERGE into another schema does not count."""
    trino = _RecordingTrino()
    athena = front.AthenaFront(trino, tmp_path, lambda: None, "s3://results/",  # type: ignore[arg-type]
                               faults={"stop_after_merges_into": "dev_gold", "stop_after_merges": 2})

    def run(sql: str) -> str:
        query_id = athena.start_query_execution({"QueryString": sql})["QueryExecutionId"]
        execution = athena.executions[query_id]
        assert execution.done.wait(10)
        return execution.state

    assert run('merge into "awsdatacatalog"."dev_silver"."t" as target using s on false '
               'when not matched then insert (a) values (s.a)') == "SUCCEEDED"
    assert run('merge into "awsdatacatalog"."dev_gold"."a" as target using s on false '
               'when not matched then insert (a) values (s.a)') == "SUCCEEDED"
    assert run("select 1") == "SUCCEEDED"
    assert not (tmp_path / "stopped.json").exists()
    assert run('MERGE INTO dev_gold.b AS target USING s ON false WHEN NOT MATCHED THEN INSERT (a) VALUES (s.a)') \
        == "SUCCEEDED"
    assert json.loads((tmp_path / "stopped.json").read_text())["query"].startswith("MERGE INTO dev_gold.b")
    ran = len(trino.ran)
    assert run("select 2") == "FAILED"
    assert len(trino.ran) == ran
    athena.reset_faults({})
    assert run("select 3") == "SUCCEEDED" and not (tmp_path / "stopped.json").exists()


def test_bytes_per_table_follow_each_scan_to_its_plan_node() -> None:
    """The bench's bronze figure: a scan operator's bytes go to the table of the plan node it scans (`sourceId`, as
    Trino fuses a scan with its filter and projection), in bytes from Trino's DataSize text."""
    from local_athena.trino import TrinoClient, data_size_bytes

    info = {"inputs": [{"catalogName": "hive", "schema": "dev_bronze", "table": "web_logs", "planNodeId": "0"},
                       {"catalogName": "iceberg", "schema": "dev_ops", "table": "w", "planNodeId": "7"}],
            "queryStats": {"operatorSummaries": [
                {"planNodeId": "11", "sourceId": "0", "physicalInputDataSize": "43245B"},
                {"planNodeId": "11", "sourceId": "0", "physicalInputDataSize": "1.50kB"},
                {"planNodeId": "7", "physicalInputDataSize": "2.00MB"},
                {"planNodeId": "3", "sourceId": "3", "physicalInputDataSize": "0B"}]}}

    class Canned(TrinoClient):
        def _request(self, url: str, *_: object, **__: object) -> dict:
            assert url.endswith("/v1/query/q1")
            return info

    assert Canned(1).bytes_by_table("q1") == {"hive.dev_bronze.web_logs": 43245 + 1536,
                                              "iceberg.dev_ops.w": 2 * 1024 * 1024}
    assert (data_size_bytes("12B"), data_size_bytes(None), data_size_bytes("n/a")) == (12, 0, 0)

class _GatedTrino(_RecordingTrino):
    """A Trino whose statements containing `gated` wait until the test opens `gate`."""

    def __init__(self) -> None:
        super().__init__()
        self.gated, self.gate, self.entered = "", threading.Event(), threading.Semaphore(0)

    def hold(self, text: str) -> None:
        self.gated, self.gate = text, threading.Event()

    def execute(self, sql: str, **kwargs: object) -> Result:
        if self.gated and self.gated in sql:
            self.entered.release()
            assert self.gate.wait(30)
        return super().execute(sql, **kwargs)


class _Waiting:
    """Stands in for the front's worker pool: keeps what is submitted until `run`."""

    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def submit(self, fn: object, *args: object) -> None:
        self.calls.append((fn, args))

    def run(self) -> None:
        for fn, args in self.calls:
            fn(*args)  # type: ignore[operator]


def test_faults_change_over_http_and_a_merge_of_an_older_generation_never_stops(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The stopped-build test clears the stop with `stack.reload_faults` and reads at once. The change must hold when
    the call returns; a MERGE into gold submitted before it and still running must not stop the service again when
    it ends; a statement sent while stopped fails even when it only starts after the stop is cleared."""
    monkeypatch.setattr(front, "SYNC_WAIT_SECONDS", 0)  # StartQueryExecution answers at once
    trino = _GatedTrino()
    athena = front.AthenaFront(trino, tmp_path, lambda: None, "s3://results/",  # type: ignore[arg-type]
                               faults={"stop_after_merges_into": "dev_gold"})
    server = front.serve(athena, 0)
    stack = SimpleNamespace(front_port=server.server_address[1])

    def submit(sql: str) -> front.Execution:
        return athena.executions[athena.start_query_execution({"QueryString": sql})["QueryExecutionId"]]

    def merge_into(table: str) -> str:
        return f"merge into {table} as t using s on false when not matched then insert (a) values (s.a)"

    try:
        trino.hold("dev_gold.late")
        late = submit(merge_into("dev_gold.late"))
        assert trino.entered.acquire(timeout=10)  # on the engine, submitted under the stop fault
        cleared = stacks.reload_faults(stack, {})  # type: ignore[arg-type]
        assert cleared == {"faults": {}, "generation": 1, "stopped": False, "unfinished": 1}
        trino.gate.set()
        assert late.done.wait(10) and late.state == "SUCCEEDED"
        assert not athena.stopped and not (tmp_path / "stopped.json").exists()
        assert submit("select 1").done.wait(10)

        pool, waiting = athena.pool, _Waiting()
        athena.pool = waiting  # type: ignore[assignment]
        queued = submit("select 'queued before the stop'")
        athena.pool = pool
        stacks.reload_faults(stack, {"stop_after_merges_into": "dev_gold"})  # type: ignore[arg-type]
        first = submit(merge_into("dev_gold.a"))
        assert first.done.wait(10) and first.state == "SUCCEEDED" and athena.stopped
        athena.pool = waiting  # type: ignore[assignment]
        refused = submit("select 'sent while stopped'")
        athena.pool = pool
        assert queued.state == refused.state == "QUEUED"
        assert stacks.fault_state(stack)["unfinished"] == 2  # type: ignore[arg-type]
        stacks.reload_faults(stack, {})  # type: ignore[arg-type]
        waiting.run()  # both start only now, with the stop cleared
        assert queued.state == "SUCCEEDED"  # submitted before the stop: it runs, as on Athena
        assert refused.state == "FAILED" and refused.error is not None
        assert "LOCAL_ATHENA_STOPPED" in refused.error["ErrorMessage"]
        assert not any("sent while stopped" in sql for sql in trino.ran)
        after = submit("select 2")
        assert after.done.wait(10) and after.state == "SUCCEEDED"
        assert stacks.fault_state(stack) == {  # type: ignore[arg-type]
            "faults": {}, "generation": 3, "stopped": False, "unfinished": 0}
    finally:
        trino.gate.set()
        server.shutdown()
