"""Failures of the local Cloud Storage service.

The wire-level errors (404, 409, 412 ...) are produced by fake-gcs-server itself and reach the
official client as ``google.api_core.exceptions`` unchanged; these classes cover what happens on
our side of the process boundary.
"""

from __future__ import annotations


class StorageServiceError(RuntimeError):
    """The storage emulator could not be started, reached or stopped."""


class NotificationError(ValueError):
    """A bucket notification could not be turned into a CloudEvent (kept in the dead-letter log)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
