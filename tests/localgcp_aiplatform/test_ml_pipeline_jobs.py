"""Rillflow's pipeline runs through the SDK against the local Vertex AI: ``rillflow ml run``
(``ml.pipelines.jobs``: submit, wait, the job's record and log) and the demo's summary of the
latest job (``PipelineJob.list``), with the stack's layout (``vertex_platform``: the ML bucket
that terraform's ``pipeline_root`` names, in the local Cloud Storage)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from ml.pipelines import jobs
from rillflow.commands.demo import ml_summary
from rillflow.commands.ml import ml_group
from rillflow.settings import get_settings
from tests.localgcp_aiplatform.tiny_pipelines import compile_to
from tests.support.vertex import Vertex

pytestmark = pytest.mark.service


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return compile_to(tmp_path_factory.mktemp("templates"))["tiny"]


def test_ml_run_submits_waits_and_reports(
    vertex_platform: Vertex, tiny: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(jobs, "POLL_S", 0.1)
    ok = CliRunner().invoke(ml_group, ["run", str(tiny), "--param", "x=3", "--param", "flag=true"])
    assert ok.exit_code == 0, ok.output
    record = json.loads(ok.stdout[ok.stdout.index("{") :])
    assert record["state"] == "PIPELINE_STATE_SUCCEEDED" and record["pipeline"] == "tiny"
    assert record["outputs"] == {"Output": "n=5 flag=True"}
    assert record["parameter_values"] == {"x": 3, "flag": True}
    assert record["job_id"].startswith("tiny-") and record["error"] is None
    assert Path(record["log"]).is_file() and "pipeline runner: tiny" in Path(record["log"]).read_text()
    # the pipeline root was terraform's gs://<ML bucket>/pipelines, kept locally by the service
    job = jobs.latest("tiny")
    assert job is not None and job["name"] == record["name"]

    failed = CliRunner().invoke(ml_group, ["run", str(tiny), "--param", "x=-5"])
    assert failed.exit_code == 1
    bad = json.loads(failed.stdout[failed.stdout.index("{") :])
    assert bad["state"] == "PIPELINE_STATE_FAILED" and "[describe]" in bad["error"]
    assert "negative sum" in Path(bad["log"]).read_text()

    latest = jobs.latest("tiny", get_settings())
    assert latest is not None and latest["job_id"] == bad["job_id"]
    assert ml_summary(latest)[0] == "latest pipeline tiny for None: PIPELINE_STATE_FAILED"
    assert ml_summary(None) == ["no ML pipeline has run yet"]
    daily = {
        "pipeline": "daily-ml",
        "parameter_values": {"as_of_date": "2026-01-02"},
        "state": "PIPELINE_STATE_SUCCEEDED",
        "outputs": {"churn": {"skipped": True, "reason": "no labelled rows yet"}, "forecast": {"rows": 48}},
    }
    assert ml_summary(daily) == [
        "latest pipeline daily-ml for 2026-01-02: PIPELINE_STATE_SUCCEEDED",
        "  churn: skipped — no labelled rows yet",
        '  forecast: {"rows": 48}',
    ]
    assert jobs.latest("daily-ml") is None


def test_ml_run_refuses_what_vertex_would(vertex_platform: Vertex, tiny: Path) -> None:
    unknown = CliRunner().invoke(ml_group, ["run", "no_such_pipeline"])
    assert unknown.exit_code == 2 and "unknown pipeline 'no_such_pipeline'" in unknown.output
    unknown_parameter = CliRunner().invoke(ml_group, ["run", str(tiny), "--param", "y=1"])
    assert unknown_parameter.exit_code == 1
    assert "cannot submit the pipeline job: The pipeline parameter y is not found" in unknown_parameter.output
    refused = CliRunner().invoke(ml_group, ["run", str(tiny), "--param", "x=1.5"])
    assert refused.exit_code == 1
    assert "Vertex AI refused the pipeline job" in refused.output and "NUMBER_INTEGER" in refused.output
