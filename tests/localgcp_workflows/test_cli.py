"""``rillflow workflows run/list/describe``."""

from __future__ import annotations

import json
import time
from pathlib import Path

from click.testing import CliRunner

from localgcp.events import NullSink
from localgcp.services.base import ServiceContext
from localgcp.services.workflows.service import WorkflowsService
from rillflow.commands.workflows import workflows_group

PROGRAM = """
main:
  params: [args]
  steps:
    - double:
        return: ${args.n * 2}
"""


def test_run_prints_result_and_fails_clearly(tmp_path: Path) -> None:
    path = tmp_path / "double.yaml"
    path.write_text(PROGRAM)
    runner = CliRunner()
    ok = runner.invoke(workflows_group, ["run", str(path), "--data", '{"n": 21}'])
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.output) == 42
    bad = runner.invoke(workflows_group, ["run", str(path), "--data", '{"n": "x"}'])
    assert bad.exit_code == 1
    assert "TypeError" in bad.output


def test_list_and_describe_talk_to_the_service(tmp_path: Path) -> None:
    (tmp_path / "wf").mkdir()
    (tmp_path / "wf" / "double.yaml").write_text(PROGRAM)
    ctx = ServiceContext("127.0.0.1", 0, tmp_path / "data", "rillflow-local", NullSink())
    service = WorkflowsService(ctx, tmp_path / "wf", location="europe-west1")
    service.start()
    try:
        name = service.create_execution("double", '{"n": 4}')
        deadline = time.monotonic() + 5
        while service.store and service.store.get(name)["state"] == "ACTIVE" and time.monotonic() < deadline:  # type: ignore[index]
            time.sleep(0.02)
        runner = CliRunner()
        listed = runner.invoke(workflows_group, ["list", "--address", service.address])
        assert listed.exit_code == 0, listed.output
        assert "SUCCEEDED" in listed.output and name.rsplit("/", 1)[1] in listed.output
        described = runner.invoke(workflows_group, ["describe", name, "--address", service.address])
        assert described.exit_code == 0, described.output
        assert json.loads(json.loads(described.output)["result"]) == 8
    finally:
        service.stop()
