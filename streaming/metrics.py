"""The pipeline's Beam metrics: one namespace for every counter (read back by ``pipeline.counters_of``)."""

from __future__ import annotations

from typing import Any

from apache_beam.metrics import Metrics

NAMESPACE = "app_events"


def counter(name: str) -> Any:
    """The counter ``name`` in the pipeline's namespace."""
    return Metrics.counter(NAMESPACE, name)


__all__ = ["NAMESPACE", "counter"]
