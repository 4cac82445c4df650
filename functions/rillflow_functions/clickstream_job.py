"""``generate_clickstream``: one day of website events as one create-only JSONL object."""

from __future__ import annotations

from datetime import date
from typing import Any

from rillflow_functions import lake_paths
from rillflow_functions.bronze_validation import ROWS_METADATA_KEY, to_jsonl
from rillflow_functions.ports import GenerationMismatch, Generators, ObjectStore


class ExistingFileDiffers(RuntimeError):
    """The day's file exists with other bytes: a create-only flow never overwrites bronze."""


def generate_clickstream(lake: ObjectStore, generators: Generators, day: date) -> dict[str, Any]:
    events = generators.clickstream_for_day(day)
    data = to_jsonl(events)
    name = lake_paths.clickstream_object(day)
    uri = lake_paths.gcs_uri(lake.bucket, name)
    try:
        info = lake.write(name, data, "application/x-ndjson", 0, {ROWS_METADATA_KEY: str(len(events))})
    except GenerationMismatch:
        current = lake.stat(name)
        if current is not None and lake.read(name, current.generation) == data:
            return {"date": day.isoformat(), "rows": len(events), "uri": uri, "action": "unchanged"}
        raise ExistingFileDiffers(f"{uri} already exists with different content") from None
    return {
        "date": day.isoformat(),
        "rows": len(events),
        "uri": uri,
        "action": "written",
        "generation": info.generation,
    }
