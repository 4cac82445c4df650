"""A local Cloud Workflows: an interpreter of the Workflows YAML deployed to Google Cloud
(``runtime``), its standard library, ``http.*`` and connector dispatch, and an Executions
service speaking the real gRPC API (``service``, ``grpc_api``, ``client``)."""

from __future__ import annotations

from localgcp.workflows.connectors import ConnectorRegistry
from localgcp.workflows.errors import DefinitionError, WorkflowError
from localgcp.workflows.parser import load_workflow, parse_workflow
from localgcp.workflows.runtime import Execution, Limits

__all__ = [
    "ConnectorRegistry",
    "DefinitionError",
    "Execution",
    "Limits",
    "WorkflowError",
    "load_workflow",
    "parse_workflow",
]
