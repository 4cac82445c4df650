"""terraform/ as data for the tests: resources, locals, references and raw block text (python-hcl2)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import hcl2

ROOT = Path(__file__).resolve().parents[2]
TF = ROOT / "terraform"

#: `google_project_service.apis["key"]`, or the whole `google_project_service.apis`
API_REF = re.compile(r'google_project_service\.apis(?:\["(\w+)"\])?')
#: `google_x.name` / `data.google_x.name` (not google_project_service, handled by API_REF)
RESOURCE_REF = re.compile(r"(?<![\w.])(data\.)?(google_\w+)\.([A-Za-z_][\w-]*)")
LOCAL_REF = re.compile(r"(?<![\w.])local\.(\w+)")


@dataclass(frozen=True)
class Resource:
    file: str
    data: bool
    type: str
    name: str
    body: dict[str, Any]

    @property
    def address(self) -> str:
        return f"{'data.' if self.data else ''}{self.type}.{self.name}"


def load(name: str) -> dict[str, Any]:
    with (TF / name).open() as fh:
        result: dict[str, Any] = hcl2.load(fh)
    return result


@cache
def _all() -> tuple[tuple[str, dict[str, Any]], ...]:
    return tuple((p.name, load(p.name)) for p in sorted(TF.glob("*.tf")))


def resources() -> list[Resource]:
    out: list[Resource] = []
    for file, doc in _all():
        for kind, data in (("resource", False), ("data", True)):
            for entry in doc.get(kind, []):
                for tf_type, named in entry.items():
                    for name, body in named.items():
                        out.append(Resource(file, data, tf_type, name, body))
    return out


def of_type(tf_type: str) -> dict[str, dict[str, Any]]:
    return {r.name: r.body for r in resources() if r.type == tf_type and not r.data}


def resource(tf_type: str, name: str) -> dict[str, Any]:
    return of_type(tf_type)[name]


def locals_() -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for _file, doc in _all():
        for block in doc.get("locals", []):
            merged.update(block)
    return merged


def variables() -> dict[str, dict[str, Any]]:
    merged: dict[str, dict[str, Any]] = {}
    for _file, doc in _all():
        for entry in doc.get("variable", []):
            merged.update(entry)
    return merged


def strings(value: Any) -> Iterator[str]:
    """Every string inside a parsed value (expressions are strings in python-hcl2's output)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from strings(v)


def text(value: Any) -> str:
    return "\n".join(strings(value))


def block_text(tf_type: str, name: str) -> str:
    """The raw source of one resource block, comments included (python-hcl2 drops comments)."""
    for path in sorted(TF.glob("*.tf")):
        source = path.read_text()
        start = source.find(f'resource "{tf_type}" "{name}" {{')
        if start < 0:
            continue
        depth = 0
        for i in range(source.index("{", start), len(source)):
            depth += {"{": 1, "}": -1}.get(source[i], 0)
            if depth == 0:
                return source[start : i + 1]
    raise KeyError(f"{tf_type}.{name}")


def all_text() -> str:
    return "\n".join(p.read_text() for p in sorted(TF.glob("*.tf")))
