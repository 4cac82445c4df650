"""The dashboard app: one Dash (Flask/WSGI) app with the History, Predictions and Live pages.

``create_app(warehouse)`` builds it over any ``rillflow.warehouse.Warehouse``; every callback
queries the ``bi`` views at request time through it (:mod:`dashboards.pages`), so a page shows
what the warehouse holds when it is loaded, and the Live page re-queries every few seconds.
Locally ``rillflow dashboards serve`` runs it on 127.0.0.1 over the DuckDB warehouse; in the
cloud gunicorn serves :mod:`dashboards.wsgi` over BigQuery. Dash serves its JavaScript from the
installed package (``serve_locally``), so a browser fetches nothing beyond the app itself.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import dash
from dash import ALL, Input, Output, State, ctx, dcc, html
from dash.dash_table.DataTable import DataTable

from dashboards import pages, queries
from dashboards.filters import DEFAULT_HISTORY_DAYS, DEFAULT_LIVE_WINDOW, LIVE_WINDOWS, from_inputs
from dashboards.kpis import Kpi
from dashboards.style import CSS

#: how often the Live page re-queries the warehouse
LIVE_REFRESH_MS = 5_000
#: the inputs of each page's callbacks, in order (start, end, countries, platforms, channels, hours)
FILTER_PARTS = ("dates", "country", "platform", "channel", "hours")

INDEX = (
    """<!DOCTYPE html>
<html lang="en">
  <head>
    {%metas%}
    <title>{%title%}</title>
    <style>"""
    + CSS
    + """</style>
    {%css%}
  </head>
  <body>
    {%app_entry%}
    <footer>{%config%}{%scripts%}{%renderer%}</footer>
  </body>
</html>"""
)


def _nav(active: str) -> html.Header:
    links = [
        dcc.Link(p.title, href=p.path, className="active" if p.key == active else "", id=f"nav-{p.key}")
        for p in pages.PAGES.values()
    ]
    return html.Header([html.H1("Rillflow dashboards"), html.Nav(links)])


def _dropdown(page: str, part: str, label: str, options: list[str]) -> html.Div:
    return html.Div(
        [
            html.Label(label, htmlFor=f"{page}-{part}"),
            dcc.Dropdown(
                id=f"{page}-{part}", options=options, multi=True, placeholder=f"all {label.lower()}"
            ),
        ],
        className="filter",
    )


def _filters(page: pages.Page, warehouse: Any) -> list[Any]:
    found = pages.choices(page, warehouse)
    items: list[Any] = []
    if "dates" in page.filters:
        first, last = _bounds(warehouse)
        start = max(first, last - dt.timedelta(days=DEFAULT_HISTORY_DAYS - 1)) if first and last else None
        items.append(
            html.Div(
                [
                    html.Label("Date range (UTC days)", htmlFor=f"{page.key}-dates"),
                    dcc.DatePickerRange(
                        id=f"{page.key}-dates",
                        min_date_allowed=_iso(first),
                        max_date_allowed=_iso(last),
                        start_date=_iso(start),
                        end_date=_iso(last),
                        display_format="YYYY-MM-DD",
                    ),
                ],
                className="filter",
            )
        )
    if "hours" in page.filters:
        items.append(
            html.Div(
                [
                    html.Label("Window", htmlFor=f"{page.key}-hours"),
                    dcc.RadioItems(
                        id=f"{page.key}-hours",
                        options=[{"label": f"last {h} h", "value": h} for h in LIVE_WINDOWS],
                        value=DEFAULT_LIVE_WINDOW,
                        inline=True,
                    ),
                ],
                className="filter",
            )
        )
    labels = {"country": "Countries", "platform": "Platforms", "channel": "Channels"}
    for part in ("country", "platform", "channel"):
        if part in page.filters:
            items.append(_dropdown(page.key, part, labels[part], found.get(part, [])))
    return items


def _iso(day: dt.date | None) -> str | None:
    return day.isoformat() if day is not None else None


def _bounds(warehouse: Any) -> tuple[dt.date | None, dt.date | None]:
    try:
        first, last = queries.revenue_date_bounds(warehouse)
    except Exception:  # no view yet: the picker is open-ended and the panels say why they are empty
        return None, None
    return (first.date() if first is not None else None, last.date() if last is not None else None)


HIDDEN = {"display": "none"}
SHOWN: dict[str, str] = {}


def _panel_box(page: pages.Page, panel: pages.Panel) -> html.Div:
    """A panel's fixed parts: the chart (or table holder) and the empty state, one of them shown.

    The chart is one ``dcc.Graph`` for the page's life and each refresh replaces only its figure,
    so Plotly redraws in place (no blank frame every 5 s on the Live page, the zoom kept)."""
    if panel.draw is not None:
        body: Any = dcc.Graph(id=f"{panel.id}-graph", config={"displaylogo": False}, style=HIDDEN)
    else:
        body = html.Div(id=f"{panel.id}-table", style=HIDDEN)
    attributes: dict[str, Any] = {"data-panel": panel.view}  # the tests find panels by their view
    return html.Div(
        [
            html.H2(pages.VIEWS[panel.view].title, id=f"{panel.id}-title", style=HIDDEN),
            body,
            html.Div(id=f"{panel.id}-empty", className="empty-state", style=HIDDEN),
        ],
        id=f"{panel.id}-panel",
        className="panel",
        **attributes,
    )


def panel_outputs(panel: pages.Panel) -> list[Output]:
    """What a page callback sets on one panel, in :func:`panel_values` order."""
    body = (f"{panel.id}-graph", "figure") if panel.draw is not None else (f"{panel.id}-table", "children")
    return [
        Output(*body),
        Output(body[0], "style"),
        Output(f"{panel.id}-title", "style"),
        Output(f"{panel.id}-empty", "children"),
        Output(f"{panel.id}-empty", "style"),
        Output(f"{panel.id}-panel", "data-state"),
    ]


def panel_values(shown: pages.Shown) -> list[Any]:
    """The values of :func:`panel_outputs`: the chart or table, or the empty state's sentence."""
    if shown.problem is not None:
        body: Any = dash.no_update if shown.panel.draw is not None else []
        return [body, HIDDEN, SHOWN, shown.problem, SHOWN, "empty"]
    if shown.figure is not None:  # the figure carries its own title
        return [shown.figure, SHOWN, HIDDEN, "", HIDDEN, "ok"]
    assert shown.frame is not None
    return [table(shown.frame, shown.panel.columns or None), SHOWN, SHOWN, "", HIDDEN, "ok"]


def layout_of(page: pages.Page, warehouse: Any) -> html.Div:
    """A page's static frame: filters (with today's choices), and the containers its callback fills."""
    body: list[Any] = [
        html.P(page.blurb, className="blurb"),
        html.Div(_filters(page, warehouse), className="filters"),
        html.Div(id=f"{page.key}-kpis", className="kpis"),
        html.Div([_panel_box(page, p) for p in page.panels], className="grid"),
        html.Div(id=f"{page.key}-drill", className="drill", style={"display": "none"}),
    ]
    if page.key == "live":
        body.insert(1, html.P(id="live-updated", className="updated"))
        body.append(dcc.Interval(id="live-tick", interval=LIVE_REFRESH_MS, n_intervals=0))
    return html.Div([_nav(page.key), html.Main(body)], id=f"page-{page.key}")


def kpi_card(page: str, kpi: Kpi) -> html.Button:
    """A KPI; clicking one whose rows can be listed shows them below the charts."""
    return html.Button(
        [
            html.Div(kpi.label, className="label"),
            html.Div(kpi.display(), className="value"),
            html.Div(kpi.note, className="note"),
        ],
        id={"type": "kpi", "page": page, "drill": kpi.drill or "", "label": kpi.label},
        className="kpi",
        n_clicks=0,
        disabled=kpi.drill is None,
        title="show the rows behind this number" if kpi.drill else "",
    )


def table(rows: Any, columns: tuple[tuple[str, str], ...] | None = None, page_size: int = 15) -> DataTable:
    names = columns or tuple((c, c.replace("_", " ").capitalize()) for c in rows.columns)
    return DataTable(
        data=pages.display_rows(rows[[c for c, _ in names]]),  # type: ignore[arg-type]  # JSON-able cells
        columns=[{"name": header, "id": column} for column, header in names],
        page_size=page_size,
        sort_action="native",
        style_table={"overflowX": "auto"},
        style_cell={"fontFamily": "inherit", "fontSize": 13, "padding": "4px 8px", "textAlign": "left"},
        style_header={"fontWeight": "bold"},
    )


def _filters_in(page: pages.Page) -> list[Any]:
    """The callback inputs of ``page``'s filters, in :data:`FILTER_PARTS` order (absent ones skipped)."""
    inputs: list[Any] = []
    for part in FILTER_PARTS:
        if part not in page.filters:
            continue
        if part == "dates":
            inputs += [Input(f"{page.key}-dates", "start_date"), Input(f"{page.key}-dates", "end_date")]
        else:
            inputs.append(Input(f"{page.key}-{part}", "value"))
    return inputs


def _filters_of(page: pages.Page, values: tuple[Any, ...]) -> Any:
    given = list(values)
    kwargs: dict[str, Any] = {}
    for part in FILTER_PARTS:
        if part not in page.filters:
            continue
        if part == "dates":
            kwargs["start"], kwargs["end"] = given.pop(0), given.pop(0)
        else:
            key = {"country": "countries", "platform": "platforms", "channel": "channels", "hours": "hours"}[
                part
            ]
            kwargs[key] = given.pop(0)
    return from_inputs(**kwargs)


def _register_page(app: dash.Dash, page: pages.Page, warehouse: Any, hints: dict[str, str] | None) -> None:
    outputs = [Output(f"{page.key}-kpis", "children")]
    for panel in page.panels:
        outputs += panel_outputs(panel)
    inputs = _filters_in(page)
    if page.key == "live":
        outputs.append(Output("live-updated", "children"))
        inputs.append(Input("live-tick", "n_intervals"))

    def update(*values: Any) -> list[Any]:
        f = _filters_of(page, values[: len(_filters_in(page))])
        found, shown = pages.render(page, warehouse, f, hints)
        result: list[Any] = [[kpi_card(page.key, k) for k in found]]
        for s in shown:
            result += panel_values(s)
        if page.key == "live":
            result.append(
                f"Queried at {dt.datetime.now(dt.UTC):%H:%M:%S} UTC; refreshes every {LIVE_REFRESH_MS // 1000} s."
            )
        return result

    app.callback(outputs, inputs)(update)

    states = [State(i.component_id, i.component_property) for i in _filters_in(page)]

    def show_rows(clicks: list[int | None], *values: Any) -> tuple[list[Any], dict[str, str]]:
        trigger = ctx.triggered_id
        if not isinstance(trigger, dict) or not any(clicks) or not trigger.get("drill"):
            return [], {"display": "none"}
        f = _filters_of(page, values)
        spec, rows, problem = pages.drill(str(trigger["drill"]), warehouse, f, hints)
        heading = html.H2(f"{trigger['label']}: {spec.title}")
        if rows is None or problem:
            content: Any = html.Div(problem, className="empty-state")
        else:
            content = table(rows)
        return [heading, content], {"display": "block"}

    app.callback(
        [Output(f"{page.key}-drill", "children"), Output(f"{page.key}-drill", "style")],
        [Input({"type": "kpi", "page": page.key, "drill": ALL, "label": ALL}, "n_clicks"), *states],
        prevent_initial_call=True,
    )(show_rows)


def create_app(warehouse: Any, hints: dict[str, str] | None = None) -> dash.Dash:
    """The app over ``warehouse`` (queried per request); ``hints`` replace views' empty-state texts."""
    app = dash.Dash(
        __name__,
        title="Rillflow dashboards",
        update_title=None,  # type: ignore[arg-type]  # None: the tab title stays while callbacks run
        serve_locally=True,
        assets_folder="__no_assets__",  # the stylesheet is inlined: no folder to ship or to serve
        suppress_callback_exceptions=True,  # the pages' components appear when their route is shown
        compress=False,
    )
    app.index_string = INDEX
    app.layout = html.Div([dcc.Location(id="url"), html.Div(id="page")])

    @app.callback(Output("page", "children"), Input("url", "pathname"))
    def route(pathname: str | None) -> Any:
        for page in pages.PAGES.values():
            if pathname == page.path:
                return layout_of(page, warehouse)
        return layout_of(pages.HISTORY, warehouse)

    for page in pages.PAGES.values():
        _register_page(app, page, warehouse, hints)

    @app.server.route("/healthz")
    def health() -> tuple[str, int]:
        return "ok", 200

    return app
