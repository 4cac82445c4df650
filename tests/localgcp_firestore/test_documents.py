"""Document reads and writes through google-cloud-firestore against the local emulator."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from google.api_core import exceptions
from google.cloud import firestore
from google.cloud.firestore_v1 import GeoPoint
from google.cloud.firestore_v1.types import firestore as fs_types

from tests.support.firestore import Emulator


def data_of(ref: firestore.DocumentReference) -> dict[str, Any]:
    data = ref.get().to_dict()
    assert data is not None, f"{ref.path} does not exist"
    return data


def test_set_replaces_and_merge_merges(db: firestore.Client) -> None:
    ref = db.collection("orders").document("o1")
    ref.set({"a": 1, "b": {"c": 2, "d": 3}})
    ref.set({"z": 9})
    assert ref.get().to_dict() == {"z": 9}
    ref.set({"b": {"c": 20}, "y": True}, merge=True)
    assert ref.get().to_dict() == {"z": 9, "b": {"c": 20}, "y": True}
    ref.set({"b": {"d": 4}}, merge=True)
    assert ref.get().to_dict() == {"z": 9, "b": {"c": 20, "d": 4}, "y": True}


def test_update_with_dotted_paths_and_delete_field(db: firestore.Client) -> None:
    ref = db.collection("orders").document("o2")
    ref.set({"customer": {"name": "Ada", "tier": "gold"}, "total": 5})
    ref.update({"customer.tier": "platinum", "total": firestore.DELETE_FIELD, "new.deep": 1})
    assert ref.get().to_dict() == {"customer": {"name": "Ada", "tier": "platinum"}, "new": {"deep": 1}}


def test_get_missing_and_delete(db: firestore.Client) -> None:
    ref = db.collection("orders").document("gone")
    assert not ref.get().exists
    ref.set({"x": 1})
    assert ref.get().exists
    ref.delete()
    assert not ref.get().exists


def test_preconditions(db: firestore.Client) -> None:
    ref = db.collection("orders").document("p")
    with pytest.raises(exceptions.NotFound):
        ref.update({"x": 1})
    ref.create({"x": 1})
    with pytest.raises(exceptions.Conflict):  # ALREADY_EXISTS
        ref.create({"x": 2})
    snapshot = ref.get()
    ref.update({"x": 2}, option=db.write_option(last_update_time=snapshot.update_time))
    with pytest.raises(exceptions.FailedPrecondition):
        ref.update({"x": 3}, option=db.write_option(last_update_time=snapshot.update_time))
    with pytest.raises(exceptions.FailedPrecondition):
        ref.delete(option=db.write_option(last_update_time=snapshot.update_time))
    assert ref.get().to_dict() == {"x": 2}


def test_server_timestamp_increment_and_array_transforms(db: firestore.Client) -> None:
    ref = db.collection("counters").document("c")
    before = dt.datetime.now(dt.UTC)
    ref.set({"n": 1, "at": firestore.SERVER_TIMESTAMP, "tags": ["a"]})
    ref.update({"n": firestore.Increment(2), "f": firestore.Increment(0.5)})
    ref.update({"n": firestore.Increment(-10), "tags": firestore.ArrayUnion(["b", "a", "c"])})
    ref.update(
        {"tags": firestore.ArrayRemove(["a"]), "hi": firestore.Maximum(3), "lo": firestore.Minimum(-1)}
    )
    data = data_of(ref)
    assert data["n"] == -7 and isinstance(data["n"], int)
    assert data["f"] == 0.5
    assert data["tags"] == ["b", "c"]
    assert data["hi"] == 3 and data["lo"] == -1
    assert before - dt.timedelta(seconds=1) <= data["at"] <= dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)


def test_value_types_round_trip(db: firestore.Client) -> None:
    other = db.collection("customers").document("c1")
    when = dt.datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=dt.UTC)
    data = {
        "null": None,
        "bool": True,
        "int": -(2**62),
        "float": 1.25,
        "str": "héllo",
        "bytes": b"\x00\xff",
        "ts": when,
        "geo": GeoPoint(52.5, 13.4),
        "ref": other,
        "arr": [1, "two", {"three": 3}],
        "map": {"nested": {"deeper": [None]}},
    }
    ref = db.collection("types").document("t")
    ref.set(data)
    got = data_of(ref)
    assert got["ref"].path == "customers/c1"
    assert got["ts"] == when
    assert {k: v for k, v in got.items() if k not in ("ref", "ts")} == {
        k: v for k, v in data.items() if k not in ("ref", "ts")
    }


def test_field_mask_on_get(db: firestore.Client) -> None:
    ref = db.collection("orders").document("m")
    ref.set({"a": 1, "b": {"c": 2, "d": 3}})
    assert ref.get(field_paths=["b.c"]).to_dict() == {"b": {"c": 2}}


def test_get_all_with_missing_documents(db: firestore.Client) -> None:
    db.collection("orders").document("x1").set({"v": 1})
    refs = [db.collection("orders").document(i) for i in ("x1", "nope")]
    snapshots = {s.id: s for s in db.get_all(refs)}
    assert snapshots["x1"].to_dict() == {"v": 1}
    assert not snapshots["nope"].exists


def test_list_documents_and_collections(db: firestore.Client) -> None:
    db.collection("users").document("u1").set({"a": 1})
    db.collection("users").document("u2").collection("orders").document("o").set({"b": 2})
    db.collection("products").document("p").set({})
    ids = sorted(d.id for d in db.collection("users").list_documents())
    assert ids == ["u1", "u2"]  # u2 exists only as the parent of a subcollection ("missing")
    assert sorted(c.id for c in db.collections()) == ["products", "users"]
    assert [c.id for c in db.collection("users").document("u2").collections()] == ["orders"]
    assert list(db.collection("users").document("u1").collections()) == []
    paged = [d.id for d in db.collection("users").list_documents(page_size=1)]
    assert sorted(paged) == ["u1", "u2"]


def test_add_creates_with_auto_id(db: firestore.Client) -> None:
    _, ref = db.collection("orders").add({"k": 1})
    assert len(ref.id) == 20 and ref.get().to_dict() == {"k": 1}


def test_durable_across_restart(emulator: Emulator) -> None:
    db = emulator.client()
    db.collection("orders").document("keep").set({"total": 42, "items": [1, 2]})
    first = db.collection("orders").document("keep").get()
    emulator.service.stop()
    emulator.service.start()
    db = emulator.client()
    again = db.collection("orders").document("keep").get()
    assert again.to_dict() == {"total": 42, "items": [1, 2]}
    assert again.update_time == first.update_time and again.create_time == first.create_time


def test_unsupported_rpcs_fail_with_unimplemented(db: firestore.Client) -> None:
    request = fs_types.WriteRequest(database=db._database_string)
    with pytest.raises(exceptions.MethodNotImplemented, match="Write stream is not supported"):
        for _ in db._firestore_api.write(iter([request])):
            pass
