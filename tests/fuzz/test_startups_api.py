"""The startups API client and the ingest's page/token handling.

Properties: any 200 body (non-JSON, wrong types, missing fields) gives the page or a
``StartupsApiError`` (what ``ingest_startups`` turns into a 502, watermark unchanged); paging
with lying tokens (repeats, loops, wrong types) ends with every served record or with that error,
never a hang or another exception; records in = rows landed = rows the bronze validation counts,
bad records quarantining the file with a reason; ``RequestsStartupsApi`` turns any transport or
body failure into a retryable reply; ``Retry-After`` parsing never raises.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

import requests
from hypothesis import given
from hypothesis import strategies as st
from rillflow_functions import startups_ingest as si
from rillflow_functions.bronze_validation import validate_bronze_file
from rillflow_functions.gcp_adapters import RequestsStartupsApi
from rillflow_functions.lake_paths import parse_bronze
from rillflow_functions.ports import HttpReply

from tests.functions import fakes
from tests.fuzz.strategies import fuzz, json_values
from tests.fuzz.test_contracts import startup_records

POLICY = si.RetryPolicy(max_attempts=3, base_delay_s=0.0)
tokens = st.none() | st.sampled_from(["", "a", "b", "c"]) | json_values
pages = st.fixed_dictionaries(
    {},
    optional={
        "data": st.lists(json_values, max_size=3) | json_values,
        "next_page_token": tokens,
        "as_of": json_values,
    },
)
bodies = (
    st.binary(max_size=80)
    | json_values.map(lambda v: json.dumps(v).encode())
    | pages.map(lambda p: json.dumps(p).encode())
)


class Scripted:
    """Serves the given replies in order, then empty last pages."""

    def __init__(self, replies: list[HttpReply]) -> None:
        self.replies = list(replies)
        self.calls = 0

    def get_page(self, params: Mapping[str, str]) -> HttpReply:
        self.calls += 1
        if self.replies:
            return self.replies.pop(0)
        return HttpReply(200, {}, b'{"data": []}')


@fuzz(300)
@given(json_values | pages)
def test_parse_page_gives_records_or_api_error(payload: Any) -> None:
    try:
        records, token = si.parse_startups_page(payload)
    except si.StartupsApiError as exc:
        assert str(exc)
        return
    assert isinstance(records, list) and (token is None or (isinstance(token, str) and token))


@fuzz(300)
@given(
    bodies,
    st.sampled_from([200, 200, 200, 404, 429, 500]),
    st.dictionaries(st.sampled_from(["Retry-After", "retry-after", "X"]), st.text(max_size=30)),
)
def test_fetch_page_gives_a_payload_or_api_error(body: bytes, status: int, headers: dict[str, str]) -> None:
    api = Scripted([HttpReply(status, headers, body)] * POLICY.max_attempts)
    try:
        si.fetch_page(api, {}, lambda s: None, POLICY)
    except si.StartupsApiError as exc:
        assert str(exc)


def test_hostile_bodies_are_api_errors() -> None:
    for body in (b"<html>oops</html>", b"\xff\xfe\x00", b"[" * 100_000, b"1" * 5000, b"[]", b'"x"'):
        try:
            si.fetch_all(Scripted([HttpReply(200, {}, body)]), None, lambda s: None, POLICY)
        except si.StartupsApiError as exc:
            assert str(exc)
        else:
            raise AssertionError(f"{body[:20]!r} was accepted")


@fuzz(300)
@given(st.lists(pages, min_size=1, max_size=6))
def test_paging_ends_with_all_records_or_api_error(script: list[dict[str, Any]]) -> None:
    api = Scripted([HttpReply(200, {}, json.dumps(p).encode()) for p in script])
    try:
        records = si.fetch_all(api, None, lambda s: None, POLICY)
    except si.StartupsApiError as exc:
        assert str(exc)
        return
    served = script[: api.calls]
    assert len(records) == sum(len(p["data"]) for p in served)  # nothing dropped, nothing invented
    assert api.calls <= len(script) + 1


@fuzz(200)
@given(st.lists(st.sampled_from(["a", "b", "c", "d"]), min_size=1, max_size=6))
def test_lying_tokens_are_detected(token_seq: list[str]) -> None:
    script = [{"data": [{"n": i}], "next_page_token": t} for i, t in enumerate(token_seq)] + [{"data": []}]
    api = Scripted([HttpReply(200, {}, json.dumps(p).encode()) for p in script])
    repeats = len(set(token_seq)) < len(token_seq)
    try:
        records = si.fetch_all(api, None, lambda s: None, POLICY)
    except si.StartupsApiError as exc:
        assert repeats and "repeated" in str(exc)
        return
    assert not repeats and len(records) == len(token_seq)


@fuzz(100)
@given(st.lists(startup_records | json_values, max_size=5), st.lists(startup_records, max_size=3))
def test_ingest_lands_every_record_and_validation_counts_them(
    odd: list[Any], good: list[dict[str, Any]]
) -> None:
    records = good + odd
    documents, lake = fakes.InMemoryDocuments(), fakes.InMemoryBucket("rillflow-lake")
    api = Scripted([HttpReply(200, {}, json.dumps({"data": records}).encode())])
    run = si.run_ingestion(documents, lake, api, date(2026, 1, 9), sleep=lambda s: None, policy=POLICY)
    assert run["rows"] == len(records)
    name = run["uri"].split("/", 3)[3]
    info = lake.stat(name)
    assert info is not None
    report = validate_bronze_file(parse_bronze(name), lake.read(name, info.generation), info.metadata)
    assert report.rows == len(records)  # in = landed = counted
    if not report.ok:
        assert report.reason and report.first_bad["field"]
    wm = run["watermark"]
    assert wm is None or any(isinstance(r, dict) and r.get("updated_at") == wm for r in records)


class FakeSession:
    def __init__(self, outcome: Any) -> None:
        self.outcome = outcome
        self.headers: dict[str, str] = {}

    def get(self, url: str, params: Any = None, timeout: float = 0) -> Any:
        if isinstance(self.outcome, Exception):
            raise self.outcome
        return self.outcome


class BrokenBody:
    status_code = 200
    headers: dict[str, str] = {}

    def __init__(self, exc: Exception) -> None:
        self.exc = exc

    @property
    def content(self) -> bytes:
        raise self.exc


REQUEST_ERRORS = [
    requests.ConnectionError("reset"), requests.Timeout("slow"), requests.exceptions.ChunkedEncodingError("cut"),
    requests.exceptions.ContentDecodingError("bad gzip"), requests.TooManyRedirects("loop"),
    requests.exceptions.InvalidHeader("bad"),
]  # fmt: skip


@fuzz(60)
@given(st.sampled_from(REQUEST_ERRORS), st.booleans())
def test_requests_client_turns_failures_into_retryable_replies(exc: Exception, while_reading: bool) -> None:
    api = RequestsStartupsApi("http://startups.invalid", "key")
    api.session = FakeSession(BrokenBody(exc) if while_reading else exc)  # type: ignore[assignment]
    reply = api.get_page({"page_size": "1"})
    assert si.is_retryable(reply.status) and reply.body
    try:
        si.fetch_all(api, None, lambda s: None, POLICY)
    except si.StartupsApiError as err:
        assert f"{POLICY.max_attempts} attempts" in str(err)


@fuzz(300)
@given(
    st.none()
    | st.text(max_size=40)
    | st.sampled_from(["Fri, 09 Jan 2026 01:00:07 GMT", "nan", "inf", "-1", "1e400"])
)
def test_retry_after_never_raises(value: str | None) -> None:
    seconds = si.retry_after_seconds(value, datetime(2026, 1, 9, tzinfo=UTC))
    assert seconds is None or seconds >= 0
    assert 0 <= si.retry_delay(1, value, POLICY) <= POLICY.max_delay_s
