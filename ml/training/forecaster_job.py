"""The forecaster's training entry point: what the Vertex AI CustomJob runs in the training image.

    python -m ml.training.forecaster_job --series gs://…/series.parquet --horizon 168 --epochs 40

Follows Vertex's training contract: the model goes to ``AIP_MODEL_DIR`` (``gs://…/model/`` as
Vertex sets it from the job's ``base_output_dir``; ``--model-dir`` overrides), the job's id and
project come from ``CLOUD_ML_JOB_ID`` / ``CLOUD_ML_PROJECT_ID``. The series snapshot is the
Parquet file the pipeline's series step wrote. Training is :mod:`ml.forecasting`'s (the protocol's
rolling-origin evaluation, then the final fit, ``Forecaster.save``); the model directory is
``model.pt`` + ``metadata.json``, with a ``training`` entry saying where and how long it trained.

Device: the fit runs on the GPU when PyTorch sees one (a job on a machine with an accelerator,
``RILLFLOW_FORECAST_TRAIN_ACCELERATOR_*``), else on the CPU (``ForecasterConfig.device``); the
fitted net comes back to the CPU, where serving runs. ``metadata.json`` records the device.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from ml.training import gcs

MODEL_DIR_ENV = "AIP_MODEL_DIR"


def cuda_available() -> bool:
    import torch

    return bool(torch.cuda.is_available())


def fit_device() -> str:
    """Where ``Forecaster.fit`` puts its tensors: the GPU when the job's machine has one."""
    return "cuda" if cuda_available() else "cpu"


def train(series: Path, model_dir: Path, horizon: int, epochs: int, device: str = "cpu") -> dict[str, Any]:
    """Train + backtest on the snapshot and save the model directory; returns the metrics.

    The company's release and campaign calendar is a known-future input, as in the ML bench (one
    protocol): the app-event source's plan for the deployment's seed (``RILLFLOW_SEED``)."""
    from ml.forecasting.model import ForecasterConfig
    from ml.forecasting.steps import fit_model
    from rillflow.settings import get_settings

    config = ForecasterConfig(
        horizon=horizon, epochs=epochs, device=device, known_events_seed=get_settings().seed
    )
    return fit_model(series, model_dir, config)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Train the app-activity forecaster (Vertex CustomJob).")
    parser.add_argument("--series", required=True, help="the series snapshot (Parquet): gs:// URI or path")
    parser.add_argument("--horizon", type=int, required=True)
    parser.add_argument("--epochs", type=int, required=True)
    parser.add_argument(
        "--model-dir", default=os.environ.get(MODEL_DIR_ENV, ""), help=f"default: ${MODEL_DIR_ENV}"
    )
    args = parser.parse_args(argv)
    if not args.model_dir:
        parser.error(f"no model directory: set {MODEL_DIR_ENV} (Vertex does) or pass --model-dir")
    project = os.environ.get("CLOUD_ML_PROJECT_ID") or None
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="forecaster-job-") as tmp:
        series = gcs.get_file(args.series, Path(tmp) / "series.parquet", project)
        out = Path(tmp) / "model"
        device = fit_device()
        metrics = train(series, out, args.horizon, args.epochs, device)
        meta_path = out / "metadata.json"
        meta = json.loads(meta_path.read_text())
        meta["training"] = {
            "job_id": os.environ.get("CLOUD_ML_JOB_ID", ""),
            "device": device,
            "seconds": round(time.monotonic() - started, 3),
            "series": args.series,
        }
        meta_path.write_text(json.dumps(meta, indent=2, sort_keys=True, default=str))
        gcs.put_dir(out, args.model_dir, project)
    print(json.dumps({"model_dir": args.model_dir, "training": meta["training"], "metrics": len(metrics)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
