"""Publish a run's data-quality report and docs site to S3: the last step of the daily schedule (infra/buildspec.yml).

    python scripts/publish_reports.py --to s3://BUCKET/PREFIX --run-id ID [--reports-dir DIR] [--target-path DIR]

Uploads what `make scheduled-build` made (reports: --reports-dir, else $REPORTS_DIR, else $LAKE_ROOT/reports;
target: --target-path, else $DBT_TARGET_PATH, else target/):

    <reports>/data_quality.md    -> <to>/runs/<id>/data_quality.md    and <to>/latest/data_quality.md
    <reports>/data_quality.json  -> <to>/runs/<id>/data_quality.json  and <to>/latest/data_quality.json
    <target>/static_index.html   -> <to>/runs/<id>/docs/index.html    and <to>/latest/docs/index.html

The docs site is dbt's static page (`dbt docs generate --static`: the manifest and catalog are inside the one
HTML file), so a single object is the whole site: open it from the S3 console, or with a presigned URL
(`aws s3 presign <to>/latest/docs/index.html`). Every run's copy is written first and latest/ last, so latest/
never holds half of one run and half of another. A file that is missing (a build that failed before dbt wrote its
artifacts) is named, the others are still published.

Credentials come from the AWS default chain (the CodeBuild project's role). AWS_ENDPOINT_URL points it
elsewhere (the tests use moto). Exit status: 0 all published; 1 a file was missing or an upload failed (named);
2 bad arguments.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# (file under the run's folder, content type)
PUBLISHED = {
    "data_quality.md": "text/markdown; charset=utf-8",
    "data_quality.json": "application/json",
    "docs/index.html": "text/html; charset=utf-8",
}
S3_URI = re.compile(r"^s3://(?P<bucket>[a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:/(?P<prefix>.*?))?/?$")
RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$")


def sources(reports: Path, target_path: Path) -> dict[str, Path]:
    """The local file of each published name."""
    return {
        "data_quality.md": reports / "data_quality.md",
        "data_quality.json": reports / "data_quality.json",
        "docs/index.html": target_path / "static_index.html",
    }


def publish(bucket: str, prefix: str, run_id: str, files: dict[str, Path], s3=None) -> list[str]:
    """Uploads the files that exist, the run's copy first and then latest/; returns the problems, one per file."""
    if s3 is None:
        import boto3

        s3 = boto3.client("s3")
    base = f"{prefix}/" if prefix else ""
    problems: list[str] = []
    present = {}
    for name, path in files.items():
        if path.is_file():
            present[name] = path
        else:
            problems.append(f"{name}: {path} does not exist (not published)")
    for folder in (f"runs/{run_id}", "latest"):
        for name, path in present.items():
            key = f"{base}{folder}/{name}"
            try:
                s3.upload_file(str(path), bucket, key, ExtraArgs={"ContentType": PUBLISHED[name]})
            except Exception as exc:  # boto3's S3UploadFailedError and ClientError: name the object and go on
                problems.append(f"{name}: upload to s3://{bucket}/{key} failed: {exc}")
                continue
            print(f"published s3://{bucket}/{key}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="publish_reports.py", description=__doc__.splitlines()[0])
    parser.add_argument("--to", required=True, help="s3://bucket/prefix to publish under")
    parser.add_argument("--run-id", required=True, help="the run's folder name (the state machine's execution name)")
    reports = os.environ.get("REPORTS_DIR") or Path(os.environ.get("LAKE_ROOT") or REPO / "lake") / "reports"
    parser.add_argument("--reports-dir", type=Path, default=Path(reports))
    parser.add_argument("--target-path", type=Path, default=Path(os.environ.get("DBT_TARGET_PATH") or REPO / "target"))
    args = parser.parse_args(argv)
    match = S3_URI.match(args.to)
    if not match:
        parser.error(f"--to must be s3://<bucket>[/<prefix>], got {args.to!r}")
    if not RUN_ID.match(args.run_id):
        parser.error(f"--run-id must be letters, digits and _.:- (at most 128), got {args.run_id!r}")
    problems = publish(match["bucket"], (match["prefix"] or "").strip("/"), args.run_id,
                       sources(args.reports_dir, args.target_path))
    for problem in problems:
        print(f"publish_reports: error: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
