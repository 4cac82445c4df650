"""Turning fake-store activity into binary-mode CloudEvents, the way Eventarc delivers them."""

from __future__ import annotations

import json
from typing import Any

from rillflow_functions.ports import ObjectInfo

from tests.functions import golden
from tests.functions.fakes import DocChange


def post_event(client: Any, attributes: dict[str, str], body: bytes) -> Any:
    headers = {f"ce-{k}": v for k, v in attributes.items() if k != "datacontenttype"}
    headers["Content-Type"] = attributes["datacontenttype"]
    return client.post("/", headers=headers, data=body)


def storage_event(info: ObjectInfo) -> tuple[dict[str, str], bytes]:
    attrs = golden.storage_attributes(info.bucket, info.name, info.generation)
    data = golden.storage_data(info.bucket, info.name, info.generation, info.size, dict(info.metadata))
    return attrs, json.dumps(data).encode()


def firestore_event(change: DocChange, seq: int) -> tuple[dict[str, str], bytes]:
    attrs = golden.firestore_attributes(change.path, f"fs-{seq:06d}", change.update_time)
    return attrs, golden.firestore_event_body(change.path, change.old, change.new, change.update_time)


def deliver_storage(client: Any, infos: list[ObjectInfo]) -> list[Any]:
    out = []
    for info in infos:
        attrs, body = storage_event(info)
        resp = post_event(client, attrs, body)
        assert resp.status_code == 200, resp.get_data(as_text=True)
        out.append(resp)
    return out
