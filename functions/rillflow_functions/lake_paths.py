"""Object names in the lake bucket: how each flow's bronze files are named, and the reverse.

``bronze/clickstream/dt=D/part-00000.jsonl``, ``bronze/sales/dt=D/part-00000.parquet`` and
``bronze/startups/load_type=full|delta/dt=D/part-00000.jsonl``. Bad files are copied to
``quarantine/<original name>`` with ``<original name>.reason.json`` beside them.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from datetime import date

BRONZE = "bronze/"
QUARANTINE = "quarantine/"
PART = "part-00000"
#: content type of every Parquet object the functions write
PARQUET_CONTENT_TYPE = "application/vnd.apache.parquet"

_BRONZE_RE = re.compile(
    r"^bronze/(?P<flow>clickstream|sales|startups)/"
    r"(?:load_type=(?P<load_type>full|delta)/)?"
    r"dt=(?P<dt>\d{4}-\d{2}-\d{2})/"
    r"(?P<file>part-\d{5}\.(?P<ext>jsonl|parquet))$"
)
_FORMAT = {"clickstream": "jsonl", "startups": "jsonl", "sales": "parquet"}


@dataclass(frozen=True)
class BronzeObject:
    flow: str
    dt: date
    file_format: str
    load_type: str | None = None


class UnrecognizedBronzePath(ValueError):
    pass


def clickstream_object(day: date) -> str:
    return f"{BRONZE}clickstream/dt={day.isoformat()}/{PART}.jsonl"


def sales_object(day: date) -> str:
    return f"{BRONZE}sales/dt={day.isoformat()}/{PART}.parquet"


def startups_object(load_type: str, day: date) -> str:
    if load_type not in ("full", "delta"):
        raise ValueError(f"load_type must be full or delta, got {load_type!r}")
    return f"{BRONZE}startups/load_type={load_type}/dt={day.isoformat()}/{PART}.jsonl"


def is_temporary(name: str) -> bool:
    """Scratch objects (``.../_tmp/...``, ``*.tmp``, hidden parts) are never loaded."""
    parts = name.split("/")
    return name.endswith(".tmp") or any(p.startswith(("_", ".")) for p in parts)


def is_bronze(name: str) -> bool:
    return name.startswith(BRONZE) and not is_temporary(name)


def parse_bronze(name: str) -> BronzeObject:
    """Flow, date and format of a bronze object; UnrecognizedBronzePath for anything else."""
    match = _BRONZE_RE.match(name)
    if not match:
        raise UnrecognizedBronzePath(f"not a known bronze object name: {name!r}")
    flow = match["flow"]
    if (flow == "startups") != (match["load_type"] is not None):
        raise UnrecognizedBronzePath(f"load_type= is required for startups and only for startups: {name!r}")
    if match["ext"] != _FORMAT[flow]:
        raise UnrecognizedBronzePath(f"{flow} files are .{_FORMAT[flow]}: {name!r}")
    try:
        day = date.fromisoformat(match["dt"])
    except ValueError as exc:
        raise UnrecognizedBronzePath(f"bad dt= in {name!r}: {exc}") from exc
    return BronzeObject(flow=flow, dt=day, file_format=match["ext"], load_type=match["load_type"])


def quarantine_name(name: str) -> str:
    return QUARANTINE + name


def reason_name(name: str) -> str:
    return QUARANTINE + name + ".reason.json"


def manifest_id(bucket: str, name: str, generation: int) -> str:
    """``urlsafe(bucket/name#generation)``: a valid Firestore document id for one object version."""
    raw = f"{bucket}/{name}#{generation}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def gcs_uri(bucket: str, name: str) -> str:
    return f"gs://{bucket}/{name}"
