"""The ``columns:`` docs of the marts and bi models match the columns those models really build.

Dataform writes each ``columns: { name: "description" }`` entry into BigQuery's column
descriptions; these tests keep the docs true: every output column documented, no documented column
that does not exist, no empty description. The documented columns come from the real CLI's compiled
graph (``actionDescriptor.columns``), the real ones from the DuckDB warehouse the runner builds.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness.dataform import RunResult
from tests.dataform.lake import (
    app_event,
    click,
    sale,
    startup,
    write_app_events,
    write_clickstream,
    write_sales,
    write_startups,
)

Query = Callable[[str], list[dict[str, Any]]]

#: the folders whose table/view/incremental models must document every column (not assertions)
DOCUMENTED_FOLDERS = ("definitions/marts/", "definitions/bi/")


def documented_models(compiled: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """``dataset.name`` -> the compiled table action, for every model in DOCUMENTED_FOLDERS."""
    return {
        f"{t['target']['schema']}.{t['target']['name']}": t
        for t in compiled.get("tables", ())
        if str(t.get("fileName", "")).startswith(DOCUMENTED_FOLDERS)
    }


def column_docs(action: dict[str, Any]) -> list[tuple[str, str]]:
    """(column, description) pairs of ``actionDescriptor.columns``; a nested path is joined by '.'."""
    columns = (action.get("actionDescriptor") or {}).get("columns") or []
    return [(".".join(c.get("path", ())), str(c.get("description") or "")) for c in columns]


def doc_problems(documented: list[tuple[str, str]], actual: list[str]) -> list[str]:
    """What is wrong with ``documented`` for a model whose output columns are ``actual``."""
    names = [name for name, _ in documented]
    problems = [f"undocumented column {c!r}" for c in actual if c not in names]
    problems += [f"documented column {c!r} does not exist" for c in names if c not in actual]
    problems += [f"empty description for {c!r}" for c, text in documented if not text.strip()]
    problems += [f"{c!r} documented twice" for c in sorted({c for c in names if names.count(c) > 1})]
    return problems


def test_doc_problems_reports_each_kind_of_drift() -> None:
    assert doc_problems([("a", "A"), ("b", "B")], ["a", "b"]) == []
    assert doc_problems([("a", "A"), ("gone", "G"), ("a", "again"), ("b", " ")], ["a", "b", "new"]) == [
        "undocumented column 'new'",
        "documented column 'gone' does not exist",
        "empty description for 'b'",
        "'a' documented twice",
    ]


def test_every_marts_and_bi_model_has_docs(compiled: dict[str, Any]) -> None:
    models = documented_models(compiled)
    assert {name.split(".")[0] for name in models} == {"marts", "bi"}, sorted(models)
    undocumented = [
        name
        for name, action in sorted(models.items())
        if not str((action.get("actionDescriptor") or {}).get("description") or "").strip()
        or not column_docs(action)
    ]
    assert undocumented == [], f"models without a description or a columns block: {undocumented}"


def _one_of_every_flow(lake: Path) -> None:
    """A little of every bronze flow, so that every marts and bi model builds."""
    write_sales(
        lake,
        "2024-01-08",
        [
            sale("o1", 1, "2024-01-08T10:00:00", "c1", quantity=2, discount=1.0),
            sale("o1", 2, "2024-01-08T10:00:00", "c1", product_id="p-2", product_name="Mug"),
            sale("o2", 1, "2024-01-08T12:00:00", "c2", status="refunded", currency="USD", fx_rate_to_usd=1.0),
        ],
    )
    write_sales(lake, "2024-01-09", [sale("o3", 1, "2024-01-09T09:00:00", "c1", channel="store")])
    write_clickstream(
        lake,
        "2024-01-08",
        [
            click("e1", "2024-01-08T10:00:00Z", "a1", customer_id="c1"),
            click("e2", "2024-01-08T10:01:00Z", "a1", "product_view", customer_id="c1"),
            click("e3", "2024-01-08T10:02:00Z", "a1", "purchase", customer_id="c1"),
        ],
    )
    write_app_events(
        lake,
        "2024-01-08",
        10,
        [
            app_event("ae-1", "2024-01-08T10:05:00", event_type="install"),
            app_event(
                "ae-2",
                "2024-01-08T10:30:00",
                event_type="purchase",
                price=2.5,
                currency="USD",
                revenue_usd=2.5,
            ),
        ],
    )
    write_startups(lake, "full", "2024-01-01", [startup("s1", "2023-12-31T00:00:00Z")])


def test_documented_columns_are_the_built_columns(
    compiled: dict[str, Any], lake: Path, run_dataform: Callable[..., RunResult], query: Query
) -> None:
    models = documented_models(compiled)
    _one_of_every_flow(lake)
    result = run_dataform(check=False, actions=sorted(models), include_dependencies=True)
    not_built = {
        name: result.action(name).error for name in models if result.action(name).status != "success"
    }
    assert not not_built, f"models that did not build: {not_built}"
    built: dict[str, list[str]] = {}
    for row in query(
        "SELECT table_schema, table_name, column_name FROM information_schema.columns "
        "WHERE table_catalog = current_database() AND table_schema IN ('marts', 'bi') "
        "ORDER BY table_schema, table_name, ordinal_position"
    ):
        built.setdefault(f"{row['table_schema']}.{row['table_name']}", []).append(row["column_name"])
    problems = [
        f"{name} ({models[name]['fileName']}): {problem}"
        for name in sorted(models)
        for problem in doc_problems(column_docs(models[name]), built.get(name, []))
    ]
    assert not problems, "column docs out of date:\n" + "\n".join(problems)
