"""Run one compiled KFP pipeline with kfp.local: the child process of a local Vertex AI PipelineJob.

``python -m localgcp.services.aiplatform.pipeline_runner --spec S --parameters P --pipeline-root R
--result OUT [--parent-pid PID]``

* ``S``: the PipelineSpec as JSON (what ``PipelineJob.pipeline_spec`` holds: the compiled YAML's
  document), ``P``: the parameter values as a JSON object, already of the declared types;
* ``R``: the local folder kfp.local writes the run's artifacts under (kfp.local needs a local
  path; :mod:`.pipelines` picks it);
* ``OUT``: where the result goes, a JSON object ``{"state": "SUCCEEDED" | "FAILED", "outputs":
  {...}, "error": "...", "failed_tasks": [...], "tasks": [{"name", "state", "outputs"}]}``:
  ``outputs`` are the pipeline's outputs, ``tasks`` the root DAG's tasks with the parameter
  outputs (and artifact URIs) each wrote.

Every task runs through ``kfp.local.SubprocessRunner(use_venv=False)``: a subprocess of this
interpreter per task, the component's image ignored (no Docker here), so the tasks import what
this interpreter can import. kfp.local replaces the root logger's handlers and ``builtins.print``
while it runs, which is why it runs here and not in the long-lived service process.

The runner is the leader of its own process group, which its tasks share: the service cancels a
job by terminating the group. With ``--parent-pid`` (Linux) it also gets SIGTERM when the service
thread that started it ends, and passes it to the group, so a killed service leaves no pipeline
running behind it.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import sys
import traceback
from pathlib import Path
from typing import Any

SUCCEEDED, FAILED = "SUCCEEDED", "FAILED"
#: kfp.local's failure message names the failed task chain, innermost first:
#: ``... Inner task failed: 'train' inside 'sub-dag'.``
_INNER_FAILED = re.compile(r"Inner task failed: (.*?)\.?\s*$", re.DOTALL)
_QUOTED = re.compile(r"'([^']+)'")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_PR_SET_PDEATHSIG = 1


def plain(text: str) -> str:
    """``text`` without the terminal colour codes kfp.local puts around names and statuses."""
    return _ANSI.sub("", text)


def _jsonable(value: Any) -> Any:
    """A pipeline output as JSON: parameters as they are, artifacts as their URI and metadata."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    uri = getattr(value, "uri", None)
    if uri is not None:
        return {"uri": uri, "metadata": _jsonable(dict(getattr(value, "metadata", None) or {}))}
    return str(value)


def _task_outputs(task_dir: Path) -> dict[str, Any] | None:
    """What a task's executor wrote (``executor_output.json``), or None if it never finished."""
    path = task_dir / "executor_output.json"
    if not path.is_file():
        return None
    written = json.loads(path.read_text() or "{}")
    outputs: dict[str, Any] = dict(written.get("parameterValues") or {})
    for name, listed in (written.get("artifacts") or {}).items():
        uris = [a.get("uri") for a in listed.get("artifacts", []) if isinstance(a, dict)]
        outputs[name] = uris[0] if len(uris) == 1 else uris
    return outputs


def _tasks(spec: dict[str, Any], pipeline_root: Path, failed: list[str], state: str) -> list[dict[str, Any]]:
    """The root DAG's tasks as the run left them (kfp.local writes ``<root>/<run>/<task>/``)."""
    names = sorted((spec.get("root", {}).get("dag", {}).get("tasks") or {}).keys())
    runs = sorted((p for p in pipeline_root.iterdir() if p.is_dir()), key=lambda p: p.stat().st_mtime)
    run_dir = runs[-1] if runs else pipeline_root
    tasks = []
    for name in names:
        outputs = _task_outputs(run_dir / name)
        if name in failed:
            task_state = FAILED
        elif outputs is not None or state == SUCCEEDED:
            task_state = SUCCEEDED
        else:
            task_state = "NOT_TRIGGERED"
        tasks.append({"name": name, "state": task_state, "outputs": outputs or {}})
    return tasks


def run(spec: dict[str, Any], parameters: dict[str, Any], pipeline_root: Path) -> dict[str, Any]:
    """Run the pipeline to the end; the result described in the module docstring."""
    from kfp import components, local

    pipeline_root.mkdir(parents=True, exist_ok=True)
    local.init(
        runner=local.SubprocessRunner(use_venv=False), pipeline_root=str(pipeline_root), raise_on_error=True
    )
    name = str(spec.get("pipelineInfo", {}).get("name", "pipeline"))
    result: dict[str, Any] = {"state": SUCCEEDED, "outputs": {}, "error": "", "failed_tasks": []}
    try:
        component = components.load_component_from_text(json.dumps(spec))
        task = component(**parameters)
        result["outputs"] = _jsonable(dict(task.outputs or {}))
    except Exception as exc:  # the result file is the error channel: the service reads it
        message = plain(str(exc))
        match = _INNER_FAILED.search(message)
        failed = _QUOTED.findall(match.group(1)) if match else []
        if failed:
            # Vertex's words for a failed DAG; the innermost task first, as kfp.local lists them
            text = f"The DAG failed because some tasks failed. The failed tasks are: [{', '.join(failed)}]."
        else:
            traceback.print_exc()
            text = f"The pipeline {name} could not run: {type(exc).__name__}: {message}"
        result.update(state=FAILED, error=text, failed_tasks=failed)
    result["tasks"] = _tasks(spec, pipeline_root, result["failed_tasks"], result["state"])
    return result


def _follow_parent(parent_pid: int) -> None:
    """Get SIGTERM when the thread that started this process ends (Linux), and end the whole
    process group (the tasks) on SIGTERM."""

    def end_group(signum: int, frame: Any) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.killpg(os.getpid(), signal.SIGTERM)  # the tasks, and this process with them

    if os.getpgid(0) == os.getpid():  # the leader of a group of its own (as the service starts it)
        signal.signal(signal.SIGTERM, end_group)
    if parent_pid and sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        if os.getppid() != parent_pid:  # the parent died before the prctl: nobody waits for us
            raise SystemExit(70)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run one compiled KFP pipeline with kfp.local.")
    parser.add_argument("--spec", type=Path, required=True, help="PipelineSpec JSON file")
    parser.add_argument("--parameters", type=Path, required=True, help="parameter values JSON file")
    parser.add_argument("--pipeline-root", type=Path, required=True, help="local folder for artifacts")
    parser.add_argument("--result", type=Path, required=True, help="where the result JSON goes")
    parser.add_argument("--parent-pid", type=int, default=0)
    args = parser.parse_args(argv)
    _follow_parent(args.parent_pid)
    spec = json.loads(args.spec.read_text())
    parameters = json.loads(args.parameters.read_text())
    print(
        f"localgcp pipeline runner: {spec.get('pipelineInfo', {}).get('name')} "
        f"with {json.dumps(parameters, sort_keys=True)}, pipeline root {args.pipeline_root}",
        flush=True,
    )
    result = run(spec, parameters, args.pipeline_root)
    partial = args.result.with_suffix(".partial")
    partial.write_text(json.dumps(result, indent=2, default=str))
    partial.replace(args.result)
    return 0 if result["state"] == SUCCEEDED else 1


if __name__ == "__main__":
    raise SystemExit(main())
