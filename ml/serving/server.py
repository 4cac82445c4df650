"""A prediction server following Vertex AI's custom-container contract.

Environment (set by Vertex on an endpoint; defaults for local runs):

* ``AIP_HTTP_PORT`` (8080) and ``AIP_HTTP_HOST`` — locally the host defaults to 127.0.0.1; in
  Vertex the container must listen on all interfaces, so the Dockerfile sets ``AIP_HTTP_HOST``
  to the any-address there (this module only ever reads the host from the environment);
* ``AIP_HEALTH_ROUTE`` (/health): 200 once the model is loaded, 503 before;
* ``AIP_PREDICT_ROUTE`` (/predict): POST ``{"instances": [...]}`` → ``{"predictions": [...]}``;
  a malformed request gets 400 with ``{"error": "..."}``;
* ``AIP_STORAGE_URI``: the model artifact directory (``gs://…`` or a local path).

The model kind in the artifact's metadata picks the predictor (``ml.serving.predictors``): the
churn classifier or the app-activity forecaster.
"""

from __future__ import annotations

import json
import os
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from ml.serving.predictors import BadRequest, Predictor, load_predictor

MAX_INSTANCES = 10_000
MAX_BODY_BYTES = 10 * 1024 * 1024


def resolve_storage_uri(uri: str) -> Path:
    """A local directory for ``AIP_STORAGE_URI``: a path as is; ``gs://`` from the local mirror or downloaded."""
    if not uri:
        raise ValueError("AIP_STORAGE_URI is not set: no model to serve")
    if not uri.startswith("gs://"):
        return Path(uri)
    from rillflow.resources import resources
    from rillflow.settings import get_settings

    settings = get_settings()
    bucket, _, prefix = uri.removeprefix("gs://").partition("/")
    return resources(settings).model_files(settings, bucket, prefix)


def mirrored_model_files(settings: Any, bucket: str, prefix: str) -> Path:
    """Locally a bucket is a folder of plain files (the Storage service's mirror)."""
    return Path(settings.bucket_dir(bucket)) / prefix


def download_model_files(settings: Any, bucket: str, prefix: str) -> Path:
    """Copy ``gs://bucket/prefix/`` into a temporary directory (what Vertex AI does for a container)."""
    import tempfile

    from google.cloud import storage  # type: ignore[attr-defined]

    target = Path(tempfile.mkdtemp(prefix="model-"))
    for blob in storage.Client().list_blobs(bucket, prefix=prefix.rstrip("/") + "/"):
        dest = target / blob.name[len(prefix) :].lstrip("/")
        dest.parent.mkdir(parents=True, exist_ok=True)
        blob.download_to_filename(str(dest))
    return target


class PredictionServer:
    """Owns the HTTP server and the predictor; the model loads in the background so health can say 503."""

    def __init__(self, storage_uri: str, host: str, port: int, health_route: str, predict_route: str) -> None:
        self.storage_uri, self.health_route, self.predict_route = storage_uri, health_route, predict_route
        self.predictor: Predictor | None = None
        self.load_error: str | None = None
        self.httpd = ThreadingHTTPServer((host, port), _handler(self))
        self._loader = threading.Thread(target=self._load, daemon=True)

    def _load(self) -> None:
        try:
            self.predictor = load_predictor(resolve_storage_uri(self.storage_uri))
        except Exception as exc:  # reported by the health route
            self.load_error = f"{type(exc).__name__}: {exc}"

    @property
    def address(self) -> tuple[str, int]:
        host, port = self.httpd.server_address[:2]
        return str(host), int(port)

    def start(self) -> None:
        self._loader.start()
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def serve_forever(self) -> None:
        self._loader.start()
        self.httpd.serve_forever()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _handler(server: PredictionServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # quiet by default
            return

        def _send(self, status: int, payload: dict[str, Any]) -> None:
            body = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            if self.path.split("?")[0] != server.health_route:
                return self._send(HTTPStatus.NOT_FOUND, {"error": f"no route {self.path}"})
            if server.predictor is not None:
                return self._send(HTTPStatus.OK, {"status": "ok"})
            message = server.load_error or "model loading"
            return self._send(HTTPStatus.SERVICE_UNAVAILABLE, {"status": "unavailable", "error": message})

        def do_POST(self) -> None:
            if self.path.split("?")[0] != server.predict_route:
                return self._send(HTTPStatus.NOT_FOUND, {"error": f"no route {self.path}"})
            if server.predictor is None:
                return self._send(
                    HTTPStatus.SERVICE_UNAVAILABLE, {"error": server.load_error or "model loading"}
                )
            try:
                instances = _parse_request(self)
                predictions = server.predictor.predict(instances)
            except BadRequest as exc:
                return self._send(HTTPStatus.BAD_REQUEST, {"error": str(exc)})
            return self._send(HTTPStatus.OK, {"predictions": predictions})

    return Handler


def _parse_request(handler: BaseHTTPRequestHandler) -> list[Any]:
    length = int(handler.headers.get("Content-Length") or 0)
    if length <= 0:
        raise BadRequest('empty request body; expected {"instances": [...]}')
    if length > MAX_BODY_BYTES:
        raise BadRequest(f"request body over {MAX_BODY_BYTES} bytes")
    try:
        body = json.loads(handler.rfile.read(length))
    except ValueError as exc:
        raise BadRequest(f"request body is not JSON: {exc}") from exc
    if not isinstance(body, dict) or not isinstance(body.get("instances"), list):
        raise BadRequest('request must be an object with an "instances" list')
    instances = body["instances"]
    if not instances:
        raise BadRequest('"instances" is empty')
    if len(instances) > MAX_INSTANCES:
        raise BadRequest(f"at most {MAX_INSTANCES} instances per request")
    return instances


def server_from_env(default_port: int = 8080) -> PredictionServer:
    """Build the server from the AIP_* environment (host from ``AIP_HTTP_HOST``, loopback by default)."""
    # read here, not in Settings: Vertex AI sets AIP_* for the serving container (the container
    # contract); `rillflow ml serve` sets the same variables locally
    return PredictionServer(
        storage_uri=os.environ.get("AIP_STORAGE_URI", ""),
        host=os.environ.get("AIP_HTTP_HOST", "127.0.0.1"),
        port=int(os.environ.get("AIP_HTTP_PORT", str(default_port))),
        health_route=os.environ.get("AIP_HEALTH_ROUTE", "/health"),
        predict_route=os.environ.get("AIP_PREDICT_ROUTE", "/predict"),
    )


def main() -> None:
    server_from_env().serve_forever()


if __name__ == "__main__":
    main()
