"""Rillflow data contracts: one source of truth for every flow.

``load_avro_schema("app_event")`` and ``load_json_schema("clickstream_event")`` read the
files beside this module; ``validate(contract, record)`` raises :class:`ContractViolation`
naming the field and the reason, so that callers can quarantine with a clear message.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
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

__all__ = [
    "AVRO_CONTRACTS",
    "CONTRACTS_DIR",
    "JSON_CONTRACTS",
    "ORDER_DOCUMENT_FIELDS",
    "ORDER_ITEM_FIELDS",
    "SALES_LINE_SCHEMA",
    "ContractViolation",
    "avro_schema_text",
    "load_avro_schema",
    "load_json_schema",
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


def _first_json_error(name: str, record: Any) -> ContractViolation | None:
    errors = sorted(_json_validator(name).iter_errors(record), key=lambda e: list(e.path))
    if not errors:
        return None
    err = errors[0]
    field = ".".join(str(p) for p in err.path)
    if not field and err.validator == "required":
        field = err.message.split("'")[1] if "'" in err.message else "<record>"
    elif not field and err.validator == "additionalProperties":
        field = "<record>"
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


def _app_event_semantics(record: dict[str, Any]) -> ContractViolation | None:
    """Rules Avro cannot express."""
    country = record.get("country", "")
    if len(country) != 2 or not country.isalpha() or not country.isupper():
        return ContractViolation("app_event", "country", f"not an ISO-3166 alpha-2 code: {country!r}")
    if record.get("event_type") == "purchase":
        price = record.get("price")
        if price is None or price < 0:
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
