"""Is a bronze file what its contract promises? One report per file, naming every bad record.

JSONL flows (clickstream, startups) are checked line by line against their JSON Schema contract;
sales Parquet against ``SALES_LINE_SCHEMA`` and the per-line rules. Each record is judged on its
own: the report lists every rejected record (1-based number, field, reason) and carries the file
with only the records that passed (``kept``), which is what stays in bronze (``bronze_loads``):
the external tables over bronze must never meet a line they cannot read, and the good records
beside a bad one must still reach the warehouse.

Some problems are the whole file's: a file with no records (a startups *delta* may have none:
nothing changed that week), a row count different from the one the writer recorded in the
object's metadata (``rows``: the file is truncated or padded), an unreadable Parquet file or one
of another schema. Then nothing is kept.
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

import contracts
from contracts.sales import CHANNELS, CURRENCIES, ORDER_STATUSES, SALES_LINE_SCHEMA
from rillflow_functions.lake_paths import BronzeObject

ROWS_METADATA_KEY = "rows"
#: the longest JSONL record (bytes, newline excluded) a bronze file may hold: far above any real
#: clickstream event or startup, far below what the warehouse's JSON readers refuse (DuckDB's
#: default object size is 16 MiB; one such line fails the read of the whole external table)
MAX_RECORD_BYTES = 1 << 20
#: how much of a rejected record the report quotes
VALUE_EXCERPT = 200
_JSON_CONTRACT = {"clickstream": "clickstream_event", "startups": "startup"}


@dataclass(frozen=True)
class FileReport:
    ok: bool
    rows: int
    reason: str | None = None
    first_bad: dict[str, Any] = field(default_factory=dict)  # {"record": n (1-based), "field": ..., ...}
    #: every rejected record: {"record": n, "field": ..., "reason": ..., "value": excerpt or None}
    rejects: tuple[dict[str, Any], ...] = ()
    #: the file holding only the records that passed (None: nothing of it can be kept)
    kept: bytes | None = None
    kept_rows: int = 0

    @property
    def rejected_rows(self) -> int:
        """Records set aside: none, the rejected ones, or every record when the whole file is refused."""
        if self.ok:
            return 0
        return self.rows - self.kept_rows if self.kept is not None else self.rows


def _bad(reason: str, rows: int = 0, **first_bad: Any) -> FileReport:
    """A problem of the whole file: nothing of it is kept."""
    return FileReport(ok=False, rows=rows, reason=reason, first_bad=first_bad)


def _excerpt(line: bytes | str) -> str:
    text = line.decode("utf-8", "replace") if isinstance(line, bytes) else line
    return text[:VALUE_EXCERPT]


def _strict_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _largest_field(line: str) -> str:
    """The field that makes an oversized record big (``<record>`` when it does not parse)."""
    try:
        record = json.loads(line)
    except (ValueError, RecursionError):
        return "<record>"
    if not isinstance(record, dict) or not record:
        return "<record>"
    return max(record, key=lambda k: len(json.dumps(record[k], default=str)))


def _record_problem(contract: str, n: int, raw: bytes) -> dict[str, Any] | None:
    """Why JSONL record ``n`` (its bytes, newline excluded) is rejected; None when it passes."""
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return {
            "record": n,
            "field": "<utf-8>",
            "reason": f"record {n} is not UTF-8 text: {exc}",
            "value": _excerpt(raw),
        }
    if len(raw) > MAX_RECORD_BYTES:
        name = _largest_field(line)
        return {
            "record": n,
            "field": name,
            "reason": (
                f"record {n} is {len(raw):,} bytes, over the {MAX_RECORD_BYTES:,}-byte record limit"
                f" (largest field: {name})"
            ),
            "value": _excerpt(line),
        }
    try:
        # NaN and Infinity are not JSON (Python accepts them; the warehouse's readers do not)
        record = json.loads(line, parse_constant=_strict_constant)
    except (ValueError, RecursionError) as exc:
        # JSONDecodeError, but also an integer beyond Python's digit limit or nesting too deep
        why = exc.msg if isinstance(exc, json.JSONDecodeError) else f"{type(exc).__name__}: {exc}"
        return {
            "record": n,
            "field": "<json>",
            "reason": f"record {n} is not JSON: {why}",
            "value": _excerpt(line),
        }
    try:
        contracts.validate(contract, record)
    except contracts.ContractViolation as exc:
        return {
            "record": n,
            "field": exc.field,
            "reason": f"record {n} breaks {contract}: {exc}",
            "value": None,
        }
    return None


def _summary(rejects: list[dict[str, Any]], rows: int) -> str:
    first = rejects[0]["reason"]
    if len(rejects) == 1:
        return str(first)
    return f"{first} (and {len(rejects) - 1} more of {rows} records rejected)"


def _partial(rows: int, rejects: list[dict[str, Any]], kept: bytes, kept_rows: int) -> FileReport:
    first = {k: v for k, v in rejects[0].items() if k != "reason"}
    return FileReport(
        ok=False,
        rows=rows,
        reason=_summary(rejects, rows),
        first_bad=first,
        rejects=tuple(rejects),
        kept=kept,
        kept_rows=kept_rows,
    )


def _jsonl_report(contract: str, data: bytes) -> FileReport:
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    rejects: list[dict[str, Any]] = []
    kept: list[bytes] = []
    for n, raw in enumerate(lines, start=1):
        problem = _record_problem(contract, n, raw)
        if problem is None:
            kept.append(raw + b"\n")
        else:
            rejects.append(problem)
    if not rejects:
        return FileReport(ok=True, rows=len(lines))
    return _partial(len(lines), rejects, b"".join(kept), len(kept))


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
    rejects: list[dict[str, Any]] = []
    keep: list[bool] = []
    for n, row in enumerate(table.to_pylist(), start=1):
        problem = _sales_row_problem(row)
        if problem is None and (row["order_id"], row["line_no"]) in seen:
            problem = ("line_no", f"duplicate line {row['line_no']} of order {row['order_id']}")
        keep.append(problem is None)
        if problem is not None:
            rejects.append(
                {
                    "record": n,
                    "field": problem[0],
                    "reason": f"record {n}: {problem[0]} {problem[1]}",
                    "value": None,
                }
            )
            continue
        seen.add((row["order_id"], row["line_no"]))
    if not rejects:
        return FileReport(ok=True, rows=table.num_rows)
    kept_table = table.filter(pc.equal(pa.array(keep), True))
    buf = io.BytesIO()
    pq.write_table(kept_table, buf, compression="zstd")
    return _partial(table.num_rows, rejects, buf.getvalue(), kept_table.num_rows)


def validate_bronze_file(
    obj: BronzeObject, data: bytes, metadata: Mapping[str, str] | None = None
) -> FileReport:
    """Check a whole bronze file; the report names every bad record (1-based) and its field."""
    report = _parquet_report(data) if obj.flow == "sales" else _jsonl_report(_JSON_CONTRACT[obj.flow], data)
    if not report.ok and report.kept is None:
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
