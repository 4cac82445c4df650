"""What the local Vertex AI tests share (``tests/localgcp_aiplatform``): the project, the location and
the running service's handle."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from localgcp.services.aiplatform import AiPlatformService

PROJECT = "rillflow-test"
LOCATION = "europe-west1"
PARENT = f"projects/{PROJECT}/locations/{LOCATION}"


@dataclass
class Vertex:
    service: AiPlatformService
    home: Path

    def restart(self) -> None:
        self.service.stop()
        self.service.start()
