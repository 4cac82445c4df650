"""KFP v2 components of the forecasting pipeline: thin wrappers over :mod:`ml.forecasting.steps`.

Training is not here: the pipeline's training step (:mod:`ml.training.components`) launches a
Vertex AI CustomJob that runs :func:`ml.forecasting.steps.fit_model` on the machine (and GPU) the
settings name, then registers and deploys the model.
No ``from __future__ import annotations`` here: KFP reads the real annotation objects.
"""

from kfp import dsl
from kfp.dsl import Dataset, Input, Output

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
