"""The built pages: every panel present, charts drawn, empty states explained, nothing external."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from dashboards import build as build_module
from dashboards.build import build
from dashboards.views import HISTORY_VIEWS, PREDICTION_VIEWS

PAGE_VIEWS = {"history.html": HISTORY_VIEWS, "predictions.html": PREDICTION_VIEWS}
#: an attribute or CSS url() that would make the browser fetch something
FETCHING = re.compile(r"""(?:\b(?:src|href|action|poster|srcset)\s*=\s*["']?|url\(\s*["']?|@import\s+["']?)\s*(?:https?:)?//""", re.I)  # fmt: skip


def _panels(page: str) -> dict[str, str]:
    """data-chart value → the panel's HTML."""
    found = re.findall(r'(<section class="panel" data-chart="([a-z_]+)".*?</section>)', page, re.S)
    return {name: text for text, name in found}


def _kpis(page: str) -> dict[str, str]:
    return dict(
        re.findall(r'data-kpi="([^"]+)"><div class="label">[^<]*</div><div class="value">([^<]*)<', page)
    )


def test_pages_have_every_view_as_a_drawn_chart(pages: Path) -> None:
    assert sorted(p.name for p in pages.iterdir()) == ["history.html", "index.html", "predictions.html"]
    for filename, views in PAGE_VIEWS.items():
        panels = _panels((pages / filename).read_text())
        assert list(panels) == list(views)
        for name, panel in panels.items():
            assert 'data-state="ok"' in panel, name
            if name == "bi_churn_top_at_risk":
                assert panel.count("<tr>") == 1 + 8  # header + the 8 scored customers
            else:
                assert re.search(r"<svg[^>]*viewBox", panel) and "<path" in panel, name


def test_charts_state_their_date_range_and_axes(pages: Path) -> None:
    history = _panels((pages / "history.html").read_text())
    assert "2024-01-10 – 2024-01-19" in history["bi_daily_revenue"]
    assert "Completed revenue (USD)" in history["bi_daily_revenue"]
    assert "Order date (UTC)" in history["bi_daily_revenue"]
    assert "2024-01-19 00:00 UTC – 2024-01-19 05:00 UTC" in history["bi_app_activity_hourly"]
    assert "2024-01-19 06:00 UTC – 2024-01-19 07:00 UTC" in history["bi_app_activity_live"]
    predictions = _panels((pages / "predictions.html").read_text())
    assert "scores as of 2024-01-14" in predictions["bi_churn_score_distribution"]
    forecast = predictions["bi_app_forecast_vs_actual"]
    assert "2024-01-19 04:00 UTC – 2024-01-19 09:00 UTC" in forecast
    assert "Prediction interval" in forecast and "Events per hour" in forecast


def test_kpi_strips_from_the_real_warehouse(pages: Path) -> None:
    history = _kpis((pages / "history.html").read_text())
    assert history["Revenue, last day"] == "$19.00"  # order o9-0: 1 x (10 + 9) USD on 2024-01-19
    assert history["Revenue, last 7 days"] == "$289.00"
    assert history["Conversion, last day"] == "50.0%"  # 1 of 2 sessions purchased on 2024-01-19
    assert history["App events, last day"] == "49"  # 39 lake events in 00..05 + 2 x 5 streaming
    assert history["Startups tracked"] == "3"
    predictions = _kpis((pages / "predictions.html").read_text())
    assert predictions["Customers scored"] == "8"  # the older scoring run is not counted
    assert predictions["Share at high risk (score ≥ 0.7)"] == "50.0%"
    assert predictions["Forecast horizon"] == "6 h"


def test_pages_are_self_contained(pages: Path) -> None:
    for page in pages.glob("*.html"):
        text = page.read_text()
        assert not FETCHING.findall(text), page.name
        assert "<script" not in text.lower() and "<link" not in text.lower() and "<img" not in text.lower()


def test_svg_ids_are_unique_within_a_page(pages: Path) -> None:
    for page in pages.glob("*.html"):
        ids = Counter(re.findall(r'\bid="([^"]+)"', page.read_text()))
        assert [i for i, n in ids.items() if n > 1] == [], page.name


def test_before_the_models_ran_predictions_show_empty_states(
    warehouses: dict[str, Path], tmp_path: Path
) -> None:
    build(tmp_path, warehouses["pre_ml"])
    history = _panels((tmp_path / "history.html").read_text())
    assert all('data-state="ok"' in p for p in history.values())
    predictions = _panels((tmp_path / "predictions.html").read_text())
    assert list(predictions) == list(PREDICTION_VIEWS)
    for name, panel in predictions.items():
        assert 'data-state="empty"' in panel and "<svg" not in panel
        message = re.search(r'<div class="empty-state"[^>]*>(.*?)</div>', panel, re.S)
        assert message is not None and "bi." not in message.group(1), name
    assert (
        "No churn scores yet: the churn model first trains after ~69 days of history "
        "— run <code>rillflow backfill --days 70</code> (minutes) or <code>make demo</code>."
        in predictions["bi_churn_score_distribution"]
    )
    assert "No forecasts yet: the app-activity forecaster" in predictions["bi_app_forecast_vs_actual"]
    assert _kpis((tmp_path / "predictions.html").read_text())["Customers scored"] == "–"


def test_without_a_warehouse_every_panel_explains_itself(tmp_path: Path) -> None:
    written = build(tmp_path / "out", tmp_path / "absent.duckdb")
    assert [p.name for p in written] == ["index.html", "history.html", "predictions.html"]
    for filename, views in PAGE_VIEWS.items():
        panels = _panels((tmp_path / "out" / filename).read_text())
        assert list(panels) == list(views)
        assert all("there is no warehouse at" in p and 'data-state="empty"' in p for p in panels.values())
    assert "there is no warehouse at" in (tmp_path / "out" / "index.html").read_text()


def test_a_chart_that_fails_becomes_an_empty_state(
    warehouses: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(_df: object) -> str:
        raise ValueError("boom")

    monkeypatch.setitem(build_module.CHARTS, "bi_funnel_daily", broken)
    build(tmp_path, warehouses["full"])
    panels = _panels((tmp_path / "history.html").read_text())
    assert "bi.bi_funnel_daily could not be drawn: boom" in panels["bi_funnel_daily"]
    assert 'data-state="ok"' in panels["bi_daily_revenue"]


def test_default_out_dir_is_under_rillflow_home(warehouses: dict[str, Path], tmp_path: Path) -> None:
    # the autouse fixture points RILLFLOW_HOME at tmp_path / "rillflow-home"
    written = build(warehouse_path=warehouses["full"])
    assert written[0].parent == (tmp_path / "rillflow-home" / "dashboards").resolve()
