"""The real Dataform CLI compiles the project: no graph errors, every layer present, vars honoured."""

from __future__ import annotations

from typing import Any

import yaml

from harness.dataform import compile_project, parse_graph, select
from tests.support.dataform import PROJECT_DIR


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


def test_external_tables_read_the_lake_through_the_biglake_connection_when_given() -> None:
    """In the cloud the Dataform identity cannot read the lake; the BigLake connection terraform
    creates can, so every external table names it (locally the var is empty and no clause is
    written, since DuckDB reads the files directly)."""
    connection = "proj.europe-west1.rillflow_lake"
    cloud = compile_project(PROJECT_DIR, {"lake_bucket": "b", "lake_connection": connection}, "proj")
    local = compile_project(PROJECT_DIR, {"lake_bucket": "b"}, "proj")

    def external(graph: dict[str, Any]) -> dict[str, str]:
        actions = graph.get("operations", []) + graph.get("tables", [])
        texts = {a["target"]["name"]: " ".join(a.get("queries", [])) + a.get("query", "") for a in actions}
        return {name: sql for name, sql in texts.items() if "CREATE EXTERNAL TABLE" in sql.upper()}

    assert len(external(cloud)) == 4
    assert all(f"WITH CONNECTION `{connection}`" in sql for sql in external(cloud).values())
    assert external(local) and not any("WITH CONNECTION" in sql for sql in external(local).values())
