"""Deploy a registered model version to a Vertex AI endpoint (Google's, or the local Vertex AI API
of ``localgcp`` when ``AIPLATFORM_EMULATOR_HOST`` is set: ``rillflow.vertex_client``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class DeploySpec:
    machine_type: str = "n1-standard-2"
    min_replica_count: int = 1
    max_replica_count: int = 2
    accelerator_type: str | None = None  # e.g. "NVIDIA_TESLA_T4"
    accelerator_count: int = 0
    traffic_percentage: int = 100


def deploy_model(
    project: str,
    location: str,
    model_resource_name: str,
    endpoint_display_name: str,
    spec: DeploySpec | None = None,
) -> Any:
    """Deploy ``model_resource_name`` (``projects/…/models/ID@alias|version``) onto the named endpoint.

    The endpoint is created when absent; the deployed model takes ``traffic_percentage`` of traffic.
    """
    from google.cloud import aiplatform

    spec = spec or DeploySpec()
    from rillflow.vertex_client import init_vertex

    init_vertex(project, location)
    endpoints = aiplatform.Endpoint.list(filter=f'display_name="{endpoint_display_name}"')
    endpoint = endpoints[0] if endpoints else aiplatform.Endpoint.create(display_name=endpoint_display_name)
    model = aiplatform.Model(model_name=model_resource_name)
    model.deploy(
        endpoint=endpoint,
        machine_type=spec.machine_type,
        min_replica_count=spec.min_replica_count,
        max_replica_count=spec.max_replica_count,
        traffic_percentage=spec.traffic_percentage,
        sync=True,
        accelerator_type=spec.accelerator_type,
        accelerator_count=spec.accelerator_count if spec.accelerator_type else 0,
    )
    return endpoint
