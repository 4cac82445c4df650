"""The KFP component of the forecaster's Vertex training step: a thin wrapper over
:func:`ml.training.steps.train_register_deploy`.

The task itself only orchestrates (dataset, CustomJob, registry, endpoint): the training runs in
the CustomJob, on the machine the settings give. No ``from __future__ import annotations`` here:
KFP reads the real annotation objects.
"""

from kfp import dsl
from kfp.dsl import Dataset, Input, Metrics, Model, Output

from ml.pipelines.images import ML_IMAGE


@dsl.component(base_image=ML_IMAGE, packages_to_install=[])
def forecast_custom_train_op(
    series: Input[Dataset],
    lineage: str,
    retrain: bool,
    horizon: int,
    epochs: int,
    model_name: str,
    project: str,
    location: str,
    ml_settings: str,
    model: Output[Model],
    metrics: Output[Metrics],
) -> str:
    """Train the forecaster in a Vertex CustomJob, register it as champion, deploy it.

    Trains when (``retrain`` or no champion yet) and the snapshot is ready; otherwise returns
    ``{"skipped": true, "reason": ...}`` with the endpoint reconciled to the current champion
    (``deployment``: a no-op when it is deployed already).
    """
    import json
    import math
    from pathlib import Path

    from ml.pipelines.env import use_project, use_settings

    use_project(project, location)
    use_settings(ml_settings)
    from ml.readiness import decide_training
    from ml.training.steps import deploy, train_register_deploy

    snapshot = json.loads(lineage)
    decision = decide_training(retrain, snapshot, model_name)
    if not decision.train:
        metrics.log_metric("skipped", 1.0)
        return json.dumps({"skipped": True, "reason": decision.reason, "deployment": deploy(model_name)})
    result = train_register_deploy(Path(series.path), Path(model.path), snapshot, horizon, epochs, model_name)
    result["trigger"] = decision.reason
    for key, value in result["metrics"].items():
        if isinstance(value, int | float) and math.isfinite(float(value)):  # KFP metrics cannot hold NaN
            metrics.log_metric(key, float(value))
    model.metadata.update(
        {
            "framework": "pytorch",
            "model_version": result["model_version"],
            "dataset": result["dataset"],
            "custom_job": result["custom_job"],
        }
    )
    return json.dumps(result)
