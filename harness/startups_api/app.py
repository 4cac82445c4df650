"""Request handling of the startups API, free of sockets (the server only moves bytes).

``GET /v1/startups?updated_since=&page_size=&page_token=`` pages the universe's state as of
the virtual clock, ordered by ``(updated_at, startup_id)``. The first page pins the as-of
time and the filter into the page token (HMAC-signed, opaque), so later pages read the same
snapshot even if the clock moves. Checks run in this order: API key (401), rate limit (429
with Retry-After), injected transient failure (500/503), then the request itself (400 on bad input).

Beside transient failures, a drill can make the API misbehave (:class:`Faults`, on ``faults``):
serve extra raw items on a page (records that break the contract) and make a page's
``next_page_token`` lie (repeat the token it was asked with, rewind to the start of the listing,
or name a page that does not exist).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

from harness.startups_api.ratelimit import TokenBuckets
from rillflow.generators.startups import StartupUniverse, rfc3339

MAX_PAGE_SIZE = 500
DEFAULT_PAGE_SIZE = 100


@dataclass
class Response:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


class BadRequest(ValueError):
    pass


#: how a page's ``next_page_token`` can lie (:class:`Faults`)
TOKEN_LIES = ("repeat", "rewind", "unknown")


@dataclass
class Faults:
    """Misbehaviour scripted into every listing; pages are numbered from 0 (the one asked without a
    token). Empty: the API behaves."""

    #: page -> raw items served after that page's records (anything JSON can carry)
    extra_items: dict[int, list[Any]] = field(default_factory=dict)
    #: page -> how its ``next_page_token`` lies: ``repeat`` (the token this page was asked with),
    #: ``rewind`` (a valid token pointing back to the start of the listing), ``unknown`` (a token
    #: naming a page that does not exist: the API answers 400 to it)
    lying_tokens: dict[int, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        bad = sorted(set(self.lying_tokens.values()) - set(TOKEN_LIES))
        if bad:
            raise ValueError(f"unknown token lies {bad}; known: {TOKEN_LIES}")
        if self.lying_tokens.get(0) == "repeat":
            raise ValueError("the first page is asked without a token: it has none to repeat")


def parse_rfc3339(text: str) -> datetime:
    try:
        ts = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace(" ", "+"))
    except ValueError as exc:
        raise BadRequest(f"not an RFC 3339 timestamp: {text!r}") from exc
    if ts.tzinfo is None:
        raise BadRequest(f"timestamp needs a UTC offset: {text!r}")
    return ts.astimezone(UTC)


class StartupsApi:
    def __init__(
        self,
        universe: StartupUniverse,
        api_keys: Iterable[str],
        rate_per_s: float = 50.0,
        burst: int = 100,
        failure_rate: float = 0.0,
        seed: int = 0,
        now: datetime | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if not 0.0 <= failure_rate < 1.0:
            raise ValueError("failure_rate must be in [0, 1)")
        self.universe = universe
        self.api_keys = frozenset(api_keys)
        if not self.api_keys:
            raise ValueError("at least one API key is required")
        self.buckets = TokenBuckets(rate_per_s, burst, monotonic)
        self.failure_rate = failure_rate
        self._failures = random.Random(seed)
        #: how many transient failures were injected so far (failure drills check it)
        self.injected_failures = 0
        self._secret = hashlib.sha256(f"startups-api/{seed}".encode()).digest()
        #: scripted misbehaviour (drills); replace it to change what the next listings do
        self.faults = Faults()
        self._lock = threading.Lock()
        start = universe.start
        self.now = now or datetime(start.year, start.month, start.day, tzinfo=UTC)

    # ------------------------------------------------------------------ entry point
    def handle(self, method: str, target: str, headers: Mapping[str, str], body: bytes = b"") -> Response:
        url = urlsplit(target)
        path = url.path.rstrip("/") or "/"
        if method == "GET" and path == "/healthz":
            return Response(200, {"status": "ok"})
        if path not in ("/v1/startups", "/_admin/clock"):
            return Response(404, {"error": f"no route for {path}"})
        key = next((v for k, v in headers.items() if k.lower() == "x-api-key"), None)
        if key not in self.api_keys:
            return Response(401, {"error": "missing or invalid X-API-Key"}, {"WWW-Authenticate": "ApiKey"})
        wait = self.buckets.take(str(key))
        if wait:
            return Response(429, {"error": "rate limit exceeded"}, {"Retry-After": str(wait)})
        try:
            if path == "/_admin/clock":
                return self._clock(method, body)
            if method != "GET":
                return Response(405, {"error": "method not allowed"}, {"Allow": "GET"})
            with self._lock:
                failed = self._failures.random() < self.failure_rate
                status = 503 if self._failures.random() < 0.5 else 500
                self.injected_failures += failed
            if failed:
                extra = {"Retry-After": "1"} if status == 503 else {}
                return Response(status, {"error": "transient backend failure (injected)"}, extra)
            return self._list(parse_qs(url.query))
        except BadRequest as exc:
            return Response(400, {"error": str(exc)})

    # ------------------------------------------------------------------ routes
    def _clock(self, method: str, body: bytes) -> Response:
        if method == "POST":
            try:
                payload = json.loads(body or b"{}")
            except json.JSONDecodeError as exc:
                raise BadRequest(f"body is not JSON: {exc}") from exc
            if not isinstance(payload, dict) or "now" not in payload:
                raise BadRequest('body must be {"now": "<RFC 3339>"}')
            with self._lock:
                self.now = parse_rfc3339(str(payload["now"]))
        elif method != "GET":
            return Response(405, {"error": "method not allowed"}, {"Allow": "GET, POST"})
        return Response(200, {"now": rfc3339(self.now)})

    def _list(self, query: dict[str, list[str]]) -> Response:
        size_text = query.get("page_size", [str(DEFAULT_PAGE_SIZE)])[0]
        if not size_text.isdigit() or int(size_text) < 1:
            raise BadRequest(f"page_size must be a positive integer, got {size_text!r}")
        page_size = min(int(size_text), MAX_PAGE_SIZE)
        token = query.get("page_token", [""])[0]
        if token:
            state = self._decode(token)
            since, as_of = state["s"], parse_rfc3339(state["a"])
            after: tuple[str, str] | None = (state["u"], state["i"])
            number = int(state["p"]) if state.get("p", "").isdigit() else 1
        else:
            since_text = query.get("updated_since", [""])[0]
            since = rfc3339(parse_rfc3339(since_text)) if since_text else ""
            with self._lock:
                as_of = self.now
            after = None
            number = 0
        with self._lock:
            records = self.universe.snapshot(as_of)
            faults = self.faults
        rows = sorted(
            (r for r in records if r["updated_at"] > since), key=lambda r: (r["updated_at"], r["startup_id"])
        )
        if after is not None:
            rows = [r for r in rows if (r["updated_at"], r["startup_id"]) > after]
        page, more = rows[:page_size], len(rows) > page_size
        next_token = None
        if more:
            last = page[-1]
            position = {"u": last["updated_at"], "i": last["startup_id"]}
            next_token = self._encode({"s": since, "a": rfc3339(as_of), **position, "p": str(number + 1)})
        lie = faults.lying_tokens.get(number)
        if lie == "repeat":
            next_token = token
        elif lie == "rewind":  # before every record: the next page is the first one again
            next_token = self._encode(
                {"s": since, "a": rfc3339(as_of), "u": "", "i": "", "p": str(number + 1)}
            )
        elif lie == "unknown":
            next_token = (
                base64.urlsafe_b64encode(f"page-{number + 1}-of-nothing".encode()).decode().rstrip("=")
            )
        data: list[Any] = [*page, *faults.extra_items.get(number, [])]
        return Response(200, {"data": data, "next_page_token": next_token, "as_of": rfc3339(as_of)})

    # ------------------------------------------------------------------ page tokens
    def _encode(self, state: dict[str, str]) -> str:
        raw = json.dumps(state, separators=(",", ":"), sort_keys=True).encode()
        sig = hmac.new(self._secret, raw, hashlib.sha256).digest()[:12]
        return base64.urlsafe_b64encode(raw + sig).decode().rstrip("=")

    def _decode(self, token: str) -> dict[str, str]:
        try:
            blob = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            raw, sig = blob[:-12], blob[-12:]
            if not hmac.compare_digest(sig, hmac.new(self._secret, raw, hashlib.sha256).digest()[:12]):
                raise ValueError("bad signature")
            state = json.loads(raw)
            if not {"s", "a", "u", "i"} <= state.keys():
                raise ValueError("incomplete token")
            return {k: str(v) for k, v in state.items()}
        except (ValueError, TypeError) as exc:
            raise BadRequest("invalid page_token") from exc
