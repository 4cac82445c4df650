"""Point google-cloud-aiplatform at the local Vertex AI (localgcp) or leave it on Google Cloud.

Why a shim: the SDK talks gRPC through GAPIC clients, and their transport always opens a TLS
channel (``google.api_core.grpc_helpers.create_channel`` has no insecure mode; ``aiplatform.init``
takes an ``api_endpoint`` but no channel or transport). The local service speaks plain gRPC on
127.0.0.1 like the other emulators, so :func:`use_local_vertex` records its address, makes
``create_channel`` return an insecure channel *for that address only* (every other target,
including real Google endpoints, is untouched), and sets ``api_endpoint`` plus anonymous
credentials in the SDK's global config. Later ``aiplatform.init(project=…, location=…)``
calls keep both, so application code (``ml/registry/vertex.py``, ``ml/serving/deploy.py``)
runs unchanged once this was called.

One more local difference, for pipelines: ``PipelineJob.submit`` prepares its pipeline root's
bucket, creating it (and granting the job's service account on it) if missing, or else checking
through Cloud Resource Manager that it belongs to the project. localgcp serves neither IAM nor
Resource Manager: the check would retry against Google's API for most of a minute, then log a
failure. For the local endpoint only, :func:`_install_local_pipeline_bucket` makes that step create
a missing bucket in the local Cloud Storage and nothing else (a local-path pipeline root needs
nothing); against Google it is the SDK's own.

Application entry point: :func:`init_vertex` — ``aiplatform.init`` in the cloud, and the same
plus :func:`use_local_vertex` when ``AIPLATFORM_EMULATOR_HOST`` (``127.0.0.1:PORT``) is set.
"""

from __future__ import annotations

import os
import threading
from typing import Any

ENV_VAR = "AIPLATFORM_EMULATOR_HOST"

_local_targets: set[str] = set()
_patch_lock = threading.Lock()
_patched = False
_bucket_patched = False


def _install_insecure_channels() -> None:
    """Wrap api_core's ``create_channel`` once: insecure for the local targets, original otherwise."""
    global _patched
    with _patch_lock:
        if _patched:
            return
        import grpc
        from google.api_core import grpc_helpers

        original = grpc_helpers.create_channel

        def create_channel(target: str, *args: Any, **kwargs: Any) -> Any:
            if target in _local_targets:
                return grpc.insecure_channel(target, options=kwargs.get("options"))
            return original(target, *args, **kwargs)

        grpc_helpers.create_channel = create_channel
        _patched = True


def _install_local_pipeline_bucket() -> None:
    """Wrap the SDK's pipeline-root bucket preparation once: see the module docstring."""
    global _bucket_patched
    with _patch_lock:
        if _bucket_patched:
            return
        from google.cloud.aiplatform import initializer
        from google.cloud.aiplatform.utils import gcs_utils

        original = gcs_utils.create_gcs_bucket_for_pipeline_artifacts_if_it_does_not_exist

        def prepare(
            output_artifacts_gcs_dir: str | None = None,
            service_account: str | None = None,
            project: str | None = None,
            location: str | None = None,
            credentials: Any = None,
        ) -> str:
            config = initializer.global_config
            if config.api_endpoint not in _local_targets:
                return str(
                    original(output_artifacts_gcs_dir, service_account, project, location, credentials)
                )
            project = project or config.project
            directory = output_artifacts_gcs_dir or gcs_utils.generate_gcs_directory_for_pipeline_artifacts(
                project, location
            )
            if not directory.startswith("gs://"):
                return directory  # a local folder: the local Vertex AI writes there itself
            from google.cloud import storage  # type: ignore[attr-defined]

            client = storage.Client(project=project, credentials=credentials or config.credentials)
            bucket = gcs_utils.bucket_from_uri(directory, client)
            if not bucket.exists():
                client.create_bucket(bucket, project=project, location=location)
            return directory

        gcs_utils.create_gcs_bucket_for_pipeline_artifacts_if_it_does_not_exist = prepare
        _bucket_patched = True


def use_local_vertex(address: str, project: str | None = None, location: str | None = None) -> None:
    """Send every later Vertex AI SDK call to the local service at ``address`` (``127.0.0.1:PORT``)."""
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import aiplatform

    address = address.removeprefix("http://")
    host = address.rsplit(":", 1)[0]
    if host not in ("127.0.0.1", "localhost"):
        raise ValueError(f"the local Vertex AI runs on the loopback interface, not {address!r}")
    _local_targets.add(address)
    _install_insecure_channels()
    _install_local_pipeline_bucket()
    aiplatform.init(
        project=project,
        location=location,
        api_endpoint=address,
        api_transport="grpc",
        credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
    )


def init_vertex(project: str, location: str, **kwargs: Any) -> None:
    """``aiplatform.init`` for application code, local when ``AIPLATFORM_EMULATOR_HOST`` is set."""
    from google.cloud import aiplatform

    local = os.environ.get(ENV_VAR)
    if local:
        use_local_vertex(local, project, location)
    aiplatform.init(project=project, location=location, **kwargs)
