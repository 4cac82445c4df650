"""``ingest_startups``: page through the startups API, land JSONL in bronze, then move the watermark.

* No watermark yet -> full load (``load_type=full``); otherwise a delta ``updated_since`` the
  watermark (``load_type=delta``). The watermark is the largest ``updated_at`` ever landed.
* 429 and 5xx are retried with exponential backoff; a ``Retry-After`` header wins when present.
  Attempts are bounded; other 4xx fail at once.
* The watermark (``ingestion_state/startups``) moves only after the file is durably written, so
  a crash before that repeats the same request on the next run: never a gap. Re-running a day
  that already completed is a no-op; re-running after a crash rewrites nothing when the API
  returns the same records (create-only write, identical bytes).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from rillflow_functions import lake_paths
from rillflow_functions.bronze_validation import ROWS_METADATA_KEY, to_jsonl
from rillflow_functions.ports import DocumentStore, GenerationMismatch, ObjectStore, StartupsApi

log = logging.getLogger(__name__)
STATE_PATH = "ingestion_state/startups"
PAGE_SIZE = 200


class StartupsApiError(RuntimeError):
    pass


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 6
    base_delay_s: float = 0.5
    factor: float = 2.0
    max_delay_s: float = 60.0


def is_retryable(status: int) -> bool:
    return status == 429 or 500 <= status <= 599


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Retry-After as seconds: either delta-seconds or an HTTP date; None when absent or unreadable."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def retry_delay(
    attempt: int, retry_after: str | None, policy: RetryPolicy, now: datetime | None = None
) -> float:
    """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
    server = retry_after_seconds(retry_after, now)
    if server is not None:
        return min(server, policy.max_delay_s)
    return min(policy.base_delay_s * policy.factor ** (attempt - 1), policy.max_delay_s)


def _header(headers: Mapping[str, str], name: str) -> str | None:
    return next((v for k, v in headers.items() if k.lower() == name.lower()), None)


def fetch_page(
    api: StartupsApi, params: Mapping[str, str], sleep: Callable[[float], None], policy: RetryPolicy
) -> dict[str, Any]:
    for attempt in range(1, policy.max_attempts + 1):
        reply = api.get_page(params)
        if reply.status == 200:
            try:
                payload: dict[str, Any] = json.loads(reply.body)
            except (ValueError, RecursionError) as exc:  # not JSON, not UTF-8, too deep, digits too long
                raise StartupsApiError(
                    f"startups API answered 200 with a body that is not JSON ({type(exc).__name__}: {exc}): "
                    f"{reply.body[:200]!r}"
                ) from None
            return payload
        if not is_retryable(reply.status):
            raise StartupsApiError(f"startups API answered {reply.status}: {reply.body[:200]!r}")
        if attempt == policy.max_attempts:
            break
        delay = retry_delay(attempt, _header(reply.headers, "Retry-After"), policy)
        log.warning("startups API %s (attempt %d); retrying in %.2fs", reply.status, attempt, delay)
        sleep(delay)
    raise StartupsApiError(
        f"startups API still failing after {policy.max_attempts} attempts ({reply.status})"
    )


def parse_startups_page(payload: Mapping[str, Any]) -> tuple[list[dict[str, Any]], str | None]:
    """The one place that knows the response shape: ``{"data": [...], "next_page_token": ..., "as_of": ...}``."""
    if not isinstance(payload, Mapping):
        raise StartupsApiError(f"response is not a JSON object but {type(payload).__name__}")
    records = payload.get("data")
    if not isinstance(records, list):
        raise StartupsApiError(f"response has no 'data' list: keys {sorted(payload)}")
    token = payload.get("next_page_token") or None
    if token is not None and not isinstance(token, str):
        raise StartupsApiError(f"'next_page_token' must be a string, got {type(token).__name__}: {token!r}")
    return records, token


def fetch_all(
    api: StartupsApi,
    since: str | None,
    sleep: Callable[[float], None],
    policy: RetryPolicy,
    page_size: int = PAGE_SIZE,
) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    token: str | None = None
    seen_tokens: set[str] = set()
    while True:
        params = {"page_size": str(page_size)}
        if since:
            params["updated_since"] = since
        if token:
            params["page_token"] = token
        page, token = parse_startups_page(fetch_page(api, params, sleep, policy))
        records.extend(page)
        if token is None:
            return records
        if token in seen_tokens:
            raise StartupsApiError(f"page token {token!r} repeated: the API is looping")
        seen_tokens.add(token)


def _instant(value: str) -> datetime:
    ts = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return ts if ts.tzinfo else ts.replace(tzinfo=UTC)


def next_watermark(current: str | None, records: list[dict[str, Any]]) -> str | None:
    """The largest ``updated_at`` among the current watermark and the records (as it was written)."""
    best = current
    for record in records:
        if not isinstance(record, dict):
            continue  # not a record at all: quarantined downstream, never a watermark
        value = record.get("updated_at")
        if isinstance(value, str):
            try:
                if best is None or _instant(value) > _instant(best):
                    best = value
            except ValueError:
                continue  # a malformed record: quarantined downstream, never a watermark
    return best


def land_file(lake: ObjectStore, name: str, data: bytes, rows: int) -> tuple[int, str]:
    """Create-only write; identical existing bytes are kept (no new version). (generation, action)."""
    meta = {ROWS_METADATA_KEY: str(rows)}
    try:
        return lake.write(name, data, "application/x-ndjson", 0, meta).generation, "written"
    except GenerationMismatch:
        pass
    current = lake.stat(name)
    if current is not None and lake.read(name, current.generation) == data:
        return current.generation, "unchanged"
    # A rerun after a crash pulled from the same watermark but the API has moved on since: the new
    # pull is a superset of the old one, so it replaces it (the manifest keeps both versions).
    log.warning("%s exists with other content; replacing it with the newer pull", name)
    expected = current.generation if current is not None else 0
    return lake.write(name, data, "application/x-ndjson", expected, meta).generation, "replaced"


def run_ingestion(
    documents: DocumentStore,
    lake: ObjectStore,
    api: StartupsApi,
    day: date,
    sleep: Callable[[float], None] | None = None,
    policy: RetryPolicy | None = None,
) -> dict[str, Any]:
    state = documents.get(STATE_PATH) or {}
    last = state.get("last_run") or {}
    if last.get("dt") == day.isoformat():
        return {**last, "action": "already_done"}
    since = state.get("watermark")
    load_type = "full" if since is None else "delta"
    records = fetch_all(api, since, sleep or time.sleep, policy or RetryPolicy())
    name = lake_paths.startups_object(load_type, day)
    generation, action = land_file(lake, name, to_jsonl(records), len(records))
    # Only now, with the file durable, does the watermark move.
    run = {
        "dt": day.isoformat(),
        "load_type": load_type,
        "since": since,
        "uri": lake_paths.gcs_uri(lake.bucket, name),
        "generation": generation,
        "rows": len(records),
        "watermark": next_watermark(since, records),
    }
    new_state = {
        **state,
        "watermark": run["watermark"],
        "full_load_dt": day.isoformat() if load_type == "full" else state.get("full_load_dt"),
        "last_run": run,
    }
    documents.set(STATE_PATH, new_state)
    return {**run, "action": action}
