"""What the prediction server runs: one predictor per model kind (the artifact's ``metadata.json``).

* ``churn_classifier``: an instance is an object of feature values (the ``ml_churn_features``
  columns); its prediction is P(churn within 30 days).
* ``app_activity_forecaster``: an instance carries the recent hourly history of every series the
  model knows, and its prediction is the forecast of the next ``horizon`` hours per series with a
  Poisson prediction interval. Vertex endpoints are stateless, so the caller sends the history,
  as JSON lists::

      {"last_hour": "2026-03-01T23:00:00Z", "horizon": 24, "interval": 0.9,
       "series": {"US|ios": [12, 9, ...], "US|android": [...], ...}}

  or, compact (what the daily forecast sends for hundreds of series: :func:`compact_instance`),
  the counts as one little-endian uint32 array, hours × series row-major, zlib-compressed and
  base64-encoded::

      {"last_hour": "2026-03-01T23:00:00Z", "horizon": 168, "interval": 0.9,
       "keys": ["US|ios", "US|android", ...], "hours": 1008, "counts_b64": "eNrt..."}

  Either way the hours are consecutive and end at ``last_hour`` (at least one week; the model
  reads its ``history_hours``, recorded in its ``metadata.json``: older hours change nothing).
  The prediction: ``{"first_hour", "horizon", "model_kind", "forecasts": [{"country",
  "platform", "predicted_count": [...], "lower": [...], "upper": [...]}, ...]}``.
"""

from __future__ import annotations

import base64
import binascii
import json
import zlib
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd

from ml.churn.features import FEATURE_COLUMNS, FeatureError, feature_matrix, to_frame
from ml.registry.base import read_metadata


class BadRequest(ValueError):
    """The request cannot be served as sent (answered with 400)."""


#: Vertex AI's limit on an online prediction request's payload (1.5 MB; its error names 1572864 bytes)
REQUEST_LIMIT_BYTES = 1_572_864
#: a compact instance's counts may inflate to at most this many bytes (more is refused before
#: decompressing: a small payload must not expand into gigabytes)
MAX_COUNTS_BYTES = 64 * 1024 * 1024
#: the largest count a compact instance holds (uint32)
MAX_COUNT = 2**32 - 1


def compact_instance(
    values: np.ndarray,
    keys: list[tuple[str, str]],
    last_hour: pd.Timestamp,
    horizon: int,
    interval: float = 0.9,
) -> dict[str, Any]:
    """The forecaster's compact instance for ``values`` (hours × series counts ending at ``last_hour``)."""
    block = np.asarray(values, dtype=np.float64)
    if block.ndim != 2 or block.shape[1] != len(keys):
        raise ValueError(f"values must be hours × {len(keys)} series, got shape {block.shape}")
    if not np.isfinite(block).all() or (block < 0).any() or (block > MAX_COUNT).any():
        raise ValueError(f"counts must be finite, non-negative and at most {MAX_COUNT}")
    if not np.array_equal(block, np.floor(block)):
        raise ValueError("counts must be whole numbers")
    raw = np.ascontiguousarray(block, dtype="<u4").tobytes()
    last = pd.Timestamp(last_hour)
    last = last.tz_localize("UTC") if last.tzinfo is None else last.tz_convert("UTC")
    return {
        "last_hour": last.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "horizon": int(horizon),
        "interval": float(interval),
        "keys": [f"{c}|{p}" for c, p in keys],
        "hours": int(block.shape[0]),
        "counts_b64": base64.b64encode(zlib.compress(raw, 6)).decode("ascii"),
    }


def request_bytes(instances: list[Any]) -> int:
    """Size of a predict request for ``instances``, the larger of its two encodings: the JSON body
    (``{"instances": [...]}``, REST) and the protobuf ``Value`` list (gRPC, what the SDK sends, where
    every number is an 8-byte double): what Vertex's 1.5 MB online request limit is checked on."""
    from google.protobuf import json_format, struct_pb2

    as_json = len(json.dumps({"instances": instances}, separators=(",", ":")).encode())
    as_proto = json_format.ParseDict(instances, struct_pb2.ListValue()).ByteSize()
    return max(as_json, as_proto)


def decode_counts(payload: Any, hours: int, n_series: int) -> np.ndarray:
    """A compact instance's ``counts_b64`` as a float64 (hours, series) matrix; ``BadRequest`` when
    it is not base64 of zlib of exactly ``hours × n_series`` little-endian uint32."""
    expected = hours * n_series * 4
    if expected > MAX_COUNTS_BYTES:
        raise BadRequest(
            f"{hours} hours × {n_series} series of uint32 counts are {expected} bytes, more than the "
            f"{MAX_COUNTS_BYTES} a request may hold"
        )
    if not isinstance(payload, str):
        raise BadRequest('"counts_b64" must be a base64 string')
    try:
        packed = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise BadRequest(f'"counts_b64" is not valid base64: {exc}') from exc
    inflater = zlib.decompressobj()
    try:
        raw = inflater.decompress(packed, expected + 1)  # never more than one byte past the size
    except zlib.error as exc:
        raise BadRequest(f'"counts_b64" is not zlib-compressed data: {exc}') from exc
    if len(raw) > expected or inflater.unconsumed_tail:
        raise BadRequest(
            f'"counts_b64" inflates to more than {expected} bytes ({hours} hours × {n_series} series '
            "of uint32)"
        )
    if len(raw) < expected or not inflater.eof:
        raise BadRequest(
            f'"counts_b64" inflates to {len(raw)} bytes{"" if inflater.eof else " (a truncated stream)"}; '
            f"{hours} hours × {n_series} series of uint32 are {expected}"
        )
    return np.frombuffer(raw, dtype="<u4").reshape(hours, n_series).astype(np.float64)


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
        from ml.forecasting.series import SeriesMatrix
        from ml.forecasting.steps import forecast_table

        if not isinstance(inst, dict) or not (isinstance(inst.get("series"), dict) or "counts_b64" in inst):
            raise BadRequest(
                f'instance {i} must be an object with a "series" map of "country|platform": counts, '
                'or "keys", "hours" and "counts_b64" (the compact form)'
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
        values = self._compact(i, inst) if "counts_b64" in inst else self._lists(i, inst)
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

    def _missing(self, i: int, given: Any) -> None:
        missing = [f"{c}|{p}" for c, p in self.keys if (c, p) not in given]
        if missing:
            raise BadRequest(
                f"instance {i} lacks the history of {len(missing)} series the model knows: {missing[:10]}"
            )

    def _lists(self, i: int, inst: dict[str, Any]) -> np.ndarray:
        from ml.forecasting.readiness import PREDICT_MIN_HOURS

        given = {tuple(str(k).split("|", 1)): v for k, v in inst["series"].items()}
        self._missing(i, given)
        try:
            values = np.array([given[k] for k in self.keys], dtype=np.float64).T
        except (ValueError, TypeError) as exc:
            raise BadRequest(f"instance {i}: every series must be a list of counts of one length") from exc
        if values.ndim != 2 or len(values) < PREDICT_MIN_HOURS:
            raise BadRequest(f"instance {i}: each series needs at least {PREDICT_MIN_HOURS} hourly counts")
        if not np.isfinite(values).all() or (values < 0).any():
            raise BadRequest(f"instance {i}: counts must be finite and non-negative")
        return values

    def _compact(self, i: int, inst: dict[str, Any]) -> np.ndarray:
        from ml.forecasting.readiness import PREDICT_MIN_HOURS

        keys, hours = inst.get("keys"), inst.get("hours")
        if not isinstance(keys, list) or not all(isinstance(k, str) and "|" in k for k in keys):
            raise BadRequest(f'instance {i}: "keys" must be a list of "country|platform" strings')
        if len(set(keys)) != len(keys):
            raise BadRequest(f'instance {i}: "keys" names a series twice')
        if not isinstance(hours, int) or isinstance(hours, bool) or hours < PREDICT_MIN_HOURS:
            raise BadRequest(
                f'instance {i}: "hours" must be an integer of at least {PREDICT_MIN_HOURS} (a week of counts)'
            )
        column = {tuple(k.split("|", 1)): j for j, k in enumerate(keys)}
        self._missing(i, column)
        try:
            counts = decode_counts(inst["counts_b64"], hours, len(keys))
        except BadRequest as exc:
            raise BadRequest(f"instance {i}: {exc}") from exc
        return counts[:, [column[k] for k in self.keys]]


def load_predictor(model_dir: Path) -> Predictor:
    kind = read_metadata(model_dir).get("kind")
    if kind == "churn_classifier":
        return ChurnPredictor(model_dir)
    if kind == "app_activity_forecaster":
        return ForecastPredictor(model_dir)
    raise ValueError(f"cannot serve model kind {kind!r} (served: churn_classifier, app_activity_forecaster)")
