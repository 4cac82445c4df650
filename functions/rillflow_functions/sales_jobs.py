"""``generate_sales`` (orders into Firestore) and ``export_sales`` (one day of orders to Parquet)."""

from __future__ import annotations

import hashlib
import io
import json
import logging
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from contracts.sales import SALES_LINE_SCHEMA
from rillflow_functions import lake_paths, orders
from rillflow_functions.bronze_validation import ROWS_METADATA_KEY, to_jsonl
from rillflow_functions.ports import (
    MAX_BATCH_WRITES,
    DocumentStore,
    GenerationMismatch,
    Generators,
    ObjectStore,
    chunked,
)

log = logging.getLogger(__name__)
SALES = "sales"
#: which day's quarantine an invalid order without a usable ``order_ts`` was filed under
UNDATED_CLAIMS = "sales_undated_orders"


def day_orders(generators: Generators, day: date) -> list[tuple[str, dict[str, Any]]]:
    """The day's orders as ``(sales/{order_id}, document)``; ids are deterministic."""
    docs = [orders.normalize_order(o) for o in generators.orders_for_day(day)]
    ids = [str(d["order_id"]) for d in docs]
    if len(set(ids)) != len(ids):
        raise ValueError(f"the generator produced duplicate order ids for {day}")
    return [(f"{SALES}/{oid}", d) for oid, d in zip(ids, docs, strict=True)]


def write_orders(
    documents: DocumentStore, day: date, docs: list[tuple[str, dict[str, Any]]]
) -> dict[str, Any]:
    batches = chunked(docs, MAX_BATCH_WRITES)
    for batch in batches:
        documents.write_batch(batch)
    return {"date": day.isoformat(), "orders": len(docs), "batches": len(batches)}


def generate_sales(documents: DocumentStore, generators: Generators, day: date) -> dict[str, Any]:
    """Write the day's orders as ``sales/{order_id}``; ids are deterministic, so a rerun rewrites
    the very same documents (no duplicates)."""
    return write_orders(documents, day, day_orders(generators, day))


def day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time.min, tzinfo=UTC)
    return start, start + timedelta(days=1)


def flatten_orders(
    docs: list[tuple[str, dict[str, Any]]],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(export rows sorted by order and line, invalid orders with their reason)."""
    rows: list[dict[str, Any]] = []
    invalid: list[dict[str, Any]] = []
    for order_id, doc in sorted(docs, key=lambda d: d[0]):
        order = {k: v for k, v in doc.items() if k not in orders.PLATFORM_FIELDS}
        problem = orders.validate_order(order, order_id)
        if problem is None:
            rows.extend(orders.order_lines(order))
        else:
            invalid.append(
                {"order_id": order_id, "reason": str(problem), "field": problem.field, "order": order}
            )
    return rows, invalid


def to_parquet(rows: list[dict[str, Any]]) -> bytes:
    table = pa.Table.from_pylist(rows, schema=SALES_LINE_SCHEMA)
    buf = io.BytesIO()
    pq.write_table(table, buf, compression="zstd")
    return buf.getvalue()


def replace_object(
    lake: ObjectStore, name: str, data: bytes, content_type: str, metadata: dict[str, str]
) -> str:
    """Put ``data`` at ``name`` atomically: upload under ``if_generation_match`` = the generation we
    saw (0 = absent), so readers see the old or the new file, never a mix, and a concurrent writer
    is detected. Identical bytes are left alone (no new version, no new finalize event)."""
    for _ in range(3):
        current = lake.stat(name)
        if current is not None and lake.read(name, current.generation) == data:
            return "unchanged"
        try:
            lake.write(name, data, content_type, current.generation if current else 0, metadata)
        except GenerationMismatch:
            continue
        return "replaced" if current else "written"
    raise GenerationMismatch(f"{name} kept changing while being replaced")


def undated_invalid_orders(documents: DocumentStore, day: date) -> list[tuple[str, dict[str, Any]]]:
    """Invalid orders without a usable ``order_ts`` (missing, or not a timestamp), which no day's
    range query returns: found by the flag ``on_sale_written`` wrote on them (``validation.ok``
    false). Each is filed under the first day whose export meets it, by a create-only claim
    (``sales_undated_orders/{order_id}``), and again under that same day when it is re-exported."""
    found = []
    for order_id, doc in documents.query_equal(SALES, "validation.ok", False):
        if orders.order_day(doc) is not None:
            continue  # it has a day: that day's export sets it aside
        claim = f"{UNDATED_CLAIMS}/{order_id}"
        if documents.create(claim, {"dt": day.isoformat(), "order_id": order_id}) or (
            (documents.get(claim) or {}).get("dt") == day.isoformat()
        ):
            found.append((order_id, doc))
    return found


def export_sales(documents: DocumentStore, lake: ObjectStore, day: date) -> dict[str, Any]:
    start, end = day_bounds(day)
    docs = documents.query_range(SALES, "order_ts", start, end)
    return export_day(lake, day, docs + undated_invalid_orders(documents, day))


def orders_by_day(
    documents: DocumentStore, first: date, last: date
) -> dict[date, list[tuple[str, dict[str, Any]]]]:
    """The orders of ``first`` … ``last`` in one query, by day: for each day, what
    :func:`export_sales`'s query returns (``order_ts`` in the day's bounds). A backfill's bulk read."""
    start, end = day_bounds(first)[0], day_bounds(last)[1]
    days: dict[date, list[tuple[str, dict[str, Any]]]] = {}
    for order_id, doc in documents.query_range(SALES, "order_ts", start, end):
        ts = doc["order_ts"]
        day = (ts.astimezone(UTC) if ts.tzinfo else ts.replace(tzinfo=UTC)).date()
        days.setdefault(day, []).append((order_id, doc))
    return days


def export_day(lake: ObjectStore, day: date, docs: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    """The day's orders (``sales`` documents with ``order_ts`` in the day) → bronze Parquet, invalid
    orders to quarantine with their reasons."""
    rows, invalid = flatten_orders(docs)
    name = lake_paths.sales_object(day)
    data = to_parquet(rows)
    digest = hashlib.sha256(data).hexdigest()
    action = replace_object(
        lake,
        name,
        data,
        lake_paths.PARQUET_CONTENT_TYPE,
        {ROWS_METADATA_KEY: str(len(rows)), "sha256": digest},
    )
    result: dict[str, Any] = {
        "date": day.isoformat(),
        "rows": len(rows),
        "orders": len(docs) - len(invalid),
        "invalid_orders": len(invalid),
        "uri": lake_paths.gcs_uri(lake.bucket, name),
        "action": action,
    }
    if invalid:
        # Invalid orders are not silently dropped: they are set aside with their reasons.
        side = lake_paths.QUARANTINE + f"sales_orders/dt={day.isoformat()}/invalid-orders.jsonl"
        replace_object(
            lake, side, to_jsonl(invalid), "application/x-ndjson", {ROWS_METADATA_KEY: str(len(invalid))}
        )
        result["invalid_uri"] = lake_paths.gcs_uri(lake.bucket, side)
    log.info("export_sales %s", json.dumps(result))
    return result
