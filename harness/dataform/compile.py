"""Compile the Dataform project with the real CLI (``dataform compile --json``).

The CLI installs the ``dataformCoreVersion`` of ``workflow_settings.yaml`` into a temporary copy of
the project on every compile; ``npm_config_prefer_offline`` makes it use npm's cache, so a machine
that ran ``make setup`` once compiles offline. Results are cached per process by the content of the
project and the arguments, so tests and repeated runs pay the ~2 s once.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from harness.dataform.graph import GraphError

_CACHE: dict[str, dict[str, Any]] = {}
_SOURCE_SUFFIXES = {".sqlx", ".js", ".yaml", ".yml", ".sql", ".json"}


def find_cli(project_dir: Path) -> Path:
    """``node_modules/.bin/dataform`` in the project or one of its parents (the repository root)."""
    for folder in (project_dir.resolve(), *project_dir.resolve().parents):
        cli = folder / "node_modules" / ".bin" / "dataform"
        if cli.exists():
            return cli
    raise FileNotFoundError(f"no node_modules/.bin/dataform above {project_dir}; run `make setup`")


def _fingerprint(project_dir: Path, args: list[str]) -> str:
    digest = hashlib.sha256("\0".join(args).encode())
    for path in sorted(project_dir.rglob("*")):
        if path.is_file() and path.suffix in _SOURCE_SUFFIXES and "node_modules" not in path.parts:
            digest.update(str(path.relative_to(project_dir)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def _vars_arg(vars: Mapping[str, str]) -> list[str]:
    for key, value in vars.items():
        if "," in str(value) or "=" in str(value):
            raise ValueError(f"--vars cannot carry ',' or '=' (var {key}={value!r})")
    return [f"--vars={','.join(f'{k}={v}' for k, v in sorted(vars.items()))}"] if vars else []


def compile_project(
    project_dir: Path | str, vars: Mapping[str, str] | None = None, default_database: str | None = None
) -> dict[str, Any]:
    """The compiled graph as JSON (a dict); raises GraphError on compile errors."""
    project = Path(project_dir).resolve()
    args = ["compile", str(project), "--json", *_vars_arg(dict(vars or {}))]
    if default_database:
        args.append(f"--default-database={default_database}")
    key = _fingerprint(project, args)
    if key in _CACHE:
        return _CACHE[key]
    env = {**os.environ, "npm_config_prefer_offline": "true", "npm_config_update_notifier": "false"}
    proc = subprocess.run(
        [str(find_cli(project)), *args], capture_output=True, text=True, env=env, timeout=300, check=False
    )
    if proc.returncode != 0:
        raise GraphError(
            f"dataform compile failed ({proc.returncode}):\n{proc.stderr.strip() or proc.stdout[-2000:]}"
        )
    try:
        compiled: dict[str, Any] = json.loads(proc.stdout)
    except json.JSONDecodeError as exc:
        raise GraphError(f"dataform compile printed no JSON: {proc.stdout[:500]!r}") from exc
    errors = compiled.get("graphErrors") or {}
    if any(errors.values()):
        raise GraphError(f"the Dataform project has compile errors: {json.dumps(errors, indent=2)}")
    _CACHE[key] = compiled
    return compiled
