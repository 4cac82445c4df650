"""The Workflows Executions client: Google's own, pointed at the local service when an address is set.

Shared by the functions (which start the daily pipeline), the CLI and the tests; the functions
are deployed without ``localgcp``, so it lives here."""

from __future__ import annotations

import grpc
from google.api_core.client_options import ClientOptions
from google.auth.credentials import AnonymousCredentials
from google.cloud.workflows.executions_v1 import ExecutionsClient
from google.cloud.workflows.executions_v1.services.executions.transports import ExecutionsGrpcTransport


def executions_client(address: str) -> ExecutionsClient:
    """An unmodified ``ExecutionsClient`` talking plain gRPC to ``address`` (``host:port``).

    The client library only ships secure gRPC transports; handing it a transport built on an
    insecure channel is the supported way to point it at a local endpoint.
    """
    channel = grpc.insecure_channel(address)
    transport = ExecutionsGrpcTransport(host=address, channel=channel, credentials=AnonymousCredentials())
    return ExecutionsClient(client_options=ClientOptions(api_endpoint=address), transport=transport)


def default_executions_client(address: str = "") -> ExecutionsClient:
    """The cloud client (default credentials), or the local service's when ``address`` is given."""
    return executions_client(address) if address else ExecutionsClient()
