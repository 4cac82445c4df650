"""`rillflow workflows list`: a table with headers, run dates, states, durations and step timings,
all read through the Executions API of the local Workflows service."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from localgcp.events import NullSink
from localgcp.services.base import ServiceContext
from localgcp.services.workflows.service import WorkflowsService
from rillflow.cli import main

#: returns step timings the way workflows/daily_pipeline.yaml does
DAILY = """
main:
  params: [args]
  steps:
    - done:
        return:
          date: ${args.date}
          timings:
            compact_app_events_s: 1.25
            dataform_s: 4
"""
FAILS = """
main:
  params: [args]
  steps:
    - prepare:
        call: check
check:
  steps:
    - boom:
        assign:
          - y: ${{}["nope"]}
"""


@pytest.fixture
def service(tmp_path: Path) -> Iterator[WorkflowsService]:
    folder = tmp_path / "wf"
    folder.mkdir()
    (folder / "daily_pipeline.yaml").write_text(DAILY)
    (folder / "fails.yaml").write_text(FAILS)
    ctx = ServiceContext("127.0.0.1", 0, tmp_path / "data", "rillflow-local", NullSink())
    svc = WorkflowsService(ctx, folder, location="europe-west1")
    svc.start()
    try:
        yield svc
    finally:
        svc.stop()


def _run(service: WorkflowsService, workflow: str, argument: dict[str, object]) -> str:
    name = service.create_execution(workflow, json.dumps(argument))
    assert service.wait_idle(10)
    return name


def test_list_shows_a_table_with_run_dates_and_step_timings(service: WorkflowsService) -> None:
    ok = _run(service, "daily_pipeline", {"date": "2026-01-07", "weekly": False})
    failed = _run(service, "fails", {"date": "2026-01-08"})
    result = CliRunner().invoke(main, ["workflows", "list", "--address", service.address])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    header = next(line for line in lines if "execution id" in line)
    for column in ("workflow", "run date", "state", "start (UTC)", "duration", "step timings"):
        assert column in header
    ok_row = next(line for line in lines if ok.rsplit("/", 1)[1] in line)
    assert "daily_pipeline" in ok_row and "2026-01-07" in ok_row and "SUCCEEDED" in ok_row
    assert "compact_app_events 1.2s, dataform 4.0s" in ok_row
    failed_row = next(line for line in lines if failed.rsplit("/", 1)[1] in line)
    assert (
        "2026-01-08" in failed_row
        and "FAILED" in failed_row
        and "failed in step boom (check): KeyError: key not found: nope" in failed_row
    )
    assert lines.index(failed_row) < lines.index(ok_row)  # newest first


def test_an_empty_service_says_how_executions_start(service: WorkflowsService) -> None:
    result = CliRunner().invoke(main, ["workflows", "list", "--address", service.address])
    assert result.exit_code == 0
    assert result.output.startswith("no executions yet: `rillflow run` starts the daily pipeline")


def test_describe_takes_the_id_from_the_table(
    service: WorkflowsService, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = _run(service, "daily_pipeline", {"date": "2026-01-07"})
    runner = CliRunner()
    by_id = runner.invoke(
        main, ["workflows", "describe", name.rsplit("/", 1)[1], "--address", service.address]
    )
    assert by_id.exit_code == 0, by_id.output
    assert json.loads(by_id.output)["name"] == name
    unknown = runner.invoke(main, ["workflows", "describe", "nope", "--address", service.address])
    assert unknown.exit_code == 2 and "no execution with id 'nope'" in unknown.output


def test_a_running_execution_shows_its_current_step(tmp_path: Path) -> None:
    folder = tmp_path / "wf"
    folder.mkdir()
    (folder / "slow.yaml").write_text("- wait:\n    call: sys.sleep\n    args: {seconds: 30}\n")
    ctx = ServiceContext("127.0.0.1", 0, tmp_path / "data", "rillflow-local", NullSink())
    svc = WorkflowsService(ctx, folder, location="europe-west1", time_scale=1.0)
    svc.start()
    try:
        name = svc.create_execution("slow", None)
        deadline = time.monotonic() + 5
        while not svc.current_steps(name) and time.monotonic() < deadline:
            time.sleep(0.02)
        result = CliRunner().invoke(main, ["workflows", "list", "--address", svc.address])
        row = next(line for line in result.output.splitlines() if name.rsplit("/", 1)[1] in line)
        assert "ACTIVE" in row and "so far" in row and "at step wait" in row
        svc.cancel_execution(name)
    finally:
        svc.stop()
