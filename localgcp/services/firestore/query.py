"""Structured query evaluation: collection (group) scan, filters, ordering, cursors, offset, limit.

Candidates come from SQLite by collection (or collection id below an ancestor for collection
groups); filtering and ordering run in Python on the decoded documents with Firestore's value
order. Ordering follows the service: explicit orders, then inequality fields (lexicographic),
then ``__name__`` in the direction of the last order; documents lacking an order field drop out.

Aggregations follow the service too: the fields a ``sum``/``avg`` reads are implicit orders (after
the inequality fields, lexicographic), so documents lacking one drop out of the whole aggregation
(``count`` included) and a ``limit`` keeps the first documents in that order — deterministic, and
the same numbers Firestore gives (``limit(12).sum("x")`` sums the 12 smallest ``x``).

Every read can run at a past ``read_us`` (microseconds); the store answers from its history.
"""

from __future__ import annotations

import functools
from typing import Any

from google.cloud.firestore_v1.types import query as query_types

from localgcp.services.firestore.errors import invalid, unimplemented
from localgcp.services.firestore.store import DocumentStore
from localgcp.services.firestore.values import (
    Document,
    FieldPath,
    Value,
    check_id,
    compare_values,
    database_root,
    get_field,
    is_nan,
    parse_field_path,
    reference_value,
    set_field,
    type_order,
    values_equal,
)

_FieldOp = query_types.StructuredQuery.FieldFilter.Operator
_UnaryOp = query_types.StructuredQuery.UnaryFilter.Operator
_CompositeOp = query_types.StructuredQuery.CompositeFilter.Operator
_DESCENDING = int(query_types.StructuredQuery.Direction.DESCENDING)
_INEQUALITY = {
    int(_FieldOp.LESS_THAN),
    int(_FieldOp.LESS_THAN_OR_EQUAL),
    int(_FieldOp.GREATER_THAN),
    int(_FieldOp.GREATER_THAN_OR_EQUAL),
    int(_FieldOp.NOT_EQUAL),
    int(_FieldOp.NOT_IN),
}
_NAME: FieldPath = ("__name__",)

Order = tuple[FieldPath, bool]  # (field path, descending)


def field_value(doc: Any, path: FieldPath) -> Any | None:
    if path == _NAME:
        return reference_value(doc.name)
    return get_field(doc.fields, path)


def run_structured_query(
    store: DocumentStore,
    parent: str,
    query: Any,
    read_us: int | None = None,
    implicit: list[FieldPath] | None = None,
) -> list[Any]:
    """Every document the query returns, in order, projected (as of ``read_us`` when given).

    ``implicit`` are order fields an aggregation adds after the inequality fields."""
    database_root(parent)
    if query.HasField("find_nearest"):
        raise unimplemented("find_nearest (vector search) is not supported by the local Firestore emulator")
    selectors = query.from_
    if len(selectors) != 1:
        raise invalid("a structured query must select exactly one collection")
    selector = selectors[0]
    if selector.collection_id:
        check_id(selector.collection_id, "Collection")
    if selector.all_descendants:
        rows = store.group(parent, selector.collection_id or None, read_us)
    else:
        if not selector.collection_id:
            raise invalid("collection_id is required unless all_descendants is set")
        rows = store.collection(parent, selector.collection_id, read_us)
    if query.HasField("where"):
        validate_filter(query.where)
    docs = [Document.FromString(row) for row in rows]
    if query.HasField("where"):
        docs = [d for d in docs if matches(query.where, d)]
    orders = effective_orders(query, implicit or [])
    docs = [d for d in docs if all(field_value(d, path) is not None for path, _ in orders)]
    docs.sort(key=functools.cmp_to_key(lambda a, b: _compare_docs(a, b, orders)))
    if query.HasField("start_at"):
        docs = [d for d in docs if _after_start(d, query.start_at, orders)]
    if query.HasField("end_at"):
        docs = [d for d in docs if _before_end(d, query.end_at, orders)]
    if query.offset < 0:
        raise invalid("offset must not be negative")
    docs = docs[query.offset :]
    if query.HasField("limit"):
        if query.limit.value < 0:
            raise invalid("limit must not be negative")
        docs = docs[: query.limit.value]
    if query.HasField("select"):
        docs = [_project(d, query.select.fields) for d in docs]
    return docs


# --- filters ---------------------------------------------------------------------------------

_ARRAY_OPERANDS = {int(_FieldOp.IN): 30, int(_FieldOp.ARRAY_CONTAINS_ANY): 30, int(_FieldOp.NOT_IN): 10}
_NEGATIONS = {int(_FieldOp.NOT_EQUAL), int(_FieldOp.NOT_IN)}
_UNARY_NEGATIONS = {int(_UnaryOp.IS_NOT_NAN), int(_UnaryOp.IS_NOT_NULL)}
_OP_NAMES = {int(op): name for name, op in _FieldOp.__members__.items()}


def validate_filter(filter_: Any) -> None:
    """The service's limits on a query's filters, checked before any document is read."""
    leaves: list[Any] = []
    _collect_leaves(filter_, leaves)
    negations = 0
    for leaf in leaves:
        if leaf.WhichOneof("filter_type") == "unary_filter":
            negations += leaf.unary_filter.op in _UNARY_NEGATIONS
            continue
        f = leaf.field_filter
        negations += f.op in _NEGATIONS
        name = _OP_NAMES.get(f.op, str(f.op))
        if f.op in _ARRAY_OPERANDS:
            items = _array(f.value)
            if not items:
                raise invalid(f"'{name}' requires a non-empty array of values.")
            if len(items) > _ARRAY_OPERANDS[f.op]:
                raise invalid(f"'{name}' supports up to {_ARRAY_OPERANDS[f.op]} comparison values.")
        if parse_field_path(f.field.field_path) == _NAME:
            operands = _array(f.value) if f.op in _ARRAY_OPERANDS else [f.value]
            if any(v.WhichOneof("value_type") != "reference_value" for v in operands or []):
                raise invalid("a filter on __name__ must compare with document references")
    if negations > 1:
        raise invalid(
            "Only a single 'NOT_EQUAL', 'NOT_IN', 'IS_NOT_NAN', or 'IS_NOT_NULL' filter allowed per query."
        )
    if _array_contains_per_disjunction(filter_) > 1:
        raise invalid("A maximum of 1 'ARRAY_CONTAINS' filter is allowed per disjunction.")


def _collect_leaves(filter_: Any, out: list[Any]) -> None:
    if filter_.WhichOneof("filter_type") == "composite_filter":
        for f in filter_.composite_filter.filters:
            _collect_leaves(f, out)
    else:
        out.append(filter_)


def _array_contains_per_disjunction(filter_: Any) -> int:
    """The most ARRAY_CONTAINS filters one term of the filter's disjunctive normal form holds."""
    kind = filter_.WhichOneof("filter_type")
    if kind == "composite_filter":
        counts = [_array_contains_per_disjunction(f) for f in filter_.composite_filter.filters]
        if filter_.composite_filter.op == _CompositeOp.OR:
            return max(counts, default=0)
        return sum(counts)
    return int(kind == "field_filter" and filter_.field_filter.op == _FieldOp.ARRAY_CONTAINS)


def matches(filter_: Any, doc: Any) -> bool:
    kind = filter_.WhichOneof("filter_type")
    if kind == "composite_filter":
        results = (matches(f, doc) for f in filter_.composite_filter.filters)
        if filter_.composite_filter.op == _CompositeOp.OR:
            return any(results)
        return all(results)
    if kind == "field_filter":
        f = filter_.field_filter
        return _field_matches(f.op, field_value(doc, parse_field_path(f.field.field_path)), f.value)
    if kind == "unary_filter":
        u = filter_.unary_filter
        value = field_value(doc, parse_field_path(u.field.field_path))
        if value is None:
            return False
        if u.op == _UnaryOp.IS_NULL:
            return value.WhichOneof("value_type") == "null_value"
        if u.op == _UnaryOp.IS_NOT_NULL:
            return value.WhichOneof("value_type") != "null_value"
        if u.op == _UnaryOp.IS_NAN:
            return is_nan(value)
        if u.op == _UnaryOp.IS_NOT_NAN:  # like != : a null is not "not NaN"
            return not is_nan(value) and value.WhichOneof("value_type") != "null_value"
        raise invalid(f"unsupported unary operator {u.op}")
    raise invalid(f"unsupported filter {kind!r}")


def _field_matches(op: int, value: Any | None, operand: Any) -> bool:
    if value is None:
        return False
    if op == _FieldOp.EQUAL:
        return values_equal(value, operand)
    if op == _FieldOp.NOT_EQUAL:
        return not values_equal(value, operand) and value.WhichOneof("value_type") != "null_value"
    if op == _FieldOp.ARRAY_CONTAINS:
        items = _array(value)
        return items is not None and any(values_equal(v, operand) for v in items)
    if op in (_FieldOp.IN, _FieldOp.NOT_IN, _FieldOp.ARRAY_CONTAINS_ANY):
        candidates = _array(operand)
        if candidates is None:
            raise invalid("in, not-in and array-contains-any need an array operand")
        return _membership(op, value, candidates)
    # range comparisons only match values of the same type (numbers with numbers, ...)
    if type_order(value) != type_order(operand) or is_nan(value) or is_nan(operand):
        return False
    c = compare_values(value, operand)
    if op == _FieldOp.LESS_THAN:
        return c < 0
    if op == _FieldOp.LESS_THAN_OR_EQUAL:
        return c <= 0
    if op == _FieldOp.GREATER_THAN:
        return c > 0
    if op == _FieldOp.GREATER_THAN_OR_EQUAL:
        return c >= 0
    raise invalid(f"unsupported field filter operator {op}")


def _membership(op: int, value: Any, candidates: Any) -> bool:
    if op == _FieldOp.IN:
        return any(values_equal(value, c) for c in candidates)
    if op == _FieldOp.NOT_IN:
        if any(c.WhichOneof("value_type") == "null_value" for c in candidates):
            return False
        return value.WhichOneof("value_type") != "null_value" and not any(
            values_equal(value, c) for c in candidates
        )
    items = _array(value)  # ARRAY_CONTAINS_ANY
    return items is not None and any(values_equal(v, c) for v in items for c in candidates)


def _array(value: Any) -> Any | None:
    return value.array_value.values if value.WhichOneof("value_type") == "array_value" else None


def _inequality_fields(filter_: Any, out: set[FieldPath]) -> None:
    kind = filter_.WhichOneof("filter_type")
    if kind == "composite_filter":
        for f in filter_.composite_filter.filters:
            _inequality_fields(f, out)
    elif kind == "field_filter" and filter_.field_filter.op in _INEQUALITY:
        out.add(parse_field_path(filter_.field_filter.field.field_path))
    elif kind == "unary_filter" and filter_.unary_filter.op in (_UnaryOp.IS_NOT_NAN, _UnaryOp.IS_NOT_NULL):
        out.add(parse_field_path(filter_.unary_filter.field.field_path))


# --- ordering and cursors --------------------------------------------------------------------


def effective_orders(query: Any, implicit: list[FieldPath] | None = None) -> list[Order]:
    orders: list[Order] = [
        (parse_field_path(o.field.field_path), o.direction == _DESCENDING) for o in query.order_by
    ]
    explicit = {path for path, _ in orders}
    inequality: set[FieldPath] = set()
    if query.HasField("where"):
        _inequality_fields(query.where, inequality)
    last_descending = orders[-1][1] if orders else False
    for path in sorted(inequality - explicit):
        orders.append((path, last_descending))
    for path in sorted(set(implicit or []) - explicit - inequality - {_NAME}):
        orders.append((path, last_descending))
    if _NAME not in explicit:
        orders.append((_NAME, last_descending))
    return orders


def _compare_docs(a: Any, b: Any, orders: list[Order]) -> int:
    for path, descending in orders:
        c = compare_values(field_value(a, path), field_value(b, path))
        if c:
            return -c if descending else c
    return 0


def _compare_to_cursor(doc: Any, cursor: Any, orders: list[Order]) -> int:
    if len(cursor.values) > len(orders):
        raise invalid("cursor has more values than the query has orderings")
    for value, (path, descending) in zip(cursor.values, orders, strict=False):
        if path == _NAME and value.WhichOneof("value_type") != "reference_value":
            raise invalid("a cursor on __name__ must be a document reference")
        c = compare_values(field_value(doc, path), value)
        if c:
            return -c if descending else c
    return 0


def _after_start(doc: Any, cursor: Any, orders: list[Order]) -> bool:
    c = _compare_to_cursor(doc, cursor, orders)
    return c > 0 or (c == 0 and cursor.before)


def _before_end(doc: Any, cursor: Any, orders: list[Order]) -> bool:
    c = _compare_to_cursor(doc, cursor, orders)
    return c < 0 or (c == 0 and not cursor.before)


def _project(doc: Any, fields: Any) -> Any:
    out = Document()
    out.name = doc.name
    out.create_time.CopyFrom(doc.create_time)
    out.update_time.CopyFrom(doc.update_time)
    for ref in fields:
        path = parse_field_path(ref.field_path)
        if path == _NAME:
            continue
        value = get_field(doc.fields, path)
        if value is not None:
            set_field(out.fields, path, value)
    return out


# --- aggregations ----------------------------------------------------------------------------


def aggregation_aliases(aggregations: Any) -> list[str]:
    """Each aggregation's alias (``field_<n>`` when unset); empty or duplicate → INVALID_ARGUMENT."""
    if not aggregations:
        raise invalid("Aggregations can not be empty.")
    aliases = [agg.alias or f"field_{index + 1}" for index, agg in enumerate(aggregations)]
    seen: set[str] = set()
    for alias in aliases:
        if alias in seen:
            raise invalid(f"Aggregation aliases contain duplicate alias: {alias}.")
        seen.add(alias)
    return aliases


def aggregated_fields(aggregations: Any) -> list[FieldPath]:
    """The fields ``sum``/``avg`` read: the aggregation's implicit order fields."""
    fields = []
    for agg in aggregations:
        kind = agg.WhichOneof("operator")
        if kind in ("sum", "avg"):
            fields.append(parse_field_path(getattr(agg, kind).field.field_path))
    return fields


def run_aggregation(
    store: DocumentStore, parent: str, aggregation_query: Any, read_us: int | None = None
) -> tuple[list[Any], dict[str, Any]]:
    """The documents an aggregation covers and its results by alias."""
    aggregations = aggregation_query.aggregations
    aggregation_aliases(aggregations)
    docs = run_structured_query(
        store, parent, aggregation_query.structured_query, read_us, aggregated_fields(aggregations)
    )
    return docs, aggregate(docs, aggregations)


def aggregate(docs: list[Any], aggregations: Any) -> dict[str, Any]:
    """count / sum / avg over the query's documents, keyed by alias."""
    out: dict[str, Any] = {}
    for alias, agg in zip(aggregation_aliases(aggregations), aggregations, strict=True):
        kind = agg.WhichOneof("operator")
        result = Value()
        if kind == "count":
            n = len(docs)
            if agg.count.HasField("up_to"):
                if agg.count.up_to.value < 1:
                    raise invalid("count up_to must be greater than zero")
                n = min(n, agg.count.up_to.value)
            result.integer_value = n
        elif kind in ("sum", "avg"):
            path = parse_field_path(getattr(agg, kind).field.field_path)
            numbers = [v for v in (field_value(d, path) for d in docs) if v is not None and _is_number(v)]
            if kind == "sum":
                _sum_into(result, numbers)
            elif numbers:
                result.double_value = sum(float(_as_number(v)) for v in numbers) / len(numbers)
            else:
                result.null_value = 0
        else:
            raise invalid(f"unsupported aggregation {kind!r}")
        out[alias] = result
    return out


def _is_number(value: Any) -> bool:
    return value.WhichOneof("value_type") in ("integer_value", "double_value")


def _as_number(value: Any) -> int | float:
    return value.integer_value if value.WhichOneof("value_type") == "integer_value" else value.double_value


def _sum_into(result: Any, numbers: list[Any]) -> None:
    total = sum(_as_number(v) for v in numbers)
    all_ints = all(v.WhichOneof("value_type") == "integer_value" for v in numbers)
    if all_ints and -(2**63) <= total < 2**63:
        result.integer_value = int(total)
    else:
        result.double_value = float(total)
