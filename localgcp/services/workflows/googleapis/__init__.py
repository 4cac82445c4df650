"""Workflows connectors (``googleapis.*`` calls) served by the local services through their
official clients: Firestore, Pub/Sub and Vertex AI Pipelines. Connectors to APIs localgcp does not
serve are registered by whoever starts the service (Rillflow's harness: ``harness.connectors``)."""

from __future__ import annotations

from localgcp.services.workflows.connectors import ConnectorRegistry
from localgcp.services.workflows.googleapis import aiplatform, firestore, pubsub


def register(registry: ConnectorRegistry) -> ConnectorRegistry:
    """Register the connector methods this package serves. Each finds its service through the
    variable its client reads (``FIRESTORE_EMULATOR_HOST``, ``PUBSUB_EMULATOR_HOST``,
    ``AIPLATFORM_EMULATOR_HOST``) when it is called: they are registered whether or not it is set."""
    registry.register(f"{firestore.PREFIX}.patch", firestore.patch)
    registry.register(f"{firestore.PREFIX}.get", firestore.get)
    registry.register(f"{pubsub.PREFIX}.publish", pubsub.publish)
    registry.register(f"{aiplatform.PREFIX}.create", aiplatform.create)
    registry.register(f"{aiplatform.PREFIX}.get", aiplatform.get)
    registry.register(f"{aiplatform.PREFIX}.cancel", aiplatform.cancel)
    registry.register(f"{aiplatform.PREFIX}.list", aiplatform.list_jobs)
    return registry
