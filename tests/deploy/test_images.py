"""The three image build contexts, checked without a Docker engine (there is none here).

Each Dockerfile is read (tests/deploy/dockerfile.py): every COPY source is in the context and
every context file is copied; every ``pip install`` installs the lock files with
``--require-hashes`` (torch: the requirements-ml.txt constraints); the versions the Dockerfile
names (Beam's SDK image, torch) are the locked ones. Then the image's own build-time checks and
its entry point run in this .venv, which is built from the same lock, with the context as the
image's working directory (its source, not the repository's, is what gets imported).
"""

from __future__ import annotations

import ast
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml

from rillflow.deploy.package import IMAGES, ImageSpec
from tests.deploy.dockerfile import Dockerfile, commands, parse, pip_installs
from tests.support.deploy import Packaged

ROOT = Path(__file__).resolve().parents[2]
FIRST_PARTY = ("rillflow", "contracts", "streaming", "ml", "localgcp", "harness", "dashboards", "bench")
_PIN = re.compile(r"^(?P<name>[A-Za-z0-9._-]+)==(?P<version>[^\s;\\]+)", re.MULTILINE)
SPECS = {image.name: image for image in IMAGES}


def _pin(lock: str, name: str) -> str:
    pins = {m["name"].lower(): m["version"] for m in _PIN.finditer((ROOT / lock).read_text())}
    return pins[name]


def _context(packaged: Packaged, image: ImageSpec) -> tuple[Path, Dockerfile]:
    context = packaged.dist / "images" / image.name
    return context, parse((context / "Dockerfile").read_text())


def _in_context(value: str, df: Dockerfile, context: Path) -> str:
    """A path of the image's file system, mapped to the context (the image's WORKDIR)."""
    return value.replace(df.workdir, str(context)) if value.startswith(df.workdir) else value


def _env(df: Dockerfile, context: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update({k: _in_context(v, df, context) for k, v in df.env.items()})
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.update(extra)
    return env


def _argv(command: list[str]) -> list[str]:
    return [sys.executable, *command[1:]] if command[0] in ("python", "python3") else command


def _run(argv: list[str], df: Dockerfile, context: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        _argv(argv), cwd=context, env=_env(df, context, **env), capture_output=True, text=True, timeout=300
    )


_ORIGINS = """
import importlib, json, sys
for name in sys.argv[1:]:
    importlib.import_module(name)
first = set({first})
print(json.dumps({{n: getattr(m, "__file__", None) for n, m in sys.modules.items() if n.split(".")[0] in first}}))
"""


def _import_origins(modules: list[str], df: Dockerfile, context: Path) -> dict[str, str | None]:
    """Import ``modules`` as the image would and say where each first-party module came from."""
    result = _run(["python", "-c", _ORIGINS.format(first=list(FIRST_PARTY)), *modules], df, context)
    assert result.returncode == 0, result.stderr[-3000:]
    origins: dict[str, str | None] = json.loads(result.stdout.splitlines()[-1])
    outside = {n: f for n, f in origins.items() if f is not None and not Path(f).is_relative_to(context)}
    assert not outside, f"imported from outside the build context: {outside}"
    return origins


@pytest.mark.parametrize("name", sorted(SPECS))
def test_context_holds_the_repository_dockerfile_and_locks(packaged: Packaged, name: str) -> None:
    image = SPECS[name]
    context, _ = _context(packaged, image)
    assert (context / "Dockerfile").read_bytes() == (ROOT / image.dockerfile).read_bytes()
    for lock in image.locks:
        assert (context / lock).read_bytes() == (ROOT / lock).read_bytes()


@pytest.mark.parametrize("name", sorted(SPECS))
def test_every_copy_source_exists_and_every_file_is_copied(packaged: Packaged, name: str) -> None:
    context, df = _context(packaged, SPECS[name])
    copied: list[Path] = []
    for copy in df.copies:
        if copy.from_stage:
            continue
        for source in copy.sources:
            assert (context / source).exists(), f"COPY {source}: not in the build context"
            copied.append(context / source)
    files = [p for p in context.rglob("*") if p.is_file() and p.name not in {"Dockerfile", ".gcloudignore"}]
    unused = [f for f in files if not any(f == c or f.is_relative_to(c) for c in copied)]
    assert not unused, f"in the context but never copied: {unused}"


@pytest.mark.parametrize("name", sorted(SPECS))
def test_every_pip_install_uses_the_locks(packaged: Packaged, name: str) -> None:
    image = SPECS[name]
    context, df = _context(packaged, image)
    installs = [install for run in df.runs for install in pip_installs(run)]
    assert installs
    locked = [i for i in installs if "-r" in i.options]
    assert [lock for i in locked for lock in i.options["-r"]] == ["requirements.lock"]
    for install in installs:
        assert not {"-e", "--editable"} & install.flags
        if "-r" in install.options:
            assert {"--require-hashes", "--no-deps"} <= install.flags
            assert not install.requirements
            continue
        # the one exception: torch, whose wheel has no hash in the lock, pinned by the constraints
        assert install.options.get("-c") == ["requirements-ml.txt"] and "requirements-ml.txt" in image.locks
        assert install.requirements and all(
            re.fullmatch(r"torch==[0-9.]+\+\w+", r) for r in install.requirements
        )


def test_image_versions_are_the_locked_ones(packaged: Packaged) -> None:
    _, streaming = _context(packaged, SPECS["streaming"])
    beam = _pin("requirements.lock", "apache-beam")
    assert streaming.variables["BEAM_VERSION"] == beam
    assert streaming.froms[-1] == f"apache/beam_python3.11_sdk:{beam}"
    torch_pin = _pin("requirements-ml.txt", "torch")
    for name in ("pipeline-step", "serving", "training"):
        _, df = _context(packaged, SPECS[name])
        assert df.variables["TORCH_VERSION"] == torch_pin, name
        assert df.froms == ["python:3.11-slim"]
    import apache_beam
    import torch

    assert (apache_beam.__version__, torch.__version__.split("+")[0]) == (beam, torch_pin)


@pytest.mark.slow  # runs the image's commands in subprocesses
@pytest.mark.parametrize("name", sorted(SPECS))
def test_the_images_own_build_checks_pass_here(packaged: Packaged, name: str) -> None:
    """Each Dockerfile ends its build by importing what it runs: the same imports, from the context."""
    context, df = _context(packaged, SPECS[name])
    checks = [c for run in df.runs for c in commands(run) if c[:2] in (["python", "-c"], ["python3", "-c"])]
    assert checks
    for check in checks:
        result = _run(check, df, context)
        assert result.returncode == 0, f"{check}: {result.stderr[-3000:]}"


@pytest.mark.slow  # runs the image's commands in subprocesses
def test_streaming_launcher_and_worker_entry_points(packaged: Packaged) -> None:
    context, df = _context(packaged, SPECS["streaming"])
    assert df.entrypoint == ["/opt/apache/beam/boot"]  # the SDK worker's boot, kept for the workers
    assert "/opt/google/dataflow/python_template_launcher" in [c.dest for c in df.copies if c.from_stage]
    assert df.env["FLEX_TEMPLATE_PYTHON_REQUIREMENTS_FILE"] == "" and df.env["PIP_NO_DEPS"] == "True"
    py_file = _in_context(df.env["FLEX_TEMPLATE_PYTHON_PY_FILE"], df, context)
    assert Path(py_file).is_file()
    # what the launcher runs (python FLEX_TEMPLATE_PYTHON_PY_FILE <options>), asked for its options
    result = _run(["python", py_file, "--help"], df, context)
    assert result.returncode == 0 and "usage:" in result.stdout, result.stderr[-3000:]
    origins = _import_origins(
        ["streaming.pipeline", "apache_beam.runners.worker.sdk_worker_main"], df, context
    )
    assert "streaming.sinks" in origins and "contracts" in origins


def _component_imports(pipeline: Path) -> dict[str, set[str]]:
    """For each task executor of a compiled pipeline: the first-party modules its code imports."""
    spec = yaml.safe_load(pipeline.read_text())
    found: dict[str, set[str]] = {}
    for executor, body in spec["deploymentSpec"]["executors"].items():
        container = body["container"]
        source = container["command"][-1]
        names: set[str] = set()
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in FIRST_PARTY:
                names.add(node.module)
            elif isinstance(node, ast.Import):
                names.update(a.name for a in node.names if a.name.split(".")[0] in FIRST_PARTY)
        assert "kfp.dsl.executor_main" in " ".join(container["command"]), executor
        found[executor] = names
    return found


@pytest.mark.slow  # runs the image's commands in subprocesses
def test_pipeline_step_runs_every_compiled_task(packaged: Packaged) -> None:
    context, df = _context(packaged, SPECS["pipeline-step"])
    assert df.entrypoint is None and df.cmd is None  # each task's command comes from the pipeline YAML
    modules: set[str] = set()
    for pipeline in sorted((packaged.dist / "pipelines").glob("*.yaml")):
        for executor, names in _component_imports(pipeline).items():
            assert names, f"{pipeline.name} {executor} imports no ml module"
            modules |= names
    assert {"ml.churn.steps", "ml.forecasting.steps", "ml.pipelines.env"} <= modules
    _import_origins(sorted(modules), df, context)
    result = _run(["python3", "-m", "kfp.dsl.executor_main", "--help"], df, context)
    assert result.returncode == 0 and "--function_to_execute" in result.stdout, result.stderr[-3000:]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str, data: bytes | None = None) -> tuple[int, dict[str, str]]:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=data), timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


@pytest.mark.slow  # runs the image's commands in subprocesses
def test_serving_command_answers_on_the_vertex_routes(packaged: Packaged) -> None:
    context, df = _context(packaged, SPECS["serving"])
    assert df.cmd == ["python", "-m", "ml.serving.server"]
    assert df.env["AIP_HTTP_HOST"] == "0.0.0.0" and df.env["AIP_HTTP_PORT"] == "8080"
    _import_origins(["ml.serving.server", "ml.serving.predictors"], df, context)
    port = _free_port()
    # the image's command and environment; only the address is loopback and free (no model given)
    env = _env(df, context, AIP_HTTP_HOST="127.0.0.1", AIP_HTTP_PORT=str(port))
    process = subprocess.Popen(_argv(df.cmd), cwd=context, env=env, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                status, body = _get(f"http://127.0.0.1:{port}{df.env['AIP_HEALTH_ROUTE']}")
                break
            except (ConnectionError, urllib.error.URLError):
                assert process.poll() is None and time.monotonic() < deadline, "the server did not start"
                time.sleep(0.2)
        assert status == 503 and "AIP_STORAGE_URI" in body["error"]
        status, body = _get(f"http://127.0.0.1:{port}{df.env['AIP_PREDICT_ROUTE']}", b"{}")
        assert status == 503
    finally:
        process.terminate()
        process.wait(timeout=10)
