"""The running app in a real headless Chromium (Debian's, driven by playwright; no browser download):
every chart drawn, filters change what is shown, a KPI opens its rows, new stream rows appear on the
Live page without a restart, empty states speak to a user, and nothing is fetched beyond 127.0.0.1."""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dashboards.pages import PAGES
from tests.dashboards.running import RunningApp, home_with, launch_app, stop_app, wait_ready
from tests.dashboards.warehouse import write_stream

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
#: how long a page may take to show its panels (each callback queries the warehouse)
SHOWN_MS = 15_000

pytestmark = [
    pytest.mark.browser,  # its page fixture is its own (tests/support/tiers.py lists "browser")
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"no Chromium at {CHROMIUM} (CI installs it)"),
    pytest.mark.skipif(
        importlib.util.find_spec("playwright") is None,
        reason="the playwright python package is not installed",
    ),
]


@pytest.fixture(scope="module")
def apps(
    warehouses: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, RunningApp]]:
    """Two apps, started side by side: over the full warehouse (tests write to its copy) and over
    the warehouse before any model has scored."""
    started = {
        name: launch_app(home_with(warehouses[name], tmp_path_factory.mktemp(f"dashboards-{name}")))
        for name in ("full", "pre_ml")
    }
    try:
        yield {name: wait_ready(running) for name, running in started.items()}
    finally:
        for running in started.values():
            stop_app(running)


@pytest.fixture(scope="module")
def app(apps: dict[str, RunningApp]) -> RunningApp:
    return apps["full"]


@pytest.fixture(scope="module")
def context() -> Iterator[Any]:
    """One browser context for the module: Dash's bundles are fetched once and then cached."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = chromium.new_context(viewport={"width": 1400, "height": 1000})
        yield context
        context.close()
        chromium.close()


@pytest.fixture
def page(context: Any) -> Iterator[Any]:
    """A page that may load 127.0.0.1 only; ``page.outside`` lists whatever else it tried."""
    pg = context.new_page()
    outside: list[str] = []

    def guard(route: Any) -> None:
        url = route.request.url
        if url.startswith("http://127.0.0.1:"):
            route.continue_()
        else:
            outside.append(url)
            route.abort()

    pg.route("**/*", guard)
    pg.outside = outside
    yield pg
    pg.close()


def _kpi(page: Any, label: str) -> Any:
    return page.locator(
        "button.kpi", has=page.locator(".label", has_text=re.compile(f"^{re.escape(label)}$"))
    )


def _check_page(page: Any, key: str) -> None:
    for panel in PAGES[key].panels:
        box = page.locator(f"#{panel.id}-panel")
        box.locator("xpath=self::*[@data-state]").wait_for(timeout=SHOWN_MS)
        assert box.get_attribute("data-state") == "ok", (panel.id, box.inner_text())
        if panel.draw is None:
            assert box.locator("td").count() > 0, panel.id
            continue
        svg = box.locator("svg.main-svg").first
        svg.wait_for(timeout=SHOWN_MS)
        size = svg.bounding_box()
        assert size is not None and size["width"] > 300 and size["height"] > 200, (panel.id, size)
        drawn = box.locator("g.trace, g.barlayer path, g.scatterlayer path")
        assert drawn.count() > 0, f"{panel.id}: no bars or lines drawn"
    assert page.locator("button.kpi").count() >= 4, key


def test_every_chart_is_drawn_on_every_page(app: RunningApp, page: Any) -> None:
    """Opens History, then follows the navigation to Predictions and Live (the app's own links: the
    page is not reloaded, each route's callbacks query the warehouse again)."""
    page.goto(app.url, wait_until="load")
    _check_page(page, "history")
    for key in ("predictions", "live"):
        page.locator(f"#nav-{key}").click()
        page.wait_for_url(f"**{PAGES[key].path}")
        _check_page(page, key)
    page.goto(app.url.rstrip("/") + "/live", wait_until="load")  # a page opened by its address too
    _check_page(page, "live")
    assert page.outside == []


def _select(page: Any, dropdown_id: str, value: str) -> None:
    """Pick ``value`` by clicking its option once typing has filtered the menu down to it (Enter
    right after typing can pick whichever option was focused before the filter applied)."""
    page.locator(f"#{dropdown_id}").click()
    page.keyboard.type(value)
    page.get_by_role("option", name=value, exact=True).first.click(timeout=SHOWN_MS)
    page.keyboard.press("Escape")


def test_a_filter_changes_what_is_shown(app: RunningApp, page: Any) -> None:
    page.goto(app.url.rstrip("/") + "/predictions", wait_until="load")
    # the DataTable's header row sits in the same tbody; wait for the rows, not for the first cell
    rows = "document.querySelectorAll('#at-risk-panel tbody tr').length - 1"
    page.wait_for_function(f"() => {rows} === 8", timeout=SHOWN_MS)
    _select(page, "predictions-country", "FR")
    # a query and a redraw in the app's process: slower than a first draw on a loaded CI machine
    page.wait_for_function(f"() => {rows} === 4", timeout=3 * SHOWN_MS)
    assert set(page.locator("#at-risk-panel td[data-dash-column=country_code]").all_inner_texts()) == {"FR"}
    assert page.outside == []


def test_a_kpi_opens_the_rows_behind_it(app: RunningApp, page: Any) -> None:
    page.goto(app.url, wait_until="load")
    kpi = _kpi(page, "Orders, last day")
    kpi.wait_for(timeout=SHOWN_MS)
    kpi.click()
    drill = page.locator("#history-drill")
    drill.locator("td").first.wait_for(timeout=SHOWN_MS)
    assert "Orders, last day" in drill.locator("h2").inner_text()
    assert drill.locator("td[data-dash-column=order_date]").first.inner_text() == "2024-01-19"
    assert page.outside == []


def test_new_stream_rows_appear_on_the_live_page_without_a_restart(app: RunningApp, page: Any) -> None:
    page.goto(app.url.rstrip("/") + "/live", wait_until="load")
    newest = _kpi(page, "Newest hour").locator(".value")
    newest.wait_for(timeout=SHOWN_MS)
    assert newest.inner_text() == "07:00"
    with app.warehouse.connect() as con:  # the stream's next hour lands while the page is open
        write_stream(con, hours=(8,))
    page.wait_for_function(
        "() => [...document.querySelectorAll('button.kpi')].some(b => b.innerText.includes('08:00'))",
        timeout=SHOWN_MS,
    )
    assert _kpi(page, "Events streamed").locator(".value").inner_text() == "27"  # 18 + 9
    assert app.process.poll() is None
    assert page.outside == []


def test_empty_states_speak_to_a_user(apps: dict[str, RunningApp], page: Any) -> None:
    page.goto(apps["pre_ml"].url.rstrip("/") + "/predictions", wait_until="load")
    for panel in PAGES["predictions"].panels:
        box = page.locator(f"#{panel.id}-panel")
        box.locator("xpath=self::*[@data-state]").wait_for(timeout=SHOWN_MS)
        assert box.get_attribute("data-state") == "empty", panel.id
        text = box.locator(".empty-state").inner_text()
        assert text.startswith("No ") and "bi." not in text, text
        if panel.view in ("bi_churn_score_distribution", "bi_churn_top_at_risk", "bi_app_forecast_vs_actual"):
            assert "first trains after ~" in text and "rillflow backfill --days" in text, text
    assert page.outside == []
