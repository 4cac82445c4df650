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
