"""Every page against the bi views the real local Dataform builds from a tiny bronze lake: the
queries run on the real SQLX views and their DuckDB types (sums, timestamps, decimals), not only on
the hand-made tables of the other tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from dashboards import pages
from dashboards.filters import Filters
from rillflow.warehouse import DuckDBWarehouse
from tests.dashboards.dataform_warehouse import build_warehouse


@pytest.fixture(scope="module")
def real(tmp_path_factory: pytest.TempPathFactory) -> DuckDBWarehouse:
    settings = build_warehouse(Path(tmp_path_factory.mktemp("real-dataform")))
    return DuckDBWarehouse(settings.warehouse_path)


@pytest.mark.parametrize("key", list(pages.PAGES))
def test_every_panel_and_kpi_shows_on_the_real_views(real: DuckDBWarehouse, key: str) -> None:
    page = pages.PAGES[key]
    kpis, shown = pages.render(page, real, Filters())
    assert {s.panel.id: s.problem for s in shown if not s.ok} == {}
    assert kpis and all(k.value is not None for k in kpis), [(k.label, k.value) for k in kpis]
    for k in kpis:
        if k.drill:
            _spec, rows, problem = pages.drill(k.drill, real, Filters())
            assert problem is None and rows is not None, (k.label, problem)
            assert pages.display_rows(rows)


def test_real_numbers(real: DuckDBWarehouse) -> None:
    kpis, _ = pages.render(pages.PREDICTIONS, real, Filters())
    by_label = {k.label: k for k in kpis}
    assert by_label["Customers scored"].value == 8
    assert by_label["Churn model"].value == "churn_classifier v3"  # the older v2 scoring is ignored
    live, _ = pages.render(pages.LIVE, real, Filters())
    assert {k.label: k.display() for k in live}["Newest hour"] == "07:00"
