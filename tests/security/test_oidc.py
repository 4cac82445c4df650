"""ID tokens on the local functions, as Cloud Run checks them: the stack's issuer mints RS256
tokens, the front of each function refuses a request without one, with a wrong audience, from
another issuer, expired, or from a caller without run.invoker, and forwards the rest; while the
function's process is down it holds the request until the process listens again."""

from __future__ import annotations

import socket
import stat
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from unittest import mock

import pytest
import requests

from localgcp.services.functions.front import Front
from localgcp.services.functions.oidc import Issuer, Refused

CALLER = "rillflow-scheduler@p.iam.gserviceaccount.com"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def issuer(tmp_path: Path) -> Issuer:
    return Issuer.create(tmp_path / "state" / "key.pem")


def test_the_signing_key_is_private_to_its_owner(tmp_path: Path, issuer: Issuer) -> None:
    key = tmp_path / "state" / "key.pem"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert Issuer.load(key) == issuer  # another process loading the file names the key alike
    token = issuer.mint("http://127.0.0.1:1/", CALLER)
    assert token.count(".") == 2 and b"PRIVATE" not in token.encode()


def test_a_token_for_the_url_from_an_invoker_passes(issuer: Issuer) -> None:
    url = "http://127.0.0.1:8700/"
    claims = issuer.verify(f"Bearer {issuer.mint(url, CALLER)}", url, frozenset({CALLER}))
    assert claims["email"] == CALLER and claims["iss"] == "https://accounts.google.com"
    # Cloud Run takes its URL with or without the trailing slash as the audience
    assert issuer.verify(f"Bearer {issuer.mint(url.rstrip('/'), CALLER)}", url, None)["aud"] == url.rstrip(
        "/"
    )


@pytest.mark.parametrize(
    "case", ["none", "not bearer", "wrong audience", "other issuer", "expired", "garbage"]
)
def test_refused_with_401(issuer: Issuer, tmp_path: Path, case: str) -> None:
    url = "http://127.0.0.1:8700/"
    header = {
        "none": None,
        "not bearer": f"Basic {issuer.mint(url, CALLER)}",
        "wrong audience": f"Bearer {issuer.mint('http://127.0.0.1:8701/', CALLER)}",
        "other issuer": f"Bearer {Issuer.create(tmp_path / 'other.pem').mint(url, CALLER)}",
        "garbage": "Bearer not-a-jwt",
        "expired": None,
    }[case]
    if case == "expired":
        with mock.patch("time.time", return_value=time.time() - 7200):
            header = f"Bearer {issuer.mint(url, CALLER)}"
    with pytest.raises(Refused) as refused:
        issuer.verify(header, url, None)
    assert refused.value.status == 401


def test_a_caller_without_run_invoker_is_refused_with_403(issuer: Issuer) -> None:
    url = "http://127.0.0.1:8700/"
    token = issuer.mint(url, "someone-else@p.iam.gserviceaccount.com")
    with pytest.raises(Refused) as refused:
        issuer.verify(f"Bearer {token}", url, frozenset({CALLER}))
    assert refused.value.status == 403


@pytest.fixture
def backend() -> Iterator[tuple[int, threading.Event, list[str]]]:
    """A function process that starts listening when ``start`` is set."""
    port, start, seen = _free_port(), threading.Event(), []
    servers: list[ThreadingHTTPServer] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server API
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            seen.append(self.headers.get("Authorization", ""))
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            return None

    def serve() -> None:
        if start.wait(30):
            servers.append(ThreadingHTTPServer(("127.0.0.1", port), Handler))
            servers[0].serve_forever()

    threading.Thread(target=serve, daemon=True).start()
    yield port, start, seen
    start.set()
    for server in servers:
        server.shutdown()


def test_the_front_refuses_forwards_and_holds(
    issuer: Issuer, backend: tuple[int, threading.Event, list[str]]
) -> None:
    backend_port, start, seen = backend
    front = Front(_free_port(), backend_port, issuer, frozenset({CALLER}), hold_s=20)
    front.start()
    try:
        assert requests.post(front.url, data=b"x", timeout=10).status_code == 401
        wrong = issuer.mint(front.url + "other", CALLER)
        assert (
            requests.post(
                front.url, data=b"x", headers={"Authorization": f"Bearer {wrong}"}, timeout=10
            ).status_code
            == 401
        )
        assert seen == [] and front.refused == 2
        token = issuer.mint(front.url, CALLER)
        threading.Timer(0.5, start.set).start()  # the process comes back while the request waits
        resp = requests.post(
            front.url, data=b"payload", headers={"Authorization": f"Bearer {token}"}, timeout=30
        )
        assert resp.status_code == 200 and resp.content == b"payload" and len(seen) == 1
    finally:
        front.stop()


def test_the_front_answers_503_past_its_hold(issuer: Issuer) -> None:
    front = Front(_free_port(), _free_port(), issuer, None, hold_s=0.3)
    front.start()
    try:
        token = issuer.mint(front.url, CALLER)
        resp = requests.post(front.url, data=b"x", headers={"Authorization": f"Bearer {token}"}, timeout=10)
        assert resp.status_code == 503
    finally:
        front.stop()


def test_minting_and_verifying_are_cheap_enough_for_every_minute_job(issuer: Issuer) -> None:
    """A replayed day fires 1,440 minute jobs, each minted and verified once: parsing the RSA key
    per token (≈80 ms each way on the 2-core machine) made a day four times slower. 200 pairs took
    about 0.2 s with the key parsed once; 5 s leaves a wide margin on a loaded machine."""
    url = "http://127.0.0.1:8700/"
    started = time.perf_counter()
    for _ in range(200):
        issuer.verify(f"Bearer {issuer.mint(url, CALLER)}", url, None)
    assert time.perf_counter() - started < 5.0
