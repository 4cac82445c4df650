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
from ml.forecasting.readiness import PREDICT_MIN_HOURS, WEEK_HOURS, hours_read
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
    """Run the protocol (:func:`ml.forecasting.evaluation.evaluate`), then refit on the latest hours.

    The metrics are the evaluation's (network and baselines on the selection and test windows,
    see :meth:`ForecastEvaluation.metrics`) plus the final fit's statistics. Only the last
    :func:`ml.forecasting.readiness.hours_read` hours are read (the fits' training windows, the
    protocol's windows, the baselines' weeks): the cost stops growing with the history.
    """
    keep = hours_read(config.horizon, config.history_hours // WEEK_HOURS, config.train_weeks or 0, protocol)
    if config.train_weeks and len(matrix.hours) > keep:
        matrix = SeriesMatrix(matrix.hours[-keep:], matrix.keys, matrix.values[-keep:])
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


def served_table(
    prediction: dict[str, Any],
    origin: pd.Timestamp,
    model_name: str,
    model_version: str,
    created_at: datetime | None = None,
) -> pa.Table:
    """The forecaster endpoint's prediction (``ml.serving.predictors``) as ``ml_app_forecasts`` rows,
    laid out as :func:`forecast_table` lays out the in-process forecast."""
    forecasts = prediction["forecasts"]
    horizon = int(prediction["horizon"])
    first = pd.Timestamp(prediction["first_hour"])
    if first != origin + pd.Timedelta(hours=1):
        raise ValueError(f"the endpoint forecast from {first}, not from the hour after {origin}")
    keys = [(str(f["country"]), str(f["platform"])) for f in forecasts]

    def cells(name: str) -> np.ndarray:  # (horizon, series), the hours major as forecast_table
        return np.array([f[name] for f in forecasts], dtype=np.float64).reshape(len(keys), horizon).T

    hours = pd.date_range(first, periods=horizon, freq="h")
    n = horizon * len(keys)
    created = created_at or datetime.now(UTC)
    return pa.table(
        {
            "ts_hour": pa.array(np.repeat(hours.to_pydatetime(), len(keys)), pa.timestamp("us", tz="UTC")),
            "country": [k[0] for k in keys] * horizon,
            "platform": [k[1] for k in keys] * horizon,
            "predicted_count": cells("predicted_count").ravel(),
            "lower": cells("lower").ravel(),
            "upper": cells("upper").ravel(),
            "model_name": [model_name] * n,
            "model_version": [str(model_version)] * n,
            "origin_ts": pa.array([origin.to_pydatetime()] * n, pa.timestamp("us", tz="UTC")),
            "created_at": pa.array([created] * n, pa.timestamp("us", tz="UTC")),
        },
        schema=FORECASTS_SCHEMA,
    )


def forecasting_endpoint(display_name: str) -> Any | None:
    """The endpoint with this display name (the training step deploys the champion there), or None."""
    from google.cloud import aiplatform

    found = aiplatform.Endpoint.list(filter=f'display_name="{display_name}"', order_by="create_time")
    return found[0] if found else None


def served_models(endpoint: Any, model_name: str, registry: ModelRegistry) -> list[dict[str, Any]]:
    """The metadata.json of every version the endpoint sends traffic to (keys, history_hours)."""
    from ml.forecasting.model import KIND
    from ml.registry.base import read_metadata

    split = dict(endpoint.traffic_split)
    out = []
    for deployed in endpoint.list_models():
        if split.get(deployed.id, 0) <= 0:
            continue
        version = registry.get(model_name, version=str(deployed.model_version_id))
        if version is None:
            raise ValueError(
                f"endpoint {endpoint.resource_name} serves {deployed.model}@{deployed.model_version_id}, "
                f"not a version of {model_name!r}"
            )
        meta = read_metadata(registry.local_artifacts(version))
        if meta.get("kind") != KIND:
            raise ValueError(f"endpoint {endpoint.resource_name} serves a {meta.get('kind')!r}, not a {KIND}")
        out.append(meta)
    return out


def forecast_instance(
    matrix: SeriesMatrix, served: list[dict[str, Any]], horizon: int, interval: float
) -> dict[str, Any]:
    """The compact instance (``ml.serving.predictors``) the served models need: the series they know,
    the last ``history_hours`` hours (the most any of them reads)."""
    from ml.serving.predictors import compact_instance

    keys: list[tuple[str, str]] = []
    hours = 0
    for meta in served:
        config = ForecasterConfig(**meta["config"])
        hours = max(hours, int(meta.get("history_hours") or config.history_hours))
        keys += [k for k in ((str(c), str(p)) for c, p in config.keys) if k not in keys]
    missing = sorted(set(keys) - set(matrix.keys))
    if missing:
        raise ValueError(f"series missing from the data: {missing}")
    cols = [matrix.keys.index(k) for k in keys]
    block = matrix.values[-hours:, cols] if hours else matrix.values[:, cols]
    return compact_instance(block, keys, matrix.hours[-1], horizon, interval)


def predict_step(
    series_path: Path,
    horizon: int,
    model_name: str = MODEL_NAME,
    registry: ModelRegistry | None = None,
    warehouse: Warehouse | None = None,
    settings: Any | None = None,
    interval: float = 0.9,
) -> dict[str, Any]:
    """Forecast through the forecasting endpoint (``Endpoint.predict``) and merge into
    ml.ml_app_forecasts (idempotent per origin).

    One compact instance carries every series' last ``history_hours`` (what the served model reads;
    its ``metadata.json`` says how many), checked against Vertex's 1.5 MB request limit before it
    is sent. The rows carry the version that answered (the endpoint's traffic split picks it).
    Without a champion, with less than :data:`PREDICT_MIN_HOURS` of series, or with nothing
    deployed on the endpoint, nothing is written and the result says ``skipped`` and why.
    """
    from ml.serving.predictors import REQUEST_LIMIT_BYTES, request_bytes
    from rillflow.settings import get_settings
    from rillflow.vertex_client import init_vertex

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
    s = settings or get_settings()
    reg = registry or get_registry(s)
    champion = reg.get(model_name, alias=CHAMPION)
    if champion is None:
        return skipped(no_champion_reason(model_name, "forecast"))
    init_vertex(s.project, s.region)
    endpoint = forecasting_endpoint(s.forecast_endpoint)
    if endpoint is None:
        return skipped(
            f"the forecasting endpoint {s.forecast_endpoint!r} does not exist yet: the training step "
            f"creates it when it deploys the champion (version {champion.version})"
        )
    served = served_models(endpoint, model_name, reg)
    if not served:
        return skipped(
            f"the forecasting endpoint {s.forecast_endpoint!r} has no deployed model taking traffic: "
            f"nothing serves {model_name!r} (champion version {champion.version} is not deployed)"
        )
    instance = forecast_instance(matrix, served, horizon, interval)
    size = request_bytes([instance])
    if size > REQUEST_LIMIT_BYTES:
        raise ValueError(
            f"the forecast request is {size} bytes for {len(instance['keys'])} series × "
            f"{instance['hours']} hours, above Vertex AI's online prediction limit of 1.5 MB "
            f"({REQUEST_LIMIT_BYTES} bytes)"
        )
    response = endpoint.predict(instances=[instance])
    version = str(response.model_version_id)
    table = served_table(dict(response.predictions[0]), matrix.hours[-1], model_name, version)
    written = (warehouse or get_warehouse()).write(
        "ml", FORECASTS_TABLE, table, mode="merge", key=list(FORECASTS_KEY)
    )
    return {
        "rows": written,
        "model_version": version,
        "endpoint": endpoint.resource_name,
        "deployed_model_id": response.deployed_model_id,
        "request_bytes": size,
        "history_hours": instance["hours"],
        "series": len(instance["keys"]),
    }
