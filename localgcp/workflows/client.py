"""How code reaches the local Workflows service with Google's own client library."""

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
