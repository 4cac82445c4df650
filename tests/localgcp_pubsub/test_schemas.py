"""SchemaService and schema-bound topics, with the project's app-event batch contract."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from google.api_core import exceptions
from google.cloud.pubsub import SchemaServiceClient
from google.pubsub_v1.types import Encoding, Schema

import contracts
from contracts.app_event_codec import decode_batch, encode_batch
from tests.support.pubsub import PROJECT, Emulator


def app_event(**overrides: Any) -> dict[str, Any]:
    event = {
        "event_id": "e-1",
        "event_ts": datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC),
        "user_id": "u-1",
        "country": "DE",
        "platform": "android",
        "app_id": "app-9",
        "event_type": "purchase",
        "session_id": "s-1",
        "price": 1.99,
        "currency": "EUR",
        "revenue_usd": 2.1,
        "rating": None,
        "app_version": "3.1",
        "device": "pixel",
        "os_version": "14",
    }
    return {**event, **overrides}


@pytest.fixture
def schemas(emulator: Emulator) -> SchemaServiceClient:
    client = SchemaServiceClient()
    client.create_schema(
        parent=PROJECT,
        schema=Schema(type_=Schema.Type.AVRO, definition=contracts.avro_schema_text("app_event_batch")),
        schema_id="app-event-batch",
    )
    return client


SCHEMA = f"{PROJECT}/schemas/app-event-batch"


def test_schema_crud(schemas: SchemaServiceClient) -> None:
    got = schemas.get_schema(name=SCHEMA)
    assert got.type_ == Schema.Type.AVRO and "AppEventBatch" in got.definition and got.revision_id
    assert [s.name for s in schemas.list_schemas(parent=PROJECT)] == [SCHEMA]
    with pytest.raises(exceptions.AlreadyExists):
        schemas.create_schema(
            parent=PROJECT,
            schema=Schema(type_=Schema.Type.AVRO, definition=got.definition),
            schema_id="app-event-batch",
        )
    schemas.delete_schema(name=SCHEMA)
    with pytest.raises(exceptions.NotFound):
        schemas.get_schema(name=SCHEMA)


def test_validate_schema_and_protobuf_unimplemented(schemas: SchemaServiceClient) -> None:
    schemas.validate_schema(
        parent=PROJECT, schema=Schema(type_=Schema.Type.AVRO, definition='{"type": "string"}')
    )
    with pytest.raises(exceptions.InvalidArgument, match="Invalid Avro schema"):
        schemas.validate_schema(
            parent=PROJECT, schema=Schema(type_=Schema.Type.AVRO, definition='{"type": "record"}')
        )
    with pytest.raises(exceptions.MethodNotImplemented, match="PROTOCOL_BUFFER"):
        schemas.validate_schema(
            parent=PROJECT, schema=Schema(type_=Schema.Type.PROTOCOL_BUFFER, definition="syntax = 'proto3';")
        )


def test_validate_message(schemas: SchemaServiceClient) -> None:
    good = encode_batch([app_event()], "b-1", "tests", datetime.now(UTC))
    schemas.validate_message(
        request={"parent": PROJECT, "name": SCHEMA, "message": good, "encoding": Encoding.BINARY}
    )
    with pytest.raises(exceptions.InvalidArgument, match="trailing bytes"):
        schemas.validate_message(
            request={
                "parent": PROJECT,
                "name": SCHEMA,
                "message": good + b"\x00",
                "encoding": Encoding.BINARY,
            }
        )


def test_schema_topic_accepts_conforming_and_rejects_bad(
    emulator: Emulator, schemas: SchemaServiceClient
) -> None:
    topic = emulator.topic(schema_settings={"schema": SCHEMA, "encoding": Encoding.BINARY})
    sub = emulator.subscription(topic)
    good = encode_batch([app_event(), app_event(event_id="e-2")], "b-1", "tests", datetime.now(UTC))
    emulator.publisher.publish(topic, good).result(timeout=10)
    # the platform enum index of the 2nd event, corrupted: 'android' (1) -> 7
    bad = bytearray(encode_batch([app_event(), app_event(platform="web")], "b-2", "tests", datetime.now(UTC)))
    first = bytes(encode_batch([app_event()], "b-2", "tests", datetime.now(UTC)))
    assert len(bad) > len(first)
    with pytest.raises(exceptions.InvalidArgument, match=r"field 'events\[1\]\.platform'"):
        corrupt = _corrupt_second_platform(bytes(bad))
        emulator.publisher.publish(topic, corrupt).result(timeout=10)
    with pytest.raises(exceptions.InvalidArgument, match="schema validation"):
        emulator.publisher.publish(topic, b"not avro at all").result(timeout=10)
    [received] = emulator.pull(sub)
    assert decode_batch(received.message.data)["batch_id"] == "b-1"


def _corrupt_second_platform(payload: bytes) -> bytes:
    """Change the zigzag enum index of 'web' (2 -> 0x04) in the 2nd event to 7 (0x0e)."""
    marker = b"\x04\x0aapp-9"  # enum index 2, then app_id "app-9" (len 5 -> 0x0a)
    index = payload.rindex(marker)
    return payload[:index] + b"\x0e" + payload[index + 1 :]


def test_json_encoding_topic(emulator: Emulator, schemas: SchemaServiceClient) -> None:
    topic = emulator.topic(schema_settings={"schema": SCHEMA, "encoding": Encoding.JSON})
    event = {**app_event(), "event_ts": 1, "price": {"double": 1.99}, "currency": {"string": "EUR"}}
    event["revenue_usd"] = {"double": 2.1}
    batch = {"batch_id": "b", "producer": "p", "created_ts": 5, "events": [event]}
    emulator.publisher.publish(topic, json.dumps(batch).encode()).result(timeout=10)
    del event["country"]
    with pytest.raises(exceptions.InvalidArgument, match=r"events\[0\]\.country': required field is missing"):
        emulator.publisher.publish(topic, json.dumps(batch).encode()).result(timeout=10)


def test_topic_with_unknown_schema_is_not_found(emulator: Emulator) -> None:
    with pytest.raises(exceptions.NotFound):
        emulator.topic(schema_settings={"schema": f"{PROJECT}/schemas/nope", "encoding": Encoding.BINARY})
