"""The emulated AWS side of the local Athena, in one process: moto (S3, Glue, STS, IAM) and the Athena API front.

moto 5.2 lacks the Glue column-statistics actions that Trino's Hive connector calls after a write; Athena's Glue
has them. They are added here, answering as Glue does for a table with no statistics, so that moto plays Glue
for Trino exactly where Trino needs it.

moto's UpdateTable also ignores `VersionId`, Glue's optimistic lock. An Iceberg commit (Trino's, Athena's) updates
the table's metadata location with the Glue version it read; when another commit came in between, Glue refuses it
with ConcurrentModificationException and the writer retries on the new metadata. Without the check, the later of
two concurrent commits to one table silently replaced the earlier: two dbt threads appending to
ops.model_watermarks lost a watermark (a model then rebuilt its last window again). The check is added here.

Run by local_athena.stack, not by hand:

    python -m local_athena.server --state-dir DIR --moto-port M --front-port F --trino-port T
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import threading
from pathlib import Path
from typing import Any

import boto3
from moto.glue.exceptions import GlueClientError
from moto.glue.responses import GlueResponse
from moto.moto_server.threaded_moto_server import ThreadedMotoServer

from local_athena import iam
from local_athena.front import AthenaFront, serve
from local_athena.trino import ACCESS_KEY, REGION, TrinoClient

log = logging.getLogger("local_athena.server")


def _empty_statistics(self: GlueResponse) -> str:
    return json.dumps({"ColumnStatisticsList": [], "Errors": []})


def _no_errors(self: GlueResponse) -> str:
    return json.dumps({"Errors": []})


def _nothing(self: GlueResponse) -> str:
    return "{}"


def add_missing_glue_actions() -> None:
    for name, handler in (("get_column_statistics_for_table", _empty_statistics),
                          ("get_column_statistics_for_partition", _empty_statistics),
                          ("update_column_statistics_for_table", _no_errors),
                          ("update_column_statistics_for_partition", _no_errors),
                          ("delete_column_statistics_for_table", _nothing),
                          ("delete_column_statistics_for_partition", _nothing)):
        if not hasattr(GlueResponse, name):
            setattr(GlueResponse, name, handler)


class ConcurrentModificationException(GlueClientError):
    def __init__(self, message: str) -> None:
        super().__init__("ConcurrentModificationException", message)


_UPDATE_TABLE_LOCK = threading.Lock()


def add_glue_optimistic_locking() -> None:
    """UpdateTable with a `VersionId` fails, as on Glue, unless that is the table's current version."""
    update_table = GlueResponse.update_table
    if getattr(update_table, "checks_version_id", False):
        return

    def checked_update_table(self: GlueResponse) -> Any:
        expected = self.parameters.get("VersionId")
        with _UPDATE_TABLE_LOCK:  # moto serves requests on threads: the check and the update are one step
            if expected is not None:
                database = self.parameters.get("DatabaseName")
                name = (self.parameters.get("TableInput") or {}).get("Name")
                current = self.glue_backend.get_table(database, name).as_dict()["VersionId"]
                if str(expected) != str(current):
                    raise ConcurrentModificationException(
                        f"Update table failed due to concurrent modifications: {database}.{name} is at version "
                        f"{current}, not {expected}")
            return update_table(self)

    checked_update_table.checks_version_id = True  # type: ignore[attr-defined]
    GlueResponse.update_table = checked_update_table  # type: ignore[method-assign]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--state-dir", type=Path, required=True)
    parser.add_argument("--moto-port", type=int, required=True)
    parser.add_argument("--front-port", type=int, required=True)
    parser.add_argument("--trino-port", type=int, required=True)
    parser.add_argument("--results-location", required=True)
    parser.add_argument("--work-group", required=True, help="the workgroup dbt uses (its name in the template)")
    parser.add_argument("--faults", default="{}", help="JSON: fault injection for tests (see AthenaFront)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    add_missing_glue_actions()
    add_glue_optimistic_locking()
    authorizer = iam.Authorizer(ACCESS_KEY, REGION, denials_log=args.state_dir / "access-denied.jsonl")
    iam.install_moto_hook(authorizer)
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=args.moto_port, verbose=False)
    moto.start()
    moto_url = f"http://127.0.0.1:{args.moto_port}"

    def glue() -> Any:
        return boto3.client("glue", endpoint_url=moto_url, region_name=REGION, aws_access_key_id=ACCESS_KEY,
                            aws_secret_access_key=ACCESS_KEY)

    front = AthenaFront(TrinoClient(args.trino_port), args.state_dir, glue, args.results_location,
                        faults=json.loads(args.faults), authorizer=authorizer, work_group=args.work_group)
    server = serve(front, args.front_port)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    log.info("moto on %s, Athena API on http://127.0.0.1:%d, Trino on http://127.0.0.1:%d",
             moto_url, args.front_port, args.trino_port)
    (args.state_dir / "server.ready").write_text("ready\n")
    while not stop.wait(1):  # a timed wait, so the main thread runs a signal's handler at once
        pass
    server.shutdown()
    moto.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
