"""The WSGI entry point of the dashboards image: ``gunicorn dashboards.wsgi:server``.

The warehouse is the environment's (``rillflow.resources``): on Cloud Run ``RILLFLOW_ENV=cloud``
gives BigQuery in ``GOOGLE_CLOUD_PROJECT``, read as the service's own account.
"""

from __future__ import annotations

from dashboards.app import create_app
from rillflow.warehouse import get_warehouse

app = create_app(get_warehouse())
server = app.server
