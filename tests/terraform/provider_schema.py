"""Check terraform/ against the pinned Google provider schemas, without `terraform init`.

There is no provider binary (nor registry access) where the gates run, so the schemas come from the
npm packages ``@cdktf/provider-google`` and ``@cdktf/provider-google-beta`` (package.json pins
16.12.1, generated from provider 6.50.0): their ``.jsii`` file describes every resource, data source,
argument and nested block. This module parses every ``.tf`` file with python-hcl2 and reports:

* a resource or data-source type that the chosen provider does not have (a type that exists only in
  google-beta must say ``provider = google-beta``);
* an argument or nested block the type does not have, a block written as an attribute (or the
  reverse), a required argument that is missing;
* a reference ``google_x.name.attr`` to an undeclared resource, or to an attribute the type lacks;
* a provider block argument the provider does not have;
* ``required_providers`` entries that do not pin google/google-beta to the schema's minor version.

Run it as ``python -m tests.terraform.provider_schema [terraform-dir]`` (``make lint`` does).
"""

from __future__ import annotations

import gc
import json
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hcl2

ROOT = Path(__file__).resolve().parents[2]
TERRAFORM_DIR = ROOT / "terraform"
NODE_MODULES = ROOT / "node_modules"

#: terraform provider name -> npm package carrying its schema
PACKAGES = {"google": "@cdktf/provider-google", "google-beta": "@cdktf/provider-google-beta"}
#: resource types of terraform itself (no provider)
BUILTIN_TYPES = frozenset({"terraform_data"})
RESOURCE_META = frozenset(
    {"count", "for_each", "provider", "depends_on", "lifecycle", "provisioner", "connection"}
)
DATA_META = frozenset({"count", "for_each", "provider", "depends_on", "lifecycle"})
HCL_META = frozenset({"__start_line__", "__end_line__"})

_REPRESENTS = re.compile(
    r"registry\.terraform\.io/providers/hashicorp/(?P<provider>[\w-]+)/(?P<version>\d+\.\d+\.\d+)/docs"
    r"(?:/(?P<kind>resources|data-sources)/\S+)? (?P<name>[\w-]+)\}"
)
_ANCHOR = re.compile(r"#(\w+) \w+#")
_BLOCK_SUMMARY = re.compile(r"^\w+ block\.$")
_REFERENCE = re.compile(
    r"(?<![\w.])(?P<data>data\.)?(?P<type>google(?:_\w+)?)\.(?P<name>[A-Za-z_][\w-]*)"
    r"(?:\[[^\]]*\])?\.(?P<attr>\w+)(?:(?:\[\d+\])?\.(?P<sub>\w+))?"
)


def _norm(name: str) -> str:
    """Compare names regardless of case and underscores (cdktf camelCases the schema's names)."""
    return name.replace("_", "").lower()


def _snake(camel: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", camel).lower()


# --- the schema ----------------------------------------------------------------------------------------


@dataclass
class Block:
    """Arguments (name -> required) and nested blocks of a resource, data source or block."""

    attributes: dict[str, bool] = field(default_factory=dict)
    blocks: dict[str, Block] = field(default_factory=dict)
    #: every readable name (arguments, blocks, computed attributes), normalised with _norm
    readable: set[str] = field(default_factory=set)

    def knows(self, name: str) -> bool:
        return name in self.attributes or name in self.blocks


@dataclass
class ProviderSchema:
    name: str
    version: str
    resources: dict[str, Block]
    data_sources: dict[str, Block]
    provider: Block

    def kind(self, data: bool) -> dict[str, Block]:
        return self.data_sources if data else self.resources


class _Jsii:
    """Reads the structs of one provider package into Blocks, on demand."""

    def __init__(self, path: Path) -> None:
        self.types: dict[str, Any] = json.loads(path.read_text())["types"]
        self._blocks: dict[str, Block] = {}

    def index(self) -> tuple[str, str, dict[tuple[str, str], str], str]:
        """Provider name and version, {(kind, type): class fqn}, and the provider class's fqn."""
        found: dict[tuple[str, str], str] = {}
        provider_fqn = ""
        provider = version = ""
        for fqn, t in self.types.items():
            if t.get("kind") != "class":
                continue
            match = _REPRESENTS.search(t.get("docs", {}).get("summary", ""))
            if not match:
                continue
            provider, version = match["provider"], match["version"]
            if match["kind"] is None:
                provider_fqn = fqn
            else:
                found[(match["kind"], match["name"])] = fqn
        return provider, version, found, provider_fqn

    def _config_fqn(self, class_fqn: str) -> str:
        for param in self.types[class_fqn].get("initializer", {}).get("parameters", []):
            if param["name"] == "config":
                return str(param["type"]["fqn"])
        raise KeyError(f"{class_fqn} has no config parameter")

    def _outputs(self, class_fqn: str) -> set[str]:
        props = self.types.get(class_fqn, {}).get("properties", [])
        return {
            _norm(p["name"])
            for p in props
            if not p.get("static") and not p["name"].endswith("Input") and p["name"] != "internalValue"
        }

    @staticmethod
    def _struct_of(type_ref: dict[str, Any]) -> str | None:
        """The fqn of the struct a property holds (directly, or as the element of a collection)."""
        if "fqn" in type_ref:
            return str(type_ref["fqn"])
        if "collection" in type_ref:
            return _Jsii._struct_of(type_ref["collection"]["elementtype"])
        for option in type_ref.get("union", {}).get("types", []):
            fqn = _Jsii._struct_of(option)
            if fqn and not fqn.startswith("cdktf."):
                return fqn
        return None

    def struct(self, fqn: str, outputs_of: str | None = None) -> Block:
        if fqn in self._blocks:
            return self._blocks[fqn]
        block = Block()
        self._blocks[fqn] = block  # before recursing: a struct may contain itself
        for prop in self.types[fqn].get("properties", []):
            docs = prop.get("docs", {})
            anchor = _ANCHOR.search(docs.get("remarks", ""))
            name = anchor.group(1) if anchor else _snake(prop["name"])
            nested = self._struct_of(prop["type"])
            if _BLOCK_SUMMARY.match(docs.get("summary", "")) and nested and nested in self.types:
                block.blocks[name] = self.struct(nested, f"{nested}OutputReference")
            else:
                block.attributes[name] = not prop.get("optional", False)
        block.readable = {_norm(n) for n in (*block.attributes, *block.blocks)}
        if outputs_of:
            block.readable |= self._outputs(outputs_of)
        return block

    def resource(self, class_fqn: str) -> Block:
        return self.struct(self._config_fqn(class_fqn), class_fqn)


def _package_dir(provider: str, node_modules: Path) -> Path:
    return node_modules / PACKAGES[provider]


def load_schemas(
    resource_types: Iterable[str], data_types: Iterable[str], node_modules: Path = NODE_MODULES
) -> dict[str, ProviderSchema]:
    """The schemas of both providers, restricted to the given types (each .jsii is ~100 MB)."""
    wanted = {("resources", t) for t in resource_types} | {("data-sources", t) for t in data_types}
    schemas: dict[str, ProviderSchema] = {}
    for provider in PACKAGES:
        path = _package_dir(provider, node_modules) / ".jsii"
        if not path.exists():
            raise FileNotFoundError(
                f"{path} is missing: install the npm tools (`npm ci`, run by `make setup`); "
                f"package.json pins {PACKAGES[provider]}"
            )
        jsii = _Jsii(path)
        name, version, index, provider_fqn = jsii.index()
        resources: dict[str, Block] = {}
        data_sources: dict[str, Block] = {}
        for kind, tf_type in wanted:
            fqn = index.get((kind, tf_type))
            if fqn is not None:
                (resources if kind == "resources" else data_sources)[tf_type] = jsii.resource(fqn)
        schemas[provider] = ProviderSchema(
            name, version, resources, data_sources, jsii.resource(provider_fqn) if provider_fqn else Block()
        )
        del jsii
        gc.collect()
    return schemas


# --- the configuration ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Declared:
    file: str
    line: int
    data: bool
    type: str
    name: str
    body: dict[str, Any]

    @property
    def address(self) -> str:
        return f"{'data.' if self.data else ''}{self.type}.{self.name}"

    @property
    def provider(self) -> str:
        raw = str(self.body.get("provider", "google" if self.type.startswith("google") else ""))
        return raw.removeprefix("${").removesuffix("}").split(".")[0]


@dataclass
class Configuration:
    declared: list[Declared] = field(default_factory=list)
    providers: list[tuple[str, int, str, dict[str, Any]]] = field(default_factory=list)
    required_providers: dict[str, dict[str, Any]] = field(default_factory=dict)
    strings: list[tuple[str, int, str]] = field(default_factory=list)


def _line(body: dict[str, Any]) -> int:
    return int(body.get("__start_line__", 0))


def _walk_strings(value: Any, line: int) -> Iterator[tuple[int, str]]:
    if isinstance(value, str):
        yield line, value
    elif isinstance(value, dict):
        here = _line(value) or line
        for v in value.values():
            yield from _walk_strings(v, here)
    elif isinstance(value, list):
        for v in value:
            yield from _walk_strings(v, line)


def parse(files: Iterable[Path]) -> Configuration:
    config = Configuration()
    for path in sorted(files):
        with path.open() as fh:
            doc = hcl2.load(fh, with_meta=True)
        name = path.name
        for kind, data in (("resource", False), ("data", True)):
            for entry in doc.get(kind, []):
                for tf_type, named in entry.items():
                    for res_name, body in named.items():
                        config.declared.append(Declared(name, _line(body), data, tf_type, res_name, body))
        for entry in doc.get("provider", []):
            for provider, body in entry.items():
                config.providers.append((name, _line(body), provider, body))
        for block in doc.get("terraform", []):
            for req in block.get("required_providers", []):
                for provider, spec in req.items():
                    if provider not in HCL_META and isinstance(spec, dict):
                        config.required_providers[provider] = spec
        for line, text in _walk_strings(doc, 0):
            config.strings.append((name, line, text))
    return config


# --- the checks ----------------------------------------------------------------------------------------


def _check_body(body: dict[str, Any], block: Block, where: str, meta: frozenset[str]) -> Iterator[str]:
    for key, value in body.items():
        if key in HCL_META or key in meta:
            continue
        if key == "dynamic":
            for entry in value:
                for label, dyn in entry.items():
                    if label in HCL_META:
                        continue
                    if label not in block.blocks:
                        yield f"{where}: dynamic block {label!r} is not a block of this type"
                        continue
                    for content in dyn.get("content", []):
                        yield from _check_body(content, block.blocks[label], f"{where}.{label}", frozenset())
            continue
        if key in block.blocks:
            if not (isinstance(value, list) and all(isinstance(v, dict) for v in value)):
                yield f"{where}: {key!r} is a block: write `{key} {{ ... }}`, not `{key} = ...`"
                continue
            for item in value:
                yield from _check_body(item, block.blocks[key], f"{where}.{key}", frozenset())
        elif key not in block.attributes:
            yield f"{where}: unknown argument or block {key!r}"
    present = set(body) | {
        label for entry in body.get("dynamic", []) for label in entry if label not in HCL_META
    }
    for name, required in block.attributes.items():
        if required and name not in present:
            yield f"{where}: required argument {name!r} is missing"


def _check_version(provider: str, spec: dict[str, Any], schema: ProviderSchema) -> Iterator[str]:
    source = str(spec.get("source", ""))
    if source != f"hashicorp/{provider}":
        yield f"required_providers.{provider}: source is {source!r}, expected 'hashicorp/{provider}'"
    constraint = str(spec.get("version", ""))
    match = re.fullmatch(r"~>\s*(\d+)\.(\d+)", constraint.strip())
    major, minor = schema.version.split(".")[:2]
    if not match or (match.group(1), match.group(2)) != (major, minor):
        yield (
            f"required_providers.{provider}: version {constraint!r} must be '~> {major}.{minor}', "
            f"the provider whose schema ({schema.version}) this check uses"
        )


def check_configuration(config: Configuration, schemas: dict[str, ProviderSchema]) -> list[str]:
    findings: list[str] = []
    declared = {(d.data, d.type, d.name): d for d in config.declared}
    used_providers: set[str] = set()

    for d in config.declared:
        where = f"{d.file}:{d.line}: {d.address}"
        if d.type in BUILTIN_TYPES and not d.data:
            continue
        provider = d.provider
        if provider not in schemas:
            findings.append(
                f"{where}: provider {provider!r} is not one whose schema is pinned (google, google-beta)"
            )
            continue
        used_providers.add(provider)
        schema = schemas[provider]
        block = schema.kind(d.data).get(d.type)
        if block is None:
            kind = "data source" if d.data else "resource"
            elsewhere = [p for p, s in schemas.items() if d.type in s.kind(d.data) and p != provider]
            hint = f"; it exists only in {elsewhere[0]}: add `provider = {elsewhere[0]}`" if elsewhere else ""
            findings.append(f"{where}: {provider} {schema.version} has no {kind} {d.type}{hint}")
            continue
        findings.extend(_check_body(d.body, block, where, DATA_META if d.data else RESOURCE_META))

    for file, line, provider, body in config.providers:
        if provider not in schemas:
            findings.append(f"{file}:{line}: provider {provider!r} has no pinned schema")
            continue
        findings.extend(
            _check_body(
                body, schemas[provider].provider, f"{file}:{line}: provider.{provider}", frozenset({"alias"})
            )
        )

    for provider in sorted(used_providers | set(config.required_providers)):
        spec = config.required_providers.get(provider)
        if spec is None:
            findings.append(f"required_providers: {provider} is used but not declared")
        elif provider in schemas:
            findings.extend(_check_version(provider, spec, schemas[provider]))
        else:
            findings.append(f"required_providers: {provider} has no pinned schema (only google, google-beta)")

    seen: set[tuple[str, int, str]] = set()
    for file, line, text in config.strings:
        for ref in _REFERENCE.finditer(text):
            is_data = ref["data"] is not None
            target = declared.get((is_data, ref["type"], ref["name"]))
            address = f"{'data.' if is_data else ''}{ref['type']}.{ref['name']}"
            key = (file, line, ref.group(0))
            if key in seen:
                continue
            seen.add(key)
            if target is None:
                findings.append(f"{file}:{line}: reference to undeclared {address}")
                continue
            target_schema = schemas.get(target.provider)
            block = target_schema.kind(is_data).get(target.type) if target_schema else None
            if block is None:
                continue  # reported above
            attr = ref["attr"]
            if _norm(attr) not in block.readable and attr not in ("id",):
                findings.append(f"{file}:{line}: {address} has no attribute {attr!r}")
                continue
            sub = ref["sub"]
            nested = block.blocks.get(attr)
            if sub and nested is not None and _norm(sub) not in nested.readable:
                findings.append(f"{file}:{line}: {address}.{attr} has no attribute {sub!r}")
    return findings


def check_directory(directory: Path = TERRAFORM_DIR, node_modules: Path = NODE_MODULES) -> list[str]:
    config = parse(directory.glob("*.tf"))
    schemas = load_schemas(
        {d.type for d in config.declared if not d.data},
        {d.type for d in config.declared if d.data},
        node_modules,
    )
    return check_configuration(config, schemas)


def main(argv: list[str]) -> int:
    directory = Path(argv[0]) if argv else TERRAFORM_DIR
    try:
        config = parse(directory.glob("*.tf"))
        schemas = load_schemas(
            {d.type for d in config.declared if not d.data}, {d.type for d in config.declared if d.data}
        )
    except FileNotFoundError as exc:
        print(f"provider schema check: {exc}", file=sys.stderr)
        return 2
    findings = check_configuration(config, schemas)
    versions = ", ".join(f"{s.name} {s.version}" for s in schemas.values())
    for finding in findings:
        print(finding)
    print(
        f"provider schema check: {len(config.declared)} resources and data sources in {directory} "
        f"against {versions}: {len(findings)} problem(s)"
    )
    return 1 if findings else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
