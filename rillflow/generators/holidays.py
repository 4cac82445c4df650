"""Public holidays per country, from the ``holidays`` package (python-holidays, pinned in the lock).

The app-event intensity lifts activity on a country's public holidays (local calendar days), and
the forecaster uses the same calendar as a known-in-advance input: a real team knows its markets'
calendars. This module is the one place both read it.

What counts: the package's ``PUBLIC`` category for the whole country (no subdivision holidays),
observed/substitute days included (a Sunday holiday moved to Monday is a day off too), for the
years :data:`FIRST_YEAR`..:data:`LAST_YEAR` (the schedule of :mod:`app_event_dynamics`). Outside
those years, and for a code the package does not know, the calendar is empty. The package computes
movable feasts (Easter, Eid, Lunar New Year, Diwali...) itself; its version is pinned by
``requirements.lock``, so a given seed gives the same calendar on every machine.
"""

from __future__ import annotations

from datetime import date
from functools import cache

import holidays as _holidays
from dateutil.easter import easter as _easter

FIRST_YEAR, LAST_YEAR = 2024, 2028


def easter(year: int) -> date:
    """Western Easter Sunday (for tests and documentation; the package computes its own)."""
    return _easter(year)


@cache
def _supported() -> frozenset[str]:
    return frozenset(_holidays.list_supported_countries())


@cache
def _calendar(iso2: str) -> dict[date, str]:
    """Every public holiday of ``iso2`` in FIRST_YEAR..LAST_YEAR with its name (one package call per country)."""
    if iso2 not in _supported():
        return {}
    years = range(FIRST_YEAR, LAST_YEAR + 1)
    calendar = _holidays.country_holidays(iso2, years=years, categories=(_holidays.PUBLIC,))
    return {d: str(name) for d, name in sorted(calendar.items()) if FIRST_YEAR <= d.year <= LAST_YEAR}


@cache
def public_holidays(iso2: str, year: int) -> frozenset[date]:
    """``iso2``'s national public holidays in ``year`` (empty outside FIRST_YEAR..LAST_YEAR)."""
    return frozenset(d for d in _calendar(iso2) if d.year == year)


def holiday_names(iso2: str, year: int) -> dict[date, str]:
    """The names of :func:`public_holidays` (for documentation and tests)."""
    return {d: name for d, name in _calendar(iso2).items() if d.year == year}


def is_holiday(iso2: str, day: date) -> bool:
    return day in public_holidays(iso2, day.year)


def holidays_between(iso2: str, first: date, last: date) -> list[date]:
    """``iso2``'s public holidays in [first, last], in order."""
    out: list[date] = []
    for year in range(first.year, last.year + 1):
        out.extend(d for d in public_holidays(iso2, year) if first <= d <= last)
    return sorted(out)


__all__ = [
    "FIRST_YEAR",
    "LAST_YEAR",
    "easter",
    "holiday_names",
    "holidays_between",
    "is_holiday",
    "public_holidays",
]
