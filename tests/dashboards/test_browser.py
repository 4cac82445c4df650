"""The pages in a real headless Chromium: every panel visible and sized, charts drawn, nothing fetched
from outside 127.0.0.1, and a full-page screenshot that is not blank."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from dashboards.build import build
from dashboards.serve import serving
from dashboards.views import HISTORY_VIEWS, PREDICTION_VIEWS

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = [
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"no Chromium at {CHROMIUM} (CI installs it)"),
    pytest.mark.skipif(
        importlib.util.find_spec("playwright") is None,
        reason="the playwright python package is not installed",
    ),
]


@pytest.fixture(scope="module")
def browser() -> Any:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any) -> Any:
    """A page that may only load 127.0.0.1 or local files; ``page.outside`` lists whatever else it tried."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    pg = context.new_page()
    outside: list[str] = []

    def guard(route: Any) -> None:
        url = route.request.url
        if url.startswith(("http://127.0.0.1:", "file:///")):
            route.continue_()
        else:
            outside.append(url)
            route.abort()

    pg.route("**/*", guard)
    pg.outside = outside
    yield pg
    context.close()


def _assert_not_blank(png: Path) -> None:
    image = Image.open(png).convert("RGB")
    width, height = image.size
    assert width >= 1000 and height >= 800
    small = image.resize((width // 2, height // 2))
    colours = small.getcolors(maxcolors=1 << 20) or []
    assert len(colours) > 200, f"only {len(colours)} distinct colours"
    non_white = float((np.asarray(small).min(axis=2) < 235).mean())
    assert non_white > 0.05, f"only {non_white:.1%} non-white pixels"


def _box(element: Any) -> dict[str, float]:
    box = element.bounding_box()
    assert box is not None
    return dict(box)


@pytest.mark.parametrize(
    ("filename", "views"), [("history.html", HISTORY_VIEWS), ("predictions.html", PREDICTION_VIEWS)]
)
def test_pages_render_every_chart(
    pages: Path, page: Any, tmp_path: Path, filename: str, views: tuple[str, ...]
) -> None:
    with serving(pages) as url:
        page.goto(url + filename, wait_until="load")
        for name in views:
            panel = page.locator(f'[data-chart="{name}"]')
            assert panel.count() == 1 and panel.is_visible(), name
            box = _box(panel)
            assert box["width"] > 300 and box["height"] > 150, (name, box)
            assert panel.get_attribute("data-state") == "ok", name
            if name == "bi_churn_top_at_risk":
                assert panel.locator("tbody tr").count() == 8
                continue
            svg = panel.locator("svg")
            assert svg.count() == 1 and svg.is_visible(), name
            svg_box = _box(svg)
            assert svg_box["width"] > 300 and svg_box["height"] > 100, (name, svg_box)
            assert svg.locator("path").count() > 10, name
            legend = svg.locator('g[id$="-legend_1"]')
            if legend.count():  # beside the plot, never over its bars or lines
                plot = _box(svg.locator('g[id$="-axes_1"] > g').first)  # the axes' background patch
                key = _box(legend)
                apart = (
                    key["x"] >= plot["x"] + plot["width"] - 1 or key["y"] >= plot["y"] + plot["height"] - 1
                )
                assert apart, (name, key, plot)
        assert page.locator(".kpi").count() >= 5
        shot = tmp_path / f"{filename.removesuffix('.html')}.png"
        page.screenshot(path=str(shot), full_page=True)
    _assert_not_blank(shot)
    assert page.outside == []


def test_empty_states_are_visible(warehouses: dict[str, Path], page: Any, tmp_path: Path) -> None:
    build(tmp_path / "pre-ml", warehouses["pre_ml"])
    page.goto((tmp_path / "pre-ml" / "predictions.html").as_uri(), wait_until="load")
    for name in PREDICTION_VIEWS:
        panel = page.locator(f'[data-chart="{name}"]')
        message = panel.locator(".empty-state")
        assert message.is_visible(), name
        assert _box(message)["height"] > 50
        text = message.inner_text()
        assert "first trains after ~" in text and "rillflow backfill --days" in text and "bi." not in text
    assert page.outside == []


def test_overview_state_column_is_not_clipped(warehouses: dict[str, Path], page: Any, tmp_path: Path) -> None:
    """The Overview's State cells wrap inside the table instead of running past its right edge."""
    build(tmp_path / "pre-ml", warehouses["pre_ml"])
    page.goto((tmp_path / "pre-ml" / "index.html").as_uri(), wait_until="load")
    wrap = page.locator(".table-wrap")
    assert wrap.evaluate("w => w.scrollWidth <= w.clientWidth"), "the views table scrolls sideways"
    cells = page.locator("td.wrap")
    assert cells.count() == 8
    right_edge = _box(wrap)["x"] + _box(wrap)["width"]
    for i in range(cells.count()):
        cell = cells.nth(i)
        assert cell.evaluate("c => c.scrollWidth <= c.clientWidth"), cell.inner_text()
        box = _box(cell)
        assert box["x"] + box["width"] <= right_edge + 1, cell.inner_text()
    assert "first trains after" in cells.nth(5).inner_text()
    assert page.outside == []


def test_navigation_links_between_pages(pages: Path, page: Any) -> None:
    with serving(pages) as url:
        page.goto(url, wait_until="load")
        page.get_by_role("link", name="Predictions").first.click()
        page.wait_for_url("**/predictions.html")
        assert page.locator('[data-chart="bi_churn_score_distribution"] svg').is_visible()
