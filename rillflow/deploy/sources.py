"""Which repository files a deployable carries: the first-party import closure of its entry files.

A deployable ships only the modules its entry points import, at any depth. Imports inside
functions count too: the code defers heavy imports (Google clients, generators) to keep start-up
light, and a lazily imported module missing from an archive would only fail on the first request
that needs it. A module is first-party when it resolves to a file under one of the source roots;
everything else is a dependency the lock files install. Beside the modules go the data files of
their packages (Avro and JSON Schema contracts, the country table), which the code reads with
``Path(__file__)``: files with the package-data suffixes of pyproject.toml, and every file of a
sub-folder that holds data only (no module but an ``__init__.py``).
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Sequence
from pathlib import Path

#: the package-data suffixes of pyproject.toml (``[tool.setuptools.package-data]``)
DATA_SUFFIXES = frozenset({".avsc", ".json", ".csv", ".yaml", ".sql", ".html"})
_SKIPPED_DIRS = frozenset({"__pycache__", "tests"})


def _locate(module: str, roots: Sequence[Path]) -> tuple[Path, Path] | None:
    """``(root, file)`` of a first-party module (a package's ``__init__.py``), or None."""
    parts = module.split(".")
    for root in roots:
        base = root.joinpath(*parts)
        if (base / "__init__.py").is_file():
            return root, base / "__init__.py"
        if base.with_suffix(".py").is_file():
            return root, base.with_suffix(".py")
    return None


def _module_name(root: Path, file: Path) -> tuple[str, str]:
    """``(module, package)`` of a file under ``root``: ``a/b/c.py`` is ``a.b.c`` in ``a.b``."""
    parts = list(file.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
        return ".".join(parts), ".".join(parts)
    return ".".join(parts), ".".join(parts[:-1])


def imported_names(file: Path, package: str) -> set[str]:
    """Every dotted name ``file`` imports, anywhere in it (``from a import b`` yields ``a`` and ``a.b``)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(file.read_bytes(), filename=str(file))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".") if package else []
                if node.level - 1 > len(anchor):
                    continue
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            if not base:
                continue
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names if alias.name != "*")
    return names


def module_closure(entry_files: Iterable[Path], roots: Sequence[Path]) -> dict[Path, Path]:
    """Every first-party file the entry files import, transitively: ``{file: its root}``.

    The entry files are included. Each imported name brings its parent packages' ``__init__.py``
    too, as Python imports them first."""
    found: dict[Path, Path] = {}
    todo: list[tuple[Path, Path]] = []
    for entry in entry_files:
        entry = entry.resolve()
        root = next((r for r in roots if entry.is_relative_to(r)), entry.parent)
        todo.append((root, entry))
    while todo:
        root, file = todo.pop()
        if file in found:
            continue
        found[file] = root
        _, package = _module_name(root, file)
        for name in imported_names(file, package):
            parts = name.split(".")
            for depth in range(1, len(parts) + 1):
                located = _locate(".".join(parts[:depth]), roots)
                if located is None:
                    break
                if located[1] not in found:
                    todo.append(located)
    return found


def _is_data_dir(folder: Path) -> bool:
    return all(p.name == "__init__.py" for p in folder.rglob("*.py"))


def _files_below(folder: Path) -> Iterable[Path]:
    for path in folder.rglob("*"):
        if path.is_file() and path.suffix != ".pyc" and not _SKIPPED_DIRS.intersection(path.parts):
            yield path


def package_data(package_dir: Path) -> list[Path]:
    """The data files a package reads beside its modules (see the module docstring)."""
    files = [p for p in package_dir.iterdir() if p.is_file() and p.suffix in DATA_SUFFIXES]
    for child in package_dir.iterdir():
        if child.is_dir() and child.name not in _SKIPPED_DIRS and _is_data_dir(child):
            files.extend(_files_below(child))
    return files


def source_files(entry_files: Iterable[Path], roots: Sequence[Path]) -> dict[str, Path]:
    """What a deployable carries: ``{path inside the deployable: file}``, modules and package data.

    Paths are relative to each file's source root, so ``functions/main.py`` (root ``functions``)
    lands at ``main.py`` and ``rillflow/settings.py`` (root: the repository) at
    ``rillflow/settings.py``."""
    roots = [r.resolve() for r in roots]
    modules = module_closure(entry_files, roots)
    files = dict(modules)
    for file, root in modules.items():
        if file.name == "__init__.py":
            files.update({data: root for data in package_data(file.parent)})
    return dict(sorted((file.relative_to(root).as_posix(), file) for file, root in files.items()))
