"""Shared hypothesis settings and strategies for the fuzz tests.

``fuzz(n)`` is the one settings profile: derandomized, no example database, a deadline loose
enough for a shared 2-core machine, so CI runs the same examples every time.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st


def fuzz(max_examples: int = 100) -> settings:
    return settings(
        max_examples=max_examples,
        deadline=timedelta(seconds=2),
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


#: any JSON value (what ``json.loads`` can give), kept small
json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)

utc_datetimes = st.datetimes(
    min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)
)
upper_country = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=2, max_size=2)


def rfc3339(ts: datetime) -> str:
    return ts.astimezone(UTC).isoformat().replace("+00:00", "Z")


def mutate(data: bytes, draw: Any) -> bytes:
    """One random edit of ``data``: flip a byte, truncate, insert, or append garbage."""
    kind = draw(st.sampled_from(["flip", "truncate", "insert", "append", "delete"]))
    if not data or kind == "append":
        return data + draw(st.binary(min_size=1, max_size=16))
    i = draw(st.integers(min_value=0, max_value=len(data) - 1))
    if kind == "flip":
        return data[:i] + bytes([data[i] ^ draw(st.integers(min_value=1, max_value=255))]) + data[i + 1 :]
    if kind == "truncate":
        return data[:i]
    if kind == "insert":
        return data[:i] + draw(st.binary(min_size=1, max_size=8)) + data[i:]
    return data[:i] + data[i + 1 + draw(st.integers(min_value=0, max_value=8)) :]
