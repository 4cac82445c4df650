"""The forecasting pipeline's Vertex training step as a plain function (the component wraps it):
dataset → CustomJob → Model Registry (champion) → endpoint.

Runs unchanged in a Vertex pipeline task and under kfp.local: every call goes through the
official SDK and storage client, which find the local services by their emulator variables.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from ml.readiness import lineage_of
from ml.registry import CHAMPION, ModelRegistry, get_registry
from rillflow.settings import Settings, get_settings


def deploy(model_name: str, settings: Settings | None = None) -> dict[str, Any]:
    """The champion (and a challenger's traffic share) on the forecasting endpoint (``deploy_champion``)."""
    from ml.serving.deploy import DeploySpec, deploy_champion

    s = settings or get_settings()
    return deploy_champion(
        s.project,
        s.region,
        model_name,
        s.forecast_endpoint,
        DeploySpec.from_settings(s),
        s.forecast_challenger_traffic,
    )


def train_register_deploy(
    series_path: Path,
    model_dir: Path,
    snapshot: dict[str, Any],
    horizon: int,
    epochs: int,
    model_name: str,
    registry: ModelRegistry | None = None,
    settings: Settings | None = None,
) -> dict[str, Any]:
    """Train in a CustomJob on the series' Vertex dataset, register the model as champion with
    the dataset in its lineage, and deploy it. ``model_dir`` receives the trained model."""
    from ml.registry.base import read_metadata
    from ml.training import gcs
    from ml.training.dataset import ensure_series_dataset
    from ml.training.launcher import run_forecaster_job

    s = settings or get_settings()
    dataset = ensure_series_dataset(s.project, s.region)
    run = run_forecaster_job(series_path, horizon, epochs, model_name, s)
    gcs.get_dir(run.model_uri, Path(model_dir), s.project)
    meta = read_metadata(Path(model_dir))
    lineage = replace(lineage_of(snapshot), dataset=dataset)
    version = (registry or get_registry(s)).register(
        model_name, Path(model_dir), meta["metrics"], lineage, aliases=[CHAMPION]
    )
    return {
        "metrics": meta["metrics"],
        "model_version": version.version,
        "dataset": dataset,
        "custom_job": run.job,
        "custom_job_seconds": run.seconds,
        "training": meta.get("training", {}),
        "deployment": deploy(model_name, s),
    }
