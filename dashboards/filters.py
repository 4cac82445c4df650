"""What a user picked on a page, checked once, as the query functions take it.

Dash hands a callback whatever the browser sent; :func:`from_inputs` turns it into a
:class:`Filters` (dates parsed, values checked against :data:`dashboards.sql.SAFE_VALUE`, the
live window bounded), so the query functions never see raw input.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from dashboards.sql import SAFE_VALUE, date_literal, in_list

#: the Live page's windows (hours back from the newest streamed hour)
LIVE_WINDOWS = (3, 6, 12, 24)
DEFAULT_LIVE_WINDOW = 6
#: the History page opens on the last four weeks of the data
DEFAULT_HISTORY_DAYS = 28


@dataclass(frozen=True)
class Filters:
    start: dt.date | None = None
    end: dt.date | None = None
    countries: tuple[str, ...] = ()
    platforms: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()
    #: the Live page's window, in hours
    hours: int = DEFAULT_LIVE_WINDOW

    def dates(self, column: str) -> str | None:
        """``column BETWEEN DATE 'a' AND DATE 'b'`` (or one bound), or None when no range is set."""
        if self.start and self.end:
            return f"{column} BETWEEN {date_literal(self.start)} AND {date_literal(self.end)}"
        if self.start:
            return f"{column} >= {date_literal(self.start)}"
        if self.end:
            return f"{column} <= {date_literal(self.end)}"
        return None

    def country(self, column: str) -> str | None:
        return in_list(column, self.countries) if self.countries else None

    def platform(self, column: str) -> str | None:
        return in_list(column, self.platforms) if self.platforms else None

    def channel(self, column: str) -> str | None:
        return in_list(column, self.channels) if self.channels else None


def _date(value: Any) -> dt.date | None:
    if value in (None, ""):
        return None
    return dt.datetime.fromisoformat(str(value)).date()  # Dash sends a day, or a day and a time


def _values(value: Any) -> tuple[str, ...]:
    if value in (None, ""):
        return ()
    items: Sequence[Any] = [value] if isinstance(value, str) else value
    bad = [v for v in items if not isinstance(v, str) or not SAFE_VALUE.match(v)]
    if bad:
        raise ValueError(f"not filter values: {bad!r}")
    return tuple(sorted(set(items)))


def from_inputs(
    start: Any = None,
    end: Any = None,
    countries: Any = None,
    platforms: Any = None,
    channels: Any = None,
    hours: Any = None,
) -> Filters:
    """Filters from a callback's raw inputs (a reversed date range is put in order)."""
    first, last = _date(start), _date(end)
    if first and last and first > last:
        first, last = last, first
    window = int(hours) if hours not in (None, "") else DEFAULT_LIVE_WINDOW
    if window not in LIVE_WINDOWS:
        raise ValueError(f"the live window is one of {LIVE_WINDOWS} hours, not {hours!r}")
    return Filters(first, last, _values(countries), _values(platforms), _values(channels), window)
