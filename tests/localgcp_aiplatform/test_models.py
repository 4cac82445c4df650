"""Model Registry through the SDK: versions of one model, aliases, listing, deletion, restart."""

from __future__ import annotations

import grpc
import pytest
from google.api_core import exceptions, operations_v1
from google.cloud import aiplatform
from google.cloud.aiplatform_v1 import types

from tests.support.vertex import Vertex

pytestmark = pytest.mark.service
IMAGE = "europe-west1-docker.pkg.dev/p/rillflow/ml-serving:latest"


def upload(name: str, uri: str, parent: aiplatform.Model | None = None, **kw: object) -> aiplatform.Model:
    return aiplatform.Model.upload(
        display_name=name,
        artifact_uri=uri,
        serving_container_image_uri=IMAGE,
        serving_container_predict_route="/predict",
        serving_container_health_route="/health",
        parent_model=parent.resource_name if parent else None,
        sync=True,
        **kw,  # type: ignore[arg-type]
    )


def test_versions_aliases_and_lookup(vertex: Vertex) -> None:
    v1 = upload("churn", "gs://b/churn/1", labels={"rillflow_model": "churn"}, version_description="first")
    v2 = upload("churn", "gs://b/churn/2", parent=v1, is_default_version=False, version_aliases=["candidate"])
    assert (v1.version_id, v2.version_id) == ("1", "2")
    assert v1.resource_name == v2.resource_name
    assert v2.container_spec is not None and v2.container_spec.image_uri == IMAGE
    assert v2.uri == "gs://b/churn/2"

    assert aiplatform.Model(model_name=f"{v1.resource_name}@candidate").version_id == "2"
    assert aiplatform.Model(model_name=f"{v1.resource_name}@1").version_description == "first"
    assert aiplatform.Model(model_name=v1.resource_name).version_id == "1"  # the default

    registry = aiplatform.models.ModelRegistry(v1)
    registry.add_version_aliases(["candidate", "champion"], version="1")  # moves candidate
    got = {v.version_id: sorted(v.version_aliases or []) for v in registry.list_versions()}
    assert got == {"1": ["candidate", "champion", "default"], "2": []}
    registry.remove_version_aliases(["candidate"], version="1")
    assert "candidate" not in aiplatform.Model(model_name=f"{v1.resource_name}@1").version_aliases
    with pytest.raises(exceptions.NotFound):
        aiplatform.Model(model_name=f"{v1.resource_name}@candidate")


def test_new_default_version_and_listing(vertex: Vertex) -> None:
    first = upload("forecaster", "gs://b/f/1", labels={"rillflow_model": "forecaster"})
    labels = {"rillflow_model": "forecaster"}  # labels belong to a version, as in Vertex
    upload("forecaster", "gs://b/f/2", parent=first, is_default_version=True, labels=labels)
    upload("other", "gs://b/o/1")
    listed = aiplatform.Model.list(filter='display_name="forecaster"', order_by="create_time")
    assert [(m.display_name, m.version_id) for m in listed] == [("forecaster", "2")]
    assert [m.display_name for m in aiplatform.Model.list(filter="labels.rillflow_model:*")] == ["forecaster"]
    assert len(aiplatform.Model.list(order_by="display_name desc")) == 2
    with pytest.raises(exceptions.InvalidArgument):
        aiplatform.Model.list(filter="display_name~foo")


def test_delete_version_and_model(vertex: Vertex) -> None:
    first = upload("m", "gs://b/m/1")
    upload("m", "gs://b/m/2", parent=first, is_default_version=False)
    registry = aiplatform.models.ModelRegistry(first)
    with pytest.raises(exceptions.FailedPrecondition):
        registry.delete_version("1")  # the default version
    registry.delete_version("2")
    assert [v.version_id for v in registry.list_versions()] == ["1"]
    first.delete()
    with pytest.raises(exceptions.NotFound):
        aiplatform.Model(model_name=first.resource_name)


def test_restart_keeps_models(vertex: Vertex) -> None:
    first = upload("kept", "gs://b/k/1", version_aliases=["champion"])
    vertex.restart()
    again = aiplatform.Model(model_name=f"{first.resource_name}@champion")
    assert (again.display_name, again.version_id, again.uri) == ("kept", "1", "gs://b/k/1")
    second = upload("kept", "gs://b/k/2", parent=again)
    assert second.version_id == "2"  # version counter survived too


def test_operations_and_unimplemented(vertex: Vertex) -> None:
    model = upload("ops", "gs://b/ops/1")
    channel = grpc.insecure_channel(vertex.service.address)
    operations = operations_v1.OperationsClient(channel)
    (op,) = operations.list_operations(model.resource_name, filter_="")
    fetched = operations.get_operation(op.name)
    response = types.UploadModelResponse.pb()()
    assert fetched.done and fetched.response.Unpack(response)
    assert response.model == model.resource_name and response.model_version_id == "1"
    client = aiplatform.gapic.ModelServiceClient(
        transport=aiplatform.gapic.ModelServiceClient.get_transport_class("grpc")(channel=channel)
    )
    with pytest.raises(exceptions.MethodNotImplemented, match="ExportModel"):
        client.export_model(name=model.resource_name)
    channel.close()
