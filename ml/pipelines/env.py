"""Pipeline parameters that select the Google Cloud project/region a step works in."""

from __future__ import annotations

import os
from datetime import date

from rillflow.settings import get_settings


def use_project(project: str, location: str) -> None:
    """Point this step's settings at ``project``/``location`` (empty values keep the environment's)."""
    if project:
        os.environ["GOOGLE_CLOUD_PROJECT"] = project
    if location:
        os.environ["RILLFLOW_REGION"] = location
    get_settings.cache_clear()


def parse_date(value: str | date | None) -> date:
    """A pipeline's ``as_of_date`` parameter: ISO date, or today (UTC date of the run) when empty."""
    if isinstance(value, date):
        return value
    if not value:
        return date.today()
    return date.fromisoformat(value)
