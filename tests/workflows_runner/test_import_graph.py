"""The modules of ``localgcp.workflows`` import each other without cycles (issue 14 named two:
``grpc_api`` ↔ ``service`` and ``stdlib`` ↔ ``stdlib_text``). Imports under ``TYPE_CHECKING``
count too, so a type-only import cannot hide a cycle either."""

from __future__ import annotations

import ast
from pathlib import Path

import localgcp.workflows

PACKAGE = "localgcp.workflows"
ROOT = Path(localgcp.workflows.__file__).parent


def _modules() -> dict[str, Path]:
    return {path.stem: path for path in ROOT.glob("*.py") if path.stem != "__init__"}


def _imports(path: Path, modules: set[str]) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module == PACKAGE:
                found |= {alias.name for alias in node.names if alias.name in modules}
            elif node.module.startswith(PACKAGE + "."):
                found.add(node.module.split(".")[2])
        elif isinstance(node, ast.Import):
            found |= {a.name.split(".")[2] for a in node.names if a.name.startswith(PACKAGE + ".")}
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
