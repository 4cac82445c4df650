"""Avro schema checks for schema-bound topics, naming the offending field the way a reader needs it.

fastavro parses and checks the schema definition; message checks walk the parsed schema
over the bytes (BINARY encoding) or the decoded JSON (Avro JSON encoding) while keeping the
path (``events[3].platform``), because fastavro's readers fail without saying where.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import fastavro

from localgcp.services.pubsub.errors import invalid_argument, unimplemented

AVRO = 2
PROTOCOL_BUFFER = 1
JSON_ENCODING = 1
BINARY_ENCODING = 2
_PRIMITIVES = {"null", "boolean", "int", "long", "float", "double", "bytes", "string"}
_INT_RANGE = {"int": (-(2**31), 2**31 - 1), "long": (-(2**63), 2**63 - 1)}


class MessageInvalid(ValueError):
    """The message does not conform: ``path`` names the field, ``reason`` says why."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"field '{path or '<record>'}': {reason}")
        self.path = path or "<record>"
        self.reason = reason


@dataclass(frozen=True)
class CompiledSchema:
    parsed: Any
    named: dict[str, Any]


def compile_schema(schema_type: int, definition: str) -> CompiledSchema:
    """Parse a schema definition; INVALID_ARGUMENT if it is not a valid Avro schema."""
    if schema_type == PROTOCOL_BUFFER:
        raise unimplemented("PROTOCOL_BUFFER schemas", "only AVRO schemas are supported")
    if schema_type != AVRO:
        raise invalid_argument("Schema type must be AVRO or PROTOCOL_BUFFER.")
    try:
        named: dict[str, Any] = {}
        parsed = fastavro.parse_schema(json.loads(definition), named_schemas=named, _write_hint=False)
    except Exception as exc:  # fastavro raises several types for bad schemas
        raise invalid_argument(f"Invalid Avro schema definition: {exc}") from exc
    return CompiledSchema(parsed, named)


def check_message(schema: CompiledSchema, data: bytes, encoding: int) -> None:
    """Raise :class:`MessageInvalid` unless ``data`` is one valid record in ``encoding``."""
    if encoding == BINARY_ENCODING:
        end = _BinaryWalker(schema.named, data).walk(schema.parsed, 0, "")
        if end != len(data):
            raise MessageInvalid("", f"{len(data) - end} trailing bytes after the record")
    elif encoding == JSON_ENCODING:
        try:
            value = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise MessageInvalid("", f"not valid JSON: {exc}") from exc
        _check_json(schema.named, schema.parsed, value, "")
    else:
        raise invalid_argument("Encoding must be JSON or BINARY.")


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _resolve(named: dict[str, Any], schema: Any) -> Any:
    if isinstance(schema, str) and schema not in _PRIMITIVES:
        return named[schema]
    if isinstance(schema, dict) and schema.get("type") in _PRIMITIVES:
        return schema["type"]  # a primitive with a logicalType: same encoding
    return schema


class _BinaryWalker:
    def __init__(self, named: dict[str, Any], data: bytes) -> None:
        self.named = named
        self.data = data

    def _long(self, pos: int, path: str) -> tuple[int, int]:
        result = shift = 0
        while True:
            if pos >= len(self.data):
                raise MessageInvalid(path, "unexpected end of data")
            byte = self.data[pos]
            pos += 1
            result |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return (result >> 1) ^ -(result & 1), pos
            shift += 7
            if shift > 63:
                raise MessageInvalid(path, "malformed variable-length integer")

    def _take(self, pos: int, size: int, path: str) -> int:
        if size < 0 or pos + size > len(self.data):
            raise MessageInvalid(path, f"needs {size} bytes, {len(self.data) - pos} left")
        return pos + size

    def walk(self, schema: Any, pos: int, path: str) -> int:
        schema = _resolve(self.named, schema)
        if isinstance(schema, list):
            branch, pos = self._long(pos, path)
            if not 0 <= branch < len(schema):
                raise MessageInvalid(path, f"union branch {branch} out of range (0..{len(schema) - 1})")
            return self.walk(schema[branch], pos, path)
        if isinstance(schema, str):
            return self._primitive(schema, pos, path)
        kind = schema["type"]
        if kind == "record" or kind == "error":
            for field in schema["fields"]:
                pos = self.walk(field["type"], pos, _join(path, field["name"]))
            return pos
        if kind == "enum":
            index, pos = self._long(pos, path)
            if not 0 <= index < len(schema["symbols"]):
                raise MessageInvalid(path, f"enum index {index} is not a symbol of {schema['name']}")
            return pos
        if kind == "fixed":
            return self._take(pos, schema["size"], path)
        if kind in ("array", "map"):
            return self._blocks(schema, pos, path)
        raise MessageInvalid(path, f"unsupported Avro type {kind!r}")

    def _blocks(self, schema: dict[str, Any], pos: int, path: str) -> int:
        index = 0
        while True:
            count, pos = self._long(pos, path)
            if count == 0:
                return pos
            if count < 0:
                count = -count
                _, pos = self._long(pos, path)  # block size in bytes
            for _ in range(count):
                if schema["type"] == "array":
                    pos = self.walk(schema["items"], pos, f"{path}[{index}]")
                else:
                    pos = self._primitive("string", pos, f"{path}<key>")
                    pos = self.walk(schema["values"], pos, f"{path}[{index}]")
                index += 1

    def _primitive(self, kind: str, pos: int, path: str) -> int:
        if kind == "null":
            return pos
        if kind == "boolean":
            end = self._take(pos, 1, path)
            if self.data[pos] > 1:
                raise MessageInvalid(path, f"boolean byte must be 0 or 1, got {self.data[pos]}")
            return end
        if kind in _INT_RANGE:
            value, pos = self._long(pos, path)
            low, high = _INT_RANGE[kind]
            if not low <= value <= high:
                raise MessageInvalid(path, f"{value} out of range for {kind}")
            return pos
        if kind == "float":
            return self._take(pos, 4, path)
        if kind == "double":
            return self._take(pos, 8, path)
        size, pos = self._long(pos, path)
        end = self._take(pos, size, path)
        if kind == "string":
            try:
                self.data[pos:end].decode("utf-8")
            except UnicodeDecodeError as exc:
                raise MessageInvalid(path, f"string is not valid UTF-8: {exc.reason}") from exc
        return end


def _check_json(named: dict[str, Any], schema: Any, value: Any, path: str) -> None:
    schema = _resolve(named, schema)
    if isinstance(schema, list):
        _check_json_union(named, schema, value, path)
    elif isinstance(schema, str):
        _check_json_primitive(schema, value, path)
    elif schema["type"] in ("record", "error"):
        if not isinstance(value, dict):
            raise MessageInvalid(path, f"expected an object for record {schema['name']}, got {_kind(value)}")
        for field in schema["fields"]:
            name = field["name"]
            if name in value:
                _check_json(named, field["type"], value[name], _join(path, name))
            elif "default" not in field:
                raise MessageInvalid(_join(path, name), "required field is missing")
    elif schema["type"] == "enum":
        if value not in schema["symbols"]:
            raise MessageInvalid(path, f"{value!r} is not a symbol of {schema['name']} {schema['symbols']}")
    elif schema["type"] == "array":
        if not isinstance(value, list):
            raise MessageInvalid(path, f"expected an array, got {_kind(value)}")
        for i, item in enumerate(value):
            _check_json(named, schema["items"], item, f"{path}[{i}]")
    elif schema["type"] == "map":
        if not isinstance(value, dict):
            raise MessageInvalid(path, f"expected an object (map), got {_kind(value)}")
        for key, item in value.items():
            _check_json(named, schema["values"], item, f"{path}[{key!r}]")
    elif schema["type"] == "fixed":
        _check_json_primitive("bytes", value, path)
        if len(value) != schema["size"]:
            raise MessageInvalid(path, f"fixed {schema['name']} needs {schema['size']} bytes")


def _branch_name(schema: Any) -> str:
    if isinstance(schema, dict):
        return str(schema.get("name", schema["type"]))
    return str(schema)


def _check_json_union(named: dict[str, Any], branches: list[Any], value: Any, path: str) -> None:
    if value is None:
        if "null" not in branches:
            raise MessageInvalid(path, "null is not allowed here")
        return
    if not isinstance(value, dict) or len(value) != 1:
        raise MessageInvalid(path, 'a union value must be null or {"<type>": value}')
    ((tag, inner),) = value.items()
    for branch in branches:
        full = _branch_name(_resolve(named, branch) if isinstance(branch, str) else branch)
        if tag in (full, full.rsplit(".", 1)[-1], branch if isinstance(branch, str) else None):
            _check_json(named, branch, inner, path)
            return
    raise MessageInvalid(path, f"union has no branch {tag!r}")


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _check_json_primitive(kind: str, value: Any, path: str) -> None:
    ok = {
        "null": value is None,
        "boolean": isinstance(value, bool),
        "int": isinstance(value, int) and not isinstance(value, bool),
        "long": isinstance(value, int) and not isinstance(value, bool),
        "float": isinstance(value, int | float) and not isinstance(value, bool),
        "double": isinstance(value, int | float) and not isinstance(value, bool),
        "string": isinstance(value, str),
        "bytes": isinstance(value, str) and all(ord(c) < 256 for c in value),
    }[kind]
    if not ok:
        raise MessageInvalid(path, f"expected {kind}, got {_kind(value)} {value!r:.60}")
    if kind in _INT_RANGE:
        low, high = _INT_RANGE[kind]
        if not low <= value <= high:
            raise MessageInvalid(path, f"{value} out of range for {kind}")
