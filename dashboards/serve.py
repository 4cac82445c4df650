"""Run the app on 127.0.0.1 (werkzeug's threaded WSGI server; Cloud Run uses gunicorn, see wsgi.py)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from werkzeug.serving import BaseWSGIServer, make_server

from dashboards.views import REPLAY, NoWarehouse

HOST = "127.0.0.1"


class LocalWarehouse:
    """The local DuckDB warehouse, read only, that says so instead of creating an empty file.

    ``DuckDBWarehouse.query`` opens a short read-only connection per statement and waits (with
    backoff) while a writer holds the file, so the app never holds the lock between requests and
    the stack's writers wait at most one query.
    """

    def __init__(self, warehouse: Any, path: Path) -> None:
        self.warehouse = warehouse
        self.path = Path(path)

    def query(self, sql: str, params: Any = None) -> Any:
        if not self.path.exists():
            raise NoWarehouse(f"No data yet: there is no warehouse at {self.path} yet; {REPLAY}.")
        return self.warehouse.query(sql, params)


def make_app_server(app: Any, port: int = 0) -> BaseWSGIServer:
    """A threaded server for the Dash ``app`` on 127.0.0.1:``port`` (0: a free port); not started."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
    return make_server(HOST, port, app.server, threaded=True)


def url_of(server: BaseWSGIServer) -> str:
    return f"http://{HOST}:{server.server_port}/"
