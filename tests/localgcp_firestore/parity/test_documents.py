"""Documents: writes, reads, transforms, preconditions, write results, ids, listings."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from google.api_core import exceptions
from google.cloud import firestore
from google.cloud.firestore_v1 import GeoPoint
from google.cloud.firestore_v1.vector import Vector

pytestmark = pytest.mark.parity


def test_value_types_round_trip(db: firestore.Client) -> None:
    ref = db.collection("types").document("all")
    when = dt.datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=dt.UTC)
    data: dict[str, Any] = {
        "null": None,
        "bool": True,
        "int": -(2**63),
        "float": 1.5,
        "str": "héllo",
        "bytes": b"\x00\xff",
        "time": when,
        "geo": GeoPoint(52.5, 13.4),
        "ref": db.collection("other").document("x"),
        "array": [1, "two", {"three": 3}],
        "map": {"nested": {"deep": 1}, "a.b": 2, "`q`": 3},
        "vector": Vector([0.5, 1.5]),
    }
    ref.set(data)
    got = ref.get().to_dict()
    assert got is not None
    assert got.pop("ref").path == "other/x"
    assert got.pop("vector") == Vector([0.5, 1.5])
    expected = {k: v for k, v in data.items() if k not in ("ref", "vector")}
    assert got == expected


def test_create_set_merge_update_delete(db: firestore.Client) -> None:
    ref = db.collection("docs").document("a")
    ref.create({"n": 1, "m": {"x": 1, "y": 2}})
    with pytest.raises(exceptions.Conflict):
        ref.create({"n": 2})
    ref.set({"m": {"y": 20, "z": 3}, "k": True}, merge=True)
    assert ref.get().to_dict() == {"n": 1, "m": {"x": 1, "y": 20, "z": 3}, "k": True}
    ref.set({"m": {"x": 0}}, merge=["m.x"])  # type: ignore[arg-type]
    ref.update({"n": firestore.DELETE_FIELD, "m.y": 21, "`odd.key`": "v"})
    assert ref.get().to_dict() == {"m": {"x": 0, "y": 21, "z": 3}, "k": True, "odd.key": "v"}
    ref.set({"only": 1})  # set without merge replaces the document
    assert ref.get().to_dict() == {"only": 1}
    with pytest.raises(exceptions.NotFound):
        db.collection("docs").document("missing").update({"n": 1})
    ref.delete()
    ref.delete()  # deleting a missing document succeeds
    snapshot = ref.get()
    assert not snapshot.exists and snapshot.to_dict() is None


def test_field_transforms(db: firestore.Client) -> None:
    ref = db.collection("transforms").document("t")
    ref.set({"count": 1, "ratio": 1, "tags": ["a", "b"], "hi": 5, "lo": 5})
    result = ref.update(
        {
            "count": firestore.Increment(2),
            "ratio": firestore.Increment(0.5),
            "fresh": firestore.Increment(3),
            "tags": firestore.ArrayUnion(["b", "c"]),
            "hi": firestore.Maximum(7),
            "lo": firestore.Minimum(7),
            "at": firestore.SERVER_TIMESTAMP,
        }
    )
    got = ref.get().to_dict()
    assert got is not None
    # REQUEST_TIME has millisecond precision (documented in write.proto, and what the emulator does)
    assert got["at"].microsecond % 1000 == 0
    assert dt.timedelta(0) <= result.update_time - got["at"] < dt.timedelta(seconds=1)
    del got["at"]
    assert got == {"count": 3, "ratio": 1.5, "fresh": 3, "tags": ["a", "b", "c"], "hi": 7, "lo": 5}
    ref.update({"tags": firestore.ArrayRemove(["a", "zz"])})
    assert ref.get().get("tags") == ["b", "c"]


def test_preconditions(db: firestore.Client) -> None:
    ref = db.collection("pre").document("a")
    written = ref.set({"v": 1})
    ref.update({"v": 2}, option=db.write_option(last_update_time=written.update_time))
    with pytest.raises(exceptions.FailedPrecondition):  # stale
        ref.update({"v": 3}, option=db.write_option(last_update_time=written.update_time))
    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    with pytest.raises(exceptions.InvalidArgument):  # later than the stored version
        ref.update({"v": 3}, option=db.write_option(last_update_time=later))
    with pytest.raises(exceptions.FailedPrecondition):  # a missing document has no version
        db.collection("pre").document("gone").update({"v": 1}, option=db.write_option(last_update_time=later))
    with pytest.raises(exceptions.NotFound):
        db.collection("pre").document("gone").delete(option=db.write_option(exists=True))
    assert ref.get().get("v") == 2


def test_write_results_and_times(db: firestore.Client) -> None:
    ref = db.collection("times").document("a")
    first = ref.set({"v": 1})
    same = ref.set({"v": 1})
    assert same.update_time == first.update_time  # nothing changed: the update time stays
    changed = ref.set({"v": 2})
    snapshot = ref.get()
    assert changed.update_time > first.update_time
    assert snapshot.create_time == first.update_time and snapshot.update_time == changed.update_time
    batch = db.batch()
    batch.delete(ref)
    (deleted,) = batch.commit()
    assert not deleted._pb.HasField("update_time")


def test_document_ids(db: firestore.Client) -> None:
    col = db.collection("ids")
    for bad in ["__reserved__", "__id__", "__id007__", "__id9223372036854775808__"]:
        with pytest.raises(exceptions.InvalidArgument):
            col.document(bad).set({})
    with pytest.raises(exceptions.InvalidArgument):
        db.collection("__reserved__").document("a").set({})
    for good in ["__id9223372036854775807__", "__id-1__", "Socrates", "_x", "x__"]:
        col.document(good).set({})
    assert [d.id for d in col.list_documents()] == [
        "__id-1__",
        "__id9223372036854775807__",
        "Socrates",
        "_x",
        "x__",
    ]
    _, added = col.add({"auto": True})
    assert len(added.id) == 20 and added.get().get("auto") is True


def test_get_all_masks_and_missing(db: firestore.Client) -> None:
    col = db.collection("many")
    col.document("a").set({"x": 1, "y": {"z": 2, "w": 3}})
    col.document("b").set({"x": 2})
    got = {
        s.id: (s.exists, s.to_dict())
        for s in db.get_all([col.document("a"), col.document("b"), col.document("c")], field_paths=["y.z"])
    }
    assert got == {"a": (True, {"y": {"z": 2}}), "b": (True, {}), "c": (False, None)}
    assert col.document("a").get(field_paths=["x"]).to_dict() == {"x": 1}


def test_list_documents_and_collections(db: firestore.Client) -> None:
    users = db.collection("users")
    users.document("u1").set({})
    users.document("u2").collection("orders").document("o1").set({})  # u2 itself is missing
    users.document("u1").collection("carts").document("c1").set({})
    db.collection("zeta").document("z").set({})
    listed = list(users.list_documents())
    assert [d.id for d in listed] == ["u1", "u2"]
    assert not users.document("u2").get().exists
    assert [c.id for c in db.collections()] == ["users", "zeta"]
    assert [c.id for c in users.document("u2").collections()] == ["orders"]
    assert [d.id for d in users.list_documents(page_size=1)] == ["u1", "u2"]
