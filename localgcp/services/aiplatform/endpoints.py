"""google.cloud.aiplatform.v1.EndpointService and PredictionService.

Deploying keeps what the SDK sends (``dedicated_resources``: machine type, accelerators,
replica counts) without provisioning anything: a "deployed model" is a record pointing at a
model version. Traffic splits follow Vertex: in DeployModel the key ``"0"`` is the model
being deployed; a split that does not add up to 100 keeps the new model's share and scales
the others into the rest. Predict picks a deployed model by the split and calls the
service's pluggable :data:`Predictor`; none is built in, because serving a model means
running application code that localgcp must not import (tests and the harness inject one).
Like Vertex, Predict refuses a request whose payload is over 1.5 MB
(:data:`PREDICT_PAYLOAD_LIMIT`) with INVALID_ARGUMENT, before any model sees it.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import grpc
from google.cloud.aiplatform_v1 import types as t
from google.protobuf import empty_pb2, json_format, struct_pb2

from localgcp.services.aiplatform.models import find_version, save_version
from localgcp.services.aiplatform.rpc import (
    TIME_AND_NAME_ORDER,
    AipError,
    Operations,
    check_parent,
    failed_precondition,
    handlers,
    invalid_argument,
    matches,
    not_found,
    now_pb,
    ordered,
    page,
    resource,
)
from localgcp.services.aiplatform.store import Store

EndpointPb: Any = t.Endpoint.pb()
#: Vertex AI's online prediction payload limit: "1.5MB" in its documentation, 1572864 bytes in the
#: error it returns (``Request payload size exceeds the limit: 1572864 bytes.``)
PREDICT_PAYLOAD_LIMIT = 1_572_864
ORDER_KEYS = TIME_AND_NAME_ORDER
UPDATABLE = {"display_name", "description", "labels", "traffic_split"}


@dataclass(frozen=True)
class ModelRecord:
    """What a predictor is told about the deployed model it serves."""

    model: str  # projects/…/models/ID
    version_id: str
    display_name: str
    artifact_uri: str
    endpoint: str
    deployed_model_id: str
    machine_type: str = ""
    labels: dict[str, str] = field(default_factory=dict)


#: (model, instances, parameters) → one prediction per instance, all JSON values
Predictor = Callable[[ModelRecord, list[Any], Any], list[Any]]


def scaled(split: dict[str, int], keep: str | None) -> dict[str, int]:
    """``split`` made to add up to 100: ``keep``'s share stays, the others share the rest pro rata."""
    fixed = split.get(keep, 0) if keep else 0
    others = {k: v for k, v in split.items() if k != keep}
    rest, total = 100 - fixed, sum(others.values())
    if total <= 0:
        others = dict.fromkeys(others, 0)
        if others and rest:
            others[next(iter(others))] = rest
    else:
        others = {k: v * rest // total for k, v in others.items()}
        largest = max(others, key=lambda k: split[k])
        others[largest] += rest - sum(others.values())
    out = {keep: fixed} if keep else {}
    out.update(others)
    return {k: v for k, v in out.items() if v > 0}


def as_sent(value: Any) -> Any:
    """A request value as the serving container receives it in Vertex: JSON in which a whole
    number is written without a fraction (``24``, not ``24.0``). ``google.protobuf.Value`` holds
    every number as a double, so ``MessageToDict`` alone would give a predictor ``24.0`` where
    the caller sent ``24``, and a container checking for an integer would refuse it."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    if isinstance(value, list):
        return [as_sent(v) for v in value]
    if isinstance(value, dict):
        return {k: as_sent(v) for k, v in value.items()}
    return value


class EndpointService:
    def __init__(self, store: Store, ops: Operations) -> None:
        self.store = store
        self.ops = ops

    def endpoint(self, name: str) -> Any:
        resource(name, "endpoints")
        return self.store.require("endpoint", name, EndpointPb, "Endpoint")

    def _save(self, endpoint: Any) -> None:
        endpoint.update_time.CopyFrom(now_pb())
        self.store.put("endpoint", endpoint.name, endpoint, parent=endpoint.name.rsplit("/endpoints/", 1)[0])

    def create_endpoint(self, request: Any, context: grpc.ServicerContext) -> Any:
        parent = check_parent(request.parent)
        if not request.endpoint.display_name:
            raise invalid_argument("Endpoint.display_name is required.")
        name = f"{parent}/endpoints/{request.endpoint_id or self.store.next_id('endpoint')}"
        if self.store.get("endpoint", name, EndpointPb) is not None:
            raise AipError(grpc.StatusCode.ALREADY_EXISTS, f"Endpoint {name} already exists.")
        endpoint = EndpointPb()
        endpoint.CopyFrom(request.endpoint)
        endpoint.name = name
        del endpoint.deployed_models[:]
        endpoint.traffic_split.clear()
        endpoint.create_time.CopyFrom(now_pb())
        self._save(endpoint)
        return self.ops.done(name, endpoint, t.CreateEndpointOperationMetadata.pb()())

    def get_endpoint(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self.endpoint(request.name)

    def list_endpoints(self, request: Any, context: grpc.ServicerContext) -> Any:
        found = [
            e
            for e in self.store.all("endpoint", EndpointPb, parent=check_parent(request.parent))
            if matches(request.filter, {"display_name": e.display_name}, e.labels)
        ]
        chosen, token = page(
            ordered(found, request.order_by, ORDER_KEYS), request.page_size, request.page_token
        )
        return t.ListEndpointsResponse.pb()(endpoints=chosen, next_page_token=token)

    def update_endpoint(self, request: Any, context: grpc.ServicerContext) -> Any:
        current = self.endpoint(request.endpoint.name)
        paths = list(request.update_mask.paths)
        if not paths:
            raise invalid_argument("UpdateEndpoint needs an update_mask.")
        for path in paths:
            if path not in UPDATABLE:
                raise invalid_argument(f"Field {path!r} of an Endpoint cannot be updated here.")
            if path == "traffic_split":
                split = self._checked(current, dict(request.endpoint.traffic_split))
                current.traffic_split.clear()
                current.traffic_split.update(split)
            elif path == "labels":
                current.labels.clear()
                current.labels.update(request.endpoint.labels)
            else:
                setattr(current, path, getattr(request.endpoint, path))
        self._save(current)
        return current

    def delete_endpoint(self, request: Any, context: grpc.ServicerContext) -> Any:
        endpoint = self.endpoint(request.name)
        if endpoint.deployed_models:
            raise failed_precondition(f"Endpoint {request.name} has deployed models; undeploy them first.")
        self.store.delete("endpoint", endpoint.name)
        return self.ops.done(endpoint.name, empty_pb2.Empty(), t.DeleteOperationMetadata.pb()())

    @staticmethod
    def _checked(endpoint: Any, split: dict[str, int]) -> dict[str, int]:
        ids = {d.id for d in endpoint.deployed_models}
        unknown = set(split) - ids
        if unknown:
            raise invalid_argument(
                f"traffic_split names models not deployed to {endpoint.name}: {sorted(unknown)}."
            )
        if split and sum(split.values()) != 100:
            raise invalid_argument("traffic_split percentages must add up to 100.")
        return {k: v for k, v in split.items() if v > 0}

    def deploy_model(self, request: Any, context: grpc.ServicerContext) -> Any:
        endpoint = self.endpoint(request.endpoint)
        version = find_version(self.store, request.deployed_model.model)
        deployed = t.DeployedModel.pb()()
        deployed.CopyFrom(request.deployed_model)
        resources = deployed.dedicated_resources
        if deployed.HasField("dedicated_resources"):
            if resources.min_replica_count < 1:
                raise invalid_argument("dedicated_resources.min_replica_count must be at least 1.")
            if resources.max_replica_count == 0:
                resources.max_replica_count = resources.min_replica_count
            if resources.max_replica_count < resources.min_replica_count:
                raise invalid_argument("max_replica_count must not be below min_replica_count.")
            spec = resources.machine_spec
            if spec.accelerator_count and not spec.accelerator_type:
                raise invalid_argument("machine_spec.accelerator_count needs an accelerator_type.")
        deployed.id = deployed.id or str(self.store.next_id("deployed_model"))
        if any(d.id == deployed.id for d in endpoint.deployed_models):
            raise AipError(grpc.StatusCode.ALREADY_EXISTS, f"Deployed model {deployed.id} already exists.")
        deployed.model = version.name
        deployed.model_version_id = version.version_id
        deployed.display_name = deployed.display_name or version.display_name
        deployed.create_time.CopyFrom(now_pb())
        requested = {deployed.id if k == "0" else k: v for k, v in request.traffic_split.items()}
        split = dict(endpoint.traffic_split)
        if requested:
            split = scaled(requested, deployed.id) if sum(requested.values()) != 100 else requested
        elif not split:
            split = {deployed.id: 100}  # an endpoint without traffic sends it all to its first model
        endpoint.deployed_models.append(deployed)
        split = self._checked(endpoint, split)
        endpoint.traffic_split.clear()
        endpoint.traffic_split.update(split)
        self._save(endpoint)
        version.deployed_models.append(
            t.DeployedModelRef.pb()(endpoint=endpoint.name, deployed_model_id=deployed.id)
        )
        save_version(self.store, version)
        return self.ops.done(
            endpoint.name,
            t.DeployModelResponse.pb()(deployed_model=deployed),
            t.DeployModelOperationMetadata.pb()(),
        )

    def undeploy_model(self, request: Any, context: grpc.ServicerContext) -> Any:
        endpoint = self.endpoint(request.endpoint)
        gone = [d for d in endpoint.deployed_models if d.id == request.deployed_model_id]
        if not gone:
            raise not_found("DeployedModel", f"{endpoint.name}/deployedModels/{request.deployed_model_id}")
        kept = [d for d in endpoint.deployed_models if d.id != request.deployed_model_id]
        del endpoint.deployed_models[:]
        endpoint.deployed_models.extend(kept)
        split = dict(request.traffic_split) or {
            k: v for k, v in endpoint.traffic_split.items() if k != request.deployed_model_id
        }
        if split and sum(split.values()) != 100:
            split = scaled(split, None)
        split = self._checked(endpoint, split)
        endpoint.traffic_split.clear()
        endpoint.traffic_split.update(split)
        self._save(endpoint)
        try:
            version = find_version(self.store, f"{gone[0].model}@{gone[0].model_version_id}")
        except AipError:
            version = None  # the version was deleted behind our back; nothing to unlink
        if version is not None:
            refs = [r for r in version.deployed_models if r.deployed_model_id != request.deployed_model_id]
            del version.deployed_models[:]
            version.deployed_models.extend(refs)
            save_version(self.store, version)
        return self.ops.done(
            endpoint.name, t.UndeployModelResponse.pb()(), t.UndeployModelOperationMetadata.pb()()
        )

    def handlers(self) -> dict[str, grpc.RpcMethodHandler]:
        return handlers(
            {
                "CreateEndpoint": (self.create_endpoint, t.CreateEndpointRequest),
                "GetEndpoint": (self.get_endpoint, t.GetEndpointRequest),
                "ListEndpoints": (self.list_endpoints, t.ListEndpointsRequest),
                "UpdateEndpoint": (self.update_endpoint, t.UpdateEndpointRequest),
                "DeleteEndpoint": (self.delete_endpoint, t.DeleteEndpointRequest),
                "DeployModel": (self.deploy_model, t.DeployModelRequest),
                "UndeployModel": (self.undeploy_model, t.UndeployModelRequest),
            },
            self.store.lock,
        )


class PredictionService:
    """Predict only: routes by the endpoint's traffic split to the configured predictor."""

    def __init__(self, endpoints: EndpointService, predictor: Callable[[], Predictor | None]) -> None:
        self.endpoints = endpoints
        self.predictor = predictor

    def predict(self, request: Any, context: grpc.ServicerContext) -> Any:
        size = request.ByteSize()
        if size > PREDICT_PAYLOAD_LIMIT:
            raise invalid_argument(
                f"Request payload size exceeds the limit: {PREDICT_PAYLOAD_LIMIT} bytes (1.5 MB); "
                f"this request is {size} bytes."
            )
        endpoint = self.endpoints.endpoint(request.endpoint)
        split = {k: v for k, v in endpoint.traffic_split.items() if v > 0}
        if not split:
            raise failed_precondition(f"Endpoint {endpoint.name} has no deployed model taking traffic.")
        chosen = random.choices(list(split), weights=list(split.values()))[0]
        deployed = next(d for d in endpoint.deployed_models if d.id == chosen)
        version = find_version(self.endpoints.store, f"{deployed.model}@{deployed.model_version_id}")
        record = ModelRecord(
            model=version.name,
            version_id=version.version_id,
            display_name=version.display_name,
            artifact_uri=version.artifact_uri,
            endpoint=endpoint.name,
            deployed_model_id=deployed.id,
            machine_type=deployed.dedicated_resources.machine_spec.machine_type,
            labels=dict(version.labels),
        )
        predictor = self.predictor()
        if predictor is None:
            raise failed_precondition(
                f"no predictor configured for model {version.name}@{version.version_id} "
                "(set AiPlatformService.predictor)"
            )
        instances = [as_sent(json_format.MessageToDict(v)) for v in request.instances]
        parameters = (
            as_sent(json_format.MessageToDict(request.parameters)) if request.HasField("parameters") else None
        )
        try:
            predictions = predictor(record, instances, parameters)
        except AipError:
            raise
        except (ValueError, TypeError, KeyError) as exc:
            raise invalid_argument(f"prediction failed: {exc}") from exc
        except Exception as exc:  # the predictor's own bug: INTERNAL, as a crashing server would give
            raise AipError(grpc.StatusCode.INTERNAL, f"predictor error: {exc!r}") from exc
        response = t.PredictResponse.pb()(
            deployed_model_id=deployed.id,
            model=version.name,
            model_version_id=version.version_id,
            model_display_name=version.display_name,
        )
        for prediction in predictions:
            response.predictions.append(json_format.ParseDict(prediction, struct_pb2.Value()))
        return response

    def handlers(self) -> dict[str, grpc.RpcMethodHandler]:
        return handlers({"Predict": (self.predict, t.PredictRequest)})
