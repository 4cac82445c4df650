"""A local Cloud Workflows: an interpreter of the Workflows YAML deployed to Google Cloud
(``runtime``), its standard library, ``http.*`` and connector dispatch, and an Executions
service speaking the real gRPC API (``service``, ``grpc_api``, ``client``)."""

from __future__ import annotations

from localgcp.services.workflows.connectors import ConnectorRegistry
from localgcp.services.workflows.errors import DefinitionError, WorkflowError
from localgcp.services.workflows.lang.parser import load_workflow, parse_workflow
from localgcp.services.workflows.lang.runtime import Execution, Limits

__all__ = [
    "ConnectorRegistry",
    "DefinitionError",
    "Execution",
    "Limits",
    "WorkflowError",
    "load_workflow",
    "parse_workflow",
]
