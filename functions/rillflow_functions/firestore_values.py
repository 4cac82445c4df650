"""Firestore ``Value`` protos (as carried by ``DocumentEventData``) to and from plain Python.

Decoding gives what the Firestore client would return for the same document: ints, floats,
aware UTC datetimes, lists and dicts, so the logic sees one shape whether it read the
document or was handed it by a trigger. Encoding builds event bodies (fixtures, local router).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from google.events.cloud.firestore import DocumentEventData
from google.events.cloud.firestore_v1.types import ArrayValue, Document, MapValue, Value
from google.protobuf import timestamp_pb2


def decode_value(value: Value) -> Any:
    kind = Value.pb(value).WhichOneof("value_type")
    if kind is None or kind == "null_value":
        return None
    if kind == "timestamp_value":
        ts = Value.pb(value).timestamp_value
        return ts.ToDatetime(tzinfo=UTC)
    if kind == "array_value":
        return [decode_value(v) for v in value.array_value.values]
    if kind == "map_value":
        return {k: decode_value(v) for k, v in value.map_value.fields.items()}
    if kind == "geo_point_value":
        point = value.geo_point_value
        return {"latitude": point.latitude, "longitude": point.longitude}
    return getattr(value, kind)


def decode_fields(document: Document) -> dict[str, Any]:
    """The document's fields as plain Python; ValueError naming the field for an undecodable value
    (e.g. a timestamp outside 0001..9999, which the binary protobuf form can carry)."""
    out: dict[str, Any] = {}
    for k, v in document.fields.items():
        try:
            out[k] = decode_value(v)
        except (ValueError, OverflowError) as exc:
            raise ValueError(f"field {k!r}: {exc}") from exc
    return out


def encode_value(obj: Any) -> Value:
    if obj is None:
        return Value(null_value=0)
    if isinstance(obj, bool):
        return Value(boolean_value=obj)
    if isinstance(obj, int):
        return Value(integer_value=obj)
    if isinstance(obj, float):
        return Value(double_value=obj)
    if isinstance(obj, str):
        return Value(string_value=obj)
    if isinstance(obj, bytes):
        return Value(bytes_value=obj)
    if isinstance(obj, datetime):
        if obj.tzinfo is None:
            raise ValueError("naive datetime: Firestore timestamps must be timezone-aware")
        ts = timestamp_pb2.Timestamp()
        ts.FromDatetime(obj.astimezone(UTC))
        return Value(timestamp_value=ts)
    if isinstance(obj, list | tuple):
        return Value(array_value=ArrayValue(values=[encode_value(v) for v in obj]))
    if isinstance(obj, dict):
        return Value(map_value=MapValue(fields={str(k): encode_value(v) for k, v in obj.items()}))
    raise TypeError(f"cannot encode {type(obj).__name__} as a Firestore value")


def encode_document(
    name: str, data: dict[str, Any], create_time: datetime, update_time: datetime
) -> Document:
    def ts(d: datetime) -> timestamp_pb2.Timestamp:
        out = timestamp_pb2.Timestamp()
        out.FromDatetime(d.astimezone(UTC))
        return out

    return Document(
        name=name,
        fields={k: encode_value(v) for k, v in data.items()},
        create_time=ts(create_time),
        update_time=ts(update_time),
    )


def parse_document_event(data: Any) -> DocumentEventData:
    """The event body: protobuf bytes (Eventarc's default) or its JSON form."""
    if isinstance(data, bytes | bytearray):
        return DocumentEventData.deserialize(bytes(data))
    if isinstance(data, dict):
        import json

        return DocumentEventData.from_json(json.dumps(data), ignore_unknown_fields=True)
    raise TypeError(f"unexpected Firestore event body of type {type(data).__name__}")


def document_update_time(document: Document) -> datetime | None:
    pb = Document.pb(document)
    if not pb.HasField("update_time"):
        return None
    return pb.update_time.ToDatetime(tzinfo=UTC)


def has_document(document: Document | None) -> bool:
    return document is not None and bool(document.name)
