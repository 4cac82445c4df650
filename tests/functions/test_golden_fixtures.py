from __future__ import annotations

import json

from google.events.cloud.firestore import DocumentEventData
from google.events.cloud.storage import StorageObjectData
from rillflow_functions import firestore_values as fv
from rillflow_functions import orders

from tests.functions import golden


def test_committed_fixtures_match_the_builder() -> None:
    for name, content in golden.build_all().items():
        assert (golden.DATA / name).read_bytes() == content, (
            f"{name} is stale: run python -m tests.functions.golden"
        )


def test_firestore_fixture_decodes_to_a_valid_order() -> None:
    fixture = golden.load("firestore_document_written.json")
    assert fixture["attributes"]["type"] == "google.cloud.firestore.document.v1.written"
    data = DocumentEventData.deserialize(fixture["body"])
    order = fv.decode_fields(data.value)
    assert orders.validate_order(order, fixture["attributes"]["document"].split("/")[-1]) is None
    assert fv.decode_fields(data.old_value)["items"][0]["quantity"] == 1
    assert list(data.update_mask.field_paths) == ["items"]


def test_storage_fixture_is_a_storage_object() -> None:
    fixture = golden.load("storage_object_finalized.json")
    obj = StorageObjectData.from_json(json.dumps(fixture["data"]), ignore_unknown_fields=True)
    assert obj.bucket == "rillflow-lake" and obj.generation == 1767661204512000
    assert fixture["attributes"]["subject"] == "objects/" + obj.name
