"""Creates, through the official clients, the resources terraform declares in the cloud:
the lake bucket, the Avro-schema'd app-events topic with its subscription and dead-letter
topic, and the alerts topic. Idempotent: safe on every ``rillflow local up``."""

from __future__ import annotations

import contextlib

from google.api_core import exceptions as gexc
from google.cloud import pubsub_v1, storage  # type: ignore[attr-defined]
from google.pubsub_v1.types import Encoding, Schema

from contracts import avro_schema_text
from rillflow.settings import Settings

APP_EVENT_SCHEMA_ID = "app-event-batch"


def bootstrap(settings: Settings) -> None:
    """Requires the emulator host variables to be set in this process's environment."""
    _streaming_table(settings)
    client = storage.Client(project=settings.project)
    with contextlib.suppress(gexc.Conflict):
        client.create_bucket(settings.lake_bucket)

    project = settings.project
    schemas = pubsub_v1.SchemaServiceClient()
    schema_path = schemas.schema_path(project, APP_EVENT_SCHEMA_ID)
    with contextlib.suppress(gexc.AlreadyExists):
        schemas.create_schema(
            request={
                "parent": f"projects/{project}",
                "schema": Schema(type_=Schema.Type.AVRO, definition=avro_schema_text("app_event_batch")),
                "schema_id": APP_EVENT_SCHEMA_ID,
            }
        )

    publisher = pubsub_v1.PublisherClient()
    topics = {
        settings.app_events_topic: {"schema": schema_path, "encoding": Encoding.BINARY},
        settings.app_events_deadletter_topic: None,
        settings.alerts_topic: None,
    }
    for topic_id, schema_settings in topics.items():
        request: dict[str, object] = {"name": publisher.topic_path(project, topic_id)}
        if schema_settings:
            request["schema_settings"] = schema_settings
        with contextlib.suppress(gexc.AlreadyExists):
            publisher.create_topic(request=request)

    subscriber = pubsub_v1.SubscriberClient()
    subscriptions = {
        settings.app_events_subscription: settings.app_events_topic,
        f"{settings.alerts_topic}-inbox": settings.alerts_topic,
    }
    for sub_id, topic_id in subscriptions.items():
        request = {
            "name": subscriber.subscription_path(project, sub_id),
            "topic": publisher.topic_path(project, topic_id),
            "ack_deadline_seconds": 60,
        }
        if topic_id == settings.app_events_topic:
            request["dead_letter_policy"] = {
                "dead_letter_topic": publisher.topic_path(project, settings.app_events_deadletter_topic),
                "max_delivery_attempts": 10,
            }
        with contextlib.suppress(gexc.AlreadyExists):
            subscriber.create_subscription(request=request)


def _streaming_table(settings: Settings) -> None:
    """The table the streaming job merges into exists before its first write (terraform creates
    it in BigQuery), so the BI views over it resolve from day one."""
    from rillflow.warehouse import DuckDBWarehouse
    from streaming.sinks import HOURLY_SCHEMA, HOURLY_TABLE

    dataset, table = HOURLY_TABLE
    DuckDBWarehouse(settings.warehouse_path).write(dataset, table, HOURLY_SCHEMA.empty_table(), mode="append")
