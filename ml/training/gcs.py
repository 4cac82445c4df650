"""Files in and out of ``gs://`` URIs with the storage client (the local Storage when
``STORAGE_EMULATOR_HOST`` is set). A path that is not ``gs://`` is a plain directory or file, as
Vertex also hands a job (``/gcs/…``) or as a local ``base_output_dir`` gives one."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

GS = "gs://"


def split(uri: str) -> tuple[str, str]:
    """``gs://bucket/some/prefix/`` → (bucket, ``some/prefix``)."""
    bucket, _, prefix = uri.removeprefix(GS).partition("/")
    return bucket, prefix.strip("/")


def _client(project: str | None) -> Any:
    from google.cloud import storage  # type: ignore[attr-defined]

    return storage.Client(project=project)


def put_file(local: Path, uri: str, project: str | None = None) -> None:
    if not uri.startswith(GS):
        Path(uri).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(local, uri)
        return
    bucket, name = split(uri)
    _client(project).bucket(bucket).blob(name).upload_from_filename(str(local))


def get_file(uri: str, local: Path, project: str | None = None) -> Path:
    local.parent.mkdir(parents=True, exist_ok=True)
    if not uri.startswith(GS):
        shutil.copyfile(uri, local)
        return local
    bucket, name = split(uri)
    _client(project).bucket(bucket).blob(name).download_to_filename(str(local))
    return local


def put_dir(local: Path, uri: str, project: str | None = None) -> None:
    for path in sorted(p for p in local.rglob("*") if p.is_file()):
        put_file(path, f"{uri.rstrip('/')}/{path.relative_to(local).as_posix()}", project)


def get_dir(uri: str, local: Path, project: str | None = None) -> Path:
    """Every object under ``uri`` into ``local`` (its names relative to ``uri``)."""
    local.mkdir(parents=True, exist_ok=True)
    if not uri.startswith(GS):
        shutil.copytree(uri, local, dirs_exist_ok=True)
        return local
    bucket, prefix = split(uri)
    found = False
    for blob in _client(project).list_blobs(bucket, prefix=f"{prefix}/"):
        dest = local / blob.name[len(prefix) + 1 :]
        dest.parent.mkdir(parents=True, exist_ok=True)
        blob.download_to_filename(str(dest))
        found = True
    if not found:
        raise FileNotFoundError(f"no objects under {uri}")
    return local
