from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

from google.events.cloud.pubsub import MessagePublishedData
from rillflow_functions import app_events_job

import contracts
from contracts.app_event_codec import decode_batch
from rillflow.generators.app_events import AppEventModel, to_records
from tests.functions import golden, samples
from tests.functions.fakes import FakeGenerators

MINUTE = datetime(2026, 1, 5, 12, 30, tzinfo=UTC)


def _events(start: datetime, end: datetime, shard: tuple[int, int]) -> list[dict]:
    return [
        samples.app_event(n, start + timedelta(milliseconds=40 * n), country=("IN", "US")[shard[0] % 2])
        for n in range(1234)
    ]


def test_publish_app_events_batches_with_deterministic_ids(ports, app_client) -> None:  # type: ignore[no-untyped-def]
    ports.generators = FakeGenerators(lambda d: [], None, _events)
    ports.install()
    client = app_client("publish_app_events")
    body = {"minute": "2026-01-05T12:30:00Z", "shard": 1, "shards": 4}
    result = client.post("/", json=body).get_json()
    assert result == {
        "minute": "2026-01-05T12:30:00Z",
        "shard": 1,
        "shards": 4,
        "events": 1234,
        "messages": 3,
        "topic": "app-events",
    }
    first = list(ports.publisher.published)
    assert [a["batch_id"] for _, _, a in first] == [
        f"publish_app_events/20260105T1230Z/1-of-4/{i:05d}" for i in range(3)
    ]
    decoded = [decode_batch(data) for _, data, _ in first]
    assert [len(b["events"]) for b in decoded] == [500, 500, 234]
    assert decoded[0]["created_ts"] == MINUTE + timedelta(minutes=1)
    client.post("/", json=body)
    assert ports.publisher.published[3:] == first  # a rerun publishes the same bytes


def test_publish_defaults_and_bad_shards(ports, app_client) -> None:  # type: ignore[no-untyped-def]
    ports.generators = FakeGenerators(lambda d: [], None, lambda s, e, sh: [])
    ports.install()
    client = app_client("publish_app_events")
    result = client.post("/").get_json()
    expected = app_events_job.previous_minute(datetime.now(UTC))
    assert abs(datetime.fromisoformat(result["minute"].replace("Z", "+00:00")) - expected) <= timedelta(
        minutes=1
    )
    assert result["messages"] == 0 and ports.publisher.published == []
    assert client.post("/", json={"shard": 4, "shards": 4}).status_code == 400
    assert client.post("/", json={"minute": "noon"}).status_code == 400


def test_golden_pubsub_event_carries_a_valid_batch() -> None:
    fixture = golden.load("pubsub_message_published.json")
    msg = MessagePublishedData.from_json(json.dumps(fixture["data"]), ignore_unknown_fields=True).message
    batch = decode_batch(msg.data)
    assert batch["batch_id"] == msg.attributes["batch_id"] == "publish_app_events/20260105T1230Z/0-of-1/00000"
    for event in batch["events"]:
        contracts.validate("app_event", event)
    assert base64.b64decode(fixture["data"]["message"]["data"]) == msg.data


def test_real_app_event_generator_output_is_publishable() -> None:
    model = AppEventModel(20_000, 7)
    events = to_records(model.generate(MINUTE, MINUTE + timedelta(minutes=1), shard=(0, 2)))
    messages = app_events_job.build_messages(events, MINUTE, 0, 2)
    assert sum(len(decode_batch(m)["events"]) for m, _ in messages) == len(events)
