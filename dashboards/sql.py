"""SQL text the dashboards send, portable between DuckDB (local) and BigQuery (cloud).

The same statement runs in both places, so it keeps to what both dialects read alike: unquoted
``bi.<view>`` names, ``DATE 'YYYY-MM-DD'`` literals, ``IN (...)`` lists, ``CASE``, ``SUM``/``AVG``,
and ``MAX(ts) - INTERVAL n HOUR``. Values are written into the statement as literals, not bound:
``rillflow.warehouse.BigQueryWarehouse.query`` takes no positional parameters, and DuckDB's ``?``
would not run on BigQuery. Every value is therefore checked first (a date is a ``date``, a filter
value matches :data:`SAFE_VALUE`), so a forged callback input cannot reach the SQL as code.

Timestamp literals are avoided on purpose: DuckDB compares a zone-less literal with a
``TIMESTAMPTZ`` column in the session's time zone (the machine's), BigQuery in UTC; hour ranges
are cut relative to the data (``MAX(...) - INTERVAL``) or in pandas after the query.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable

DATASET = "bi"
#: a filter value (country code, platform, channel, segment): letters, digits and a few separators
SAFE_VALUE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.&/+-]{0,63}$")


def view(name: str) -> str:
    """``bi.<name>``: the dataset-qualified view (BigQuery resolves it in the client's project)."""
    if not re.fullmatch(r"bi_[a-z0-9_]+", name):
        raise ValueError(f"not a bi view name: {name!r}")
    return f"{DATASET}.{name}"


def date_literal(value: dt.date) -> str:
    if not isinstance(value, dt.date) or isinstance(value, dt.datetime):
        raise TypeError(f"a date is needed, got {value!r}")
    return f"DATE '{value.isoformat()}'"


def string_literal(value: str) -> str:
    if not isinstance(value, str) or not SAFE_VALUE.match(value):
        raise ValueError(f"not a filter value: {value!r}")
    return f"'{value}'"


def in_list(column: str, values: Iterable[str]) -> str:
    """``column IN ('a', 'b')`` for the selected values (sorted, so equal filters give equal SQL)."""
    items = sorted(set(values))
    if not items:
        raise ValueError("an IN list needs at least one value")
    return f"{column} IN ({', '.join(string_literal(v) for v in items)})"


def where(*conditions: str | None) -> str:
    """``WHERE a AND b`` of the conditions given (None: no condition), or nothing."""
    kept = [c for c in conditions if c]
    return f"WHERE {' AND '.join(kept)}" if kept else ""
