"""The model-registry interface (implemented by :mod:`ml.registry.vertex`) and what versions carry."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

import pyarrow as pa

CHAMPION = "champion"
#: every model version's directory carries this file: what the model is and how to load it
METADATA_FILE = "metadata.json"


def artifacts_bucket() -> str:
    """The bucket holding model artifacts (``Settings.ml_bucket``)."""
    from rillflow.settings import get_settings

    return get_settings().ml_bucket


@dataclass(frozen=True)
class Lineage:
    """The training-data snapshot a model version was fitted on."""

    table: str
    as_of: str
    row_count: int
    content_hash: str
    #: the Vertex AI dataset over ``table`` (``projects/…/datasets/ID``), when the training made one
    dataset: str = ""

    def to_dict(self) -> dict[str, Any]:
        """The fields, without an empty ``dataset`` (a model trained without one)."""
        return {k: v for k, v in asdict(self).items() if v != "" or k != "dataset"}


def table_fingerprint(table: pa.Table) -> str:
    """A stable SHA-256 of an Arrow table's content (column names, types and values, in row order)."""
    digest = hashlib.sha256()
    digest.update(str(table.schema).encode())
    for batch in table.combine_chunks().to_batches():
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, batch.schema) as writer:
            writer.write_batch(batch)
        digest.update(sink.getvalue().to_pybytes())
    return digest.hexdigest()


@dataclass
class ModelVersion:
    model_name: str
    version: str
    artifact_uri: str
    metrics: dict[str, Any] = field(default_factory=dict)
    lineage: dict[str, Any] = field(default_factory=dict)
    aliases: list[str] = field(default_factory=list)
    created_at: str = ""
    #: the version's labels in the registry (``rillflow_model``, ``vertex_dataset``, …)
    labels: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class ModelRegistry(Protocol):
    def register(
        self,
        model_name: str,
        artifact_dir: Path,
        metrics: Mapping[str, Any],
        lineage: Lineage,
        aliases: Sequence[str] = (),
    ) -> ModelVersion: ...

    def get(
        self, model_name: str, version: str | None = None, alias: str | None = None
    ) -> ModelVersion | None:
        """One version by number or alias (``None`` when absent)."""
        ...

    def set_alias(self, model_name: str, version: str, alias: str) -> None:
        """Point ``alias`` at ``version`` (moving it off any other version of the model)."""
        ...

    def list_versions(self, model_name: str | None = None) -> list[ModelVersion]: ...

    def local_artifacts(self, version: ModelVersion) -> Path:
        """A directory holding the version's artifacts as plain files."""
        ...


def write_metadata(artifact_dir: Path, **metadata: Any) -> None:
    (Path(artifact_dir) / METADATA_FILE).write_text(
        json.dumps(metadata, indent=2, sort_keys=True, default=str)
    )


def read_metadata(artifact_dir: Path) -> dict[str, Any]:
    path = Path(artifact_dir) / METADATA_FILE
    if not path.exists():
        raise FileNotFoundError(f"no {METADATA_FILE} in model directory {artifact_dir}")
    return json.loads(path.read_text())
