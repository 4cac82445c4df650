"""Local providers for the Workflows connectors the project's YAML calls whose APIs localgcp does
not serve itself: Dataform (the Dataform-on-DuckDB runner) and Dataflow (the streaming job in a
child process).

Each module turns a ``googleapis.<api>...`` connector call into the same work the real API does
and answers in the real API's response shape. ``register_all`` wires them, and localgcp's own
connectors (Firestore, Pub/Sub, and Vertex AI Pipelines, served by localgcp's Vertex AI), into a
Workflows :class:`ConnectorRegistry`.
"""

from __future__ import annotations

from harness.connectors.dataflow import PREFIX as DATAFLOW
from harness.connectors.dataflow import LocalDataflow
from harness.connectors.dataform import PREFIX as DATAFORM
from harness.connectors.dataform import LocalDataform
from localgcp.services.workflows import googleapis
from localgcp.services.workflows.connectors import ConnectorRegistry
from rillflow.settings import Settings


def register_all(
    registry: ConnectorRegistry, settings: Settings, dataflow: LocalDataflow | None = None
) -> ConnectorRegistry:
    """Register every local connector provider the project's workflows use."""
    googleapis.register(registry)
    dataform = LocalDataform(settings)
    registry.register(f"{DATAFORM}.compilationResults.create", dataform.create_compilation)
    registry.register(f"{DATAFORM}.workflowInvocations.create", dataform.create_invocation)
    registry.register(f"{DATAFORM}.workflowInvocations.get", dataform.get_invocation)
    jobs_api = dataflow or LocalDataflow()
    registry.register(f"{DATAFLOW}.jobs.list", jobs_api.list_jobs)
    registry.register(f"{DATAFLOW}.flexTemplates.launch", jobs_api.launch)
    return registry
