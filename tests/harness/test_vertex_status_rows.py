"""``rillflow local status`` rows for the local Vertex AI's processes, from the real process tree."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from harness.stack import vertex_rows


def test_the_pipeline_step_row_is_the_task_process_under_the_runner() -> None:
    """A KFP task runs as ``sh -c "python3 -m kfp.dsl.executor_main …"`` under the job's runner:
    the row names that Python process and its component function."""
    task = (
        f"{sys.executable} -c 'import time; time.sleep(30)' "
        "kfp.dsl.executor_main --executor_input '{}' --function_to_execute churn_score_op"
    )
    runner = subprocess.Popen(["sh", "-c", f'sh -c "{task}"; true'])
    try:
        deadline = time.monotonic() + 10
        rows: dict[str, dict[str, object]] = {}
        while time.monotonic() < deadline:
            rows = {r["name"]: r for r in vertex_rows({"pipeline_jobs": {"jobs/1": runner.pid}})}
            if rows["aiplatform:pipeline-step"]["state"] == "up":
                break
            time.sleep(0.05)
        step = rows["aiplatform:pipeline-step"]
        assert step["state"] == "up" and step["step"] == "churn_score_op" and step["job"] == "jobs/1"
        cmdline = Path(f"/proc/{step['pid']}/cmdline").read_bytes().split(b"\0")
        assert cmdline[0] == sys.executable.encode()  # the Python process, not a shell
        assert rows["aiplatform:custom-job"]["state"] == "idle"
    finally:
        subprocess.run(["pkill", "-P", str(runner.pid)], check=False)
        runner.kill()
        runner.wait()


def test_no_running_job_leaves_both_rows_idle() -> None:
    rows = {r["name"]: r for r in vertex_rows({"pipeline_jobs": {}, "custom_jobs": {}})}
    assert (
        rows["aiplatform:pipeline-step"]["state"] == "idle"
        and rows["aiplatform:pipeline-step"]["pid"] is None
    )
    assert rows["aiplatform:custom-job"] == {
        "name": "aiplatform:custom-job",
        "kind": "process",
        "pid": None,
        "port": None,
        "state": "idle",
        "job": None,
    }
