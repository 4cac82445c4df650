"""The :class:`~rillflow_functions.ports.Generators` port over ``rillflow.generators``.

Imported lazily (only the generating functions need it). The generator configuration is
deployment configuration, read once in ``rillflow.settings`` with the defaults the demo uses.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any


class SyntheticSources:
    def __init__(self, seed: int, n_customers: int, app_events_per_day: int) -> None:
        from rillflow.generators.sales import SalesModel

        self.seed = seed
        self.app_events_per_day = app_events_per_day
        self.sales_model = SalesModel(seed, n_customers)
        self._app_models: dict[int, Any] = {}

    def orders_for_day(self, day: date) -> list[dict[str, Any]]:
        return list(self.sales_model.orders_for_day(day))

    def clickstream_for_day(self, day: date) -> list[dict[str, Any]]:
        from rillflow.generators.clickstream import clickstream_for_day  # type: ignore[import-not-found,unused-ignore]

        return list(clickstream_for_day(day, self.seed, self.sales_model))

    def app_events(
        self, start: datetime, end: datetime, shard: tuple[int, int], events_per_day: int | None = None
    ) -> list[dict[str, Any]]:
        """``events_per_day`` (the scheduler job's body) overrides the deployment's default rate."""
        from rillflow.generators.app_events import AppEventModel, to_records

        rate = events_per_day or self.app_events_per_day
        if rate not in self._app_models:
            self._app_models[rate] = AppEventModel(rate, self.seed)
        return list(to_records(self._app_models[rate].generate(start, end, shard=shard)))


def make_generators() -> SyntheticSources:
    from rillflow.settings import get_settings

    s = get_settings()
    return SyntheticSources(seed=s.seed, n_customers=s.n_customers, app_events_per_day=s.app_events_per_day)
