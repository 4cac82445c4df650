"""``rillflow.resources``: the one place that picks implementations by environment."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
from google.cloud import storage  # type: ignore[attr-defined]

from localgcp.events import CollectingSink
from localgcp.services.base import ServiceContext
from localgcp.services.storage import StorageService
from ml.serving.server import resolve_storage_uri
from rillflow.resources import RESOURCES, load, resources
from rillflow.settings import Settings, get_settings
from rillflow.warehouse import DuckDBWarehouse

ROOT = Path(__file__).resolve().parents[2]


def test_local_and_cloud_pick_their_implementations() -> None:
    local, cloud = Settings(env="local"), Settings(env="cloud", project="proj", region="europe-west1")
    assert isinstance(resources(local).warehouse(local), DuckDBWarehouse)
    # the model registry is Vertex AI's in both (locally the local Vertex AI API): tests/ml/test_registry.py
    assert (
        resources(local).registry_factory
        == resources(cloud).registry_factory
        == "ml.registry:vertex_registry"
    )
    assert resources(local).model_files(local, "b", "m/v1") == local.bucket_dir("b") / "m/v1"
    assert resources(local).streaming_warehouse == "duckdb" and resources(local).replays_days
    assert resources(cloud).streaming_warehouse == "bigquery" and not resources(cloud).replays_days
    assert set(RESOURCES) == {"local", "cloud"}


@pytest.mark.parametrize("env", sorted(RESOURCES))
def test_every_named_implementation_exists(env: str) -> None:
    """Factories are import paths (imported on use, see the module docstring): each must resolve."""
    r = RESOURCES[env]
    for ref in (r.warehouse_factory, r.registry_factory, r.model_files_factory, r.dashboards_factory):
        assert callable(load(ref)), ref


def test_an_unknown_environment_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="RILLFLOW_ENV='staging' is not one of"):
        resources(Settings(env="staging"))


#: a comparison with the environment kind, or a read of the variable behind settings' back
_BRANCH = re.compile(r"\.env\s*[!=]=|(environ(\.get)?[\[(]|getenv\()\s*[\"']RILLFLOW_ENV")


def test_no_other_module_branches_on_the_environment() -> None:
    """Business code asks rillflow.resources; only it and settings (which reads the variable) know."""
    files = subprocess.run(
        ["git", "ls-files", "*.py"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    allowed = {"rillflow/resources.py", "rillflow/settings.py"}
    offenders = [
        f"{name}:{n}"
        for name in files
        if not name.startswith(("tests/", "bench/")) and name not in allowed
        for n, line in enumerate((ROOT / name).read_text().splitlines(), 1)
        if _BRANCH.search(line) and not line.lstrip().startswith("#")
    ]
    assert offenders == []


@pytest.mark.service  # starts the local Storage service (no fixture to mark it by)
def test_the_cloud_model_download_runs_against_the_local_storage_service() -> None:
    """The cloud path (Vertex hands the container a gs:// URI; it downloads the files) executed
    through google-cloud-storage against the local Storage service, not a shortcut."""
    home = get_settings().home
    service = StorageService(
        ServiceContext("127.0.0.1", 0, home / "storage", "rillflow-test", CollectingSink())
    )
    service.start()
    try:
        os.environ["STORAGE_EMULATOR_HOST"] = service.url
        client = storage.Client(project="rillflow-test")
        bucket = client.create_bucket("models-bucket")
        for name, body in {
            "m/v1/model.json": b"{}",
            "m/v1/weights/w.bin": b"\x00\x01",
            "m/v10/x": b"no",
        }.items():
            bucket.blob(name).upload_from_string(body)
        os.environ["RILLFLOW_ENV"] = "cloud"
        get_settings.cache_clear()
        folder = resolve_storage_uri("gs://models-bucket/m/v1")
        assert folder != home / "storage" and (folder / "model.json").read_bytes() == b"{}"
        assert sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()) == [
            "model.json",
            "weights/w.bin",
        ]
    finally:
        service.stop()
