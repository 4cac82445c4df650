"""What the prediction server runs: one predictor per model kind (the artifact's ``metadata.json``).

* ``churn_classifier``: an instance is an object of feature values (the ``ml_churn_features``
  columns); its prediction is P(churn within 30 days).
* ``app_activity_forecaster``: an instance carries the recent hourly history of every series the
  model knows, and its prediction is the forecast of the next ``horizon`` hours per series with a
  Poisson prediction interval. Vertex endpoints are stateless, so the caller sends the history::

      {"last_hour": "2026-03-01T23:00:00Z", "horizon": 24, "interval": 0.9,
       "series": {"US|ios": [12, 9, ...], "US|android": [...], ...}}

  Each list holds consecutive hourly counts ending at ``last_hour`` (all of one length, at least
  one week). The prediction: ``{"first_hour", "horizon", "model_kind", "forecasts": [{"country",
  "platform", "predicted_count": [...], "lower": [...], "upper": [...]}, ...]}``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd

from ml.churn.features import FEATURE_COLUMNS, FeatureError, feature_matrix, to_frame
from ml.registry.base import read_metadata


class BadRequest(ValueError):
    """The request cannot be served as sent (answered with 400)."""


class Predictor(Protocol):
    def predict(self, instances: list[Any]) -> list[Any]: ...


class ChurnPredictor:
    def __init__(self, model_dir: Path) -> None:
        from ml.churn.artifacts import load_model

        self.model, self.metadata = load_model(model_dir)

    def predict(self, instances: list[Any]) -> list[Any]:
        from ml.churn.model import predict_churn

        rows = []
        for i, inst in enumerate(instances):
            if not isinstance(inst, dict):
                raise BadRequest(f"instance {i} must be an object of feature values")
            missing = [c for c in FEATURE_COLUMNS if c not in inst]
            if missing:
                raise BadRequest(f"instance {i} lacks features: {missing}")
            rows.append({"customer_id": inst.get("customer_id", ""), "as_of_date": "1970-01-01", **inst})
        try:
            frame = to_frame(pd.DataFrame(rows))
        except (FeatureError, ValueError, TypeError) as exc:
            raise BadRequest(f"invalid feature values: {exc}") from exc
        return [float(p) for p in predict_churn(self.model, feature_matrix(frame))]


class ForecastPredictor:
    def __init__(self, model_dir: Path) -> None:
        from ml.forecasting.model import Forecaster

        self.forecaster = Forecaster.load(model_dir)
        self.keys = [(str(k[0]), str(k[1])) for k in self.forecaster.config.keys]

    def predict(self, instances: list[Any]) -> list[Any]:
        return [self._one(i, inst) for i, inst in enumerate(instances)]

    def _one(self, i: int, inst: Any) -> dict[str, Any]:
        from ml.forecasting.readiness import PREDICT_MIN_HOURS
        from ml.forecasting.series import SeriesMatrix
        from ml.forecasting.steps import forecast_table

        if not isinstance(inst, dict) or not isinstance(inst.get("series"), dict):
            raise BadRequest(
                f'instance {i} must be an object with a "series" map of "country|platform": counts'
            )
        try:
            last = pd.Timestamp(inst["last_hour"])
            last = last.tz_localize("UTC") if last.tzinfo is None else last.tz_convert("UTC")
        except (KeyError, ValueError, TypeError) as exc:
            raise BadRequest(
                f'instance {i}: "last_hour" must be an ISO hour, e.g. 2026-03-01T23:00:00Z'
            ) from exc
        if last != last.floor("h"):
            raise BadRequest(f'instance {i}: "last_hour" must be on the hour, got {last.isoformat()}')
        horizon, interval = inst.get("horizon", 24), inst.get("interval", 0.9)
        if not isinstance(horizon, int) or not 1 <= horizon <= 168:
            raise BadRequest(f'instance {i}: "horizon" must be an integer within 1..168 hours')
        if not isinstance(interval, int | float) or not 0 < interval < 1:
            raise BadRequest(f'instance {i}: "interval" must be a probability between 0 and 1')
        given = {tuple(str(k).split("|", 1)): v for k, v in inst["series"].items()}
        missing = [f"{c}|{p}" for c, p in self.keys if (c, p) not in given]
        if missing:
            raise BadRequest(
                f"instance {i} lacks the history of {len(missing)} series the model knows: {missing[:10]}"
            )
        try:
            values = np.array([given[k] for k in self.keys], dtype=np.float64).T
        except (ValueError, TypeError) as exc:
            raise BadRequest(f"instance {i}: every series must be a list of counts of one length") from exc
        if values.ndim != 2 or len(values) < PREDICT_MIN_HOURS:
            raise BadRequest(f"instance {i}: each series needs at least {PREDICT_MIN_HOURS} hourly counts")
        if not np.isfinite(values).all() or (values < 0).any():
            raise BadRequest(f"instance {i}: counts must be finite and non-negative")
        hours = pd.date_range(end=last, periods=len(values), freq="h")
        matrix = SeriesMatrix(pd.DatetimeIndex(hours), list(self.keys), values)
        table = forecast_table(self.forecaster, matrix, horizon, "served", "-", float(interval)).to_pandas()
        forecasts = [
            {
                "country": country,
                "platform": platform,
                "predicted_count": [round(float(x), 6) for x in rows["predicted_count"]],
                "lower": [float(x) for x in rows["lower"]],
                "upper": [float(x) for x in rows["upper"]],
            }
            for (country, platform), rows in table.groupby(["country", "platform"], sort=False)
        ]
        first = (last + pd.Timedelta(hours=1)).isoformat().replace("+00:00", "Z")
        return {
            "first_hour": first,
            "horizon": horizon,
            "model_kind": "app_activity_forecaster",
            "forecasts": forecasts,
        }


def load_predictor(model_dir: Path) -> Predictor:
    kind = read_metadata(model_dir).get("kind")
    if kind == "churn_classifier":
        return ChurnPredictor(model_dir)
    if kind == "app_activity_forecaster":
        return ForecastPredictor(model_dir)
    raise ValueError(f"cannot serve model kind {kind!r} (served: churn_classifier, app_activity_forecaster)")
