from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from rillflow_functions import lake_paths, startups_ingest
from rillflow_functions.ports import HttpReply
from rillflow_functions.startups_ingest import RetryPolicy

from tests.functions import samples
from tests.functions.fakes import InMemoryBucket, InMemoryDocuments, ScriptedStartupsApi

FRIDAY = date(2026, 1, 9)
NEXT_FRIDAY = date(2026, 1, 16)


def _records(n: int, day: int = 1) -> list[dict]:
    return [samples.startup(i, f"2026-01-{day:02d}T{i % 24:02d}:00:00Z") for i in range(n)]


def test_retry_after_seconds_and_http_dates() -> None:
    now = datetime(2026, 1, 9, 1, 0, 0, tzinfo=UTC)
    assert startups_ingest.retry_after_seconds("3") == 3.0
    assert startups_ingest.retry_after_seconds("Fri, 09 Jan 2026 01:00:07 GMT", now) == 7.0
    assert startups_ingest.retry_after_seconds("soon") is None
    assert startups_ingest.retry_after_seconds(None) is None


def test_retry_delay_backs_off_exponentially_and_honours_retry_after() -> None:
    policy = RetryPolicy(base_delay_s=0.5, factor=2, max_delay_s=5)
    assert [startups_ingest.retry_delay(a, None, policy) for a in (1, 2, 3, 4, 5)] == [0.5, 1, 2, 4, 5]
    assert startups_ingest.retry_delay(1, "4", policy) == 4
    assert startups_ingest.retry_delay(1, "600", policy) == 5  # bounded


def test_fetch_page_retries_429_and_5xx_then_succeeds() -> None:
    api = ScriptedStartupsApi(
        _records(3),
        failures=[
            HttpReply(429, {"Retry-After": "2"}, b""),
            HttpReply(503, {}, b""),
            HttpReply(500, {}, b""),
        ],
    )
    slept: list[float] = []
    records = startups_ingest.fetch_all(api, None, slept.append, RetryPolicy(base_delay_s=0.1), page_size=2)
    assert len(records) == 3 and len(api.calls) == 5
    assert slept == [2.0, 0.2, 0.4]


def test_bounded_attempts_and_permanent_errors() -> None:
    api = ScriptedStartupsApi(_records(1), failures=[HttpReply(503, {}, b"")] * 10)
    with pytest.raises(startups_ingest.StartupsApiError, match="after 3 attempts"):
        startups_ingest.fetch_all(api, None, lambda s: None, RetryPolicy(max_attempts=3))
    api = ScriptedStartupsApi(_records(1), failures=[HttpReply(401, {}, b"bad key")])
    with pytest.raises(startups_ingest.StartupsApiError, match="401"):
        startups_ingest.fetch_all(api, None, lambda s: None, RetryPolicy())
    assert len(api.calls) == 1


def test_parse_page_shape() -> None:
    assert startups_ingest.parse_startups_page({"data": [], "next_page_token": ""}) == ([], None)
    with pytest.raises(startups_ingest.StartupsApiError):
        startups_ingest.parse_startups_page({"items": []})


def test_next_watermark_takes_the_latest_instant() -> None:
    recs = [
        samples.startup(1, "2026-01-02T00:00:00Z"),
        samples.startup(2, "2026-01-03T00:00:00+00:00"),
        samples.startup(3, "x"),
    ]
    assert startups_ingest.next_watermark(None, recs) == "2026-01-03T00:00:00+00:00"
    assert startups_ingest.next_watermark("2026-02-01T00:00:00Z", recs) == "2026-02-01T00:00:00Z"
    assert startups_ingest.next_watermark("2026-02-01T00:00:00Z", []) == "2026-02-01T00:00:00Z"


def test_next_watermark_ignores_bad_records_and_instants_after_the_snapshot() -> None:
    """Bad-input drill: a record quarantined for another field (or one dated after the listing's
    as_of) set the watermark to 2999: every later delta asked for changes since then, and missed
    every real one."""
    recs: list[Any] = [
        samples.startup(1, "2026-01-02T00:00:00Z"),
        samples.startup(2, "2999-01-01T00:00:00Z", employees=-5),  # quarantined downstream
        samples.startup(3, "2998-01-01T00:00:00Z"),  # valid, but after the snapshot's instant
        "not a record",
    ]
    assert startups_ingest.next_watermark(None, recs, "2026-01-09T01:00:00Z") == "2026-01-02T00:00:00Z"


def _run(docs, lake, api, day):  # type: ignore[no-untyped-def]
    return startups_ingest.run_ingestion(docs, lake, api, day, sleep=lambda s: None)


def test_full_then_delta_then_same_day_noop() -> None:
    docs, lake = InMemoryDocuments(), InMemoryBucket()
    api = ScriptedStartupsApi(_records(5, day=1))
    first = _run(docs, lake, api, FRIDAY)
    assert first["load_type"] == "full" and first["rows"] == 5 and first["action"] == "written"
    assert "updated_since" not in api.calls[0]
    state = docs.must(startups_ingest.STATE_PATH)
    assert state["watermark"] == "2026-01-01T04:00:00Z" and state["full_load_dt"] == "2026-01-09"
    api.records.append(samples.startup(99, "2026-01-12T00:00:00Z"))
    second = _run(docs, lake, api, NEXT_FRIDAY)
    assert second["load_type"] == "delta" and api.calls[-1]["updated_since"] == "2026-01-01T04:00:00Z"
    assert second["watermark"] == "2026-01-12T00:00:00Z"
    delta_name = lake_paths.startups_object("delta", NEXT_FRIDAY)
    assert lake.read(delta_name).count(b"\n") == second["rows"]
    calls = len(api.calls)
    assert _run(docs, lake, api, NEXT_FRIDAY)["action"] == "already_done"
    assert len(api.calls) == calls


class CrashAfterWrite(Exception):
    pass


class CrashingDocuments(InMemoryDocuments):
    """Fails the watermark write: the crash window between the file and the state."""

    def __init__(self) -> None:
        super().__init__()
        self.crash = True

    def set(self, path: str, data: dict) -> None:
        if self.crash and path == startups_ingest.STATE_PATH:
            raise CrashAfterWrite()
        super().set(path, data)


def test_crash_after_the_file_but_before_the_watermark_reruns_to_the_same_file() -> None:
    docs, lake = CrashingDocuments(), InMemoryBucket()
    api = ScriptedStartupsApi(_records(4, day=1))
    with pytest.raises(CrashAfterWrite):
        _run(docs, lake, api, FRIDAY)
    name = lake_paths.startups_object("full", FRIDAY)
    first_bytes, first_info = lake.read(name), lake.stat(name)
    assert first_info is not None
    first_gen = first_info.generation
    assert docs.get(startups_ingest.STATE_PATH) is None
    docs.crash = False
    rerun = _run(docs, lake, api, FRIDAY)
    assert rerun["action"] == "unchanged" and rerun["generation"] == first_gen
    assert lake.read(name) == first_bytes and len(lake.finalized) == 1
    assert docs.must(startups_ingest.STATE_PATH)["watermark"] == "2026-01-01T03:00:00Z"


def test_crash_before_the_file_advances_nothing() -> None:
    docs, lake = InMemoryDocuments(), InMemoryBucket()
    api = ScriptedStartupsApi(_records(4), failures=[HttpReply(503, {}, b"")] * 6)
    with pytest.raises(startups_ingest.StartupsApiError):
        _run(docs, lake, api, FRIDAY)
    assert lake.names() == []
    state = docs.must(startups_ingest.STATE_PATH)
    assert "watermark" not in state and "last_run" not in state, "the failure moved nothing"
    assert state["last_failure"]["field"] == "<status>" and "503" in state["last_failure"]["reason"]
    assert _run(docs, lake, api, FRIDAY)["rows"] == 4


class _ListingApi:
    """A listing scripted token by token: ``pages[token]`` = (records, next token or None, status)."""

    def __init__(self, pages: dict[str, tuple[list, str | None, int]]) -> None:
        self.pages = pages

    def get_page(self, params):  # type: ignore[no-untyped-def]
        import json

        records, token, status = self.pages[params.get("page_token", "")]
        body = (
            {"data": records, "next_page_token": token} if status == 200 else {"error": "invalid page_token"}
        )
        return HttpReply(status, {}, json.dumps(body).encode())


@pytest.mark.parametrize(
    ("third", "words"),
    [
        (([_records(3)[0]], None, 200), "went back: page 3 serves again a record page 1 served"),
        (([], "t1", 200), "repeated an earlier page's"),
        (([], None, 400), "page 2's next_page_token 't2' was refused"),
    ],
    ids=["rewind", "repeat", "unknown-page"],
)
def test_a_lying_page_token_refuses_the_load_and_keeps_the_reason(third: tuple, words: str) -> None:
    """Bad-input drill: a next_page_token pointing back to served records was followed (the file
    landed with every record of the first page twice); the other lies failed without a trace."""
    first, second = _records(3)[:2], _records(3)[2:]
    api = _ListingApi({"": (first, "t1", 200), "t1": (second, "t2", 200), "t2": third})
    docs, lake = InMemoryDocuments(), InMemoryBucket()
    with pytest.raises(startups_ingest.StartupsApiError) as info:
        _run(docs, lake, api, FRIDAY)
    assert info.value.field == "next_page_token" and words in str(info.value)
    assert lake.names() == [], "nothing of an untrusted listing lands"
    state = docs.must(startups_ingest.STATE_PATH)
    assert "watermark" not in state and state["last_failure"]["field"] == "next_page_token"
    assert words in state["last_failure"]["reason"] and state["last_failure"]["dt"] == FRIDAY.isoformat()


def test_numbers_beyond_a_float_stay_text_and_nan_is_no_json() -> None:
    """Bad-input drill: ``1e999`` became ``Infinity`` in the landed JSONL, which passed the contract
    (a number >= 0) and broke the warehouse's JSON reader."""
    record = '{"startup_id": "s1", "total_funding_usd": 1e999}'
    api = _ListingApi({})
    reply = HttpReply(200, {}, b'{"data": [' + record.encode() + b'], "next_page_token": null}')
    api.get_page = lambda params: reply  # type: ignore[method-assign]
    page = startups_ingest.fetch_page(api, {}, lambda s: None, RetryPolicy())
    assert page["data"][0]["total_funding_usd"] == "1e999"
    api.get_page = lambda params: HttpReply(200, {}, b'{"data": [{"x": NaN}]}')  # type: ignore[method-assign]
    with pytest.raises(startups_ingest.StartupsApiError, match="not JSON") as info:
        startups_ingest.fetch_page(api, {}, lambda s: None, RetryPolicy())
    assert info.value.field == "<body>"
