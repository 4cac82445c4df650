"""Compile the pipelines to KFP v2 YAML (what Vertex AI Pipelines runs): ``rillflow ml compile``."""

from __future__ import annotations

import re
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


#: where the compiler writes its own version: every task's ``pip install 'kfp==X.Y.Z'`` and the
#: ``sdkVersion: kfp-X.Y.Z`` footer. A patch release of kfp changes these and nothing else.
_KFP_VERSION = re.compile(r"(kfp==|sdkVersion: kfp-)\d+(\.\d+)*\S*?(?=['\s\\]|$)", re.MULTILINE)


def without_sdk_version(text: str) -> str:
    """The compiled YAML with the kfp version it was compiled by blanked out.

    The checked-in YAML is compared with a fresh compile modulo that version, so a fresh install
    that resolves a newer kfp patch (or a lock refresh) does not turn it "stale"; any change in
    what the pipelines *do* still does."""
    return _KFP_VERSION.sub(r"\1<kfp-version>", text)


def stale_pipelines(compiled_dir: Path = COMPILED_DIR) -> list[str]:
    """Names whose checked-in YAML differs from a fresh compile (or is missing), ignoring the
    kfp version that compiled each one (see ``without_sdk_version``)."""
    from ml.pipelines.daily import PIPELINES

    stale = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in sorted(PIPELINES):
            fresh = compile_pipeline(name, Path(tmp)).read_text()
            current = compiled_dir / f"{name}.yaml"
            if not current.exists() or without_sdk_version(current.read_text()) != without_sdk_version(fresh):
                stale.append(name)
    return stale
