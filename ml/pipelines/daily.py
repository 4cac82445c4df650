"""The KFP v2 pipelines: ``churn_ml``, ``forecast_ml`` and ``daily_ml`` (both, one run a day).

kfp.local cannot run ``dsl.If`` (kubeflow/pipelines #11793), so ``retrain`` is a parameter the
training components honour themselves: they train when ``retrain`` is true or no ``champion``
exists yet (bootstrap), and only when the snapshot step reported ``ready``; otherwise they return
``{"skipped": true, "reason": ...}`` and the scoring/forecast steps use the current champion.
On a fresh platform (no tables, too little history, no champion) every step succeeds and the
pipeline's outputs say ``skipped`` with the reason (see :mod:`ml.readiness`). The training steps
run the evaluation protocol of :mod:`ml.protocol` (the one ``bench/bench_ml.py`` runs) and store its
figures with the model version; the defaults below come from it.

The forecaster's training step (:mod:`ml.training`) creates/reuses the Vertex dataset over the
series table, trains in a Vertex CustomJob, registers the model as champion and deploys it to the
forecasting endpoint. ``ml_settings`` (JSON, :func:`ml.pipelines.env.use_settings`) carries the
job's machine and the endpoint's resources from terraform's variables in the cloud.
"""

from typing import NamedTuple

from kfp import dsl

from ml.churn.components import churn_features_op, churn_gate_op, churn_score_op, churn_train_op
from ml.forecasting.components import forecast_predict_op, forecast_series_op
from ml.protocol import FORECAST
from ml.training.components import forecast_custom_train_op

CHURN_MODEL = "churn_classifier"
FORECAST_MODEL = "app_activity_forecaster"
#: requests for the churn training step (each Vertex pipeline task runs as a custom job of this
#: size); the forecaster trains in its own CustomJob, on the machine of the settings
TRAIN_CPU, TRAIN_MEMORY = "4", "16G"


def _churn_tasks(as_of_date, retrain, project, location, min_improvement):  # type: ignore[no-untyped-def]
    feats = churn_features_op(as_of_date=as_of_date, project=project, location=location)
    train = churn_train_op(
        features=feats.outputs["features"],
        lineage=feats.outputs["Output"],
        as_of_date=as_of_date,
        retrain=retrain,
        seed=0,
        model_name=CHURN_MODEL,
        project=project,
        location=location,
    )
    train.set_cpu_limit(TRAIN_CPU).set_memory_limit(TRAIN_MEMORY).set_display_name("churn-train")
    gate = churn_gate_op(
        model=train.outputs["model"],
        validation=train.outputs["validation"],
        lineage=feats.outputs["Output"],
        train_summary=train.outputs["Output"],
        model_name=CHURN_MODEL,
        min_improvement=min_improvement,
        project=project,
        location=location,
    )
    return churn_score_op(
        features=feats.outputs["features"],
        as_of_date=as_of_date,
        model_name=CHURN_MODEL,
        gate_decision=gate.output,
        project=project,
        location=location,
    )


def _forecast_tasks(as_of_date, retrain, project, location, horizon, epochs, ml_settings):  # type: ignore[no-untyped-def]
    series = forecast_series_op(as_of_date=as_of_date, horizon=horizon, project=project, location=location)
    # dataset → CustomJob → registry (champion) → endpoint: ml.training.steps
    train = forecast_custom_train_op(
        series=series.outputs["series"],
        lineage=series.outputs["Output"],
        retrain=retrain,
        horizon=horizon,
        epochs=epochs,
        model_name=FORECAST_MODEL,
        project=project,
        location=location,
        ml_settings=ml_settings,
    )
    train.set_display_name("forecast-train")
    return forecast_predict_op(
        series=series.outputs["series"],
        horizon=horizon,
        train_result=train.outputs["Output"],
        model_name=FORECAST_MODEL,
        project=project,
        location=location,
    )


@dsl.pipeline(name="churn-ml", description="Churn: features → train → gate → batch scores.")
def churn_ml(
    as_of_date: str = "",
    retrain: bool = True,
    project: str = "",
    location: str = "",
    min_improvement: float = 0.0,
) -> str:
    return _churn_tasks(as_of_date, retrain, project, location, min_improvement).output


@dsl.pipeline(name="forecast-ml", description="App-activity forecasting: series → train → forecasts.")
def forecast_ml(
    as_of_date: str = "",
    retrain: bool = True,
    project: str = "",
    location: str = "",
    horizon: int = FORECAST.horizon,
    epochs: int = FORECAST.epochs,
    ml_settings: str = "",
) -> str:
    return _forecast_tasks(as_of_date, retrain, project, location, horizon, epochs, ml_settings).output


class DailyOutputs(NamedTuple):
    churn: str
    forecast: str


@dsl.pipeline(
    name="daily-ml", description="Daily ML: churn scoring and app-activity forecasts (+ retraining)."
)
def daily_ml(
    as_of_date: str = "",
    retrain: bool = False,
    project: str = "",
    location: str = "",
    horizon: int = FORECAST.horizon,
    epochs: int = FORECAST.epochs,
    min_improvement: float = 0.0,
    ml_settings: str = "",
) -> DailyOutputs:
    churn = _churn_tasks(as_of_date, retrain, project, location, min_improvement)
    forecast = _forecast_tasks(as_of_date, retrain, project, location, horizon, epochs, ml_settings)
    return DailyOutputs(churn=churn.output, forecast=forecast.output)


PIPELINES = {"churn_ml": churn_ml, "forecast_ml": forecast_ml, "daily_ml": daily_ml}
