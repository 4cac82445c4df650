"""Eventarc-shaped document CloudEvents emitted by the emulator after each committed write."""

from __future__ import annotations

import pytest
from google.cloud import firestore
from google.events.cloud.firestore import DocumentEventData

from tests.support.firestore import PROJECT, Emulator

PREFIX = "google.cloud.firestore.document.v1."


def decode(event) -> DocumentEventData:  # type: ignore[no-untyped-def]
    return DocumentEventData.deserialize(event.data)


def types_of(emulator: Emulator) -> list[str]:
    return [e["type"].removeprefix(PREFIX) for e in emulator.sink.events]


def test_created_updated_deleted_events(emulator: Emulator) -> None:
    db = emulator.client()
    ref = db.collection("sales").document("s1")
    ref.set({"amount": 10, "meta": {"src": "web", "v": 1}})
    ref.update({"amount": 12, "meta.v": 2})
    ref.delete()
    assert types_of(emulator) == ["written", "created", "written", "updated", "written", "deleted"]

    created = emulator.sink.of_type(PREFIX + "created")[0]
    assert created["source"] == f"//firestore.googleapis.com/projects/{PROJECT}/databases/(default)"
    assert created["subject"] == "documents/sales/s1"
    assert created["document"] == "sales/s1"
    assert created["database"] == "(default)" and created["namespace"] == "(default)"
    assert created["project"] == PROJECT and created["location"] == "europe-west1"
    assert created["datacontenttype"] == "application/protobuf"
    assert created["id"] and created["time"].endswith("Z")
    data = decode(created)
    assert data.value.name == f"projects/{PROJECT}/databases/(default)/documents/sales/s1"
    assert data.value.fields["amount"].integer_value == 10
    assert not data.old_value.name

    updated = decode(emulator.sink.of_type(PREFIX + "updated")[0])
    assert updated.old_value.fields["amount"].integer_value == 10
    assert updated.value.fields["amount"].integer_value == 12
    assert sorted(updated.update_mask.field_paths) == ["amount", "meta.v"]
    assert updated.value.update_time != updated.old_value.update_time

    written_for_update = decode(emulator.sink.of_type(PREFIX + "written")[1])
    assert written_for_update.value.fields["meta"].map_value.fields["v"].integer_value == 2

    deleted = decode(emulator.sink.of_type(PREFIX + "deleted")[0])
    assert deleted.old_value.fields["amount"].integer_value == 12
    assert not deleted.value.name


def test_batch_emits_after_commit_one_pair_per_document(emulator: Emulator) -> None:
    db = emulator.client()
    batch = db.batch()
    for i in range(3):
        batch.set(db.collection("sales").document(f"b{i}"), {"i": i})
    batch.commit()
    assert sorted(e["document"] for e in emulator.sink.of_type(PREFIX + "created")) == [
        "sales/b0",
        "sales/b1",
        "sales/b2",
    ]
    assert len(emulator.sink.of_type(PREFIX + "written")) == 3


def test_nothing_emitted_for_rolled_back_or_failed_writes(emulator: Emulator) -> None:
    db = emulator.client()
    ref = db.collection("sales").document("t")
    ref.set({"v": 1})
    emulator.sink.events.clear()

    @firestore.transactional
    def fail(txn: firestore.Transaction) -> None:
        ref.get(transaction=txn)
        txn.set(ref, {"v": 2})
        txn.set(db.collection("sales").document("other"), {"v": 3})
        raise RuntimeError("rolled back")

    with pytest.raises(RuntimeError):
        fail(db.transaction())
    with pytest.raises(Exception):  # noqa: B017 - NotFound from the precondition
        db.collection("sales").document("nope").update({"v": 1})
    assert emulator.sink.events == []


def test_transaction_emits_only_after_commit(emulator: Emulator) -> None:
    db = emulator.client()
    ref = db.collection("sales").document("tx")
    ref.set({"v": 1})
    seen_inside: list[int] = []

    @firestore.transactional
    def bump(txn: firestore.Transaction) -> None:
        value = ref.get(transaction=txn).get("v")
        txn.update(ref, {"v": value + 1})
        seen_inside.append(len(emulator.sink.events))

    bump(db.transaction())
    assert seen_inside == [2]  # only the initial set's events existed before commit
    updated = emulator.sink.of_type(PREFIX + "updated")
    assert len(updated) == 1 and decode(updated[0]).value.fields["v"].integer_value == 2


def test_no_op_write_and_deleting_absent_document_emit_nothing(emulator: Emulator) -> None:
    db = emulator.client()
    ref = db.collection("sales").document("same")
    ref.set({"v": 1})
    ref.set({"v": 1})
    db.collection("sales").document("never").delete()
    assert types_of(emulator) == ["written", "created"]
