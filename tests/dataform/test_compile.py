"""The real Dataform CLI compiles the project: no graph errors, every layer present, vars honoured."""

from __future__ import annotations

from typing import Any

import yaml

from localgcp.dataform import parse_graph, select
from tests.dataform.conftest import PROJECT_DIR


def test_workflow_settings_use_placeholder_project_and_cli_core_line() -> None:
    settings = yaml.safe_load((PROJECT_DIR / "workflow_settings.yaml").read_text())
    assert settings["defaultProject"] == "rillflow-placeholder"
    assert {"defaultLocation", "defaultDataset", "defaultAssertionDataset"} <= settings.keys()
    assert settings["dataformCoreVersion"].startswith("3.0.")
    assert "lake_bucket" in settings["vars"]


def test_compile_has_no_graph_errors_and_every_layer(compiled: dict[str, Any]) -> None:
    assert not any((compiled.get("graphErrors") or {}).values())
    graph = parse_graph(compiled)
    by_schema: dict[str, set[str]] = {}
    for target in graph.actions:
        by_schema.setdefault(target.schema, set()).add(target.name)
    assert {"sales_lines", "clickstream_events", "startups", "app_events"} <= by_schema["bronze"]
    assert "app_events_hourly" in by_schema["streaming"]
    assert {"dim_date", "dim_customer", "dim_product", "dim_country", "dim_startup"} <= by_schema["marts"]
    assert {"fct_sales", "fct_clickstream_sessions", "fct_app_events_hourly"} <= by_schema["marts"]
    assert {
        "ml_churn_features",
        "ml_app_activity_series",
        "ml_churn_scores",
        "ml_app_forecasts",
    } <= by_schema["ml"]
    assert len(by_schema["bi"]) >= 7
    kinds = {t.name: a.kind for t, a in graph.actions.items()}
    assert (
        kinds["fct_sales"]
        == kinds["fct_app_events_hourly"]
        == kinds["fct_clickstream_sessions"]
        == "incremental"
    )
    assert kinds["stg_sales__order_lines"] == "view"
    assert graph.find("fct_sales").unique_key == ("order_id", "line_no")


def test_project_id_and_lake_bucket_are_compile_time_inputs(compiled: dict[str, Any]) -> None:
    graph = parse_graph(compiled)
    assert graph.default_database == "rillflow-local"  # settings.project, not the placeholder
    sources = graph.find("bronze.sales_lines").query
    assert 'uris = ["gs://rillflow-lake/bronze/sales/*"]' in sources


def test_tags_select_subsets_with_their_assertions(compiled: dict[str, Any]) -> None:
    graph = parse_graph(compiled)
    daily = {a.name for a in select(graph, tags=["daily"])}
    assert "marts.fct_sales" in daily and "ml.ml_churn_features" not in daily
    assert "dataform_assertions.marts_fct_sales_assertions_uniqueKey_0" in daily
    ml = {a.name for a in select(graph, tags=["ml"])}
    assert "ml.ml_churn_features" in ml and "marts.fct_sales" not in ml
    with_deps = [a.name for a in select(graph, actions=["fct_sales"], include_dependencies=True)]
    assert with_deps.index("bronze.sales_lines") < with_deps.index("marts.fct_sales")
