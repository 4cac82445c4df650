"""The modules of ``localgcp.services.workflows`` (with ``lang/`` and ``stdlib/``) import each other
without cycles (issue 14 named two: ``grpc_api`` ↔ ``service`` and ``stdlib`` ↔ ``stdlib_text``).
Imports under ``TYPE_CHECKING`` count too, so a type-only import cannot hide a cycle either. A
package's ``__init__`` counts as the package: importing a name from it is an edge to it, unless
the name is one of its submodules."""

from __future__ import annotations

import ast
from pathlib import Path

import localgcp.services.workflows

PACKAGE = "localgcp.services.workflows"
ROOT = Path(localgcp.services.workflows.__file__).parent


def _name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join((PACKAGE, *parts))


def _modules() -> dict[str, Path]:
    return {_name(path): path for path in ROOT.rglob("*.py") if path != ROOT / "__init__.py"}


def _imports(path: Path, modules: set[str]) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith(PACKAGE):
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                found.add(sub if sub in modules else node.module)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith(PACKAGE + ".")}
    return found & modules


def test_no_import_cycles() -> None:
    modules = _modules()
    graph = {name: _imports(path, set(modules)) - {name} for name, path in modules.items()}
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    cycles: list[list[str]] = []

    def visit(name: str, path: list[str]) -> None:
        state[name] = 1
        for target in sorted(graph[name]):
            if state.get(target) == 1:
                cycles.append([*path[path.index(target) :], target] if target in path else [name, target])
            elif target not in state:
                visit(target, [*path, target])
        state[name] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert cycles == []
