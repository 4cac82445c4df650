"""Real-world country weights for the app-event generator (see ``data/SOURCES.md``)."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np

DATA_DIR = Path(__file__).resolve().parent / "data"
COUNTRIES_CSV = DATA_DIR / "countries.csv"
POPULATION_YEAR = 2023
INTERNET_USERS_YEAR = 2022


@dataclass(frozen=True)
class Country:
    iso2: str
    name: str
    population: int
    internet_users_pct: float
    timezone: str

    @property
    def online_population(self) -> float:
        """People online: the weight of this country in the app-event intensity."""
        return self.population * self.internet_users_pct / 100.0

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


@cache
def load_countries() -> tuple[Country, ...]:
    """All countries of ``countries.csv``, sorted by ISO code; raises on a malformed row."""
    out: list[Country] = []
    with COUNTRIES_CSV.open(newline="", encoding="utf-8") as fh:
        for lineno, row in enumerate(csv.DictReader(fh), start=2):
            try:
                country = Country(
                    iso2=row["iso2"].strip(),
                    name=row["name"].strip(),
                    population=int(row["population"]),
                    internet_users_pct=float(row["internet_users_pct"]),
                    timezone=row["timezone"].strip(),
                )
                ZoneInfo(country.timezone)
            except (KeyError, ValueError) as exc:
                raise ValueError(f"{COUNTRIES_CSV.name} line {lineno}: {exc}") from exc
            out.append(country)
    return tuple(sorted(out, key=lambda c: c.iso2))


def select_countries(codes: list[str] | tuple[str, ...] | None = None) -> tuple[Country, ...]:
    """The named countries (all when ``codes`` is None), in ISO order; unknown codes raise."""
    every = load_countries()
    if codes is None:
        return every
    by_code = {c.iso2: c for c in every}
    unknown = sorted(set(codes) - by_code.keys())
    if unknown:
        raise ValueError(f"unknown country codes: {unknown}")
    return tuple(by_code[c] for c in sorted(set(codes)))


def online_weights(countries: tuple[Country, ...]) -> np.ndarray:
    """population × internet share per country (persons online), as float64."""
    return np.array([c.online_population for c in countries], dtype=np.float64)
