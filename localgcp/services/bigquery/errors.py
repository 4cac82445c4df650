"""Failures of the local BigQuery service (on our side of the process boundary).

Wire-level errors (400 invalidQuery, 404 notFound, ...) come from bqemulator and reach the
official client as ``google.api_core.exceptions`` unchanged.
"""

from __future__ import annotations


class BigQueryServiceError(RuntimeError):
    """The BigQuery emulator could not be found, started, reached or stopped."""
