"""HTML building blocks: one self-contained page (inline CSS and SVG, no scripts, no external URLs)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from html import escape
from typing import Any

import pandas as pd

from dashboards.kpis import Kpi, money

CSS = """
:root { color-scheme: light; --ink: #1f2937; --muted: #6b7280; --line: #e5e7eb; --accent: #2563eb; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 "DejaVu Sans", system-ui, sans-serif; color: var(--ink); background: #f3f4f6; }
header { background: #111827; color: #f9fafb; padding: 14px 24px; display: flex; gap: 24px; align-items: baseline; }
header h1 { font-size: 20px; margin: 0; }
header nav a { color: #93c5fd; margin-right: 16px; text-decoration: none; }
header nav a[aria-current] { color: #fff; font-weight: bold; }
main { padding: 16px 24px 32px; max-width: 1400px; margin: 0 auto; }
.meta { color: var(--muted); font-size: 12px; margin: 0 0 12px; }
.kpis { display: grid; grid-template-columns: repeat(auto-fill, minmax(190px, 1fr)); gap: 12px; margin-bottom: 16px; }
.kpi { background: #fff; border: 1px solid var(--line); border-left: 4px solid var(--accent); border-radius: 6px; padding: 10px 12px; }
.kpi .label { color: var(--muted); font-size: 12px; }
.kpi .value { font-size: 22px; font-weight: bold; }
.kpi .note { color: var(--muted); font-size: 11px; }
.kpi.none { border-left-color: #d1d5db; }
.kpi.text .value { font-size: 15px; padding: 4px 0; overflow-wrap: anywhere; }
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(560px, 1fr)); gap: 16px; }
.panel { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 12px 14px; min-width: 0; }
.panel h2 { font-size: 15px; margin: 0 0 2px; }
.panel .view { color: var(--muted); font: 11px monospace; margin: 0 0 8px; }
.panel svg { display: block; width: 100%; height: auto; }
.empty-state code, td.wrap code { font-size: 12px; background: rgba(0, 0, 0, 0.06); padding: 0 3px; border-radius: 3px; }
.empty-state { border: 2px dashed #d1d5db; border-radius: 6px; padding: 28px 16px; color: #92400e;
  background: #fffbeb; text-align: center; min-height: 140px; display: flex; align-items: center; justify-content: center; }
.table-wrap { max-height: 460px; overflow: auto; }
table { border-collapse: collapse; width: 100%; font-size: 12px; }
th, td { padding: 4px 8px; border-bottom: 1px solid var(--line); text-align: left; white-space: nowrap; }
td.wrap { white-space: normal; min-width: 24em; }
th { position: sticky; top: 0; background: #f9fafb; white-space: normal; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.risk { display: inline-block; height: 8px; background: #ef4444; border-radius: 4px; vertical-align: middle; margin-right: 6px; }
ul.pages li { margin: 6px 0; }
"""

_BACKTICKED = re.compile(r"`([^`]+)`")
PAGES = (("index.html", "Overview"), ("history.html", "History"), ("predictions.html", "Predictions"))


def page(title: str, filename: str, body: str, generated: str) -> str:
    nav = " ".join(
        f'<a href="{href}"{" aria-current=page" if href == filename else ""}>{escape(label)}</a>'
        for href, label in PAGES
    )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>Rillflow – {escape(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
        f"<header><h1>Rillflow · {escape(title)}</h1><nav>{nav}</nav></header>\n"
        f'<main>\n<p class="meta">Built {escape(generated)} from the warehouse\'s <code>bi</code> views.</p>\n'
        f"{body}\n</main>\n</body>\n</html>\n"
    )


def kpi_strip(kpis: Sequence[Kpi]) -> str:
    if not kpis:
        return ""
    cards = "".join(
        f'<div class="kpi {k.unit}{" none" if k.display() == "–" else ""}" data-kpi="{escape(k.label)}">'
        f'<div class="label">{escape(k.label)}</div><div class="value">{escape(k.display())}</div>'
        f'<div class="note">{escape(k.note)}</div></div>'
        for k in kpis
    )
    return f'<section class="kpis" aria-label="Key figures">{cards}</section>'


def message(text: str) -> str:
    """Plain text as HTML, with `backticked` commands set as code."""
    return _BACKTICKED.sub(r"<code>\1</code>", escape(text))


def panel(view: str, title: str, content: str, empty: str | None = None) -> str:
    """A panel with ``data-chart=<view>``; ``empty`` (the reason) replaces the content when set."""
    state = "empty" if empty is not None else "ok"
    inner = f'<div class="empty-state" role="status">{message(empty)}</div>' if empty is not None else content
    return (
        f'<section class="panel" data-chart="{escape(view)}" data-state="{state}">'
        f'<h2>{escape(title)}</h2><p class="view">bi.{escape(view)}</p>{inner}</section>'
    )


def grid(panels: Iterable[str]) -> str:
    return f'<div class="grid">{"".join(panels)}</div>'


def _cell(value: Any, kind: str) -> str:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return '<td class="num">–</td>' if kind != "text" else "<td>–</td>"
    if kind == "score":
        width = int(float(value) * 60)
        return f'<td class="num"><span class="risk" style="width:{width}px"></span>{float(value):.3f}</td>'
    if kind == "usd":
        return f'<td class="num">{money(float(value))}</td>'
    if kind == "date":
        return f"<td>{pd.Timestamp(value).date().isoformat()}</td>"
    return f"<td>{escape(str(value))}</td>"


def table(df: pd.DataFrame, columns: Sequence[tuple[str, str, str]]) -> str:
    """``columns``: (column, header, kind) with kind in text, score, usd, date."""
    head = "".join(
        f"<th{' class=num' if kind in ('score', 'usd') else ''}>{escape(header)}</th>"
        for _c, header, kind in columns
    )
    rows = "".join(
        "<tr>" + "".join(_cell(row[c], kind) for c, _h, kind in columns) + "</tr>"
        for _i, row in df.iterrows()
    )
    return f'<div class="table-wrap"><table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table></div>'
