"""Known-in-advance calendar inputs of the forecaster: each series' local public holidays.

Holidays are public knowledge, so the forecaster may use them for the hours it forecasts. They come
from the same calendar the app-event generator uses (:mod:`rillflow.generators.holidays`), read in
each country's local time (:mod:`rillflow.generators.countries` time zones, DST included). A
country code the table does not know has no holidays.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

import numpy as np

from rillflow.generators.countries import load_countries
from rillflow.generators.diurnal import offsets_for_minutes
from rillflow.generators.holidays import public_holidays

_EPOCH = date(1970, 1, 1)


@lru_cache(maxsize=8)
def _zones(countries: tuple[str, ...]) -> tuple[str, ...]:
    known = {c.iso2: c.timezone for c in load_countries()}
    return tuple(known.get(code, "UTC") for code in countries)


def country_offsets(countries: tuple[str, ...], epoch_hours: np.ndarray) -> np.ndarray:
    """UTC offset in minutes of each country's zone at the start of each hour: (len(hours), len(countries))."""
    hours = np.asarray(epoch_hours, dtype=np.int64)
    return np.asarray(offsets_for_minutes(_zones(countries), hours * 60), dtype=np.int64)


def holiday_flags(countries: tuple[str, ...], epoch_hours: np.ndarray) -> np.ndarray:
    """1.0 where the hour starting at ``epoch_hours`` (hours since the epoch, UTC) falls on a public
    holiday of the country in its local time; shape (len(epoch_hours), len(countries))."""
    hours = np.asarray(epoch_hours, dtype=np.int64)
    if hours.size == 0:
        return np.zeros((0, len(countries)))
    lo, hi = int(hours.min()), int(hours.max())
    span = np.arange(lo, hi + 1)
    local_day = (span[:, None] * 60 + offsets_for_minutes(_zones(countries), span * 60)) // 1440
    out = np.zeros(local_day.shape)
    first, last = int(local_day.min()), int(local_day.max())
    for j, code in enumerate(countries):
        days = {
            (d - _EPOCH).days
            for year in range((_EPOCH + timedelta(days=first)).year, (_EPOCH + timedelta(days=last)).year + 1)
            for d in public_holidays(code, year)
        }
        if days:
            out[:, j] = np.isin(local_day[:, j], np.fromiter(days, dtype=np.int64))
    return out[hours - lo]
