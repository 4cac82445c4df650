"""Local-time activity profile and exact per-minute UTC offsets (DST-aware) for many zones.

The app-event intensity is piecewise constant per UTC minute: every IANA offset in use is a
multiple of 15 minutes and every transition happens on a minute boundary, so evaluating the
local-time profile at each UTC minute start is exact.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

import numpy as np

MINUTES_PER_DAY = 1440
MINUTES_PER_WEEK = 7 * MINUTES_PER_DAY
#: 1970-01-01 was a Thursday: shift so that index 0 of the weekly table is Monday 00:00 local.
_EPOCH_WEEKDAY = 3
#: Monday..Sunday multipliers; their mean is exactly 1 so a week of activity averages 1.
WEEKDAY_FACTORS = (0.96, 0.96, 0.96, 0.96, 0.96, 1.10, 1.10)


def weekly_activity(peak_hour: float = 20.0, concentration: float = 1.6, floor: float = 0.12) -> np.ndarray:
    """Relative activity per local minute of the week (Monday 00:00 first), mean 1.

    The daily curve is a floor plus a von Mises bump centred on ``peak_hour:30`` so that the
    hour bucket ``[peak_hour, peak_hour+1)`` is the busiest local hour; its trough is 12 h away.
    """
    hours = np.arange(MINUTES_PER_DAY) / 60.0
    bump = np.exp(concentration * np.cos(2 * np.pi * (hours - peak_hour - 0.5) / 24.0))
    daily = floor + bump
    daily /= daily.mean()
    weekly = np.concatenate([daily * f for f in WEEKDAY_FACTORS])
    return weekly / weekly.mean()


def _offset_minutes(zone: ZoneInfo, epoch_minute: int) -> int:
    offset = datetime.fromtimestamp(epoch_minute * 60, tz=zone).utcoffset()
    assert offset is not None
    return int(offset.total_seconds() // 60)


@lru_cache(maxsize=16)
def _zones(names: tuple[str, ...]) -> tuple[ZoneInfo, ...]:
    return tuple(ZoneInfo(n) for n in names)


@lru_cache(maxsize=256)
def day_offsets(zone_names: tuple[str, ...], epoch_day: int) -> np.ndarray:
    """UTC offset in minutes of each zone for each minute of one UTC day: int32 (1440, n_zones).

    Offsets are read at each UTC hour start; an hour whose two ends differ contains a
    transition, located to the minute by bisection (rare: twice a year per DST zone).
    """
    zones = _zones(zone_names)
    first = epoch_day * MINUTES_PER_DAY
    out = np.empty((MINUTES_PER_DAY, len(zones)), dtype=np.int32)
    for j, zone in enumerate(zones):
        at_hours = [_offset_minutes(zone, first + 60 * h) for h in range(25)]
        for h in range(24):
            lo_off, hi_off = at_hours[h], at_hours[h + 1]
            rows = slice(60 * h, 60 * h + 60)
            if lo_off == hi_off:
                out[rows, j] = lo_off
                continue
            lo, hi = first + 60 * h, first + 60 * h + 60  # offset(lo)=lo_off, offset(hi)=hi_off
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if _offset_minutes(zone, mid) == lo_off:
                    lo = mid
                else:
                    hi = mid
            split = hi - (first + 60 * h)
            out[60 * h : 60 * h + split, j] = lo_off
            out[60 * h + split : 60 * h + 60, j] = _offset_minutes(zone, hi)
    out.setflags(write=False)
    return out


def offsets_for_minutes(zone_names: Sequence[str], epoch_minutes: np.ndarray) -> np.ndarray:
    """UTC offsets (minutes), shape (len(epoch_minutes), n_zones), for arbitrary UTC minutes."""
    names = tuple(zone_names)
    minutes = np.asarray(epoch_minutes, dtype=np.int64)
    days = minutes // MINUTES_PER_DAY
    out = np.empty((minutes.size, len(names)), dtype=np.int32)
    for day in np.unique(days):
        sel = days == day
        out[sel] = day_offsets(names, int(day))[minutes[sel] - int(day) * MINUTES_PER_DAY]
    return out


def local_minute_of_week(epoch_minutes: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Index into :func:`weekly_activity` of UTC minutes shifted by per-zone offsets (broadcasts)."""
    local = np.asarray(epoch_minutes, dtype=np.int64)[..., None] + offsets
    return (local + _EPOCH_WEEKDAY * MINUTES_PER_DAY) % MINUTES_PER_WEEK


def epoch_minute(ts: datetime) -> int:
    """Whole UTC minutes since the epoch (floor) of an aware datetime."""
    if ts.tzinfo is None:
        raise ValueError(f"timestamp must be timezone-aware: {ts!r}")
    return int(ts.astimezone(UTC).timestamp() // 60)
