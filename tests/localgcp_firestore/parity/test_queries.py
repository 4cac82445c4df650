"""Queries: filters, composite filters, ordering across types, offset/limit, cursors, projections,
collection groups, document-id order."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import pytest
from google.api_core import exceptions
from google.cloud import firestore
from google.cloud.firestore_v1 import GeoPoint
from google.cloud.firestore_v1.base_query import And, FieldFilter, Or
from google.cloud.firestore_v1.vector import Vector

from tests.support.google_emulators import Backend

pytestmark = pytest.mark.parity

ROWS: list[tuple[str, dict[str, Any]]] = [
    ("a", {"n": 1, "city": "Berlin", "tags": ["x", "y"], "total": 10.5, "g": 1}),
    ("b", {"n": 2, "city": "Paris", "tags": ["y"], "total": 20, "g": 2}),
    ("c", {"n": 3, "city": "Berlin", "tags": [], "total": 30, "g": 1}),
    ("d", {"n": 4, "city": "Rome", "tags": ["z"], "total": None, "g": 2}),
    ("e", {"n": 5, "city": "Paris", "g": 1}),
    ("f", {"city": "Oslo", "total": "n/a", "g": 2}),
    ("g", {"n": math.nan, "city": "Lima", "total": math.nan, "g": 1}),
]


@pytest.fixture
def rows(db: firestore.Client) -> firestore.CollectionReference:
    batch = db.batch()
    for doc_id, data in ROWS:
        batch.set(db.collection("rows").document(doc_id), data)
    batch.commit()
    return db.collection("rows")


def ids(query: Any) -> list[str]:
    return [s.id for s in query.stream()]


FILTERS: list[tuple[str, str, Any, list[str]]] = [
    ("n", "==", 2, ["b"]),
    ("n", "==", 2.0, ["b"]),
    ("n", "!=", 2, ["g", "a", "c", "d", "e"]),
    ("n", "<", 3, ["a", "b"]),
    ("n", "<=", 3, ["a", "b", "c"]),
    ("n", ">", 3, ["d", "e"]),
    ("n", ">=", 3.5, ["d", "e"]),
    ("n", "==", math.nan, ["g"]),
    ("n", "!=", math.nan, ["a", "b", "c", "d", "e"]),
    ("total", "!=", math.nan, ["a", "b", "c", "f"]),
    ("total", "==", None, ["d"]),
    ("total", "!=", None, ["g", "a", "b", "c", "f"]),
    ("total", ">", 15, ["b", "c"]),
    ("total", ">", "a", ["f"]),
    ("city", "in", ["Rome", "Oslo"], ["d", "f"]),
    ("city", "not-in", ["Berlin", "Paris"], ["g", "f", "d"]),
    ("tags", "array_contains", "y", ["a", "b"]),
    ("tags", "array_contains_any", ["x", "z"], ["a", "d"]),
    ("tags", "==", [], ["c"]),
    ("tags", "in", [["y"], ["z"]], ["b", "d"]),
]


def test_field_filters(rows: firestore.CollectionReference) -> None:
    got = {(f, op, repr(v)): ids(rows.where(filter=FieldFilter(f, op, v))) for f, op, v, _ in FILTERS}
    assert got == {(f, op, repr(v)): expected for f, op, v, expected in FILTERS}


def test_composite_filters(rows: firestore.CollectionReference) -> None:
    either = Or([FieldFilter("city", "==", "Rome"), FieldFilter("n", "<", 2)])
    assert ids(rows.where(filter=either)) == ["a", "d"]
    both = And([FieldFilter("city", "==", "Paris"), FieldFilter("n", ">", 2)])
    assert ids(rows.where(filter=both)) == ["e"]
    nested = Or(
        [And([FieldFilter("g", "==", 1), FieldFilter("n", ">=", 3)]), FieldFilter("city", "==", "Oslo")]
    )
    # the inequality on n orders the whole query by n: f (no n) drops out though it matches "Oslo"
    assert ids(rows.where(filter=nested)) == ["c", "e"]
    # inequalities on two fields: ordered by both fields (lexicographic), then by name
    two = rows.where(filter=FieldFilter("n", ">", 1)).where(filter=FieldFilter("g", "<", 3))
    assert ids(two) == ["c", "e", "b", "d"]


def test_ordering_and_type_order(rows: firestore.CollectionReference) -> None:
    by_city = rows.order_by("city").order_by("n", direction=firestore.Query.DESCENDING)
    assert ids(by_city) == ["c", "a", "g", "e", "b", "d"]  # f has no n: an order on n excludes it
    assert ids(rows.order_by("total")) == ["d", "g", "a", "b", "c", "f"]
    assert ids(rows.order_by("total", direction=firestore.Query.DESCENDING)) == ["f", "c", "b", "a", "g", "d"]


def test_total_order_of_value_types(db: firestore.Client) -> None:
    col = db.collection("mixed")
    values: list[tuple[str, Any]] = [
        ("01-null", None),
        ("02-false", False),
        ("03-true", True),
        ("04-nan", math.nan),
        ("05-neg", -1.5),
        ("06-int", 2),
        ("07-time", dt.datetime(2020, 1, 1, tzinfo=dt.UTC)),
        ("08-str", "abc"),
        ("09-bytes", b"abc"),
        ("10-ref", db.collection("x").document("y")),
        ("11-geo", GeoPoint(1.0, 2.0)),
        ("12-array", [1, 2]),
        ("13-vector", Vector([1.0])),
        ("14-map", {"a": 1}),
    ]
    for doc_id, value in reversed(values):
        col.document(doc_id).set({"v": value})
    assert ids(col.order_by("v")) == [doc_id for doc_id, _ in values]
    assert ids(col.order_by("v", direction=firestore.Query.DESCENDING)) == [d for d, _ in reversed(values)]


def test_offset_limit_and_limit_to_last(rows: firestore.CollectionReference) -> None:
    assert ids(rows) == ["a", "b", "c", "d", "e", "f", "g"]
    assert ids(rows.order_by("n").offset(1).limit(2)) == ["a", "b"]
    assert [s.id for s in rows.order_by("n").limit_to_last(2).get()] == ["d", "e"]
    assert ids(rows.order_by("n").offset(10)) == []
    assert ids(rows.limit(0)) == []


def test_cursors(rows: firestore.CollectionReference) -> None:
    by_n = rows.where(filter=FieldFilter("n", ">", 0)).order_by("n")
    assert ids(by_n.start_at({"n": 2})) == ["b", "c", "d", "e"]
    assert ids(by_n.start_after({"n": 2})) == ["c", "d", "e"]
    assert ids(by_n.end_at({"n": 3})) == ["a", "b", "c"]
    assert ids(by_n.end_before({"n": 3})) == ["a", "b"]
    assert ids(by_n.start_after({"n": 1}).end_before({"n": 5})) == ["b", "c", "d"]
    by_city = rows.order_by("city")
    assert ids(by_city.start_after(rows.document("c").get())) == ["g", "f", "b", "e", "d"]
    page1 = list(by_city.limit(3).stream())
    page2 = ids(by_city.start_after(page1[-1]).limit(3))
    assert [s.id for s in page1] + page2 == ["a", "c", "g", "f", "b", "e"]
    by_name = rows.order_by("__name__")
    assert ids(by_name.start_at({"__name__": "c"}).end_before({"__name__": "f"})) == ["c", "d", "e"]


def test_select_projection(rows: firestore.CollectionReference) -> None:
    got = [
        s.to_dict() for s in rows.select(["city", "missing"]).where(filter=FieldFilter("n", "<", 3)).stream()
    ]
    assert got == [{"city": "Berlin"}, {"city": "Paris"}]
    assert [s.to_dict() for s in rows.select([]).limit(1).stream()] == [{}]


def test_collection_groups(db: firestore.Client) -> None:
    db.collection("users").document("u1").collection("orders").document("o1").set({"v": 1})
    db.collection("users").document("u2").collection("orders").document("o2").set({"v": 2})
    db.collection("orders").document("top").set({"v": 3})
    db.collection("users").document("u1").collection("carts").document("c").set({"v": 4})
    group = db.collection_group("orders")
    assert sorted(s.reference.path for s in group.stream()) == [
        "orders/top",
        "users/u1/orders/o1",
        "users/u2/orders/o2",
    ]
    assert ids(group.where(filter=FieldFilter("v", ">=", 2)).order_by("v")) == ["o2", "top"]
    assert ids(db.collection("users").document("u1").collection("orders")) == ["o1"]


def test_partition_query(db: firestore.Client, backend: Backend) -> None:
    """Disagreement: Google's emulator does not implement PartitionQuery (the client's own system
    tests skip it there); the real service does, and one partition covering everything is a valid
    answer for any partition count, which is what localgcp gives."""
    db.collection("users").document("u1").collection("orders").document("o1").set({"v": 1})
    db.collection("orders").document("top").set({"v": 3})
    group = db.collection_group("orders")
    if backend.is_google:
        with pytest.raises(exceptions.MethodNotImplemented):
            list(group.get_partitions(2))
        return
    partitions = list(group.get_partitions(2))
    assert sorted(s.id for p in partitions for s in p.query().stream()) == ["o1", "top"]


def test_document_id_order(db: firestore.Client) -> None:
    col = db.collection("ids")
    for doc_id in ["b", "__id12__", "A", "__id-3__", "_a", "__id5__", "Socrates", "a/b"[:1]]:
        col.document(doc_id).set({})
    expected = ["__id-3__", "__id5__", "__id12__", "A", "Socrates", "_a", "a", "b"]
    assert ids(col) == expected
    assert ids(col.order_by("__name__").start_after({"__name__": "__id5__"})) == expected[2:]
    assert ids(col.where(filter=FieldFilter("__name__", "<", col.document("A")))) == expected[:3]


def test_descending_document_id_order(db: firestore.Client, backend: Backend) -> None:
    """Disagreement: Google's emulator refuses a descending ``__name__`` order ("does not support
    descending key scans"); the real service serves it (every field's single-field index exists in
    both directions, ``__name__`` included), so localgcp follows the service."""
    col = db.collection("desc")
    for doc_id in ["a", "b", "c"]:
        col.document(doc_id).set({})
    query = col.order_by("__name__", direction=firestore.Query.DESCENDING)
    if backend.is_google:
        with pytest.raises(exceptions.FailedPrecondition, match="descending"):
            ids(query)
    else:
        assert ids(query) == ["c", "b", "a"]


INVALID: list[Any] = [
    [FieldFilter("n", "in", [])],
    [FieldFilter("n", "not-in", [])],
    [FieldFilter("tags", "array_contains_any", [])],
    [FieldFilter("n", "in", list(range(31)))],
    [FieldFilter("n", "not-in", list(range(11)))],
    [FieldFilter("n", "!=", 1), FieldFilter("g", "not-in", [1])],
    [FieldFilter("n", "!=", math.nan), FieldFilter("g", "!=", None)],
    [FieldFilter("tags", "array_contains", "x"), FieldFilter("tags", "array_contains", "y")],
]


@pytest.mark.parametrize(
    "filters", INVALID, ids=lambda fs: " & ".join(f"{f.field_path}{f.op_string}" for f in fs)
)
def test_invalid_queries(rows: firestore.CollectionReference, filters: list[Any]) -> None:
    query: Any = rows
    for f in filters:
        query = query.where(filter=f)
    with pytest.raises(exceptions.InvalidArgument):
        ids(query)
    with pytest.raises(exceptions.InvalidArgument):
        ids(query.limit(0))  # refused before any document is read
    assert len(ids(rows.where(filter=FieldFilter("n", "in", list(range(30)))))) == 5
    with pytest.raises(exceptions.InvalidArgument):
        ids(rows.limit(-1))
