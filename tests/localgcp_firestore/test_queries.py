"""Queries and aggregations through google-cloud-firestore against the local emulator."""

from __future__ import annotations

from typing import Any

import pytest
from google.cloud import firestore
from google.cloud.firestore_v1 import aggregation
from google.cloud.firestore_v1.base_query import And, FieldFilter, Or

ORDERS: list[tuple[str, dict[str, Any]]] = [
    ("a", {"n": 1, "city": "Berlin", "tags": ["x", "y"], "total": 10.5}),
    ("b", {"n": 2, "city": "Paris", "tags": ["y"], "total": 20}),
    ("c", {"n": 3, "city": "Berlin", "tags": [], "total": 30}),
    ("d", {"n": 4, "city": "Rome", "tags": ["z"], "total": None}),
    ("e", {"n": 5, "city": "Paris"}),
    ("f", {"city": "Oslo", "total": "n/a"}),
]


@pytest.fixture
def orders(db: firestore.Client) -> firestore.CollectionReference:
    batch = db.batch()
    for doc_id, data in ORDERS:
        batch.set(db.collection("orders").document(doc_id), data)
    batch.commit()
    return db.collection("orders")


def ids(query: Any) -> list[str]:
    return [s.id for s in query.stream()]


@pytest.mark.parametrize(
    ("field", "op", "value", "expected"),
    [
        ("n", "==", 2, ["b"]),
        ("n", "==", 2.0, ["b"]),
        ("n", "!=", 2, ["a", "c", "d", "e"]),
        ("n", "<", 3, ["a", "b"]),
        ("n", "<=", 3, ["a", "b", "c"]),
        ("n", ">", 3, ["d", "e"]),
        ("n", ">=", 3.5, ["d", "e"]),
        ("city", "in", ["Rome", "Oslo"], ["d", "f"]),
        ("city", "not-in", ["Berlin", "Paris"], ["f", "d"]),
        ("tags", "array_contains", "y", ["a", "b"]),
        ("tags", "array_contains_any", ["x", "z"], ["a", "d"]),
        ("total", "==", None, ["d"]),
        ("total", ">", 15, ["b", "c"]),
        ("total", ">", "a", ["f"]),
    ],
)
def test_where_operators(orders, field, op, value, expected) -> None:  # type: ignore[no-untyped-def]
    assert ids(orders.where(filter=FieldFilter(field, op, value))) == expected


def test_composite_and_or(orders: firestore.CollectionReference) -> None:
    either = Or([FieldFilter("city", "==", "Rome"), FieldFilter("n", "<", 2)])
    assert ids(orders.where(filter=either)) == ["a", "d"]
    both = And([FieldFilter("city", "==", "Paris"), FieldFilter("n", ">", 2)])
    assert ids(orders.where(filter=both)) == ["e"]


def test_ordering_multiple_fields_and_type_order(orders: firestore.CollectionReference) -> None:
    q = orders.order_by("city").order_by("n", direction=firestore.Query.DESCENDING)
    assert ids(q) == ["c", "a", "e", "b", "d"]  # f has no n: excluded by the order on n
    # mixed types order: null < numbers < strings
    assert ids(orders.order_by("total")) == ["d", "a", "b", "c", "f"]
    assert ids(orders.order_by("total", direction=firestore.Query.DESCENDING)) == ["f", "c", "b", "a", "d"]


def test_implicit_name_order_and_limit_offset(orders: firestore.CollectionReference) -> None:
    assert ids(orders) == ["a", "b", "c", "d", "e", "f"]
    assert ids(orders.where(filter=FieldFilter("city", "==", "Paris"))) == ["b", "e"]
    assert ids(orders.order_by("n").offset(1).limit(2)) == ["b", "c"]
    assert [s.id for s in orders.order_by("n").limit_to_last(2).get()] == ["d", "e"]
    assert ids(orders.order_by("n").offset(10)) == []


def test_cursors(orders: firestore.CollectionReference) -> None:
    by_n = orders.order_by("n")
    assert ids(by_n.start_at({"n": 2})) == ["b", "c", "d", "e"]
    assert ids(by_n.start_after({"n": 2})) == ["c", "d", "e"]
    assert ids(by_n.end_at({"n": 3})) == ["a", "b", "c"]
    assert ids(by_n.end_before({"n": 3})) == ["a", "b"]
    assert ids(by_n.start_after({"n": 1}).end_before({"n": 5})) == ["b", "c", "d"]
    snapshot = orders.document("c").get()
    assert ids(orders.order_by("city").start_after(snapshot)) == ["f", "b", "e", "d"]
    # paginate with a document snapshot cursor (uses __name__ as tie breaker)
    page1 = list(orders.order_by("city").limit(3).stream())
    page2 = ids(orders.order_by("city").start_after(page1[-1]).limit(3))
    assert [s.id for s in page1] + page2 == ["a", "c", "f", "b", "e", "d"]


def test_select_projection(orders: firestore.CollectionReference) -> None:
    got = [s.to_dict() for s in orders.select(["city"]).where(filter=FieldFilter("n", "<", 3)).stream()]
    assert got == [{"city": "Berlin"}, {"city": "Paris"}]


def test_collection_group(db: firestore.Client) -> None:
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
    assert [s.id for s in group.where(filter=FieldFilter("v", ">=", 2)).order_by("v").stream()] == [
        "o2",
        "top",
    ]
    assert [s.id for s in db.collection("users").document("u1").collection("orders").stream()] == ["o1"]
    partitions = list(group.get_partitions(4))
    assert sum(len(list(p.query().stream())) for p in partitions) == 3


def test_count_sum_avg(orders: firestore.CollectionReference) -> None:
    q = orders.where(filter=FieldFilter("city", "in", ["Berlin", "Paris"]))
    agg: Any = aggregation.AggregationQuery(q)
    agg.count(alias="n_docs").sum("n", alias="sum_n").avg("total", alias="avg_total").sum(
        "total", alias="sum_total"
    )
    (results,) = agg.get()
    got = {r.alias: r.value for r in results}
    # sum/avg over "total" leave out e (no "total") from the whole aggregation, count included:
    # the service combines aggregations over the documents that have every aggregated field
    assert got == {"n_docs": 3, "sum_n": 6, "avg_total": pytest.approx(60.5 / 3), "sum_total": 60.5}
    counted: Any = orders.count()
    (count,) = counted.get()
    assert count[0].value == 6
    limited_query: Any = orders.limit(2).count()
    (limited,) = limited_query.get()
    assert limited[0].value == 2
    # avg over no numbers is null on the wire (the client's AggregationResult shows it as 0.0)
    empty: Any = orders.where(filter=FieldFilter("n", ">", 100)).avg("n", alias="a")
    (response,) = list(
        orders._client._firestore_api.run_aggregation_query(
            request={"parent": orders._parent_info()[0], "structured_aggregation_query": empty._to_protobuf()}
        )
    )
    assert "null_value" in response.result.aggregate_fields["a"]
