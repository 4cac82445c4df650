"""The forecasting pipeline's steps as plain functions over files (components only wrap these)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ml.forecasting.backtest import backtest, rolling_origins
from ml.forecasting.baselines import seasonal_naive
from ml.forecasting.model import Forecaster, ForecasterConfig
from ml.forecasting.readiness import BACKTEST_ORIGIN_STEP_HOURS, BACKTEST_ORIGINS, PREDICT_MIN_HOURS
from ml.forecasting.series import SeriesMatrix, to_matrix
from ml.readiness import lineage_of, no_champion_reason, skipped
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
    matrix: SeriesMatrix,
    config: ForecasterConfig,
    n_origins: int = BACKTEST_ORIGINS,
    origin_step: int = BACKTEST_ORIGIN_STEP_HOURS,
) -> tuple[Forecaster, dict[str, float]]:
    """Backtest (train on data before the first origin, forecast from each origin), then refit on everything."""
    h = config.horizon
    origins = rolling_origins(len(matrix.hours), h, n_origins, origin_step)
    cut = origins[0] + 1
    holdout = Forecaster(config)
    holdout.fit(matrix.values[:cut], matrix.hours[:cut], matrix.keys)
    scores = backtest(
        matrix.values,
        matrix.hours,
        origins,
        h,
        {
            "model": lambda hist, hh, n: holdout.predict(hist, hh, n),
            "seasonal_naive": lambda hist, hh, n: seasonal_naive(hist, n),
        },
    )
    final = Forecaster(ForecasterConfig(**{**config.__dict__, "keys": []}))
    fit_stats = final.fit(matrix.values, matrix.hours, matrix.keys)
    metrics = {
        "backtest_smape": scores["model"]["smape"],
        "backtest_mase": scores["model"]["mase"],
        "seasonal_naive_smape": scores["seasonal_naive"]["smape"],
        "seasonal_naive_mase": scores["seasonal_naive"]["mase"],
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
    """Forecast the ``horizon`` hours after the matrix's last hour, with Poisson prediction intervals."""
    keys = [tuple(k) for k in forecaster.config.keys]
    if set(keys) - set(matrix.keys):
        raise ValueError(f"series missing from the data: {sorted(set(keys) - set(matrix.keys))}")
    cols = [matrix.keys.index(k) for k in keys]  # type: ignore[arg-type]
    mean = forecaster.predict(matrix.values[:, cols], matrix.hours, horizon)
    from scipy.stats import poisson

    alpha = (1.0 - interval) / 2
    lower, upper = poisson.ppf(alpha, mean), poisson.ppf(1 - alpha, mean)
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


def train_step(
    series_path: Path,
    model_dir: Path,
    lineage: dict[str, Any],
    config: ForecasterConfig,
    model_name: str = MODEL_NAME,
    registry: ModelRegistry | None = None,
) -> dict[str, Any]:
    """Train + backtest, save the model directory, register it and move ``champion`` onto it."""
    forecaster, metrics = train_and_backtest(read_series(series_path), config)
    forecaster.save(Path(model_dir), metrics)
    version = (registry or get_registry()).register(
        model_name, Path(model_dir), metrics, lineage_of(lineage), aliases=[CHAMPION]
    )
    return {"metrics": metrics, "model_version": version.version}


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
    reg = registry or get_registry()
    champion = reg.get(model_name, alias=CHAMPION)
    if champion is None:
        return skipped(no_champion_reason(model_name, "forecast"))
    rows = pq.read_table(series_path)
    if rows.num_rows == 0:
        return skipped("the series snapshot is empty: nothing to forecast from")
    matrix = to_matrix(rows.to_pandas())
    if len(matrix.hours) < PREDICT_MIN_HOURS:
        return skipped(
            f"the series snapshot has {len(matrix.hours)} hours; a forecast needs at least "
            f"{PREDICT_MIN_HOURS} (the weekly lag of every target hour)"
        )
    forecaster = Forecaster.load(reg.local_artifacts(champion))
    table = forecast_table(forecaster, matrix, horizon, model_name, champion.version)
    written = (warehouse or get_warehouse()).write(
        "ml", FORECASTS_TABLE, table, mode="merge", key=list(FORECASTS_KEY)
    )
    return {"rows": written, "model_version": champion.version}
