"""Pipeline parameters that select the Google Cloud project/region a step works in."""

from __future__ import annotations

import json
import os
from datetime import date

from rillflow.settings import VERTEX_ML_FIELDS, get_settings


def use_project(project: str, location: str) -> None:
    """Point this step's settings at ``project``/``location`` (empty values keep the environment's)."""
    if project:
        os.environ["GOOGLE_CLOUD_PROJECT"] = project
    if location:
        os.environ["RILLFLOW_REGION"] = location
    get_settings.cache_clear()


def use_settings(ml_settings: str) -> None:
    """Apply a pipeline's ``ml_settings``: a JSON object of Vertex ML settings (``Settings`` field
    names of :data:`rillflow.settings.VERTEX_ML_FIELDS`, e.g. ``{"forecast_endpoint_machine_type":
    "n1-standard-4"}``), which the workflow passes from terraform's ``vertex_ml_settings`` output;
    empty keeps the environment's."""
    if not ml_settings.strip():
        return
    values = json.loads(ml_settings)
    if not isinstance(values, dict):
        raise ValueError(f"ml_settings must be a JSON object, got {ml_settings!r}")
    unknown = sorted(set(values) - set(VERTEX_ML_FIELDS))
    if unknown:
        raise ValueError(f"unknown ml_settings {unknown}; known: {list(VERTEX_ML_FIELDS)}")
    for name, value in values.items():
        os.environ[f"RILLFLOW_{name.upper()}"] = str(value)
    get_settings.cache_clear()


def parse_date(value: str | date | None) -> date:
    """A pipeline's ``as_of_date`` parameter: ISO date, or today (UTC date of the run) when empty."""
    if isinstance(value, date):
        return value
    if not value:
        return date.today()
    return date.fromisoformat(value)
