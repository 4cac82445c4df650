"""The prediction server answers Vertex AI's custom-container contract."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import requests

from ml.churn.artifacts import save_model
from ml.churn.features import FEATURE_COLUMNS, feature_matrix, labels, time_split, to_frame
from ml.churn.model import predict_churn, train
from ml.serving.server import PredictionServer, server_from_env
from tests.ml.synthetic import churn_features, hourly_series


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    split = time_split(to_frame(churn_features(n_customers=120, n_weeks=12)), date(2026, 4, 26))
    model = train("logreg", feature_matrix(split.train), labels(split.train))
    return save_model(model, tmp_path_factory.mktemp("model"), "logreg")


@pytest.fixture
def server(model_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[PredictionServer]:
    monkeypatch.setenv("AIP_STORAGE_URI", str(model_dir))
    monkeypatch.setenv("AIP_HTTP_PORT", "0")
    monkeypatch.setenv("AIP_HEALTH_ROUTE", "/v1/health")
    monkeypatch.setenv("AIP_PREDICT_ROUTE", "/v1/predict")
    srv = server_from_env()
    srv.start()
    yield srv
    srv.stop()


def _url(srv: PredictionServer, route: str) -> str:
    host, port = srv.address
    return f"http://{host}:{port}{route}"


def _wait_healthy(srv: PredictionServer) -> requests.Response:
    deadline = time.monotonic() + 20
    while True:
        r = requests.get(_url(srv, "/v1/health"), timeout=5)
        if r.status_code == 200 or time.monotonic() > deadline:
            return r
        assert r.status_code == 503
        time.sleep(0.05)


def test_health_then_predict(server: PredictionServer, model_dir: Path) -> None:
    assert server.address[0] == "127.0.0.1"
    assert _wait_healthy(server).status_code == 200
    rows = to_frame(churn_features(n_customers=5, n_weeks=1, seed=3))
    instances = json.loads(rows[list(FEATURE_COLUMNS)].to_json(orient="records"))
    r = requests.post(_url(server, "/v1/predict"), json={"instances": instances}, timeout=10)
    assert r.status_code == 200
    predictions = r.json()["predictions"]
    from ml.churn.artifacts import load_model

    model, _ = load_model(model_dir)
    assert predictions == pytest.approx(list(predict_churn(model, feature_matrix(rows))))


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"not json", "not JSON"),
        (b'{"rows": []}', "instances"),
        (b'{"instances": []}', "empty"),
        (b'{"instances": [{"recency_days": 3}]}', "lacks features"),
        (b'{"instances": [7]}', "object"),
    ],
)
def test_bad_requests_get_400_with_a_message(server: PredictionServer, body: bytes, message: str) -> None:
    _wait_healthy(server)
    r = requests.post(_url(server, "/v1/predict"), data=body, timeout=10)
    assert r.status_code == 400
    assert message in r.json()["error"]


def test_missing_model_is_unhealthy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIP_STORAGE_URI", str(tmp_path / "nothing"))
    monkeypatch.setenv("AIP_HTTP_PORT", "0")
    srv = server_from_env()
    srv.start()
    try:
        time.sleep(0.3)
        r = requests.get(_url(srv, "/health"), timeout=5)
        assert r.status_code == 503 and "metadata.json" in r.json()["error"]
        assert requests.post(_url(srv, "/predict"), json={"instances": [{}]}, timeout=5).status_code == 503
    finally:
        srv.stop()


def test_gs_storage_uri_resolves_to_the_local_bucket_mirror() -> None:
    from ml.serving.server import resolve_storage_uri
    from rillflow.settings import get_settings

    path = resolve_storage_uri("gs://rillflow-local-ml-artifacts/models/churn_classifier/v3")
    assert path == get_settings().gcs_root / "rillflow-local-ml-artifacts" / "models/churn_classifier/v3"
    assert resolve_storage_uri("/tmp/model") == Path("/tmp/model")
    with pytest.raises(ValueError, match="AIP_STORAGE_URI"):
        resolve_storage_uri("")


@pytest.fixture(scope="module")
def forecaster_dir(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    from ml.forecasting.model import Forecaster, ForecasterConfig
    from ml.forecasting.series import to_matrix

    matrix = to_matrix(hourly_series(n_hours=24 * 7 * 7)[0])
    model = Forecaster(ForecasterConfig(horizon=24, epochs=2))
    model.fit(matrix.values, matrix.hours, matrix.keys)
    return model.save(tmp_path_factory.mktemp("forecaster")), matrix


def test_the_forecaster_is_served_from_the_history_the_caller_sends(
    forecaster_dir: tuple[Path, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from ml.forecasting.model import Forecaster

    path, matrix = forecaster_dir
    monkeypatch.setenv("AIP_STORAGE_URI", str(path))
    monkeypatch.setenv("AIP_HTTP_PORT", "0")
    srv = server_from_env()
    srv.start()
    try:
        deadline = time.monotonic() + 20
        while requests.get(_url(srv, "/health"), timeout=5).status_code != 200:
            assert time.monotonic() < deadline, "forecaster never became healthy"
            time.sleep(0.05)
        last = matrix.hours[-1]
        series = {f"{c}|{p}": matrix.values[:, j].tolist() for j, (c, p) in enumerate(matrix.keys)}
        body = {"instances": [{"last_hour": last.isoformat(), "horizon": 12, "series": series}]}
        r = requests.post(_url(srv, "/predict"), json=body, timeout=30)
        assert r.status_code == 200, r.text
        (prediction,) = r.json()["predictions"]
        assert prediction["first_hour"] == (last + pd.Timedelta(hours=1)).isoformat().replace("+00:00", "Z")
        expected = Forecaster.load(path).predict(matrix.values, matrix.hours, 12)
        assert [(f["country"], f["platform"]) for f in prediction["forecasts"]] == matrix.keys
        for j, forecast in enumerate(prediction["forecasts"]):
            assert forecast["predicted_count"] == pytest.approx(expected[:, j], rel=1e-5)
            assert all(
                lo <= m <= hi
                for lo, m, hi in zip(
                    forecast["lower"], forecast["predicted_count"], forecast["upper"], strict=True
                )
            )
        short = {k: v[-10:] for k, v in series.items()}
        bad = [
            (
                {"last_hour": last.isoformat(), "series": {next(iter(series)): series[next(iter(series))]}},
                "lacks the history",
            ),
            ({"last_hour": last.isoformat(), "series": short}, "at least"),
            ({"last_hour": "yesterday", "series": series}, "ISO hour"),
            ({"last_hour": last.isoformat(), "horizon": 500, "series": series}, "horizon"),
        ]
        for instance, message in bad:
            r = requests.post(_url(srv, "/predict"), json={"instances": [instance]}, timeout=30)
            assert r.status_code == 400 and message in r.json()["error"], (message, r.text)
    finally:
        srv.stop()
