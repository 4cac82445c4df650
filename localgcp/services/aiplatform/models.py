"""google.cloud.aiplatform.v1.ModelService: the Model Registry (models, versions, aliases).

Each version is its own stored ``Model`` message (``name`` without ``@``, ``version_id``
"1", "2", ...); the default version carries the ``default`` alias, as in Vertex, and is what
a plain ``GetModel`` and ``ListModels`` return. Aliases are unique within a model: giving
one to a version takes it from any other. Deployed versions (``Model.deployed_models``,
kept up to date by the endpoint service) cannot be deleted.
"""

from __future__ import annotations

import re
from typing import Any

import grpc
from google.cloud.aiplatform_v1 import types as t
from google.protobuf import empty_pb2

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

ModelPb: Any = t.Model.pb()
DEFAULT = "default"
_ALIAS = re.compile(r"^[a-z][a-zA-Z0-9-]{0,126}[a-z0-9]$")
ORDER_KEYS = {
    **TIME_AND_NAME_ORDER,
    "version_create_time": lambda m: m.version_create_time.ToNanoseconds(),
}


def _fields(m: Any) -> dict[str, str]:
    return {"display_name": m.display_name, "description": m.description, "version_id": m.version_id}


def versions(store: Store, model_name: str) -> list[Any]:
    return store.all("model", ModelPb, parent=model_name)


def split_ref(name: str) -> tuple[str, str]:
    """``…/models/ID@ref`` → (``…/models/ID``, ref or "")."""
    base, _, ref = name.partition("@")
    resource(base, "models")
    return base, ref


def find_version(store: Store, name: str) -> Any:
    """The version ``name`` denotes: ``@<version id>``, ``@<alias>``, or none for the default."""
    base, ref = split_ref(name)
    wanted = ref or DEFAULT
    for version in versions(store, base):
        if version.version_id == wanted or wanted in version.version_aliases:
            return version
    raise not_found("Model", name)


def save_version(store: Store, version: Any) -> None:
    store.put("model", f"{version.name}@{version.version_id}", version, parent=version.name)


def check_aliases(aliases: list[str]) -> None:
    for alias in aliases:
        bare = alias.removeprefix("-")
        if not _ALIAS.match(bare) or bare.isdigit():
            raise invalid_argument(
                f"Invalid version alias {alias!r}: lowercase letters, digits and '-', starting with a letter."
            )


def assign_aliases(store: Store, target: Any, aliases: list[str]) -> None:
    """Give ``target`` the aliases (moving each from any other version) and save every version touched."""
    others = [v for v in versions(store, target.name) if v.version_id != target.version_id]
    for alias in aliases:
        if alias not in target.version_aliases:
            target.version_aliases.append(alias)
        for other in others:
            if alias in other.version_aliases:
                kept = [a for a in other.version_aliases if a != alias]
                del other.version_aliases[:]
                other.version_aliases.extend(kept)
                save_version(store, other)
    save_version(store, target)


class ModelService:
    def __init__(self, store: Store, ops: Operations) -> None:
        self.store = store
        self.ops = ops

    def upload_model(self, request: Any, context: grpc.ServicerContext) -> Any:
        parent = check_parent(request.parent)
        aliases = [a for a in request.model.version_aliases if a]
        check_aliases(aliases)
        stamp = now_pb()
        model = ModelPb()
        model.CopyFrom(request.model)
        if not model.display_name:
            raise invalid_argument("Model.display_name is required.")
        if request.parent_model:
            base, _ = split_ref(request.parent_model)
            existing = versions(self.store, base)
            if not existing:
                raise not_found("Model", request.parent_model)
            model.create_time.CopyFrom(existing[0].create_time)
        else:
            model_id = request.model_id or str(self.store.next_id("model"))
            base = f"{parent}/models/{model_id}"
            if versions(self.store, base):
                raise AipError(grpc.StatusCode.ALREADY_EXISTS, f"Model {base} already exists.")
            existing = []
            model.create_time.CopyFrom(stamp)
        model.name = base
        model.version_id = str(self.store.next_id(f"version:{base}", first=1))
        model.update_time.CopyFrom(stamp)
        model.version_create_time.CopyFrom(stamp)
        model.version_update_time.CopyFrom(stamp)
        if not model.supported_deployment_resources_types:
            model.supported_deployment_resources_types.append(
                t.Model.DeploymentResourcesType.DEDICATED_RESOURCES
            )
        del model.version_aliases[:]
        if not existing and DEFAULT not in aliases:
            aliases.append(DEFAULT)  # the first version is always the default
        assign_aliases(self.store, model, aliases)
        response = t.UploadModelResponse.pb()(model=base, model_version_id=model.version_id)
        meta = t.UploadModelOperationMetadata.pb()()
        meta.generic_metadata.create_time.CopyFrom(stamp)
        meta.generic_metadata.update_time.CopyFrom(stamp)
        return self.ops.done(base, response, meta)

    def get_model(self, request: Any, context: grpc.ServicerContext) -> Any:
        return find_version(self.store, request.name)

    def list_models(self, request: Any, context: grpc.ServicerContext) -> Any:
        parent = check_parent(request.parent)
        defaults = [
            m
            for m in self.store.all("model", ModelPb)
            if m.name.startswith(parent + "/models/") and DEFAULT in m.version_aliases
        ]
        found = [m for m in defaults if matches(request.filter, _fields(m), m.labels)]
        found = ordered(found, request.order_by, ORDER_KEYS)
        chosen, token = page(found, request.page_size, request.page_token)
        return t.ListModelsResponse.pb()(models=chosen, next_page_token=token)

    def list_model_versions(self, request: Any, context: grpc.ServicerContext) -> Any:
        base, _ = split_ref(request.name)
        all_versions = versions(self.store, base)
        if not all_versions:
            raise not_found("Model", request.name)
        found = [m for m in all_versions if matches(request.filter, _fields(m), m.labels)]
        found = ordered(found, request.order_by, ORDER_KEYS)
        chosen, token = page(found, request.page_size, request.page_token)
        return t.ListModelVersionsResponse.pb()(models=chosen, next_page_token=token)

    def merge_version_aliases(self, request: Any, context: grpc.ServicerContext) -> Any:
        check_aliases(list(request.version_aliases))
        target = find_version(self.store, request.name)
        removed = {a[1:] for a in request.version_aliases if a.startswith("-")}
        added = [a for a in request.version_aliases if not a.startswith("-")]
        if DEFAULT in removed:
            raise invalid_argument("The default alias cannot be removed; make another version the default.")
        if removed & set(added):
            raise invalid_argument(f"Aliases both added and removed: {sorted(removed & set(added))}.")
        kept = [a for a in target.version_aliases if a not in removed]
        del target.version_aliases[:]
        target.version_aliases.extend(kept)
        target.version_update_time.CopyFrom(now_pb())
        assign_aliases(self.store, target, added)
        return target

    def delete_model(self, request: Any, context: grpc.ServicerContext) -> Any:
        base, ref = split_ref(request.name)
        if ref:
            raise invalid_argument("DeleteModel takes a model name without @version; use DeleteModelVersion.")
        all_versions = versions(self.store, base)
        if not all_versions:
            raise not_found("Model", request.name)
        for version in all_versions:
            self._check_undeployed(version)
        for version in all_versions:
            self.store.delete("model", f"{base}@{version.version_id}")
        return self.ops.done(base, empty_pb2.Empty(), t.DeleteOperationMetadata.pb()())

    def delete_model_version(self, request: Any, context: grpc.ServicerContext) -> Any:
        version = find_version(self.store, request.name)
        if DEFAULT in version.version_aliases and len(versions(self.store, version.name)) > 1:
            raise failed_precondition(
                f"Version {version.version_id} of {version.name} is the default version; "
                "make another version the default first."
            )
        self._check_undeployed(version)
        self.store.delete("model", f"{version.name}@{version.version_id}")
        return self.ops.done(version.name, empty_pb2.Empty(), t.DeleteOperationMetadata.pb()())

    @staticmethod
    def _check_undeployed(version: Any) -> None:
        if version.deployed_models:
            where = ", ".join(f"{d.endpoint} ({d.deployed_model_id})" for d in version.deployed_models)
            raise failed_precondition(
                f"Model {version.name}@{version.version_id} is deployed to {where}; undeploy it first."
            )

    def handlers(self) -> dict[str, grpc.RpcMethodHandler]:
        return handlers(
            {
                "UploadModel": (self.upload_model, t.UploadModelRequest),
                "GetModel": (self.get_model, t.GetModelRequest),
                "ListModels": (self.list_models, t.ListModelsRequest),
                "ListModelVersions": (self.list_model_versions, t.ListModelVersionsRequest),
                "MergeVersionAliases": (self.merge_version_aliases, t.MergeVersionAliasesRequest),
                "DeleteModel": (self.delete_model, t.DeleteModelRequest),
                "DeleteModelVersion": (self.delete_model_version, t.DeleteModelVersionRequest),
            },
            self.store.lock,
        )
