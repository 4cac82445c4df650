"""Reading the small JSON bodies Cloud Scheduler and the workflow send (all fields optional)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from werkzeug.exceptions import BadRequest


def json_body(request: Any) -> dict[str, Any]:
    if not request.get_data():
        return {}
    try:
        body = request.get_json(silent=True)
    except RecursionError:  # silent=True swallows ValueError only; nesting too deep escapes it
        raise BadRequest("the body is nested too deeply to be read as JSON") from None
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object")
    return body


def day_param(body: dict[str, Any], default: date) -> date:
    value = body.get("date")
    if value in (None, ""):
        return default
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise BadRequest(f"'date' must be YYYY-MM-DD, got {value!r}") from None


def int_param(body: dict[str, Any], name: str, default: int) -> int:
    value = body.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise BadRequest(f"'{name}' must be an integer")
    try:
        return int(value)
    except ValueError:
        raise BadRequest(f"'{name}' must be an integer, got {value!r}") from None


def instant_param(body: dict[str, Any], name: str, default: datetime) -> datetime:
    value = body.get(name)
    if value in (None, ""):
        return default
    try:
        ts = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest(f"'{name}' must be an RFC 3339 timestamp, got {value!r}") from None
    return ts if ts.tzinfo else ts.replace(tzinfo=UTC)


SCHEDULE_TIME_HEADER = "X-CloudScheduler-ScheduleTime"


def utc_now() -> datetime:
    return datetime.now(UTC)


def request_now(request: Any) -> datetime:
    """The instant a request stands for: Cloud Scheduler's ``X-CloudScheduler-ScheduleTime``
    when present (so a retried or replayed job means the same day), else the wall clock."""
    raw = request.headers.get(SCHEDULE_TIME_HEADER) if request is not None else None
    if not raw:
        return utc_now()
    try:
        ts = datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest(f"{SCHEDULE_TIME_HEADER} is not RFC 3339: {raw!r}") from None
    return ts if ts.tzinfo else ts.replace(tzinfo=UTC)


def yesterday_utc(request: Any = None) -> date:
    return request_now(request).date() - timedelta(days=1)
