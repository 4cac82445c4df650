"""Local providers for the Workflows connectors the project's YAML calls.

Each module turns a ``googleapis.<api>...`` connector call into the same work the real API
does, against the local services, and answers in the real API's response shape.
``register_all`` wires them into a Workflows :class:`ConnectorRegistry`.
"""

from __future__ import annotations

from localgcp.connectors import firestore, pubsub
from localgcp.connectors.aiplatform import PREFIX as AIPLATFORM
from localgcp.connectors.aiplatform import LocalPipelineJobs
from localgcp.connectors.dataflow import PREFIX as DATAFLOW
from localgcp.connectors.dataflow import LocalDataflow
from localgcp.connectors.dataform import PREFIX as DATAFORM
from localgcp.connectors.dataform import LocalDataform
from localgcp.workflows.connectors import ConnectorRegistry
from rillflow.settings import Settings


def register_all(
    registry: ConnectorRegistry, settings: Settings, dataflow: LocalDataflow | None = None
) -> ConnectorRegistry:
    """Register every local connector provider the project's workflows use."""
    registry.register(f"{firestore.PREFIX}.patch", firestore.patch)
    registry.register(f"{firestore.PREFIX}.get", firestore.get)
    registry.register(f"{pubsub.PREFIX}.publish", pubsub.publish)
    dataform = LocalDataform(settings)
    registry.register(f"{DATAFORM}.compilationResults.create", dataform.create_compilation)
    registry.register(f"{DATAFORM}.workflowInvocations.create", dataform.create_invocation)
    registry.register(f"{DATAFORM}.workflowInvocations.get", dataform.get_invocation)
    jobs = LocalPipelineJobs()
    registry.register(f"{AIPLATFORM}.create", jobs.create)
    registry.register(f"{AIPLATFORM}.get", jobs.get)
    jobs_api = dataflow or LocalDataflow()
    registry.register(f"{DATAFLOW}.jobs.list", jobs_api.list_jobs)
    registry.register(f"{DATAFLOW}.flexTemplates.launch", jobs_api.launch)
    return registry
