"""The forecasting pipeline's steps as plain functions over files (components only wrap these)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ml.forecasting.evaluation import evaluate
from ml.forecasting.metrics import predictive_interval
from ml.forecasting.model import Forecaster, ForecasterConfig
from ml.forecasting.readiness import PREDICT_MIN_HOURS
from ml.forecasting.series import SeriesMatrix, to_matrix
from ml.protocol import FORECAST, ForecastProtocol
from ml.readiness import no_champion_reason, skipped
from ml.registry import CHAMPION, ModelRegistry, get_registry
from rillflow.warehouse import Warehouse, get_warehouse

FORECASTS_TABLE = "ml_app_forecasts"
FORECASTS_KEY = ("ts_hour", "country", "platform", "model_name", "origin_ts")
MODEL_NAME = "app_activity_forecaster"
FORECASTS_SCHEMA = pa.schema(
    [
        ("ts_hour", pa.timestamp("us", tz="UTC")),
        ("country", pa.string()),
        ("platform", pa.string()),
        ("predicted_count", pa.float64()),
        ("lower", pa.float64()),
        ("upper", pa.float64()),
        ("model_name", pa.string()),
        ("model_version", pa.string()),
        ("origin_ts", pa.timestamp("us", tz="UTC")),
        ("created_at", pa.timestamp("us", tz="UTC")),
    ]
)


def read_series(path: Path) -> SeriesMatrix:
    return to_matrix(pq.read_table(path).to_pandas())


def train_and_backtest(
    matrix: SeriesMatrix, config: ForecasterConfig, protocol: ForecastProtocol = FORECAST
) -> tuple[Forecaster, dict[str, float]]:
    """Run the protocol (:func:`ml.forecasting.evaluation.evaluate`), then refit on every hour.

    The metrics are the evaluation's (network and baselines on the selection and test windows,
    see :meth:`ForecastEvaluation.metrics`) plus the final fit's statistics.
    """
    evaluation = evaluate(matrix.values, matrix.hours, matrix.keys, config, protocol)
    final = Forecaster(ForecasterConfig(**{**config.__dict__, "keys": []}))
    fit_stats = final.fit(matrix.values, matrix.hours, matrix.keys)
    metrics = {
        **evaluation.metrics(),
        **{f"holdout_{k}": v for k, v in evaluation.fit.items()},
        **fit_stats,
    }
    return final, metrics


def forecast_table(
    forecaster: Forecaster,
    matrix: SeriesMatrix,
    horizon: int,
    model_name: str,
    model_version: str,
    interval: float = 0.9,
    created_at: datetime | None = None,
) -> pa.Table:
    """Forecast the ``horizon`` hours after the matrix's last hour, with prediction intervals.

    The interval is the central ``interval`` range of the model's predictive distribution: negative
    binomial with the dispersion fitted on held-out hours (Poisson when there was none).
    """
    keys = [tuple(k) for k in forecaster.config.keys]
    if set(keys) - set(matrix.keys):
        raise ValueError(f"series missing from the data: {sorted(set(keys) - set(matrix.keys))}")
    cols = [matrix.keys.index(k) for k in keys]  # type: ignore[arg-type]
    mean = forecaster.predict(matrix.values[:, cols], matrix.hours, horizon)
    lower, upper = predictive_interval(mean, interval, forecaster.config.dispersion)
    origin = matrix.hours[-1]
    hours = pd.date_range(origin + pd.Timedelta(hours=1), periods=horizon, freq="h")
    n = mean.size
    created = created_at or datetime.now(UTC)
    return pa.table(
        {
            "ts_hour": pa.array(np.repeat(hours.to_pydatetime(), len(keys)), pa.timestamp("us", tz="UTC")),
            "country": [k[0] for k in keys] * horizon,
            "platform": [k[1] for k in keys] * horizon,
            "predicted_count": mean.ravel(),
            "lower": np.asarray(lower, dtype=np.float64).ravel(),
            "upper": np.asarray(upper, dtype=np.float64).ravel(),
            "model_name": [model_name] * n,
            "model_version": [str(model_version)] * n,
            "origin_ts": pa.array([origin.to_pydatetime()] * n, pa.timestamp("us", tz="UTC")),
            "created_at": pa.array([created] * n, pa.timestamp("us", tz="UTC")),
        },
        schema=FORECASTS_SCHEMA,
    )


def fit_model(series_path: Path, model_dir: Path, config: ForecasterConfig) -> dict[str, Any]:
    """Train + backtest on a series snapshot and save the model directory; returns the metrics.

    What the Vertex CustomJob runs (``ml.training.forecaster_job``); registering the model is the
    launching step's (``ml.training.steps``).
    """
    forecaster, metrics = train_and_backtest(read_series(series_path), config)
    forecaster.save(Path(model_dir), metrics)
    return metrics


def predict_step(
    series_path: Path,
    horizon: int,
    model_name: str = MODEL_NAME,
    registry: ModelRegistry | None = None,
    warehouse: Warehouse | None = None,
) -> dict[str, Any]:
    """Forecast with the champion and merge into ml.ml_app_forecasts (idempotent per origin).

    Without a champion, or with less than :data:`PREDICT_MIN_HOURS` of series, nothing is written
    and the result says ``skipped`` and why.
    """
    # the snapshot's own checks first: no registry call when there is nothing to forecast from
    rows = pq.read_table(series_path)
    if rows.num_rows == 0:
        return skipped("the series snapshot is empty: nothing to forecast from")
    matrix = to_matrix(rows.to_pandas())
    if len(matrix.hours) < PREDICT_MIN_HOURS:
        return skipped(
            f"the series snapshot has {len(matrix.hours)} hours; a forecast needs at least "
            f"{PREDICT_MIN_HOURS} (the weekly lag of every target hour)"
        )
    reg = registry or get_registry()
    champion = reg.get(model_name, alias=CHAMPION)
    if champion is None:
        return skipped(no_champion_reason(model_name, "forecast"))
    forecaster = Forecaster.load(reg.local_artifacts(champion))
    table = forecast_table(forecaster, matrix, horizon, model_name, champion.version)
    written = (warehouse or get_warehouse()).write(
        "ml", FORECASTS_TABLE, table, mode="merge", key=list(FORECASTS_KEY)
    )
    return {"rows": written, "model_version": champion.version}
