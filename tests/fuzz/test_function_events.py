"""CloudEvent and request decoding in the functions: Firestore document events and the HTTP params.

Properties: Firestore values round-trip (``decode_value(encode_value(x)) == x``) and so do whole
documents through the protobuf and JSON event bodies; any bytes either parse as a
``DocumentEventData`` or raise protobuf's ``DecodeError``, and whatever parses decodes with at
most a ``ValueError`` that names the field; ``http_io`` params round-trip and any JSON value or
body gives the value or a ``BadRequest`` naming the parameter.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

import pytest
from google.events.cloud.firestore import DocumentEventData
from google.events.cloud.firestore_v1.types import Document, Value
from google.protobuf import timestamp_pb2
from google.protobuf.json_format import ParseError
from google.protobuf.message import DecodeError
from hypothesis import given
from hypothesis import strategies as st
from rillflow_functions import firestore_values as fv
from rillflow_functions import http_io
from werkzeug.exceptions import BadRequest
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from tests.fuzz.strategies import fuzz, json_values, mutate

firestore_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False)
    | st.text(max_size=12)
    | st.binary(max_size=12)
    | st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.just(UTC))
)
firestore_values = st.recursive(
    firestore_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=10,
)
documents = st.dictionaries(st.text(min_size=1, max_size=8), firestore_values, max_size=5)
FIXED = datetime(2026, 1, 9, 12, 0, tzinfo=UTC)
instants = st.datetimes(
    min_value=datetime(1971, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)
)


@fuzz(200)
@given(firestore_values)
def test_value_round_trip(value: Any) -> None:
    assert fv.decode_value(fv.encode_value(value)) == value


@fuzz(100)
@given(documents, instants, instants, st.booleans())
def test_document_event_round_trip(
    data: dict[str, Any], created: datetime, updated: datetime, as_json: bool
) -> None:
    doc = fv.encode_document("projects/p/databases/(default)/documents/sales/o1", data, created, updated)
    event = DocumentEventData(value=doc)
    body: Any = (
        json.loads(DocumentEventData.to_json(event)) if as_json else DocumentEventData.serialize(event)
    )
    parsed = fv.parse_document_event(body)
    assert fv.has_document(parsed.value) and not fv.has_document(parsed.old_value)
    assert fv.decode_fields(parsed.value) == data
    assert fv.document_update_time(parsed.value) == updated


def _decode_all(event: DocumentEventData) -> None:
    for doc in (event.value, event.old_value):
        fv.has_document(doc)
        try:
            fv.decode_fields(doc)
            fv.document_update_time(doc)
        except ValueError as exc:  # a timestamp outside 0001..9999: named, not a crash
            assert "out of range" in str(exc) or "not valid" in str(exc)


@fuzz(300)
@given(st.binary(max_size=200))
def test_any_bytes_parse_or_raise_decode_error(data: bytes) -> None:
    try:
        event = fv.parse_document_event(data)
    except DecodeError:
        return
    _decode_all(event)


@fuzz(200)
@given(documents, st.data())
def test_mutated_event_bytes(data: dict[str, Any], draw: st.DataObject) -> None:
    doc = fv.encode_document("projects/p/databases/(default)/documents/sales/o1", data, FIXED, FIXED)
    payload = mutate(DocumentEventData.serialize(DocumentEventData(value=doc)), draw.draw)
    try:
        event = fv.parse_document_event(payload)
    except DecodeError:
        return
    _decode_all(event)


@fuzz(150)
@given(json_values)
def test_any_json_body_parses_or_raises_parse_error(body: Any) -> None:
    try:
        event = fv.parse_document_event(body)
    except (ParseError, TypeError) as exc:
        assert str(exc)
        return
    _decode_all(event)


@fuzz(100)
@given(
    st.sampled_from(["create_time", "update_time", "field"]),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
)
def test_out_of_range_timestamps_name_the_field(where: str, seconds: int) -> None:
    ts = timestamp_pb2.Timestamp(seconds=seconds)
    if where == "field":
        doc = Document(name="n", fields={"when": Value(timestamp_value=ts)})
    else:
        doc = Document(name="n", **{where: ts})
    try:
        fv.decode_fields(doc)
        fv.document_update_time(doc)
    except ValueError as exc:
        assert ("'when'" in str(exc)) if where == "field" else where == "update_time"


# --- http_io -----------------------------------------------------------------------------------------


def _request(body: bytes, headers: dict[str, str] | None = None) -> Request:
    return Request(
        EnvironBuilder(
            method="POST", data=body, content_type="application/json", headers=list((headers or {}).items())
        ).get_environ()
    )


@fuzz(200)
@given(st.binary(max_size=100) | json_values.map(lambda v: json.dumps(v).encode()))
def test_json_body_is_a_dict_or_bad_request(body: bytes) -> None:
    try:
        assert isinstance(http_io.json_body(_request(body)), dict)
    except BadRequest as exc:
        assert exc.description


def test_json_body_too_deep_is_a_bad_request() -> None:
    with pytest.raises(BadRequest):
        http_io.json_body(_request(b"[" * 100_000))


@fuzz(200)
@given(json_values)
def test_params_give_a_value_or_name_themselves(value: Any) -> None:
    body = {"date": value, "n": value, "minute": value}
    default = datetime(2026, 1, 1, tzinfo=UTC)
    for name, call in (
        ("date", lambda: http_io.day_param(body, default.date())),
        ("n", lambda: http_io.int_param(body, "n", 0)),
        ("minute", lambda: http_io.instant_param(body, "minute", default)),
    ):
        try:
            result = call()
        except BadRequest as exc:
            assert f"'{name}'" in (exc.description or "")
            continue
        assert isinstance(result, date | int)


@fuzz(100)
@given(st.dates(), st.integers(), instants)
def test_params_round_trip(day: date, n: int, minute: datetime) -> None:
    body = {"date": day.isoformat(), "n": str(n), "m": n, "minute": minute.isoformat().replace("+00:00", "Z")}
    assert http_io.day_param(body, date(2000, 1, 1)) == day
    assert http_io.int_param(body, "m", 0) == n
    if len(str(abs(n))) < 4000:
        assert http_io.int_param(body, "n", 0) == n
    assert http_io.instant_param(body, "minute", datetime(2000, 1, 1, tzinfo=UTC)) == minute


@fuzz(150)
@given(st.text(max_size=40).filter(lambda t: "\n" not in t and "\r" not in t))
def test_schedule_header_is_a_time_or_bad_request(raw: str) -> None:
    try:
        now = http_io.request_now(_request(b"", {http_io.SCHEDULE_TIME_HEADER: raw}))
    except BadRequest as exc:
        assert http_io.SCHEDULE_TIME_HEADER in (exc.description or "")
        return
    assert now.tzinfo is not None
