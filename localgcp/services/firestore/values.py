"""Firestore values on the raw protobuf messages: field paths, names, and the service's total order.

Firestore orders values first by type (null < boolean < NaN < numbers < timestamps < strings <
bytes < references < geo points < arrays < vectors < maps), then within the type; integers and
doubles are one type and compare numerically; vectors compare by dimension first, then element by
element. Equality in filters uses the same order.

Resource names (document names, reference values) compare segment by segment, and a segment of
the form ``__id<n>__`` (n a 64-bit integer: the numeric ids Datastore-era keys carry) sorts
before every string id, numerically among themselves. The client relies on this: ``recursive()``
starts its range at ``__id-9223372036854775808__``, the lowest document id there is.
"""

from __future__ import annotations

import functools
import math
import re
import time
from typing import Any

from google.cloud.firestore_v1.types import document as document_types

from localgcp.services.firestore.errors import invalid

Document = document_types.Document.pb()
Value = document_types.Value.pb()
MapValue = document_types.MapValue.pb()

FieldPath = tuple[str, ...]

_TYPE_ORDER = {
    "null_value": 0,
    "boolean_value": 1,
    "integer_value": 3,
    "double_value": 3,
    "timestamp_value": 4,
    "string_value": 5,
    "bytes_value": 6,
    "reference_value": 7,
    "geo_point_value": 8,
    "array_value": 9,
    "map_value": 11,
}
NAN_ORDER = 2
VECTOR_ORDER = 10
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_NUMERIC_ID = re.compile(r"__id(-?[0-9]+)__")
_RESERVED_ID = re.compile(r"__.*__", re.DOTALL)


@functools.lru_cache(maxsize=4096)
def parse_field_path(text: str) -> FieldPath:
    """Split a field path string (``a.b``, ``a.`b.c```, backslash escapes inside backticks)."""
    if text == "":
        raise invalid("empty field path")
    segments: list[str] = []
    current: list[str] = []
    i, quoted = 0, False
    while i < len(text):
        ch = text[i]
        if quoted:
            if ch == "\\" and i + 1 < len(text):
                current.append(text[i + 1])
                i += 1
            elif ch == "`":
                quoted = False
            else:
                current.append(ch)
        elif ch == "`":
            quoted = True
        elif ch == ".":
            if not current:
                raise invalid(f"invalid field path {text!r}")
            segments.append("".join(current))
            current = []
        else:
            current.append(ch)
        i += 1
    if quoted or not current:
        raise invalid(f"invalid field path {text!r}")
    segments.append("".join(current))
    return tuple(segments)


def get_field(fields: Any, path: FieldPath) -> Any | None:
    """The Value at ``path`` inside a ``map<string, Value>``, or None when absent."""
    value = None
    for segment in path:
        if segment not in fields:
            return None
        value = fields[segment]
        fields = value.map_value.fields if value.WhichOneof("value_type") == "map_value" else {}
    return value


def set_field(fields: Any, path: FieldPath, value: Any) -> None:
    """Set ``path`` to ``value``, turning missing or non-map intermediates into maps."""
    for segment in path[:-1]:
        holder = fields[segment]
        if holder.WhichOneof("value_type") != "map_value":
            holder.map_value.SetInParent()
            holder.map_value.fields.clear()
        fields = holder.map_value.fields
    fields[path[-1]].CopyFrom(value)


def delete_field(fields: Any, path: FieldPath) -> None:
    for segment in path[:-1]:
        if segment not in fields or fields[segment].WhichOneof("value_type") != "map_value":
            return
        fields = fields[segment].map_value.fields
    if path[-1] in fields:
        del fields[path[-1]]


def is_vector(value: Any) -> bool:
    """A vector value: ``{"__type__": "__vector__", "value": [doubles]}`` on the wire."""
    if value.WhichOneof("value_type") != "map_value":
        return False
    marker = value.map_value.fields.get("__type__")
    return marker is not None and marker.string_value == "__vector__"


def _vector_items(value: Any) -> Any:
    items = value.map_value.fields.get("value")
    return items.array_value.values if items is not None else []


def type_order(value: Any) -> int:
    kind = value.WhichOneof("value_type")
    if kind == "double_value" and math.isnan(value.double_value):
        return NAN_ORDER
    if kind == "map_value" and is_vector(value):
        return VECTOR_ORDER
    try:
        return _TYPE_ORDER[kind]
    except KeyError:
        raise invalid(f"unsupported value type {kind!r}") from None


def _cmp(a: Any, b: Any) -> int:
    return (a > b) - (a < b)


def _number(value: Any) -> int | float:
    return value.integer_value if value.WhichOneof("value_type") == "integer_value" else value.double_value


def numeric_id(segment: str) -> int | None:
    """The number in a ``__id<n>__`` segment (canonical, 64-bit), else None."""
    match = _NUMERIC_ID.fullmatch(segment)
    if match is None:
        return None
    digits = match.group(1)
    number = int(digits)
    if str(number) != digits or not _INT64_MIN <= number <= _INT64_MAX:
        return None
    return number


def segment_key(segment: str) -> tuple[int, int, str]:
    """Numeric ids first (by number), then string ids (UTF-8 byte order = code point order)."""
    number = numeric_id(segment)
    if number is not None:
        return (0, number, "")
    return (1, 0, segment)


@functools.lru_cache(maxsize=65536)
def reference_key(name: str) -> tuple[tuple[int, int, str], ...]:
    """References and document names order segment by segment, not as flat strings."""
    return tuple(segment_key(segment) for segment in name.split("/"))


def check_id(segment: str, kind: str = "Resource") -> None:
    """Ids of the form ``__...__`` are reserved, except canonical ``__id<int64>__`` document ids."""
    if not _RESERVED_ID.fullmatch(segment):
        return
    numeric = _NUMERIC_ID.fullmatch(segment)
    if kind == "Resource" and numeric is not None:
        if numeric_id(segment) is not None:
            return
        digits = numeric.group(1)
        if str(int(digits)) == digits:
            raise invalid(f'Resource id "{segment}" is invalid because it is not a 64 bit integer.')
    raise invalid(f'{kind} id "{segment}" is invalid because it is reserved.')


def compare_values(a: Any, b: Any) -> int:
    """-1, 0 or 1 under Firestore's total order of values."""
    ta, tb = type_order(a), type_order(b)
    if ta != tb:
        return _cmp(ta, tb)
    if ta in (0, NAN_ORDER):
        return 0
    kind = a.WhichOneof("value_type")
    if ta == 1:
        return _cmp(a.boolean_value, b.boolean_value)
    if ta == 3:
        return _cmp(_number(a), _number(b))
    if ta == 4:
        return _cmp(
            (a.timestamp_value.seconds, a.timestamp_value.nanos),
            (b.timestamp_value.seconds, b.timestamp_value.nanos),
        )
    if ta == 7:
        return _cmp(reference_key(a.reference_value), reference_key(b.reference_value))
    if ta == 8:
        return _cmp(
            (a.geo_point_value.latitude, a.geo_point_value.longitude),
            (b.geo_point_value.latitude, b.geo_point_value.longitude),
        )
    if ta == 9:
        return _compare_sequences(a.array_value.values, b.array_value.values)
    if ta == VECTOR_ORDER:
        xs, ys = _vector_items(a), _vector_items(b)
        return _cmp(len(xs), len(ys)) or _compare_sequences(xs, ys)
    if ta == _TYPE_ORDER["map_value"]:
        return _compare_maps(a.map_value.fields, b.map_value.fields)
    return _cmp(getattr(a, kind), getattr(b, kind))


def _compare_sequences(xs: Any, ys: Any) -> int:
    for x, y in zip(xs, ys, strict=False):
        c = compare_values(x, y)
        if c:
            return c
    return _cmp(len(xs), len(ys))


def _compare_maps(xs: Any, ys: Any) -> int:
    xkeys, ykeys = sorted(xs), sorted(ys)
    for xk, yk in zip(xkeys, ykeys, strict=False):
        if xk != yk:
            return _cmp(xk, yk)
        c = compare_values(xs[xk], ys[yk])
        if c:
            return c
    return _cmp(len(xkeys), len(ykeys))


def values_equal(a: Any, b: Any) -> bool:
    return compare_values(a, b) == 0


def is_nan(value: Any) -> bool:
    return value.WhichOneof("value_type") == "double_value" and math.isnan(value.double_value)


def is_numeric(value: Any) -> bool:
    return value.WhichOneof("value_type") in ("integer_value", "double_value")


def reference_value(name: str) -> Any:
    v = Value()
    v.reference_value = name
    return v


# --- document names ------------------------------------------------------------------------


def split_name(name: str) -> tuple[str, str, str]:
    """``projects/p/databases/d/documents/a/b`` → (root, parent, collection_id), validated."""
    parts = name.split("/")
    if len(parts) < 7 or parts[0] != "projects" or parts[2] != "databases" or parts[4] != "documents":
        raise invalid(f"invalid document name {name!r}")
    rel = parts[5:]
    if len(rel) % 2 or any(not seg for seg in rel):
        raise invalid(f"document name {name!r} must have an even number of non-empty path segments")
    for index, segment in enumerate(rel):
        check_id(segment, "Collection" if index % 2 == 0 else "Resource")
    root = "/".join(parts[:5])
    parent = "/".join(parts[:-2])
    return root, parent, parts[-2]


def database_root(parent: str) -> str:
    """The ``projects/p/databases/d/documents`` prefix of any resource name under it."""
    parts = parent.split("/")
    if len(parts) < 5 or parts[0] != "projects" or parts[2] != "databases" or parts[4] != "documents":
        raise invalid(f"invalid parent {parent!r}")
    return "/".join(parts[:5])


def now_micros() -> int:
    return time.time_ns() // 1000


def set_timestamp(ts: Any, micros: int) -> None:
    ts.seconds, ts.nanos = divmod(micros, 1_000_000)
    ts.nanos *= 1000


def timestamp_micros(ts: Any) -> int:
    return ts.seconds * 1_000_000 + ts.nanos // 1000
