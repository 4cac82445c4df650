"""Rillflow data contracts: one source of truth for every flow.

``load_avro_schema("app_event")`` and ``load_json_schema("clickstream_event")`` read the
files beside this module; ``validate(contract, record)`` raises :class:`ContractViolation`
naming the field and the reason, so that callers can quarantine with a clear message.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import fastavro
import jsonschema
from fastavro.validation import ValidationError as AvroValidationError

from contracts.sales import ORDER_DOCUMENT_FIELDS, ORDER_ITEM_FIELDS, SALES_LINE_SCHEMA

CONTRACTS_DIR = Path(__file__).resolve().parent
AVRO_CONTRACTS = ("app_event", "app_event_batch")
_AVRO_FIELD = re.compile(r"Field\(([^)]*)\)")
_AVRO_PATH = re.compile(r"^([\w.]+) is ")
JSON_CONTRACTS = ("clickstream_event", "startup")
#: the event times an ``app_event`` may carry (µs since the epoch, UTC): 2000-01-01 up to, not
#: including, 2100-01-01. A device clock at 1970 or a garbled long would otherwise open a lake
#: partition decades away (and move every incremental model's newest partition with it).
EVENT_TS_MIN_US = 946_684_800_000_000
EVENT_TS_MAX_US = 4_102_444_800_000_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

__all__ = [
    "AVRO_CONTRACTS",
    "CONTRACTS_DIR",
    "EVENT_TS_MAX_US",
    "EVENT_TS_MIN_US",
    "JSON_CONTRACTS",
    "ORDER_DOCUMENT_FIELDS",
    "ORDER_ITEM_FIELDS",
    "SALES_LINE_SCHEMA",
    "ContractViolation",
    "avro_schema_text",
    "load_avro_schema",
    "load_json_schema",
    "timestamp_micros",
    "validate",
]


@dataclass
class ContractViolation(ValueError):
    """A record broke its contract: which contract, which field, and why."""

    contract: str
    field: str
    reason: str

    def __str__(self) -> str:
        return f"{self.contract}: field '{self.field}': {self.reason}"


def avro_schema_text(name: str) -> str:
    """The .avsc text, with AppEvent inlined into the batch envelope (self-contained, as Pub/Sub needs)."""
    raw = json.loads((CONTRACTS_DIR / f"{name}.avsc").read_text())
    if name == "app_event_batch":
        event = json.loads((CONTRACTS_DIR / "app_event.avsc").read_text())
        raw["fields"] = [
            {**f, "type": {"type": "array", "items": event}} if f["name"] == "events" else f
            for f in raw["fields"]
        ]
    return json.dumps(raw)


@cache
def load_avro_schema(name: str) -> dict[str, Any]:
    """Parsed (fastavro) schema of an Avro contract."""
    if name not in AVRO_CONTRACTS:
        raise KeyError(f"unknown Avro contract {name!r}; known: {AVRO_CONTRACTS}")
    parsed: dict[str, Any] = fastavro.parse_schema(json.loads(avro_schema_text(name)))  # type: ignore[assignment]
    return parsed


@cache
def load_json_schema(name: str) -> dict[str, Any]:
    if name not in JSON_CONTRACTS:
        raise KeyError(f"unknown JSON contract {name!r}; known: {JSON_CONTRACTS}")
    schema: dict[str, Any] = json.loads((CONTRACTS_DIR / f"{name}.schema.json").read_text())
    return schema


@cache
def _json_validator(name: str) -> jsonschema.protocols.Validator:
    schema = load_json_schema(name)
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def _unrepresentable(value: Any, path: str) -> tuple[str, str] | None:
    """(field, reason) for the first value no JSON reader downstream can take: a string with a lone
    surrogate (valid JSON text as ``\\ud800``, not Unicode: BigQuery and DuckDB refuse the whole
    file) or a number that is not finite (NaN, or a numeral beyond the float range)."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            return path or "<record>", f"not valid Unicode text ({exc.reason} at character {exc.start})"
    elif isinstance(value, float) and not math.isfinite(value):
        return path or "<record>", f"{value!r} is not a finite number"
    elif isinstance(value, dict):
        for key, item in value.items():
            found = _unrepresentable(str(key), path or "<record>") or _unrepresentable(
                item, f"{path}.{key}" if path else str(key)
            )
            if found:
                return found
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found = _unrepresentable(item, f"{path}[{i}]" if path else f"[{i}]")
            if found:
                return found
    return None


def _first_json_error(name: str, record: Any) -> ContractViolation | None:
    bad_value = _unrepresentable(record, "")
    if bad_value is not None:
        return ContractViolation(name, *bad_value)
    errors = sorted(_json_validator(name).iter_errors(record), key=lambda e: list(e.path))
    if not errors:
        return None
    err = errors[0]
    field = ".".join(str(p) for p in err.path)
    if not field and err.validator == "required":
        field = err.message.split("'")[1] if "'" in err.message else "<record>"
    elif not field and err.validator == "additionalProperties":
        known = set(err.schema.get("properties", {})) if isinstance(err.schema, dict) else set()
        extra = (
            sorted(str(k) for k in err.instance if k not in known) if isinstance(err.instance, dict) else []
        )
        field = extra[0] if extra else "<record>"  # the unexpected field itself
    return ContractViolation(name, field or "<record>", err.message)


def _avro_error(name: str, record: Any) -> ContractViolation | None:
    try:
        fastavro.validation.validate(record, load_avro_schema(name), raise_errors=True)
    except AvroValidationError as exc:
        raw = exc.args[0] if exc.args else str(exc)
        messages = raw if isinstance(raw, list) else json.loads(raw) if str(raw).startswith("[") else [raw]
        text = str(messages[0]) if messages else "invalid record"
        match = _AVRO_FIELD.search(text) or _AVRO_PATH.match(text)
        field = match.group(1).split(".")[-1] if match else ""
        return ContractViolation(name, field or "<record>", text)  # "Field()": the record itself
    if name == "app_event":
        return _app_event_semantics(record)
    return None


def timestamp_micros(value: datetime | int) -> int:
    """µs since the epoch of an Avro ``timestamp-micros`` value (a datetime, or the raw long)."""
    if isinstance(value, int):
        return value
    ts = value if value.tzinfo else value.replace(tzinfo=UTC)
    delta = ts - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _app_event_semantics(record: dict[str, Any]) -> ContractViolation | None:
    """Rules Avro cannot express."""
    if not record.get("event_id"):  # the dedupe key: empty ids would all be one event downstream
        return ContractViolation("app_event", "event_id", "must be a non-empty string")
    us = timestamp_micros(record["event_ts"])
    if not EVENT_TS_MIN_US <= us < EVENT_TS_MAX_US:
        shown = record["event_ts"] if isinstance(record["event_ts"], datetime) else f"{us} µs since the epoch"
        return ContractViolation(
            "app_event", "event_ts", f"out of range: {shown} (2000-01-01 <= event_ts < 2100-01-01)"
        )
    country = record.get("country", "")
    if len(country) != 2 or not country.isalpha() or not country.isupper():
        return ContractViolation("app_event", "country", f"not an ISO-3166 alpha-2 code: {country!r}")
    for name in ("price", "revenue_usd"):
        amount = record.get(name)
        if amount is not None and not (math.isfinite(amount) and amount >= 0):
            return ContractViolation(
                "app_event", name, f"must be a finite non-negative amount, got {amount!r}"
            )
    if record.get("event_type") == "purchase":
        price = record.get("price")
        if price is None:
            return ContractViolation("app_event", "price", "purchase events need a non-negative price")
        if not record.get("currency"):
            return ContractViolation("app_event", "currency", "purchase events need a currency")
    rating = record.get("rating")
    if rating is not None and not 1 <= rating <= 5:
        return ContractViolation("app_event", "rating", f"rating must be 1..5, got {rating}")
    return None


def validate(contract: str, record: Any) -> None:
    """Raise :class:`ContractViolation` if ``record`` breaks ``contract``; return None otherwise."""
    if contract in AVRO_CONTRACTS:
        err = _avro_error(contract, record)
    elif contract in JSON_CONTRACTS:
        err = _first_json_error(contract, record)
    else:
        raise KeyError(f"unknown contract {contract!r}")
    if err is not None:
        raise err
