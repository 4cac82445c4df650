"""Field transforms applied server-side at commit: server timestamp, increment, max/min, array ops."""

from __future__ import annotations

from typing import Any

from localgcp.services.firestore.errors import invalid
from localgcp.services.firestore.values import (
    Value,
    compare_values,
    get_field,
    is_numeric,
    parse_field_path,
    set_field,
    set_timestamp,
    values_equal,
)

_INT64_MAX = 2**63 - 1
_INT64_MIN = -(2**63)


def apply_transforms(fields: Any, transforms: Any, commit_us: int) -> list[Any]:
    """Apply each FieldTransform in order to ``fields``; return one transform result per transform."""
    results = []
    for transform in transforms:
        path = parse_field_path(transform.field_path)
        kind = transform.WhichOneof("transform_type")
        current = get_field(fields, path)
        result = Value()
        if kind == "set_to_server_value":
            if transform.set_to_server_value != 1:  # REQUEST_TIME
                raise invalid(f"unsupported server value {transform.set_to_server_value}")
            # "the time at which the server processed the request, with millisecond precision"
            set_timestamp(result.timestamp_value, commit_us - commit_us % 1000)
            new = result
        elif kind == "increment":
            new = _increment(current, transform.increment)
            result = new
        elif kind == "maximum":
            new = _extreme(current, transform.maximum, want=1)
            result = new
        elif kind == "minimum":
            new = _extreme(current, transform.minimum, want=-1)
            result = new
        elif kind == "append_missing_elements":
            new = _array_union(current, transform.append_missing_elements.values)
            result.null_value = 0
        elif kind == "remove_all_from_array":
            new = _array_remove(current, transform.remove_all_from_array.values)
            result.null_value = 0
        else:
            raise invalid(f"unsupported field transform {kind!r}")
        set_field(fields, path, new)
        results.append(result)
    return results


def _require_number(operand: Any, what: str) -> None:
    if not is_numeric(operand):
        raise invalid(f"{what} operand must be an integer or a double")


def _increment(current: Any | None, operand: Any) -> Any:
    _require_number(operand, "increment")
    out = Value()
    if current is None or not is_numeric(current):
        out.CopyFrom(operand)
        return out
    a_int = current.WhichOneof("value_type") == "integer_value"
    b_int = operand.WhichOneof("value_type") == "integer_value"
    if a_int and b_int:
        out.integer_value = max(_INT64_MIN, min(_INT64_MAX, current.integer_value + operand.integer_value))
    else:
        a = current.integer_value if a_int else current.double_value
        b = operand.integer_value if b_int else operand.double_value
        out.double_value = float(a) + float(b)
    return out


def _extreme(current: Any | None, operand: Any, want: int) -> Any:
    _require_number(operand, "maximum/minimum")
    out = Value()
    if current is None or not is_numeric(current) or compare_values(operand, current) == want:
        out.CopyFrom(operand)
    else:
        out.CopyFrom(current)
    return out


def _array_union(current: Any | None, elements: Any) -> Any:
    out = Value()
    out.array_value.SetInParent()
    if current is not None and current.WhichOneof("value_type") == "array_value":
        out.array_value.values.extend(current.array_value.values)
    for element in elements:
        if not any(values_equal(element, existing) for existing in out.array_value.values):
            out.array_value.values.append(element)
    return out


def _array_remove(current: Any | None, elements: Any) -> Any:
    out = Value()
    out.array_value.SetInParent()
    if current is not None and current.WhichOneof("value_type") == "array_value":
        for existing in current.array_value.values:
            if not any(values_equal(existing, element) for element in elements):
                out.array_value.values.append(existing)
    return out
