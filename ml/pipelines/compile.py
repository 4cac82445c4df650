"""Compile the pipelines to KFP v2 YAML (what Vertex AI Pipelines runs): ``rillflow ml compile``."""

from __future__ import annotations

import tempfile
from pathlib import Path

from kfp import compiler

COMPILED_DIR = Path(__file__).parent / "compiled"


def compile_pipeline(name: str, out_dir: Path = COMPILED_DIR) -> Path:
    from ml.pipelines.daily import PIPELINES

    if name not in PIPELINES:
        raise KeyError(f"unknown pipeline {name!r}; known: {sorted(PIPELINES)}")
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{name}.yaml"
    compiler.Compiler().compile(PIPELINES[name], str(path))
    return path


def compile_all(out_dir: Path = COMPILED_DIR) -> list[Path]:
    from ml.pipelines.daily import PIPELINES

    return [compile_pipeline(name, out_dir) for name in sorted(PIPELINES)]


def stale_pipelines(compiled_dir: Path = COMPILED_DIR) -> list[str]:
    """Names whose checked-in YAML differs from a fresh compile (or is missing)."""
    from ml.pipelines.daily import PIPELINES

    stale = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in sorted(PIPELINES):
            fresh = compile_pipeline(name, Path(tmp)).read_text()
            current = compiled_dir / f"{name}.yaml"
            if not current.exists() or current.read_text() != fresh:
                stale.append(name)
    return stale
