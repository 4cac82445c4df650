"""Sales orders: the validation rules, the money arithmetic, and the flattening to export rows.

An order is the Firestore document ``sales/{order_id}`` (``contracts.sales.ORDER_DOCUMENT_FIELDS``,
``items`` a non-empty list of ``ORDER_ITEM_FIELDS`` maps). ``discount`` is an amount in the
order's currency taken off the line (``quantity * unit_price - discount``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from contracts.sales import (
    CHANNELS,
    CURRENCIES,
    INT32_MAX,
    MAX_ORDER_USD,
    MAX_UNIT_PRICE,
    ORDER_DOCUMENT_FIELDS,
    ORDER_ITEM_FIELDS,
    ORDER_STATUSES,
    SALES_LINE_SCHEMA,
)

#: Fields the platform itself adds to an order document (not part of the application's order).
PLATFORM_FIELDS = ("validation",)


@dataclass(frozen=True)
class OrderProblem:
    field: str
    reason: str

    def __str__(self) -> str:
        return f"{self.field}: {self.reason}"


def _is_number(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)


def _is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _text_problem(order: dict[str, Any], name: str) -> OrderProblem | None:
    value = order.get(name)
    if not isinstance(value, str) or not value.strip():
        return OrderProblem(name, f"must be a non-empty string, got {value!r}")
    return None


def _item_problem(i: int, item: Any, seen_lines: set[int]) -> OrderProblem | None:
    where = f"items[{i}]"
    if not isinstance(item, dict):
        return OrderProblem(where, "must be a map")
    missing = [f for f in ORDER_ITEM_FIELDS if item.get(f) is None]
    if missing:
        return OrderProblem(f"{where}.{missing[0]}", "is required")
    line_no, qty, price, discount = item["line_no"], item["quantity"], item["unit_price"], item["discount"]
    if not _is_int(line_no) or not 1 <= line_no <= INT32_MAX or line_no in seen_lines:
        return OrderProblem(
            f"{where}.line_no", f"must be a unique integer in 1..{INT32_MAX}, got {line_no!r}"
        )
    seen_lines.add(line_no)
    for name in ("product_id", "product_name", "category"):
        problem = _text_problem(item, name)
        if problem:
            return OrderProblem(f"{where}.{problem.field}", problem.reason)
    if not _is_int(qty) or not 1 <= qty <= INT32_MAX:
        return OrderProblem(f"{where}.quantity", f"must be an integer in 1..{INT32_MAX}, got {qty!r}")
    if not _is_number(price) or not 0 <= price <= MAX_UNIT_PRICE:
        return OrderProblem(
            f"{where}.unit_price", f"must be a number in 0..{MAX_UNIT_PRICE:g}, got {price!r}"
        )
    if not _is_number(discount) or discount < 0 or discount > qty * price + 1e-9:
        return OrderProblem(f"{where}.discount", f"must be between 0 and the line amount, got {discount!r}")
    return None


def validate_order(order: Any, order_id: str | None = None) -> OrderProblem | None:
    """The first problem with an order document, or None when it is valid."""
    if not isinstance(order, dict):
        return OrderProblem("<document>", "is not a map")
    missing = [f for f in ORDER_DOCUMENT_FIELDS if order.get(f) is None]
    if missing:
        return OrderProblem(missing[0], "is required")
    for name in ("order_id", "customer_id", "customer_segment", "store_id"):
        problem = _text_problem(order, name)
        if problem:
            return problem
    if order_id is not None and order["order_id"] != order_id:
        return OrderProblem("order_id", f"{order['order_id']!r} differs from the document id {order_id!r}")
    ts = order["order_ts"]
    if not isinstance(ts, datetime) or ts.tzinfo is None:
        return OrderProblem("order_ts", f"must be a timestamp, got {type(ts).__name__}")
    country = order["customer_country"]
    if not isinstance(country, str) or len(country) != 2 or not (country.isalpha() and country.isupper()):
        return OrderProblem("customer_country", f"not an ISO-3166 alpha-2 code: {country!r}")
    for name, allowed in (("channel", CHANNELS), ("status", ORDER_STATUSES), ("currency", CURRENCIES)):
        if order[name] not in allowed:
            return OrderProblem(name, f"unknown value {order[name]!r}; expected one of {list(allowed)}")
    fx = order["fx_rate_to_usd"]
    if not _is_number(fx) or fx <= 0:
        return OrderProblem("fx_rate_to_usd", f"must be a positive number, got {fx!r}")
    items = order["items"]
    if not isinstance(items, list) or not items:
        return OrderProblem("items", "must be a non-empty list")
    seen: set[int] = set()
    for i, item in enumerate(items):
        problem = _item_problem(i, item, seen)
        if problem:
            return problem
    usd = net_amount(order) * fx
    if not usd <= MAX_ORDER_USD:  # also catches an overflow to infinity
        return OrderProblem("items", f"order amount {usd:.6g} USD is over the {MAX_ORDER_USD:g} USD limit")
    return None


def net_amount(order: dict[str, Any]) -> float:
    """Order total in its own currency, after line discounts (the order must be valid)."""
    return float(sum(it["quantity"] * it["unit_price"] - it["discount"] for it in order["items"]))


def revenue_usd_micros(order: dict[str, Any]) -> int:
    """Revenue in micro-USD (integers add and subtract exactly); only completed orders earn revenue."""
    if order["status"] != "completed":
        return 0
    return round(net_amount(order) * float(order["fx_rate_to_usd"]) * 1_000_000)


def order_day(order: dict[str, Any]) -> str | None:
    """The UTC date (YYYY-MM-DD) an order belongs to, or None if it has no usable timestamp."""
    ts = order.get("order_ts") if isinstance(order, dict) else None
    if not isinstance(ts, datetime) or ts.tzinfo is None:
        return None
    return ts.astimezone(UTC).date().isoformat()


def normalize_order(order: dict[str, Any]) -> dict[str, Any]:
    """An order as written to Firestore: ``order_ts`` as an aware UTC datetime (so range queries work)."""
    out = dict(order)
    ts = out.get("order_ts")
    if isinstance(ts, str):
        ts = datetime.fromisoformat(ts.replace("Z", "+00:00"))
    if isinstance(ts, datetime):
        out["order_ts"] = ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)
    return out


def order_lines(order: dict[str, Any]) -> list[dict[str, Any]]:
    """One ``SALES_LINE_SCHEMA`` row per item of a valid order."""
    head = {name: order[name] for name in SALES_LINE_SCHEMA.names if name in ORDER_DOCUMENT_FIELDS}
    head["order_ts"] = order["order_ts"].astimezone(UTC)
    head["fx_rate_to_usd"] = float(order["fx_rate_to_usd"])
    rows = []
    for item in sorted(order["items"], key=lambda it: it["line_no"]):
        row = dict(head)
        for name in ORDER_ITEM_FIELDS:
            row[name] = item[name]
        row["unit_price"] = float(item["unit_price"])
        row["discount"] = float(item["discount"])
        rows.append({name: row[name] for name in SALES_LINE_SCHEMA.names})
    return rows
