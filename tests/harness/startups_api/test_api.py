from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import requests

from harness.startups_api.app import Faults, StartupsApi
from harness.startups_api.server import StartupsApiServer, serve
from rillflow.generators.startups import StartupUniverse

T0 = datetime(2026, 1, 1, tzinfo=UTC)
KEY = {"X-API-Key": "k1"}


@pytest.fixture()
def server() -> Iterator[StartupsApiServer]:
    srv = serve(port=0, universe=StartupUniverse(seed=7, initial=230), api_keys=["k1", "k2"], rate_per_s=1000,
                burst=1000, seed=7).start()  # fmt: skip
    try:
        yield srv
    finally:
        srv.stop()


def _pages(url: str, **params: str) -> list[list[dict]]:
    pages, token = [], ""
    while True:
        r = requests.get(f"{url}/v1/startups", headers=KEY, params={**params, "page_token": token}, timeout=5)
        assert r.status_code == 200, r.text
        pages.append(r.json()["data"])
        token = r.json()["next_page_token"]
        if not token:
            return pages


def test_full_pagination_returns_each_record_once(server: StartupsApiServer) -> None:
    pages = _pages(server.url, page_size="37")
    rows = [r for p in pages for r in p]
    assert all(len(p) == 37 for p in pages[:-1])
    assert len(rows) == len({r["startup_id"] for r in rows}) == 230
    keys = [(r["updated_at"], r["startup_id"]) for r in rows]
    assert keys == sorted(keys)
    assert rows == sorted(
        StartupUniverse(seed=7, initial=230).snapshot(T0), key=lambda r: (r["updated_at"], r["startup_id"])
    )


def test_updated_since_and_clock(server: StartupsApiServer) -> None:
    later = T0 + timedelta(days=21)
    r = requests.post(f"{server.url}/_admin/clock", headers=KEY, json={"now": later.isoformat()}, timeout=5)
    assert r.json() == {"now": "2026-01-22T00:00:00Z"}
    since = T0 + timedelta(days=5)
    rows = [r for p in _pages(server.url, updated_since="2026-01-06T00:00:00Z", page_size="10") for r in p]
    expected = StartupUniverse(seed=7, initial=230).changes(since, later)
    assert rows and {r["startup_id"]: r for r in rows} == {r["startup_id"]: r for r in expected}
    assert len(rows) == len(expected)


def test_pages_stay_consistent_when_the_clock_moves(server: StartupsApiServer) -> None:
    first = requests.get(
        f"{server.url}/v1/startups", headers=KEY, params={"page_size": 100}, timeout=5
    ).json()
    requests.post(f"{server.url}/_admin/clock", headers=KEY, json={"now": "2026-03-01T00:00:00Z"}, timeout=5)
    rest = requests.get(
        f"{server.url}/v1/startups", headers=KEY, params={"page_token": first["next_page_token"]}, timeout=5
    ).json()
    assert rest["as_of"] == first["as_of"] == "2026-01-01T00:00:00Z"
    ids = [r["startup_id"] for r in first["data"]] + [r["startup_id"] for p in [rest["data"]] for r in p]
    assert len(ids) == len(set(ids))


def test_auth_and_bad_requests(server: StartupsApiServer) -> None:
    assert requests.get(f"{server.url}/healthz", timeout=5).json() == {"status": "ok"}
    assert requests.get(f"{server.url}/v1/startups", timeout=5).status_code == 401
    assert (
        requests.get(f"{server.url}/v1/startups", headers={"X-API-Key": "nope"}, timeout=5).status_code == 401
    )
    bad = [{"page_token": "garbage"}, {"updated_since": "yesterday"}, {"page_size": "0"}]
    for params in bad:
        assert (
            requests.get(f"{server.url}/v1/startups", headers=KEY, params=params, timeout=5).status_code
            == 400
        )
    big = requests.get(
        f"{server.url}/v1/startups", headers=KEY, params={"page_size": 10_000}, timeout=5
    ).json()
    assert len(big["data"]) == 230  # clamped to the max page size (500), all fit


def test_rate_limit_answers_429_with_retry_after() -> None:
    now = [0.0]
    api = StartupsApi(
        StartupUniverse(seed=1, initial=5), ["a", "b"], rate_per_s=0.5, burst=2, monotonic=lambda: now[0]
    )
    codes = [api.handle("GET", "/v1/startups", {"X-API-Key": "a"}).status for _ in range(3)]
    assert codes == [200, 200, 429]
    limited = api.handle("GET", "/v1/startups", {"X-API-Key": "a"})
    assert limited.status == 429 and limited.headers["Retry-After"] == "2"
    assert api.handle("GET", "/v1/startups", {"X-API-Key": "b"}).status == 200  # per key
    now[0] += 2.0
    assert api.handle("GET", "/v1/startups", {"X-API-Key": "a"}).status == 200


def test_rate_limit_over_http() -> None:
    srv = serve(universe=StartupUniverse(seed=1, initial=5), api_keys=["k1"], rate_per_s=0.2, burst=3).start()
    try:
        responses = [requests.get(f"{srv.url}/v1/startups", headers=KEY, timeout=5) for _ in range(5)]
        assert [r.status_code for r in responses][:3] == [200, 200, 200]
        assert responses[4].status_code == 429 and int(responses[4].headers["Retry-After"]) >= 1
    finally:
        srv.stop()


def test_injected_failures_happen_at_the_configured_rate() -> None:
    api = StartupsApi(
        StartupUniverse(seed=1, initial=5), ["a"], rate_per_s=1e6, burst=10_000, failure_rate=0.3, seed=3
    )
    codes = [api.handle("GET", "/v1/startups?page_size=1", {"x-api-key": "a"}).status for _ in range(600)]
    failures = sum(c in (500, 503) for c in codes)
    assert 0.24 < failures / 600 < 0.36
    assert {500, 503, 200} == set(codes)


def _page(api: StartupsApi, token: str | None) -> tuple[int, dict]:
    target = "/v1/startups?page_size=4" + (f"&page_token={token}" if token else "")
    response = api.handle("GET", target, {"X-API-Key": "a"})
    return response.status, response.body


def test_faults_serve_extra_items_and_lying_page_tokens() -> None:
    """The bad-input drill's knobs: raw items spliced into a page, and next_page_tokens that repeat,
    rewind or name a page that does not exist."""
    api = StartupsApi(StartupUniverse(seed=1, initial=10), ["a"], rate_per_s=1e6, burst=10_000)
    _, honest = _page(api, None)
    api.faults = Faults(extra_items={1: ["not a record", {"startup_id": 7}]}, lying_tokens={1: "repeat"})
    status, first = _page(api, None)
    assert status == 200 and first["data"] == honest["data"] and first["next_page_token"]
    status, second = _page(api, first["next_page_token"])
    assert second["data"][-2:] == ["not a record", {"startup_id": 7}] and len(second["data"]) == 6
    assert second["next_page_token"] == first["next_page_token"], "repeat: the token it was asked with"
    api.faults = Faults(lying_tokens={1: "rewind"})
    _, second = _page(api, first["next_page_token"])
    _, again = _page(api, second["next_page_token"])
    assert again["data"] == first["data"], "rewind: the next page is the first one again"
    api.faults = Faults(lying_tokens={0: "unknown"})
    _, first = _page(api, None)
    assert _page(api, first["next_page_token"])[0] == 400
    api.faults = Faults()
    assert _page(api, None)[1] == honest
    with pytest.raises(ValueError, match="unknown token lies"):
        Faults(lying_tokens={1: "sometimes"})
