"""Endpoints through the SDK: create, deploy with resources and traffic, predict, undeploy, restart."""

from __future__ import annotations

import re
from typing import Any

import pytest
from google.api_core import exceptions
from google.cloud import aiplatform

from localgcp.services.aiplatform import ModelRecord
from tests.localgcp_aiplatform.test_models import upload
from tests.support.vertex import Vertex

pytestmark = pytest.mark.service


def doubling(model: ModelRecord, instances: list[Any], parameters: Any) -> list[Any]:
    factor = (parameters or {}).get("factor", 2)
    return [{"value": inst["x"] * factor, "version": model.version_id} for inst in instances]


def test_deploy_predict_undeploy(vertex: Vertex) -> None:
    vertex.service.predictor = doubling
    model = upload("churn", "gs://b/churn/1")
    endpoint = aiplatform.Endpoint.create(display_name="churn-endpoint")
    model.deploy(
        endpoint=endpoint,
        machine_type="n1-standard-4",
        accelerator_type="NVIDIA_TESLA_T4",
        accelerator_count=1,
        min_replica_count=1,
        max_replica_count=3,
        sync=True,
    )
    (deployed,) = endpoint.list_models()
    resources = deployed.dedicated_resources
    assert resources.machine_spec.machine_type == "n1-standard-4"
    assert resources.machine_spec.accelerator_type.name == "NVIDIA_TESLA_T4"
    assert resources.machine_spec.accelerator_count == 1
    assert (resources.min_replica_count, resources.max_replica_count) == (1, 3)
    assert endpoint.traffic_split == {deployed.id: 100}

    response = endpoint.predict(instances=[{"x": 1.5}, {"x": 4}])
    assert [p["value"] for p in response.predictions] == [3.0, 8.0]
    assert response.deployed_model_id == deployed.id
    assert endpoint.predict(instances=[{"x": 1}], parameters={"factor": 10}).predictions[0]["value"] == 10

    with pytest.raises(exceptions.FailedPrecondition):
        model.delete()  # still deployed
    endpoint.undeploy_all()
    assert endpoint.list_models() == [] and dict(endpoint.traffic_split) == {}
    with pytest.raises(exceptions.FailedPrecondition, match="no deployed model"):
        endpoint.predict(instances=[{"x": 1}])
    endpoint.delete()


def test_traffic_split_between_versions(vertex: Vertex) -> None:
    vertex.service.predictor = doubling
    v1 = upload("m", "gs://b/m/1")
    v2 = upload("m", "gs://b/m/2", parent=v1, is_default_version=False)
    endpoint = aiplatform.Endpoint.create(display_name="m-endpoint")
    v1.deploy(endpoint=endpoint, machine_type="n1-standard-2", sync=True)
    v2.deploy(endpoint=endpoint, machine_type="n1-standard-2", traffic_percentage=100, sync=True)
    ids = {d.model_version_id: d.id for d in endpoint.list_models()}
    assert dict(endpoint.traffic_split) == {ids["2"]: 100}
    assert {p["version"] for p in endpoint.predict(instances=[{"x": 1}] * 5).predictions} == {"2"}

    endpoint.update(traffic_split={ids["1"]: 30, ids["2"]: 70})
    assert dict(aiplatform.Endpoint(endpoint.resource_name).traffic_split) == {ids["1"]: 30, ids["2"]: 70}
    with pytest.raises(exceptions.InvalidArgument):
        endpoint.update(traffic_split={ids["1"]: 30})
    endpoint.undeploy(ids["2"])
    assert dict(endpoint.traffic_split) == {ids["1"]: 100}


def test_list_filter_and_restart(vertex: Vertex) -> None:
    model = upload("kept", "gs://b/k/1")
    endpoint = aiplatform.Endpoint.create(display_name="kept-endpoint")
    aiplatform.Endpoint.create(display_name="other")
    model.deploy(endpoint=endpoint, machine_type="n1-standard-2", min_replica_count=2, max_replica_count=2)
    vertex.restart()
    (found,) = aiplatform.Endpoint.list(filter='display_name="kept-endpoint"')
    (deployed,) = found.list_models()
    assert deployed.model == model.resource_name and deployed.dedicated_resources.min_replica_count == 2
    with pytest.raises(exceptions.FailedPrecondition, match="no predictor configured"):
        found.predict(instances=[{"x": 1}])
    vertex.service.predictor = doubling
    assert found.predict(instances=[{"x": 2}]).predictions[0]["value"] == 4


def test_predict_refuses_a_payload_over_vertexs_limit(vertex: Vertex) -> None:
    """Vertex answers a request over 1.5 MB with INVALID_ARGUMENT naming the limit; no model sees it."""
    from localgcp.services.aiplatform.endpoints import PREDICT_PAYLOAD_LIMIT

    seen: list[int] = []

    def sizes(model: ModelRecord, instances: list[Any], parameters: Any) -> list[Any]:
        seen.append(len(instances[0]["blob"]))
        return [{"ok": True}]

    vertex.service.predictor = sizes
    model = upload("big", "gs://b/big/1")
    endpoint = aiplatform.Endpoint.create(display_name="big-endpoint")
    model.deploy(endpoint=endpoint, machine_type="n1-standard-2", sync=True)
    assert PREDICT_PAYLOAD_LIMIT == 1_572_864
    under = "x" * (PREDICT_PAYLOAD_LIMIT - 1000)
    assert endpoint.predict(instances=[{"blob": under}]).predictions == [{"ok": True}]
    with pytest.raises(exceptions.InvalidArgument, match="exceeds the limit: 1572864 bytes") as caught:
        endpoint.predict(instances=[{"blob": "x" * PREDICT_PAYLOAD_LIMIT}])
    size = int(re.search(r"this request is (\d+) bytes", str(caught.value)).group(1))  # type: ignore[union-attr]
    assert "1.5 MB" in str(caught.value) and PREDICT_PAYLOAD_LIMIT < size < PREDICT_PAYLOAD_LIMIT + 1000
    assert seen == [len(under)]
