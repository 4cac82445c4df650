"""Deploy registered model versions to a Vertex AI endpoint (Google's, or the local Vertex AI API
of ``localgcp`` when ``AIPLATFORM_EMULATOR_HOST`` is set: ``rillflow.vertex_client``).

:func:`deploy_champion` is what the forecasting pipeline runs after the champion changes: the
``champion`` version on the endpoint with dedicated resources (:class:`DeploySpec`, from the
settings that terraform's ``forecast_endpoint_*`` variables feed in the cloud), optionally a
``challenger`` version with a share of the traffic, and every other deployed model undeployed.
It is idempotent: a version already deployed with the same resources is kept as it is.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from ml.registry.base import CHAMPION

CHALLENGER = "challenger"


@dataclass(frozen=True)
class DeploySpec:
    machine_type: str = "n1-standard-2"
    min_replica_count: int = 1
    max_replica_count: int = 2
    accelerator_type: str | None = None  # e.g. "NVIDIA_TESLA_T4"
    accelerator_count: int = 0
    traffic_percentage: int = 100

    @classmethod
    def from_settings(cls, settings: Any) -> DeploySpec:
        """The forecasting endpoint's resources (``Settings.forecast_endpoint_*``)."""
        return cls(
            machine_type=settings.forecast_endpoint_machine_type,
            min_replica_count=settings.forecast_endpoint_min_replicas,
            max_replica_count=settings.forecast_endpoint_max_replicas,
            accelerator_type=settings.forecast_endpoint_accelerator_type or None,
            accelerator_count=settings.forecast_endpoint_accelerator_count,
        )

    def matches(self, deployed: Any) -> bool:
        """Whether a ``DeployedModel`` runs with these dedicated resources."""
        resources = deployed.dedicated_resources
        spec = resources.machine_spec
        accelerator = spec.accelerator_type.name if spec.accelerator_count else None
        return (
            spec.machine_type == self.machine_type
            and accelerator == (self.accelerator_type if self.accelerator_count else None)
            and spec.accelerator_count == (self.accelerator_count if self.accelerator_type else 0)
            and resources.min_replica_count == self.min_replica_count
            and resources.max_replica_count == self.max_replica_count
        )


def endpoint_named(display_name: str) -> Any:
    """The endpoint with this display name, created when absent (terraform creates it in the cloud)."""
    from google.cloud import aiplatform

    found = aiplatform.Endpoint.list(filter=f'display_name="{display_name}"', order_by="create_time")
    return found[0] if found else aiplatform.Endpoint.create(display_name=display_name)


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
    endpoint = endpoint_named(endpoint_display_name)
    model = aiplatform.Model(model_name=model_resource_name)
    _deploy(model, endpoint, spec, spec.traffic_percentage)
    return endpoint


def _deploy(model: Any, endpoint: Any, spec: DeploySpec, traffic: int) -> None:
    model.deploy(
        endpoint=endpoint,
        machine_type=spec.machine_type,
        min_replica_count=spec.min_replica_count,
        max_replica_count=spec.max_replica_count,
        traffic_percentage=traffic,
        sync=True,
        accelerator_type=spec.accelerator_type if spec.accelerator_count else None,
        accelerator_count=spec.accelerator_count if spec.accelerator_type else 0,
    )


def deploy_champion(
    project: str,
    location: str,
    model_name: str,
    endpoint_display_name: str,
    spec: DeploySpec,
    challenger_traffic: int = 0,
) -> dict[str, Any]:
    """Make the endpoint serve the model's ``champion`` (and ``challenger``, at ``challenger_traffic``
    percent, when that alias exists on another version); undeploy everything else.

    Returns what the endpoint serves: ``{"endpoint", "deployed": {version: deployed model id},
    "traffic": {version: percent}, "undeployed": [versions], "resources": …}``, or ``skipped`` when
    the model has no champion.
    """
    from google.cloud import aiplatform

    from rillflow.vertex_client import init_vertex

    if not 0 <= challenger_traffic < 100:
        raise ValueError(f"challenger traffic must be within 0..99 percent, got {challenger_traffic}")
    init_vertex(project, location)
    models = aiplatform.Model.list(filter=f'display_name="{model_name}"', order_by="create_time")
    if not models:
        return {"skipped": True, "reason": f"model {model_name!r} is not registered yet: nothing to deploy"}
    parent = models[0].resource_name
    champion = _version_of(parent, CHAMPION)
    if champion is None:
        return {
            "skipped": True,
            "reason": f"model {model_name!r} has no {CHAMPION!r} version: nothing to deploy",
        }
    wanted: dict[str, Any] = {CHAMPION: champion}
    challenger = _version_of(parent, CHALLENGER) if challenger_traffic else None
    if challenger is not None and challenger.version_id != champion.version_id:
        wanted[CHALLENGER] = challenger
    shares = {CHAMPION: 100 - challenger_traffic, CHALLENGER: challenger_traffic}
    if CHALLENGER not in wanted:
        shares[CHAMPION] = 100

    endpoint = endpoint_named(endpoint_display_name)
    deployed_ids: dict[str, str] = {}
    for role, version in wanted.items():
        current = [
            d
            for d in endpoint.list_models()
            if d.model == parent and d.model_version_id == version.version_id and spec.matches(d)
        ]
        if current:
            deployed_ids[role] = current[0].id
            continue
        _deploy(version, endpoint, spec, shares[role])
        endpoint = aiplatform.Endpoint(endpoint.resource_name)
        deployed_ids[role] = next(
            d.id
            for d in reversed(endpoint.list_models())
            if d.model == parent and d.model_version_id == version.version_id
        )
    keep = set(deployed_ids.values())
    split = {deployed_ids[role]: shares[role] for role in deployed_ids}
    undeployed = []
    for deployed in endpoint.list_models():
        if deployed.id not in keep:  # the kept models' split adds up to 100: the SDK requires it
            endpoint.undeploy(deployed.id, traffic_split=split)
            undeployed.append(f"{deployed.model}@{deployed.model_version_id}")
    endpoint = aiplatform.Endpoint(endpoint.resource_name)
    if dict(endpoint.traffic_split) != split:
        endpoint.update(traffic_split=split)
    return {
        "endpoint": endpoint.resource_name,
        "deployed": {wanted[r].version_id: deployed_ids[r] for r in deployed_ids},
        "traffic": {wanted[r].version_id: shares[r] for r in deployed_ids},
        "undeployed": undeployed,
        "resources": {k: v for k, v in asdict(spec).items() if k != "traffic_percentage"},
    }


def _version_of(parent: str, alias: str) -> Any | None:
    from google.api_core import exceptions
    from google.cloud import aiplatform

    try:
        return aiplatform.Model(model_name=f"{parent}@{alias}")
    except exceptions.NotFound:
        return None
