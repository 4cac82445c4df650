"""The dashboards image's command, run here: gunicorn serving ``dashboards.wsgi:server`` from the build
context `make package` writes (its source, not the repository's), on loopback (on Cloud Run gunicorn
binds 0.0.0.0:$PORT by itself)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from rillflow.deploy.package import IMAGES, image_sources
from tests.dashboards.running import WAREHOUSE_FILE, free_port
from tests.deploy.dockerfile import parse

SPEC = next(i for i in IMAGES if i.name == "dashboards")


@pytest.mark.service  # runs the image's command, a server
def test_the_image_command_serves_the_app_from_its_context(
    warehouses: dict[str, Path], tmp_path: Path
) -> None:
    context = tmp_path / "context"
    for name, source in image_sources(SPEC).items():
        (context / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, context / name)
    assert not (context / "localgcp").exists() and not (context / "ml").exists()
    df = parse((context / "Dockerfile").read_text())
    assert df.cmd is not None and df.cmd[0] == "gunicorn" and df.cmd[-1] == "dashboards.wsgi:server"
    assert df.env["RILLFLOW_ENV"] == "cloud"
    home = tmp_path / "home"
    home.mkdir()
    (home / WAREHOUSE_FILE).write_bytes(warehouses["full"].read_bytes())
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    # the image's environment, except the warehouse: the local one (no BigQuery here), on loopback
    env.update(df.env, PYTHONPATH=str(context), RILLFLOW_ENV="local", RILLFLOW_HOME=str(home), PORT=str(port))
    env["GUNICORN_CMD_ARGS"] = f"--bind 127.0.0.1:{port}"
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    process = subprocess.Popen(
        [gunicorn, *df.cmd[1:]],
        cwd=context,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
                    assert response.read() == b"ok"
                    break
            except OSError:
                assert process.poll() is None and time.monotonic() < deadline, (
                    "gunicorn did not serve the app"
                )
                time.sleep(0.3)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as response:
            assert b"<title>Rillflow dashboards</title>" in response.read()
    finally:
        process.terminate()
        output = process.communicate(timeout=20)[0]
    assert "dashboards.wsgi:server" in output or "Booting worker" in output, output[-2000:]
