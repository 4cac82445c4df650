"""KFP v2 components of the forecasting pipeline: thin wrappers over :mod:`ml.forecasting.steps`.

``forecast_train_op`` is the custom-training step: in Vertex AI Pipelines every task already runs
as a Vertex ``CustomJob`` in its component's image (:data:`ml.pipelines.images.ML_IMAGE`), and
:mod:`ml.pipelines.daily` gives it its own CPU/memory request; with
google-cloud-pipeline-components installed, ``create_custom_training_job_from_component`` can
wrap it to pick a machine type/accelerator (see ``ml/pipelines/README.md``).
No ``from __future__ import annotations`` here: KFP reads the real annotation objects.
"""

from kfp import dsl
from kfp.dsl import Dataset, Input, Metrics, Model, Output

from ml.pipelines.images import ML_IMAGE


@dsl.component(base_image=ML_IMAGE, packages_to_install=[])
def forecast_series_op(
    as_of_date: str, horizon: int, project: str, location: str, series: Output[Dataset]
) -> str:
    """Snapshot ml.ml_app_activity_series up to the end of ``as_of_date``; returns the lineage (JSON).

    The lineage carries ``ready``/``reason``: whether the history is long enough to train for ``horizon``.
    """
    import json
    from pathlib import Path

    from ml.pipelines.env import parse_date, use_project

    use_project(project, location)
    from ml.forecasting.snapshot import load_series

    lineage = load_series(parse_date(as_of_date), Path(series.path), horizon=horizon)
    series.metadata.update(lineage)
    return json.dumps(lineage)


@dsl.component(base_image=ML_IMAGE, packages_to_install=[])
def forecast_train_op(
    series: Input[Dataset],
    lineage: str,
    retrain: bool,
    horizon: int,
    epochs: int,
    model_name: str,
    project: str,
    location: str,
    model: Output[Model],
    metrics: Output[Metrics],
) -> str:
    """Train + backtest the PyTorch forecaster and register it as champion.

    Trains when (``retrain`` or no champion yet) and the snapshot is ready; otherwise returns
    ``{"skipped": true, "reason": ...}``.
    """
    import json
    import math
    from pathlib import Path

    from ml.pipelines.env import use_project

    use_project(project, location)
    from ml.readiness import decide_training

    snapshot = json.loads(lineage)
    decision = decide_training(retrain, snapshot, model_name)
    if not decision.train:  # decided before the torch imports: a cold start stays cheap
        metrics.log_metric("skipped", 1.0)
        return json.dumps({"skipped": True, "reason": decision.reason})
    from ml.forecasting.model import ForecasterConfig
    from ml.forecasting.steps import train_step

    result = train_step(
        Path(series.path),
        Path(model.path),
        snapshot,
        ForecasterConfig(horizon=horizon, epochs=epochs),
        model_name,
    )
    result["trigger"] = decision.reason
    for key, value in result["metrics"].items():
        if isinstance(value, int | float) and math.isfinite(
            float(value)
        ):  # KFP metrics cannot hold NaN (e.g. no validation rows)
            metrics.log_metric(key, float(value))
    model.metadata.update({"framework": "pytorch", "model_version": result["model_version"]})
    return json.dumps(result)


@dsl.component(base_image=ML_IMAGE, packages_to_install=[])
def forecast_predict_op(
    series: Input[Dataset], horizon: int, train_result: str, model_name: str, project: str, location: str
) -> str:
    """Forecast the next ``horizon`` hours with the champion into ml.ml_app_forecasts (after training).

    Without a champion or enough series it writes nothing and returns ``skipped`` with the reason
    (and the training step's own reason when that was skipped too).
    """
    import json
    from pathlib import Path

    from ml.pipelines.env import use_project

    use_project(project, location)
    from ml.readiness import has_champion, no_champion_reason, skipped

    if has_champion(model_name):
        from ml.forecasting.steps import predict_step

        result = predict_step(Path(series.path), horizon, model_name)
    else:  # checked before the torch imports: a cold start stays cheap
        result = skipped(no_champion_reason(model_name, "forecast"))
    train = json.loads(train_result)
    if result.get("skipped") and train.get("skipped"):
        result["reason"] = f"{result['reason']} (training skipped: {train['reason']})"
    result["train"] = train
    return json.dumps(result)
