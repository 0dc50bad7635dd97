"""Bronze on the emulated S3: the local ingest's output uploaded, then registered in Glue by the ingest job's own
catalog code (glue_ingest.catalog.register_bronze), as the Glue job registers it in production.

Only files the emulated S3 lacks are uploaded (by key and size), data files before the manifests that commit
them, so a second call uploads only what the last ingest added, and a reader never sees a manifest whose files
are missing.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from local_athena.stack import BRONZE_PREFIX, BRONZE_ROOT, ENV, LAKE_BUCKET, Stack, _boto

log = logging.getLogger(__name__)


def _existing(s3: Any, prefix: str) -> dict[str, int]:
    found: dict[str, int] = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=LAKE_BUCKET, Prefix=prefix):
        for item in page.get("Contents", []):
            found[item["Key"]] = item["Size"]
    return found


def sync(stack: Stack, lake_root: Path) -> dict[str, int]:
    """Upload new bronze files of every dataset and register them; returns files uploaded per dataset."""
    from glue_ingest import catalog

    s3 = _boto(stack, "s3")
    bronze = lake_root / "bronze"
    uploaded: dict[str, int] = {}
    datasets = sorted(p.name for p in bronze.iterdir() if p.is_dir()) if bronze.is_dir() else []
    for dataset in datasets:
        prefix = f"{BRONZE_PREFIX}/{dataset}/"
        existing = _existing(s3, prefix)
        files = sorted(p for p in (bronze / dataset).rglob("*") if p.is_file() and not p.name.startswith("."))
        # Data before manifests: the manifest is the commit record.
        files.sort(key=lambda p: "_manifest" in p.relative_to(bronze / dataset).parts[0] or p.suffix == ".json")
        count = 0
        for path in files:
            key = prefix + path.relative_to(bronze / dataset).as_posix()
            if existing.get(key) == path.stat().st_size:
                continue
            s3.upload_file(str(path), LAKE_BUCKET, key)
            count += 1
        uploaded[dataset] = count
    if datasets:
        failed = catalog.register_bronze([(d, f"{BRONZE_ROOT}/{d}") for d in datasets], f"{ENV}_bronze",
                                         glue=_boto(stack, "glue"))
        if failed:
            raise RuntimeError(f"Glue registration of bronze failed for {', '.join(failed)}")
    return uploaded
