"""The forecaster's Vertex path against the local Vertex AI and Cloud Storage (``vertex_platform``):
the series dataset (created once), the CustomJob entry point (AIP_MODEL_DIR), and the pipeline's
training step end to end — CustomJob → registry → endpoint with the configured resources →
``Endpoint.predict`` equal to the model's own predictions, a challenger's traffic share, the old
version undeployed."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from google.cloud import aiplatform

from ml.forecasting.readiness import hours_to_train
from ml.registry import CHAMPION, get_registry
from ml.serving.predictors import ForecastPredictor
from ml.training import forecaster_job
from ml.training.dataset import DATASET_NAME, ensure_series_dataset
from ml.training.steps import train_register_deploy
from rillflow.settings import get_settings
from tests.ml.synthetic import hourly_series
from tests.support.vertex import LOCATION, PROJECT, Vertex

HORIZON = 24
MODEL = "app_activity_forecaster"


@pytest.fixture
def series(tmp_path: Path) -> Path:
    frame, _ = hourly_series(n_hours=hours_to_train(HORIZON))
    path = tmp_path / "series.parquet"
    frame.to_parquet(path, index=False)
    return path


def test_series_dataset_is_created_once(vertex: Vertex) -> None:
    first = ensure_series_dataset(PROJECT, LOCATION)
    assert ensure_series_dataset(PROJECT, LOCATION) == first
    (dataset,) = aiplatform.TimeSeriesDataset.list(filter=f'display_name="{DATASET_NAME}"')
    assert dataset.resource_name == first
    uri = dataset.gca_resource.metadata["inputConfig"]["bigquerySource"]["uri"]
    assert uri == f"bq://{PROJECT}.ml.ml_app_activity_series"
    assert ensure_series_dataset(PROJECT, LOCATION, "ml.other_table") != first


def test_job_entry_point_needs_a_model_dir(series: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """It writes to AIP_MODEL_DIR (run through a CustomJob below, gs:// as Vertex sets it)."""
    monkeypatch.delenv("AIP_MODEL_DIR", raising=False)
    with pytest.raises(SystemExit):
        forecaster_job.main(["--series", str(series), "--horizon", "1", "--epochs", "1"])


def _history(series: Path) -> dict[str, object]:
    frame = pd.read_parquet(series)
    wide = frame.pivot(index="ts_hour", columns=["country", "platform"], values="event_count").sort_index()
    last = wide.index[-1].strftime("%Y-%m-%dT%H:00:00Z")
    cols = {f"{c}|{p}": [int(x) for x in wide[(c, p)]] for c, p in wide.columns}
    return {"last_hour": last, "horizon": HORIZON, "interval": 0.9, "series": cols}


def test_training_step_trains_in_a_custom_job_registers_and_deploys(
    vertex_platform: Vertex, series: Path, tmp_path: Path
) -> None:
    os.environ.update(
        RILLFLOW_FORECAST_ENDPOINT_MACHINE_TYPE="n1-standard-8",
        RILLFLOW_FORECAST_ENDPOINT_ACCELERATOR_TYPE="NVIDIA_TESLA_T4",
        RILLFLOW_FORECAST_ENDPOINT_ACCELERATOR_COUNT="1",
        RILLFLOW_FORECAST_ENDPOINT_MIN_REPLICAS="2",
        RILLFLOW_FORECAST_ENDPOINT_MAX_REPLICAS="5",
        RILLFLOW_FORECAST_TRAIN_MACHINE_TYPE="n1-highmem-4",
    )
    get_settings.cache_clear()
    snapshot = {
        "table": "ml.ml_app_activity_series",
        "as_of": "2026-02-11",
        "row_count": 10,
        "content_hash": "h",
    }
    result = train_register_deploy(series, tmp_path / "m1", snapshot, HORIZON, 1, MODEL)

    (listed,) = aiplatform.CustomJob.list()
    job: Any = listed
    assert job.resource_name == result["custom_job"] and job.state.name == "JOB_STATE_SUCCEEDED"
    pool = job.job_spec.worker_pool_specs[0]
    assert pool.machine_spec.machine_type == "n1-highmem-4"
    assert list(pool.container_spec.command) == ["python", "-m", "ml.training.forecaster_job"]
    champion = get_registry().get(MODEL, alias=CHAMPION)
    assert champion is not None and champion.version == result["model_version"] == "1"
    assert champion.lineage["dataset"] == result["dataset"] == ensure_series_dataset(PROJECT, LOCATION)
    assert champion.labels["vertex_dataset"] == result["dataset"].rsplit("/", 1)[1]
    assert champion.metrics == result["metrics"] and result["training"]["job_id"] == job.name
    assert "backtest_smape" in champion.metrics and result["training"]["device"] == "cpu"
    # the job wrote the model to its AIP_MODEL_DIR, gs://<ml bucket>/training/…/model/
    model_dir = (
        get_settings().bucket_dir(get_settings().ml_bucket)
        / job.job_spec.base_output_directory.output_uri_prefix.split("/", 3)[3]
    )
    assert (model_dir / "model" / "model.pt").is_file()

    (endpoint,) = aiplatform.Endpoint.list(filter='display_name="app-activity-forecast"')
    (deployed,) = endpoint.list_models()
    resources = deployed.dedicated_resources
    assert deployed.model_version_id == "1"
    assert resources.machine_spec.machine_type == "n1-standard-8"
    assert resources.machine_spec.accelerator_type.name == "NVIDIA_TESLA_T4"
    assert (resources.machine_spec.accelerator_count, resources.min_replica_count) == (1, 2)
    assert resources.max_replica_count == 5

    instance = _history(series)
    served = endpoint.predict(instances=[instance]).predictions[0]
    own = ForecastPredictor(get_registry().local_artifacts(champion)).predict([instance])[0]
    assert served["first_hour"] == own["first_hour"] and len(served["forecasts"]) == 2
    for got, want in zip(served["forecasts"], own["forecasts"], strict=True):
        assert (got["country"], got["platform"]) == (want["country"], want["platform"])
        np.testing.assert_allclose(got["predicted_count"], want["predicted_count"], rtol=1e-9)
        assert got["lower"] == want["lower"] and got["upper"] == want["upper"]
    assert result["deployment"]["traffic"] == {"1": 100}

    # a second version: champion moves; version 1 stays as challenger with 20 % of the traffic
    os.environ["RILLFLOW_FORECAST_CHALLENGER_TRAFFIC"] = "20"
    get_settings.cache_clear()
    registry = get_registry()
    second = registry.register(
        MODEL, tmp_path / "m1", champion.metrics, champion_lineage(champion), [CHAMPION]
    )
    registry.set_alias(MODEL, "1", "challenger")
    from ml.training.steps import deploy

    assert deploy(MODEL)["traffic"] == {second.version: 80, "1": 20}
    assert deploy(MODEL)["undeployed"] == []  # idempotent
    split = {d.model_version_id: endpoint.traffic_split[d.id] for d in endpoint.list_models()}
    assert split == {"1": 20, "2": 80}
    os.environ["RILLFLOW_FORECAST_CHALLENGER_TRAFFIC"] = "0"  # no challenger: version 1 undeployed
    get_settings.cache_clear()
    outcome = deploy(MODEL)
    assert outcome["traffic"] == {"2": 100} and len(outcome["undeployed"]) == 1
    assert [d.model_version_id for d in endpoint.list_models()] == ["2"]


def champion_lineage(version):  # type: ignore[no-untyped-def]
    from ml.registry import Lineage

    return Lineage(**version.lineage)
