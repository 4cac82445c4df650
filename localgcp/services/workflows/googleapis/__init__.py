"""Workflows connectors (``googleapis.*`` calls) served by the local Firestore and Pub/Sub services
through their official clients. Connectors to APIs localgcp does not serve are registered by
whoever starts the service (Rillflow's harness: ``harness.connectors``)."""

from __future__ import annotations

from localgcp.services.workflows.connectors import ConnectorRegistry
from localgcp.services.workflows.googleapis import firestore, pubsub


def register(registry: ConnectorRegistry) -> ConnectorRegistry:
    """Register the Firestore and Pub/Sub connector methods this package serves."""
    registry.register(f"{firestore.PREFIX}.patch", firestore.patch)
    registry.register(f"{firestore.PREFIX}.get", firestore.get)
    registry.register(f"{pubsub.PREFIX}.publish", pubsub.publish)
    return registry
