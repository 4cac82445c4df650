"""Is a bronze file what its contract promises? One report per file, naming the first bad record.

JSONL flows (clickstream, startups) are checked line by line against their JSON Schema contract;
sales Parquet against ``SALES_LINE_SCHEMA`` and the per-line rules. Files must not be empty
(a startups *delta* may be: nothing changed that week), and when the writer recorded a row count
in the object's metadata (``rows``) the file must hold exactly that many records.
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

import contracts
from contracts.sales import CHANNELS, CURRENCIES, ORDER_STATUSES, SALES_LINE_SCHEMA
from rillflow_functions.lake_paths import BronzeObject

ROWS_METADATA_KEY = "rows"
_JSON_CONTRACT = {"clickstream": "clickstream_event", "startups": "startup"}


@dataclass(frozen=True)
class FileReport:
    ok: bool
    rows: int
    reason: str | None = None
    first_bad: dict[str, Any] = field(default_factory=dict)  # {"record": n (1-based), "field": ..., ...}


def _bad(reason: str, rows: int = 0, **first_bad: Any) -> FileReport:
    return FileReport(ok=False, rows=rows, reason=reason, first_bad=first_bad)


def _jsonl_report(contract: str, data: bytes) -> FileReport:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return _bad(f"not UTF-8 text: {exc}")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    for n, line in enumerate(lines, start=1):
        try:
            record = json.loads(line)
        except (ValueError, RecursionError) as exc:
            # JSONDecodeError, but also an integer beyond Python's digit limit or nesting too deep
            why = exc.msg if isinstance(exc, json.JSONDecodeError) else f"{type(exc).__name__}: {exc}"
            return _bad(
                f"record {n} is not JSON: {why}", len(lines), record=n, field="<json>", value=line[:200]
            )
        try:
            contracts.validate(contract, record)
        except contracts.ContractViolation as exc:
            return _bad(
                f"record {n} breaks {contract}: {exc}", len(lines), record=n, field=exc.field, value=None
            )
    return FileReport(ok=True, rows=len(lines))


def _sales_row_problem(row: dict[str, Any]) -> tuple[str, str] | None:
    rules: list[tuple[str, bool, str]] = [
        ("line_no", row["line_no"] >= 1, "must be >= 1"),
        ("quantity", row["quantity"] > 0, "must be positive"),
        ("unit_price", row["unit_price"] >= 0, "must be non-negative"),
        (
            "discount",
            0 <= row["discount"] <= row["quantity"] * row["unit_price"] + 1e-9,
            "outside 0..line amount",
        ),
        ("fx_rate_to_usd", row["fx_rate_to_usd"] > 0, "must be positive"),
        ("currency", row["currency"] in CURRENCIES, "unknown currency"),
        ("channel", row["channel"] in CHANNELS, "unknown channel"),
        ("status", row["status"] in ORDER_STATUSES, "unknown status"),
        ("order_id", bool(row["order_id"]), "must be non-empty"),
    ]
    for name, ok, reason in rules:
        if not ok:
            return name, f"{reason}: {row[name]!r}"
    return None


def _parquet_report(data: bytes) -> FileReport:
    try:
        table = pq.read_table(io.BytesIO(data))
    except (pa.ArrowException, OSError) as exc:
        return _bad(f"not a readable Parquet file: {exc}")
    expected = [(f.name, f.type) for f in SALES_LINE_SCHEMA]
    actual = [(f.name, f.type) for f in table.schema]
    if actual != expected:
        diff = next(
            (f"{e} != {a}" for e, a in zip(expected, actual, strict=False) if e != a),
            "different column count",
        )
        return _bad(f"schema differs from sales_line: {diff}", table.num_rows, record=0, field="<schema>")
    for f in SALES_LINE_SCHEMA:
        if not f.nullable and table.column(f.name).null_count:
            return _bad(f"column {f.name} has nulls", table.num_rows, field=f.name)
    seen: set[tuple[str, int]] = set()
    for n, row in enumerate(table.to_pylist(), start=1):
        problem = _sales_row_problem(row)
        if problem is None and (row["order_id"], row["line_no"]) in seen:
            problem = ("line_no", f"duplicate line {row['line_no']} of order {row['order_id']}")
        if problem is not None:
            return _bad(f"record {n}: {problem[0]} {problem[1]}", table.num_rows, record=n, field=problem[0])
        seen.add((row["order_id"], row["line_no"]))
    return FileReport(ok=True, rows=table.num_rows)


def validate_bronze_file(
    obj: BronzeObject, data: bytes, metadata: Mapping[str, str] | None = None
) -> FileReport:
    """Check a whole bronze file; the report names the first bad record (1-based) and field."""
    report = _parquet_report(data) if obj.flow == "sales" else _jsonl_report(_JSON_CONTRACT[obj.flow], data)
    if not report.ok:
        return report
    may_be_empty = obj.flow == "startups" and obj.load_type == "delta"
    if report.rows == 0 and not may_be_empty:
        return _bad("file has no records", 0, field="<file>")
    declared = (metadata or {}).get(ROWS_METADATA_KEY)
    if declared is not None and str(report.rows) != str(declared).strip():
        return _bad(
            f"row count {report.rows} differs from the declared {declared}", report.rows, field="<file>"
        )
    return report


def _json_default(obj: Any) -> Any:
    if isinstance(obj, datetime):
        return obj.astimezone(UTC).isoformat().replace("+00:00", "Z") if obj.tzinfo else obj.isoformat()
    if isinstance(obj, date):
        return obj.isoformat()
    raise TypeError(f"{type(obj).__name__} is not JSON serializable")


def to_jsonl(records: list[dict[str, Any]]) -> bytes:
    """Canonical JSONL (sorted keys, compact, one newline per record): same records, same bytes.

    Datetimes become RFC 3339 UTC strings (``...Z``), dates ISO dates.
    """
    lines = (
        json.dumps(r, sort_keys=True, separators=(",", ":"), default=_json_default) + "\n" for r in records
    )
    return "".join(lines).encode()
