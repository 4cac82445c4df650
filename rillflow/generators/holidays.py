"""Public holidays per country: a small, fixed, documented table (a fallback for the ``holidays`` package).

The app-event intensity lifts activity on a country's public holidays (local calendar days), and
the forecaster may use the same calendar as a known-in-advance feature: holidays are public
knowledge. This module is the one place both read it.

What the table holds (years :data:`FIRST_YEAR`..:data:`LAST_YEAR`):

* New Year's Day in every country;
* Christmas Day (and Boxing Day / St Stephen's Day where it is a holiday) in the countries of
  :data:`CHRISTMAS` (mostly Christian-majority ones);
* Good Friday / Easter Monday (Western computus) in :data:`EASTER_MONDAY` and :data:`GOOD_FRIDAY`;
* Eid al-Fitr (the first day, as announced for most countries; local moon sighting can move it by a
  day) in :data:`EID_AL_FITR_COUNTRIES`, and the Lunar New Year's first day in :data:`LUNAR_NEW_YEAR_COUNTRIES`;
* national days and the main fixed-date or rule-based holidays of the largest app markets
  (:data:`FIXED`, :func:`_rule_based`).

It is deliberately smaller than a real holiday calendar (no regional holidays, no substitute days,
most countries get only the first items). With the ``holidays`` package in the lock,
:func:`public_holidays` is the one function to re-implement on top of it.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import cache

FIRST_YEAR, LAST_YEAR = 2024, 2028

CHRISTMAS = frozenset(
    [
        "AD",
        "AG",
        "AO",
        "AR",
        "AT",
        "AU",
        "BB",
        "BE",
        "BG",
        "BO",
        "BR",
        "BS",
        "BZ",
        "CA",
        "CD",
        "CF",
        "CG",
        "CH",
        "CL",
        "CM",
        "CO",
        "CR",
        "CU",
        "CV",
        "CY",
        "CZ",
        "DE",
        "DK",
        "DM",
        "DO",
        "EC",
        "EE",
        "ES",
        "FI",
        "FJ",
        "FR",
        "GA",
        "GB",
        "GD",
        "GH",
        "GQ",
        "GR",
        "GT",
        "GU",
        "GY",
        "HN",
        "HR",
        "HT",
        "HU",
        "IE",
        "IS",
        "IT",
        "JM",
        "KE",
        "KN",
        "LC",
        "LI",
        "LT",
        "LU",
        "LV",
        "MC",
        "MT",
        "MW",
        "MX",
        "MZ",
        "NA",
        "NI",
        "NL",
        "NO",
        "NZ",
        "PA",
        "PE",
        "PG",
        "PH",
        "PL",
        "PR",
        "PT",
        "PY",
        "RO",
        "RW",
        "SB",
        "SE",
        "SI",
        "SK",
        "SM",
        "SR",
        "SV",
        "SZ",
        "TO",
        "TT",
        "TZ",
        "UG",
        "US",
        "UY",
        "VC",
        "VE",
        "VU",
        "WS",
        "ZA",
        "ZM",
        "ZW",
    ]
)
BOXING_DAY = frozenset(
    ["AT", "AU", "CA", "CZ", "DE", "DK", "GB", "HU", "IE", "IT", "NL", "NO", "NZ", "PL", "SE", "SK", "ZA"]
)
GOOD_FRIDAY = frozenset(
    ["AR", "AU", "BR", "CA", "CO", "DE", "DK", "GB", "GT", "MX", "NO", "NZ", "PE", "PH", "SE", "ZA"]
)
EASTER_MONDAY = frozenset(
    [
        "AT",
        "AU",
        "BE",
        "CH",
        "CZ",
        "DE",
        "DK",
        "FI",
        "FR",
        "GB",
        "HU",
        "IE",
        "IT",
        "NL",
        "NO",
        "NZ",
        "PL",
        "SE",
        "SK",
    ]
)
EID_AL_FITR_COUNTRIES = frozenset(
    [
        "AE",
        "BD",
        "BH",
        "DZ",
        "EG",
        "ID",
        "IQ",
        "JO",
        "KW",
        "LB",
        "LY",
        "MA",
        "MY",
        "NE",
        "NG",
        "OM",
        "PK",
        "PS",
        "QA",
        "SA",
        "SD",
        "SN",
        "SY",
        "TN",
        "TR",
        "YE",
    ]
)
LUNAR_NEW_YEAR_COUNTRIES = frozenset(["CN", "HK", "KR", "MO", "SG", "TW", "VN"])
EID_AL_FITR = {2024: date(2024, 4, 10), 2025: date(2025, 3, 30), 2026: date(2026, 3, 20),
               2027: date(2027, 3, 9), 2028: date(2028, 2, 26)}  # fmt: skip
LUNAR_NEW_YEAR = {2024: date(2024, 2, 10), 2025: date(2025, 1, 29), 2026: date(2026, 2, 17),
                  2027: date(2027, 2, 6), 2028: date(2028, 1, 26)}  # fmt: skip
DIWALI = {2024: date(2024, 11, 1), 2025: date(2025, 10, 20), 2026: date(2026, 11, 8),
          2027: date(2027, 10, 29), 2028: date(2028, 10, 17)}  # fmt: skip
#: (month, day) national days and fixed-date holidays of the largest markets
FIXED: dict[str, tuple[tuple[int, int], ...]] = {
    "US": ((7, 4), (11, 11)),
    "IN": ((1, 26), (8, 15), (10, 2)),
    "CN": ((5, 1), (10, 1), (10, 2), (10, 3)),
    "BR": ((4, 21), (5, 1), (9, 7), (10, 12), (11, 2), (11, 15)),
    "ID": ((5, 1), (6, 1), (8, 17)),
    "JP": ((1, 2), (1, 3), (2, 11), (2, 23), (4, 29), (5, 3), (5, 4), (5, 5), (11, 3), (11, 23)),
    "DE": ((5, 1), (10, 3)),
    "GB": (),
    "FR": ((5, 1), (5, 8), (7, 14), (8, 15), (11, 1), (11, 11)),
    "IT": ((4, 25), (5, 1), (6, 2), (8, 15), (11, 1), (12, 8)),
    "ES": ((1, 6), (5, 1), (8, 15), (10, 12), (11, 1), (12, 6), (12, 8)),
    "MX": ((5, 1), (9, 16)),
    "RU": ((1, 2), (1, 7), (2, 23), (3, 8), (5, 1), (5, 9), (6, 12), (11, 4)),
    "KR": ((3, 1), (5, 5), (6, 6), (8, 15), (10, 3), (10, 9)),
    "TR": ((4, 23), (5, 1), (5, 19), (7, 15), (8, 30), (10, 29)),
    "NG": ((5, 1), (6, 12), (10, 1)),
    "PK": ((2, 5), (3, 23), (5, 1), (8, 14), (12, 25)),
    "BD": ((2, 21), (3, 26), (5, 1), (12, 16)),
    "PH": ((4, 9), (5, 1), (6, 12), (8, 21), (11, 30), (12, 30)),
    "VN": ((4, 30), (5, 1), (9, 2)),
    "EG": ((1, 7), (4, 25), (5, 1), (7, 23), (10, 6)),
    "CA": ((7, 1),),
    "AU": ((1, 26), (4, 25)),
    "PL": ((5, 1), (5, 3), (8, 15), (11, 1), (11, 11)),
    "NL": ((4, 27),),
    "SA": ((2, 22), (9, 23)),
    "ZA": ((3, 21), (4, 27), (5, 1), (6, 16), (8, 9), (9, 24), (12, 16)),
    "AR": ((3, 24), (4, 2), (5, 1), (5, 25), (6, 20), (7, 9), (12, 8)),
    "KE": ((5, 1), (6, 1), (10, 20), (12, 12)),
}


def easter(year: int) -> date:
    """Western Easter Sunday (the anonymous Gregorian computus)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = b // 4, b % 4
    g = (8 * b + 13) // 25
    h = (19 * a + b - d - g + 15) % 30
    i, k = c // 4, c % 4
    j = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * j) // 451
    month, day = divmod(h + j - 7 * m + 114, 31)
    return date(year, month, day + 1)


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    """The ``n``-th (1-based; −1 the last) ``weekday`` (Monday 0) of a month."""
    if n > 0:
        first = date(year, month, 1)
        return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))
    last = date(year + (month == 12), month % 12 + 1, 1) - timedelta(days=1)
    return last - timedelta(days=(last.weekday() - weekday) % 7)


def _rule_based(iso2: str, year: int) -> set[date]:
    rules = {
        # MLK day, Memorial Day, Labor Day, Thanksgiving
        "US": ((1, 0, 3), (5, 0, -1), (9, 0, 1), (11, 3, 4)),
        # early May, spring and summer bank holidays
        "GB": ((5, 0, 1), (5, 0, -1), (8, 0, -1)),
        # Labour Day, Thanksgiving
        "CA": ((9, 0, 1), (10, 0, 2)),
        # Coming of Age, Marine, Respect for the Aged, Sports days
        "JP": ((1, 0, 2), (7, 0, 3), (9, 0, 3), (10, 0, 2)),
        "MX": ((2, 0, 1), (3, 0, 3), (11, 0, 3)),
    }
    return {_nth_weekday(year, m, wd, n) for m, wd, n in rules.get(iso2, ())}


@cache
def public_holidays(iso2: str, year: int) -> frozenset[date]:
    """The table's public holidays of ``iso2`` in ``year`` (empty outside FIRST_YEAR..LAST_YEAR)."""
    if not FIRST_YEAR <= year <= LAST_YEAR:
        return frozenset()
    days = {date(year, 1, 1)}
    if iso2 in CHRISTMAS:
        days.add(date(year, 12, 25))
    if iso2 in BOXING_DAY:
        days.add(date(year, 12, 26))
    sunday = easter(year)
    if iso2 in GOOD_FRIDAY:
        days.add(sunday - timedelta(days=2))
    if iso2 in EASTER_MONDAY:
        days.add(sunday + timedelta(days=1))
    if iso2 in EID_AL_FITR_COUNTRIES:
        days.add(EID_AL_FITR[year])
    if iso2 in LUNAR_NEW_YEAR_COUNTRIES:
        days.add(LUNAR_NEW_YEAR[year])
    if iso2 == "IN":
        days.add(DIWALI[year])
    days.update(date(year, m, d) for m, d in FIXED.get(iso2, ()))
    days.update(_rule_based(iso2, year))
    return frozenset(days)


def is_holiday(iso2: str, day: date) -> bool:
    return day in public_holidays(iso2, day.year)
