"""``http.*`` against a loopback server and ``googleapis.*`` connectors with an LRO fake."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from localgcp.services.workflows import ConnectorRegistry, WorkflowError
from tests.localgcp_workflows.helpers import execute


class _Handler(BaseHTTPRequestHandler):
    counts: dict[str, int] = {}
    seen: list[dict[str, Any]] = []

    def log_message(self, *args: Any) -> None:
        return None

    def _reply(self, code: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:  # noqa: N802
        path = self.path.split("?")[0]
        self.counts[path] = self.counts.get(path, 0) + 1
        n = self.counts[path]
        if path == "/flaky503" and n < 3:
            self._reply(503, {"error": "unavailable"})
        elif path == "/flaky500" and n < 2:
            self._reply(500, {"error": "boom"})
        elif path == "/missing":
            self._reply(404, {"error": "no such thing"})
        else:
            self.seen.append({"path": self.path, "auth": self.headers.get("Authorization")})
            self._reply(200, {"path": path, "attempt": n})

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length", 0))
        body = json.loads(self.rfile.read(length))
        self._reply(201, {"echo": body, "type": self.headers.get("Content-Type")})


@pytest.fixture
def server() -> Iterator[str]:
    _Handler.counts, _Handler.seen = {}, []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_get_with_query_and_auth(server: str) -> None:
    result = execute(
        f"""
        - get:
            call: http.get
            args:
              url: {server}/ok
              query:
                day: "2024-01-01"
              auth:
                type: OIDC
            result: r
        - done:
            return: ${{[r.code, r.body.path, r.body.attempt]}}
        """
    )
    assert result == [200, "/ok", 1]
    assert _Handler.seen[0]["path"] == "/ok?day=2024-01-01"
    assert _Handler.seen[0]["auth"].startswith("Bearer ")


def test_copies_send_each_call_again_and_answer_with_the_last(
    server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The drills' fault: every http call sent twice, the step seeing the second answer."""
    from localgcp.services.workflows.stdlib.http import COPIES_ENV

    monkeypatch.setenv(COPIES_ENV, "2")
    result = execute(
        f"""
        - get:
            call: http.get
            args:
              url: {server}/twice
            result: r
        - done:
            return: ${{r.body.attempt}}
        """
    )
    assert result == 2 and _Handler.counts["/twice"] == 2


def test_post_json_body(server: str) -> None:
    result = execute(
        f"""
        - post:
            call: http.post
            args:
              url: {server}/items
              body:
                name: widget
                qty: 3
            result: r
        - done:
            return: ${{r}}
        """
    )
    assert result["code"] == 201
    assert result["body"] == {"echo": {"name": "widget", "qty": 3}, "type": "application/json"}


def test_default_retry_recovers_from_503(server: str) -> None:
    result = execute(
        f"""
        - get:
            try:
              call: http.get
              args:
                url: {server}/flaky503
              result: r
            retry: ${{http.default_retry}}
        - done:
            return: ${{r.body.attempt}}
        """
    )
    assert result == 3


def test_500_is_not_in_default_retry_but_custom_predicate_retries_it(server: str) -> None:
    with pytest.raises(WorkflowError) as caught:
        execute(
            f"""
            - get:
                try:
                  call: http.get
                  args:
                    url: {server}/flaky500
                retry: ${{http.default_retry}}
            """
        )
    assert caught.value.payload["code"] == 500
    result = execute(
        f"""
        main:
          steps:
            - get:
                try:
                  call: http.get
                  args:
                    url: {server}/flaky500
                  result: r
                retry:
                  predicate: ${{server_errors}}
                  max_retries: 3
            - done:
                return: ${{r.body.attempt}}
        server_errors:
          params: [e]
          steps:
            - check:
                return: ${{"HttpError" in e.tags and e.code >= 500}}
        """
    )
    assert result == 2


def test_404_raises_http_error_caught_by_except(server: str) -> None:
    result = execute(
        f"""
        - get:
            try:
              call: http.get
              args:
                url: {server}/missing
            except:
              as: e
              steps:
                - inspect:
                    return: ${{[e.tags, e.code, e.body.error, e.headers["Content-Type"]]}}
        """
    )
    assert result == [["HttpError"], 404, "no such thing", "application/json"]


def test_connection_refused_is_connection_failed_error() -> None:
    with pytest.raises(WorkflowError) as caught:
        execute(
            """
            - get:
                call: http.get
                args:
                  url: http://127.0.0.1:9/nothing
                  timeout: 2
            """
        )
    assert caught.value.tags == ["ConnectionFailedError"]


CREATE = "googleapis.dataform.v1beta1.projects.locations.repositories.workflowInvocations.create"


def _lro_registry(fail: bool = False) -> tuple[ConnectorRegistry, dict[str, Any]]:
    registry = ConnectorRegistry()
    state: dict[str, Any] = {"polls": 0, "args": None}

    def create(args: dict[str, Any]) -> dict[str, Any]:
        state["args"] = args
        return {"name": f"{args['parent']}/operations/op-1", "done": False}

    def get_operation(name: str) -> dict[str, Any]:
        state["polls"] += 1
        if state["polls"] < 3:
            return {"name": name, "done": False}
        if fail:
            return {"name": name, "done": True, "error": {"code": 9, "message": "query failed"}}
        return {"name": name, "done": True, "response": {"state": "SUCCEEDED", "polls": state["polls"]}}

    registry.register(CREATE, create, long_running=True)
    registry.register_operations("googleapis.dataform.v1beta1", get_operation)
    registry.register(
        "googleapis.dataform.v1beta1.projects.locations.repositories.get", lambda a: {"id": a["name"]}
    )
    return registry, state


LRO_PROGRAM = f"""
- invoke:
    call: {CREATE}
    args:
      parent: ${{"projects/" + sys.get_env("GOOGLE_CLOUD_PROJECT_ID") + "/locations/eu/repositories/r"}}
      body:
        compilationResult: c1
      connector_params:
        timeout: 60
        polling_policy:
          initial_delay: 1
          multiplier: 2
          max_delay: 4
    result: r
- done:
    return: ${{r}}
"""


def test_connector_lro_is_awaited() -> None:
    registry, state = _lro_registry()
    result = execute(LRO_PROGRAM, connectors=registry, env={"GOOGLE_CLOUD_PROJECT_ID": "p9"})
    assert result == {"state": "SUCCEEDED", "polls": 3}
    assert state["args"]["parent"] == "projects/p9/locations/eu/repositories/r"
    assert "connector_params" not in state["args"]


def test_connector_lro_skip_polling_and_failure() -> None:
    registry, _ = _lro_registry()
    env = {"GOOGLE_CLOUD_PROJECT_ID": "p9"}
    skipped = execute(LRO_PROGRAM.replace("timeout: 60", "skip_polling: true"), connectors=registry, env=env)
    assert skipped == {"name": "projects/p9/locations/eu/repositories/r/operations/op-1", "done": False}
    registry, _ = _lro_registry(fail=True)
    with pytest.raises(WorkflowError) as caught:
        execute(LRO_PROGRAM, connectors=registry, env={"GOOGLE_CLOUD_PROJECT_ID": "p9"})
    assert caught.value.tags == ["OperationError"]
    assert caught.value.payload["operation"]["error"]["message"] == "query failed"


def test_connector_lro_timeout_and_unknown_connector() -> None:
    registry, _ = _lro_registry()
    with pytest.raises(WorkflowError) as caught:
        execute(
            LRO_PROGRAM.replace("timeout: 60", "timeout: 2"),
            connectors=registry,
            env={"GOOGLE_CLOUD_PROJECT_ID": "p"},
        )
    assert caught.value.tags == ["TimeoutError"]
    with pytest.raises(WorkflowError) as caught:
        execute(
            """
            - x:
                call: googleapis.dataflow.v1b3.projects.locations.flexTemplates.launch
                args: {projectId: p}
            """,
            connectors=registry,
        )
    assert caught.value.tags == ["UnimplementedError"]
    assert "dataflow" in caught.value.payload["message"]


def test_plain_connector_call() -> None:
    registry, _ = _lro_registry()
    result = execute(
        """
        - get:
            call: googleapis.dataform.v1beta1.projects.locations.repositories.get
            args:
              name: repo-1
            result: r
        - done:
            return: ${r.id}
        """,
        connectors=registry,
    )
    assert result == "repo-1"
