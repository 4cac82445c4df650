"""Aggregations: count, sum, avg; aliases; limits; documents lacking the aggregated field."""

from __future__ import annotations

import math
from typing import Any

import pytest
from google.api_core import exceptions
from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter

pytestmark = pytest.mark.parity


@pytest.fixture
def col(db: firestore.Client) -> firestore.CollectionReference:
    col = db.collection("agg")
    for doc_id, v in [("d0", 5), ("d1", 3), ("d2", 9), ("d3", 1), ("d4", 7.5), ("d5", 2), ("d6", 8)]:
        col.document(doc_id).set({"v": v, "w": 10 - v, "g": 1})
    col.document("nov").set({"w": 100, "g": 1})
    col.document("str").set({"v": "text", "w": 1, "g": 1})
    col.document("nul").set({"v": None, "w": 1, "g": 1})
    return col


def results(query: Any) -> dict[str, Any]:
    (row,) = query.get()
    return {r.alias: r.value for r in row}


def test_count_sum_avg(col: firestore.CollectionReference) -> None:
    assert results(col.count(alias="n")) == {"n": 10}
    assert results(col.sum("v", alias="s")) == {"s": 35.5}  # non-numbers are ignored
    assert results(col.avg("v", alias="a")) == {"a": pytest.approx(35.5 / 7)}
    assert results(col.sum("w", alias="s")) == {"s": 136.5}
    ints = col.where(filter=FieldFilter("v", "in", [1, 2]))
    total = results(ints.sum("v", alias="s"))["s"]
    assert total == 3 and isinstance(total, int)
    assert results(col.where(filter=FieldFilter("v", ">", 100)).sum("v", alias="s")) == {"s": 0}
    assert results(col.limit(3).count(alias="n")) == {"n": 3}


def test_multiple_aggregations_cover_documents_with_every_field(col: firestore.CollectionReference) -> None:
    agg: Any = col.count(alias="n").sum("v", alias="s").avg("w", alias="a")
    # "nov" lacks v: it is left out of the whole aggregation, count included
    got = results(agg)
    assert got["n"] == 9 and got["s"] == 35.5


@pytest.mark.parametrize(
    ("build", "expected"),
    [
        (lambda c: c.limit(3).sum("v"), 3),  # ordered by v: null, 1, 2
        (lambda c: c.limit(3).avg("v"), 1.5),
        (lambda c: c.offset(2).limit(2).sum("v"), 5),
        (lambda c: c.order_by("v", direction=firestore.Query.DESCENDING).limit(3).sum("v"), 17),
        (lambda c: c.order_by("g", direction=firestore.Query.DESCENDING).limit(2).sum("v"), 9),
        (lambda c: c.where(filter=FieldFilter("w", ">", 3)).limit(2).sum("v"), 8),  # inequality first
        (lambda c: c.limit(2).sum("w"), 2),
        (lambda c: c.limit(12).sum("v"), 35.5),
    ],
)
def test_limits_apply_in_the_aggregated_fields_order(
    col: firestore.CollectionReference, build: Any, expected: Any
) -> None:
    (row,) = build(col).get()
    assert row[0].value == pytest.approx(expected)


def test_avg_of_nothing_is_null(col: firestore.CollectionReference, db: firestore.Client) -> None:
    empty: Any = col.where(filter=FieldFilter("v", ">", 100)).avg("v", alias="a")
    request = {
        "parent": f"{db._database_string}/documents",
        "structured_aggregation_query": empty._to_protobuf(),
    }
    (response,) = list(db._firestore_api.run_aggregation_query(request=request, metadata=db._rpc_metadata))
    assert "null_value" in response.result.aggregate_fields["a"]


def test_nan_and_mixed_numbers(db: firestore.Client) -> None:
    col = db.collection("nan")
    col.document("a").set({"v": 1})
    col.document("b").set({"v": 2.5})
    assert results(col.sum("v", alias="s")) == {"s": 3.5}
    col.document("c").set({"v": math.nan})
    assert math.isnan(results(col.sum("v", alias="s"))["s"])
    assert math.isnan(results(col.avg("v", alias="a"))["a"])


def test_aliases(col: firestore.CollectionReference, db: firestore.Client) -> None:
    with pytest.raises(exceptions.InvalidArgument, match="duplicate alias"):
        col.count(alias="x").sum("v", alias="x").get()
    parent = f"{db._database_string}/documents"
    query = {"from_": [{"collection_id": "agg"}]}
    api, metadata = db._firestore_api, db._rpc_metadata

    def run(aggregations: list) -> Any:
        request = {
            "parent": parent,
            "structured_aggregation_query": {"structured_query": query, "aggregations": aggregations},
        }
        return list(api.run_aggregation_query(request=request, metadata=metadata))

    with pytest.raises(exceptions.InvalidArgument, match="empty"):
        run([])
    (response,) = run([{"count": {}}, {"count": {}}])
    assert sorted(response.result.aggregate_fields) == ["field_1", "field_2"]
    with pytest.raises(exceptions.InvalidArgument, match="field_1"):
        run([{"count": {}}, {"alias": "field_1", "count": {}}])


def test_aggregation_in_transaction(col: firestore.CollectionReference, db: firestore.Client) -> None:
    @firestore.transactional
    def count(transaction: Any) -> Any:
        (row,) = col.count(alias="n").get(transaction=transaction)
        transaction.set(col.document("new"), {"v": 0})
        return row[0].value

    assert count(db.transaction()) == 10
    assert results(col.count(alias="n")) == {"n": 11}
