"""The forecaster's compact serving instance: base64(zlib(uint32 hours × series)), decoded and checked
by ``ml.serving.predictors``; it serves what ``forecast_table`` forecasts in-process, and the daily
request for hundreds of series stays under Vertex's 1.5 MB online request limit."""

from __future__ import annotations

import base64
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from ml.forecasting.model import Forecaster, ForecasterConfig
from ml.forecasting.series import SeriesMatrix, to_matrix
from ml.forecasting.steps import forecast_table
from ml.registry.base import read_metadata
from ml.serving.predictors import (
    MAX_COUNTS_BYTES,
    REQUEST_LIMIT_BYTES,
    BadRequest,
    ForecastPredictor,
    compact_instance,
    decode_counts,
    request_bytes,
)
from tests.ml.synthetic import hourly_series


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, SeriesMatrix]:
    matrix = to_matrix(hourly_series(n_hours=24 * 7 * 7)[0])
    model = Forecaster(ForecasterConfig(horizon=24, epochs=1))
    model.fit(matrix.values, matrix.hours, matrix.keys)
    return model.save(tmp_path_factory.mktemp("forecaster")), matrix


def _instance(matrix: SeriesMatrix, hours: int, horizon: int = 24, interval: float = 0.9) -> dict[str, Any]:
    return compact_instance(matrix.values[-hours:], matrix.keys, matrix.hours[-1], horizon, interval)


def test_the_compact_instance_serves_what_forecast_table_forecasts(served: tuple[Path, SeriesMatrix]) -> None:
    path, matrix = served
    history_hours = read_metadata(path)["history_hours"]
    assert history_hours == Forecaster.load(path).config.history_hours == 1008
    instance = _instance(matrix, history_hours, horizon=24, interval=0.8)
    assert instance["hours"] == history_hours and instance["keys"] == ["DE|web", "US|ios"]
    # the series in another order, and one the model does not know: matched by key, the extra ignored
    reordered = np.column_stack([matrix.values[-history_hours:, ::-1], np.ones(history_hours)])
    keys = [*matrix.keys[::-1], ("FR", "android")]
    shuffled = compact_instance(reordered, keys, matrix.hours[-1], 24, 0.8)
    predictor = ForecastPredictor(path)
    (got, again) = predictor.predict([instance, shuffled])
    assert got == again
    # in-process, on the whole history (the model reads its last history_hours of it)
    want = forecast_table(Forecaster.load(path), matrix, 24, "m", "1", 0.8).to_pandas()
    assert got["first_hour"] == (matrix.hours[-1] + pd.Timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    for forecast in got["forecasts"]:
        rows = want[(want["country"] == forecast["country"]) & (want["platform"] == forecast["platform"])]
        np.testing.assert_allclose(forecast["predicted_count"], rows["predicted_count"], rtol=0, atol=5e-7)
        assert forecast["lower"] == rows["lower"].tolist() and forecast["upper"] == rows["upper"].tolist()
    # the JSON-lists form of the same history answers the same
    lists = {
        "last_hour": instance["last_hour"],
        "horizon": 24,
        "interval": 0.8,
        "series": {f"{c}|{p}": matrix.values[:, j].tolist() for j, (c, p) in enumerate(matrix.keys)},
    }
    assert predictor.predict([lists]) == [got]


def _bad(instance: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {**instance, **changes}


def test_a_bad_compact_instance_is_refused_with_a_clear_message(served: tuple[Path, SeriesMatrix]) -> None:
    path, matrix = served
    good = _instance(matrix, 200)
    raw = zlib.decompress(base64.b64decode(good["counts_b64"]))
    cases = [
        (_bad(good, counts_b64="not base64!"), "not valid base64"),
        (_bad(good, counts_b64=base64.b64encode(b"plain bytes").decode()), "not zlib-compressed"),
        (_bad(good, counts_b64=base64.b64encode(zlib.compress(raw[:-4])).decode()), "inflates to 1596 bytes"),
        (_bad(good, counts_b64=base64.b64encode(zlib.compress(raw + raw)).decode()), "more than 1600 bytes"),
        (_bad(good, counts_b64=base64.b64encode(zlib.compress(raw)[:-6]).decode()), "truncated stream"),
        (_bad(good, hours=100), "at least 168"),
        (_bad(good, hours="200"), '"hours" must be an integer'),
        (_bad(good, keys=["DE|web"]), "lacks the history of 1 series"),
        (_bad(good, keys=["DE|web", "DE|web"]), "names a series twice"),
        (_bad(good, keys="DE|web,US|ios"), '"keys" must be a list'),
        (_bad(good, counts_b64=12), "must be a base64 string"),
        # 10 million hours × 2 series would inflate to 80 MB: refused before any decompression
        (_bad(good, hours=10_000_000), f"more than the {MAX_COUNTS_BYTES}"),
    ]
    predictor = ForecastPredictor(path)
    for instance, message in cases:
        with pytest.raises(BadRequest, match="instance 0") as caught:
            predictor.predict([instance])
        assert message in str(caught.value), (message, str(caught.value))


def test_a_zip_bomb_is_not_inflated() -> None:
    # 64 MB of zeros compress to ~64 KB; announced as 1000 hours × 2 series (8000 bytes) it is refused
    # after inflating one byte past those 8000, not 64 MB
    bomb = base64.b64encode(zlib.compress(bytes(64 * 1024 * 1024), 9)).decode()
    assert len(bomb) < 100_000
    with pytest.raises(BadRequest, match="more than 8000 bytes"):
        decode_counts(bomb, 1000, 2)


def test_compact_instance_round_trips_and_refuses_what_uint32_cannot_hold() -> None:
    counts = np.array([[0, 1, 2**32 - 1], [7, 0, 3]], dtype=np.float64)
    instance = compact_instance(
        counts, [("A", "x"), ("B", "y"), ("C", "z")], pd.Timestamp("2026-03-01 23:00"), 24
    )
    assert instance["last_hour"] == "2026-03-01T23:00:00Z" and instance["hours"] == 2
    np.testing.assert_array_equal(decode_counts(instance["counts_b64"], 2, 3), counts)
    for bad in (np.array([[-1.0]]), np.array([[0.5]]), np.array([[2.0**32]]), np.array([[np.nan]])):
        with pytest.raises(ValueError):
            compact_instance(bad, [("A", "x")], pd.Timestamp("2026-03-01 23:00"), 24)


def test_the_daily_request_for_600_series_is_under_the_limit() -> None:
    """600 sparse series (most hours 0 or 1, a few busy ones) × the model's history hours."""
    history_hours = ForecasterConfig().history_hours
    rng = np.random.default_rng(7)
    level = rng.lognormal(-0.5, 1.2, size=600)  # events/hour per series: median 0.6, a long tail
    profile = 1 + 0.8 * np.sin(2 * np.pi * np.arange(history_hours) / 24)
    counts = rng.poisson(level[None, :] * profile[:, None]).astype(np.float64)
    keys = [(f"C{i // 3:03d}", ("ios", "android", "web")[i % 3]) for i in range(600)]
    instance = compact_instance(counts, keys, pd.Timestamp("2026-03-01 23:00", tz="UTC"), 168)
    size = request_bytes([instance])
    assert size < REQUEST_LIMIT_BYTES / 2, size
    # the same history as JSON lists is several times over the limit once the SDK sends it (doubles)
    lists = {"series": {f"{c}|{p}": counts[:, j].tolist() for j, (c, p) in enumerate(keys)}}
    assert request_bytes([lists]) > 3 * REQUEST_LIMIT_BYTES
