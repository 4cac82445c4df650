"""``ingest_startups``: page through the startups API, land JSONL in bronze, then move the watermark.

* No watermark yet -> full load (``load_type=full``); otherwise a delta ``updated_since`` the
  watermark (``load_type=delta``). The watermark is the largest ``updated_at`` ever landed.
* 429 and 5xx are retried with exponential backoff; a ``Retry-After`` header wins when present.
  Attempts are bounded; other 4xx fail at once.
* The watermark (``ingestion_state/startups``) moves only after the file is durably written, so
  a crash before that repeats the same request on the next run: never a gap. Re-running a day
  that already completed is a no-op; re-running after a crash rewrites nothing when the API
  returns the same records (create-only write, identical bytes).
* Records are landed as served, good or bad: ``on_bronze_object_finalized`` quarantines the bad
  ones with their field. A numeral beyond the float range is kept as its text (so the contract
  names the field, where a float would have become ``Infinity``, which no JSON reader takes).
* A listing that cannot be trusted is refused whole, and nothing lands: a page that is not JSON,
  or a ``next_page_token`` that lies (repeats itself, points back to records already served, or
  names a page the API does not know). The watermark stays, so the next run asks again from the
  same point, and the reason is kept in the state document (``last_failure``) as well as answered.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import contracts
from rillflow_functions import lake_paths
from rillflow_functions.bronze_validation import ROWS_METADATA_KEY, to_jsonl
from rillflow_functions.ports import DocumentStore, GenerationMismatch, ObjectStore, StartupsApi

log = logging.getLogger(__name__)
STATE_PATH = "ingestion_state/startups"
PAGE_SIZE = 200


class StartupsApiError(RuntimeError):
    """The API failed or answered something the load cannot trust; ``field`` names what was wrong
    (``next_page_token``, ``data``, ``<body>``, ``<status>``)."""

    def __init__(self, message: str, field: str = "<status>") -> None:
        super().__init__(message)
        self.field = field


def _not_json_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _float_or_text(numeral: str) -> float | str:
    """A JSON number as a float; its text when no float holds it (``1e999``), for the contract to refuse."""
    value = float(numeral)
    return value if math.isfinite(value) else numeral


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
                payload: dict[str, Any] = json.loads(
                    reply.body, parse_constant=_not_json_constant, parse_float=_float_or_text
                )
            except (ValueError, RecursionError) as exc:  # not JSON, not UTF-8, too deep, digits too long
                raise StartupsApiError(
                    f"startups API answered 200 with a body that is not JSON ({type(exc).__name__}: {exc}): "
                    f"{reply.body[:200]!r}",
                    "<body>",
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
        raise StartupsApiError(f"response is not a JSON object but {type(payload).__name__}", "<body>")
    records = payload.get("data")
    if not isinstance(records, list):
        raise StartupsApiError(f"response has no 'data' list: keys {sorted(payload)}", "data")
    token = payload.get("next_page_token") or None
    if token is not None and not isinstance(token, str):
        raise StartupsApiError(
            f"'next_page_token' must be a string, got {type(token).__name__}: {token!r}", "next_page_token"
        )
    return records, token


def _record_key(record: Any) -> str:
    """What identifies a served record within one listing (a snapshot: each startup state once)."""
    if isinstance(record, dict) and isinstance(record.get("startup_id"), str):
        return f"{record['startup_id']}@{record.get('updated_at')!r}"
    return json.dumps(record, sort_keys=True, default=str)


def fetch_all(
    api: StartupsApi,
    since: str | None,
    sleep: Callable[[float], None],
    policy: RetryPolicy,
    page_size: int = PAGE_SIZE,
) -> list[dict[str, Any]]:
    """Every record of one listing (see :func:`fetch_listing`)."""
    return fetch_listing(api, since, sleep, policy, page_size)[0]


def fetch_listing(
    api: StartupsApi,
    since: str | None,
    sleep: Callable[[float], None],
    policy: RetryPolicy,
    page_size: int = PAGE_SIZE,
) -> tuple[list[dict[str, Any]], str | None]:
    """Every record of one listing, and the instant it is a snapshot of (its first page's ``as_of``)."""
    records: list[dict[str, Any]] = []
    as_of: str | None = None
    token: str | None = None
    seen_tokens: set[str] = set()
    served: dict[str, int] = {}  # record key -> the page (1-based) that served it
    page_no = 0
    while True:
        params = {"page_size": str(page_size)}
        if since:
            params["updated_since"] = since
        if token:
            params["page_token"] = token
        try:
            payload = fetch_page(api, params, sleep, policy)
            page, next_token = parse_startups_page(payload)
        except StartupsApiError as exc:
            if token is None or exc.field != "<status>":
                raise
            raise StartupsApiError(
                f"page {page_no}'s next_page_token {token!r} was refused: {exc}", "next_page_token"
            ) from None
        page_no += 1
        if page_no == 1 and isinstance(payload.get("as_of"), str):
            as_of = payload["as_of"]
        for record in page:
            key = _record_key(record)
            if served.get(key, page_no) < page_no:  # an earlier page's record (a page may repeat one)
                raise StartupsApiError(
                    f"page {page_no - 1}'s next_page_token went back: page {page_no} serves again a record "
                    f"page {served[key]} served ({key[:120]})",
                    "next_page_token",
                )
            served[key] = page_no
        records.extend(page)
        token = next_token
        if token is None:
            return records, as_of
        if token in seen_tokens:
            raise StartupsApiError(
                f"page {page_no}'s next_page_token {token!r} repeated an earlier page's: the API is looping",
                "next_page_token",
            )
        seen_tokens.add(token)


def _instant(value: str) -> datetime:
    ts = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return ts if ts.tzinfo else ts.replace(tzinfo=UTC)


def _is_valid(record: Any) -> bool:
    try:
        contracts.validate("startup", record)
    except contracts.ContractViolation:
        return False
    return True


def next_watermark(
    current: str | None, records: list[dict[str, Any]], ceiling: str | None = None
) -> str | None:
    """The largest ``updated_at`` among the current watermark and the records that keep their
    contract (as it was written), never beyond ``ceiling`` (the listing's ``as_of``).

    A record that breaks the contract is quarantined downstream and says nothing about how far the
    load got; an ``updated_at`` after the snapshot's own instant is a lie. Either would move the
    watermark past records never landed: every later delta would miss them."""
    limit = None
    if ceiling is not None:
        try:
            limit = _instant(ceiling)
        except ValueError:
            limit = None
    best = current
    for record in records:
        if not _is_valid(record):
            continue
        value = record["updated_at"]
        try:
            instant = _instant(value)
            if limit is not None and instant > limit:
                continue
            if best is None or instant > _instant(best):
                best = value
        except ValueError:
            continue
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
    try:
        records, as_of = fetch_listing(api, since, sleep or time.sleep, policy or RetryPolicy())
    except StartupsApiError as exc:
        # nothing landed and the watermark stays: the next run asks again from the same point
        failure = {"dt": day.isoformat(), "load_type": load_type, "since": since, "field": exc.field}
        documents.set(STATE_PATH, {**state, "last_failure": {**failure, "reason": str(exc)}})
        raise
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
        "watermark": next_watermark(since, records, as_of),
    }
    new_state = {
        **state,
        "watermark": run["watermark"],
        "full_load_dt": day.isoformat() if load_type == "full" else state.get("full_load_dt"),
        "last_run": run,
    }
    documents.set(STATE_PATH, new_state)
    return {**run, "action": action}
