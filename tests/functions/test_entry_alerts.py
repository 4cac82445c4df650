"""on_pipeline_alert: a Pub/Sub messagePublished CloudEvent from the alerts topic, recorded once."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from rillflow_functions import alerts

from tests.functions.deliver import post_event


def _event(payload: bytes, message_id: str = "m-1") -> tuple[dict[str, str], bytes]:
    attributes = {
        "specversion": "1.0",
        "id": message_id,
        "source": "//pubsub.googleapis.com/projects/rillflow-local/topics/alerts",
        "type": "google.cloud.pubsub.topic.v1.messagePublished",
        "datacontenttype": "application/json",
        "time": "2026-01-05T02:00:00Z",
    }
    body = {
        "message": {
            "data": base64.b64encode(payload).decode(),
            "attributes": {"severity": "ERROR", "run_id": "daily-20260105"},
            "messageId": message_id,
            "publishTime": "2026-01-05T02:00:00Z",
        },
        "subscription": "projects/rillflow-local/subscriptions/eventarc-on-pipeline-alert",
    }
    return attributes, json.dumps(body).encode()


def test_alert_is_recorded_once_under_redelivery(ports, app_client) -> None:  # type: ignore[no-untyped-def]
    ports.install()
    client = app_client("on_pipeline_alert")
    attributes, body = _event(json.dumps({"run_id": "daily-20260105", "error": "Dataform failed"}).encode())
    for _ in range(2):
        assert post_event(client, attributes, body).status_code == 200
    stored = ports.documents.collection(alerts.ALERTS)
    assert list(stored) == ["m-1"]
    assert stored["m-1"]["payload"] == {"run_id": "daily-20260105", "error": "Dataform failed"}
    assert stored["m-1"]["severity"] == "ERROR" and stored["m-1"]["attributes"]["run_id"] == "daily-20260105"


def test_non_json_payload_is_kept_as_text() -> None:
    record = alerts.alert_record({"data": base64.b64encode(b"disk full").decode(), "messageId": "7"}, "s")
    assert record["payload"] == "disk full" and record["payload_is_json"] is False


def test_message_without_id_is_refused() -> None:
    class NoDocs:
        def create(self, path: str, data: Any) -> bool:
            raise AssertionError("must not write")

    with pytest.raises(ValueError, match="messageId"):
        alerts.record_alert(NoDocs(), {"message": {"data": ""}})  # type: ignore[arg-type]
