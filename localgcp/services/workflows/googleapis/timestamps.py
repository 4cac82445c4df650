"""The one timestamp format Google's REST APIs answer with (RFC 3339, UTC, ``Z``)."""

from __future__ import annotations

from datetime import UTC, datetime


def rfc3339_now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")
