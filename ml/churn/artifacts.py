"""Saving and loading a churn model directory: ``model.joblib`` + ``metadata.json``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import joblib

from ml.churn.features import FEATURE_COLUMNS
from ml.registry.base import read_metadata, write_metadata

MODEL_FILE = "model.joblib"
KIND = "churn_classifier"


def save_model(model: Any, directory: Path, algorithm: str, metrics: dict[str, Any] | None = None) -> Path:
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    joblib.dump(model, directory / MODEL_FILE)
    write_metadata(
        directory,
        kind=KIND,
        algorithm=algorithm,
        model_file=MODEL_FILE,
        feature_columns=list(FEATURE_COLUMNS),
        metrics=metrics or {},
    )
    return directory


def load_model(directory: Path) -> tuple[Any, dict[str, Any]]:
    meta = read_metadata(directory)
    if meta.get("kind") != KIND:
        raise ValueError(f"{directory} holds a {meta.get('kind')!r} model, not a {KIND}")
    return joblib.load(Path(directory) / meta["model_file"]), meta
