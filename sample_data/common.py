"""Small text and file helpers shared by the sample-data generators."""

from __future__ import annotations

import os
import random
from datetime import datetime, timedelta
from pathlib import Path


def zone_offset(zone: str) -> timedelta:
    """The offset a zone suffix (`Z`, ``, `+05:30`, `-08:00`) stands for."""
    if zone in ("Z", ""):
        return timedelta(0)
    sign = -1 if zone[0] == "-" else 1
    return sign * timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6]))


def render_timestamp(instant: datetime, sep: str, timespec: str, zone: str) -> str:
    """ISO-8601 text of a naive UTC instant, as wall time in `zone` (the text still denotes the instant)."""
    return (instant + zone_offset(zone)).isoformat(sep=sep, timespec=timespec) + zone


def pad(rng: random.Random, value: str) -> str:
    """Surround a value with spaces: valid after trimming."""
    return rng.choice((f"  {value}", f"{value} ", f" {value}  "))


def csv_quote(value: str) -> str:
    """RFC 4180 quoting, for records written by hand rather than by the csv writer."""
    if any(c in value for c in ',"\r\n'):
        return '"' + value.replace('"', '""') + '"'
    return value


def write_atomically(path: Path, data: bytes) -> None:
    """Write under a hidden temporary name the ingest skips, then rename into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
