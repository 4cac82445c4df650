"""Rillflow's Cloud Functions (gen2): one source, one entry point per function, all thin.

Each entry point reads its request or CloudEvent, asks ``rillflow_functions.clients`` for its
ports, and hands over to plain logic in ``rillflow_functions``. Deploy this folder as the
function source (with ``contracts/`` and ``rillflow/`` from the repository root beside it);
locally the same file is served by functions-framework.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

import functions_framework
from cloudevents.http import CloudEvent
from google.events.cloud.storage import StorageObjectData
from rillflow_functions import (
    alerts,
    app_events_job,
    bronze_loads,
    clickstream_job,
    clients,
    firestore_values,
    http_io,
    lake_compaction,
    sale_events,
    sales_jobs,
    startups_ingest,
)
from rillflow_functions.ports import ObjectInfo

from rillflow.settings import get_settings

logging.basicConfig(level=logging.INFO)
log = logging.getLogger("rillflow.functions")


def _reply(result: dict[str, Any], status: int = 200) -> tuple[str, int, dict[str, str]]:
    return json.dumps(result, sort_keys=True, default=str), status, {"Content-Type": "application/json"}


def _event_time(event: CloudEvent) -> datetime:
    raw = event.get("time")
    if not raw:
        return http_io.utc_now()
    ts = datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
    return ts if ts.tzinfo else ts.replace(tzinfo=UTC)


@functions_framework.http
def generate_sales(request: Any) -> Any:
    """Scheduler job ``generate-sales-daily`` (its cron: ``functions/triggers.yaml``); body
    ``{"date": "YYYY-MM-DD"}`` optional (default: yesterday UTC)."""
    day = http_io.day_param(http_io.json_body(request), http_io.yesterday_utc(request))
    return _reply(sales_jobs.generate_sales(clients.documents(), clients.generators(), day))


@functions_framework.cloud_event
def on_sale_written(event: CloudEvent) -> None:
    """``google.cloud.firestore.document.v1.written`` on ``sales/{order_id}``."""
    data = firestore_values.parse_document_event(event.data)
    result = sale_events.handle_sale_written(
        clients.documents(), data, _event_time(event), event.get("subject")
    )
    log.info("on_sale_written %s %s", event["id"], json.dumps(result, default=str))


@functions_framework.http
def generate_clickstream(request: Any) -> Any:
    """Scheduler job ``generate-clickstream-daily`` (``functions/triggers.yaml``): the previous day's
    website events as one JSONL object."""
    day = http_io.day_param(http_io.json_body(request), http_io.yesterday_utc(request))
    try:
        result = clickstream_job.generate_clickstream(clients.lake(), clients.generators(), day)
    except clickstream_job.ExistingFileDiffers as exc:
        return _reply({"error": str(exc)}, 409)
    return _reply(result)


@functions_framework.http
def ingest_startups(request: Any) -> Any:
    """Scheduler job ``ingest-startups-weekly`` (``functions/triggers.yaml``; and once at first
    start): full or delta load of the startups API.

    Body ``{"date": "YYYY-MM-DD"}`` optional: the load date (default: today UTC)."""
    day = http_io.day_param(http_io.json_body(request), http_io.request_now(request).date())
    try:
        result = startups_ingest.run_ingestion(
            clients.documents(), clients.lake(), clients.startups_api(), day
        )
    except startups_ingest.StartupsApiError as exc:
        log.error("ingest_startups failed for %s: %s (watermark unchanged)", day, exc)
        return _reply({"error": str(exc), "date": day.isoformat()}, 502)
    return _reply(result)


@functions_framework.http
def export_sales(request: Any) -> Any:
    """Called by the daily workflow with ``{"date": "YYYY-MM-DD"}``: ``{"rows", "orders", "uri"}``."""
    day = http_io.day_param(http_io.json_body(request), http_io.yesterday_utc(request))
    return _reply(sales_jobs.export_sales(clients.documents(), clients.lake(), day))


@functions_framework.http
def compact_app_events(request: Any) -> Any:
    """Called by the daily workflow with ``{"date": "YYYY-MM-DD", "days": n}``: each day's streaming
    files (``lake/app_events/dt=D/``) for the n days up to ``date`` become one file (default:
    yesterday and the two days before it, where late files land)."""
    body = http_io.json_body(request)
    day = http_io.day_param(body, http_io.yesterday_utc(request))
    days = http_io.int_param(body, "days", 3)
    if not 1 <= days <= 31:
        return _reply({"error": f"'days' must be between 1 and 31, got {days}"}, 400)
    try:
        return _reply(lake_compaction.compact_days(clients.lake(), day, days))
    except lake_compaction.CompactionError as exc:
        log.error("compact_app_events %s: %s (that day is left as it was)", day, exc)
        return _reply({"error": str(exc), "date": day.isoformat()}, 409)


@functions_framework.cloud_event
def on_bronze_object_finalized(event: CloudEvent) -> None:
    """``google.cloud.storage.object.v1.finalized`` on the lake bucket.

    Validates bronze files, keeps the load manifest, quarantines bad files and starts the daily
    pipeline once the day is complete; see ``rillflow_functions.day_completion`` for when that is
    (sales are exported by the pipeline itself, so they are not awaited)."""
    body = event.data if isinstance(event.data, dict) else json.loads(event.data)
    data = StorageObjectData.from_json(json.dumps(body), ignore_unknown_fields=True)
    obj = ObjectInfo(data.bucket, data.name, int(data.generation), int(data.size), dict(data.metadata))
    outcome = bronze_loads.handle_object(clients.documents(), clients.lake(), clients.workflows(), obj)
    log.info("on_bronze_object_finalized %s %s", event["id"], json.dumps(outcome.as_dict(), default=str))


@functions_framework.http
def publish_app_events(request: Any) -> Any:
    """Scheduler job ``publish-app-events-minutely`` (``functions/triggers.yaml``); body
    ``{"minute": RFC3339, "shard": i, "shards": n}`` optional (default: the previous whole minute,
    shard 0 of 1)."""
    body = http_io.json_body(request)
    minute = http_io.instant_param(
        body, "minute", app_events_job.previous_minute(http_io.request_now(request))
    )
    shard, shards = http_io.int_param(body, "shard", 0), http_io.int_param(body, "shards", 1)
    if shards < 1 or not 0 <= shard < shards:
        return _reply({"error": f"need 0 <= shard < shards, got shard={shard} shards={shards}"}, 400)
    topic = get_settings().app_events_topic
    events_per_day = http_io.int_param(body, "events_per_day", 0) or None
    result = app_events_job.publish_app_events(
        clients.publisher(), clients.generators(), topic, minute, shard, shards, events_per_day
    )
    return _reply(result)


@functions_framework.cloud_event
def on_pipeline_alert(event: CloudEvent) -> None:
    """``google.cloud.pubsub.topic.v1.messagePublished`` on the ``alerts`` topic."""
    body = event.data if isinstance(event.data, dict) else json.loads(event.data)
    result = alerts.record_alert(clients.documents(), body)
    log.warning("pipeline alert %s %s", event["id"], json.dumps(result))
