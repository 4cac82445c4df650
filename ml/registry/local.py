"""The local model registry: SQLite under ``<home>/registry``, artifacts in the local GCS mirror.

Artifacts are copied to ``<home>/gcs/<artifacts bucket>/models/<name>/v<version>/`` and the
version records ``gs://<artifacts bucket>/models/<name>/v<version>`` as its URI, the same
layout the Vertex implementation uploads to.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ml.registry.base import Lineage, ModelVersion, artifacts_bucket

_SCHEMA = """
CREATE TABLE IF NOT EXISTS versions (
  model_name TEXT NOT NULL, version INTEGER NOT NULL, artifact_uri TEXT NOT NULL, local_path TEXT NOT NULL,
  metrics TEXT NOT NULL, lineage TEXT NOT NULL, created_at TEXT NOT NULL,
  PRIMARY KEY (model_name, version));
CREATE TABLE IF NOT EXISTS aliases (
  model_name TEXT NOT NULL, alias TEXT NOT NULL, version INTEGER NOT NULL, updated_at TEXT NOT NULL,
  PRIMARY KEY (model_name, alias));
"""


class LocalModelRegistry:
    def __init__(self, home: Path, bucket: str | None = None) -> None:
        self.root = Path(home) / "registry"
        self.bucket = bucket or artifacts_bucket()
        self.bucket_dir = Path(home) / "gcs" / self.bucket
        self.root.mkdir(parents=True, exist_ok=True)
        with self._db() as db:
            db.executescript(_SCHEMA)

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.root / "registry.sqlite", timeout=30, isolation_level=None)
        try:
            db.execute("PRAGMA busy_timeout = 30000")
            yield db
        finally:
            db.close()

    def register(
        self,
        model_name: str,
        artifact_dir: Path,
        metrics: Mapping[str, Any],
        lineage: Lineage,
        aliases: Sequence[str] = (),
    ) -> ModelVersion:
        artifact_dir = Path(artifact_dir)
        if not artifact_dir.is_dir():
            raise FileNotFoundError(f"model artifact directory not found: {artifact_dir}")
        now = datetime.now(UTC).isoformat()
        with self._db() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                row = db.execute(
                    "SELECT COALESCE(MAX(version), 0) + 1 FROM versions WHERE model_name = ?", (model_name,)
                ).fetchone()
                version = int(row[0])
                rel = f"models/{model_name}/v{version}"
                target = self.bucket_dir / rel
                if target.exists():
                    shutil.rmtree(target)
                shutil.copytree(artifact_dir, target)
                db.execute(
                    "INSERT INTO versions VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        model_name,
                        version,
                        f"gs://{self.bucket}/{rel}",
                        str(target),
                        json.dumps(dict(metrics), default=str),
                        json.dumps(lineage.to_dict()),
                        now,
                    ),
                )
                for alias in aliases:
                    self._move_alias(db, model_name, version, alias, now)
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        found = self.get(model_name, version=str(version))
        assert found is not None
        return found

    @staticmethod
    def _move_alias(db: sqlite3.Connection, model_name: str, version: int, alias: str, now: str) -> None:
        if alias.isdigit():
            raise ValueError(f"alias must not be a number: {alias!r}")
        db.execute(
            "INSERT INTO aliases VALUES (?, ?, ?, ?) ON CONFLICT (model_name, alias) "
            "DO UPDATE SET version = excluded.version, updated_at = excluded.updated_at",
            (model_name, alias, version, now),
        )

    def set_alias(self, model_name: str, version: str, alias: str) -> None:
        with self._db() as db:
            exists = db.execute(
                "SELECT 1 FROM versions WHERE model_name = ? AND version = ?", (model_name, int(version))
            ).fetchone()
            if not exists:
                raise KeyError(f"no version {version} of model {model_name!r}")
            self._move_alias(db, model_name, int(version), alias, datetime.now(UTC).isoformat())

    def get(
        self, model_name: str, version: str | None = None, alias: str | None = None
    ) -> ModelVersion | None:
        if (version is None) == (alias is None):
            raise ValueError("give exactly one of version or alias")
        with self._db() as db:
            if alias is not None:
                row = db.execute(
                    "SELECT version FROM aliases WHERE model_name = ? AND alias = ?", (model_name, alias)
                ).fetchone()
                if row is None:
                    return None
                version = str(row[0])
        matches = [v for v in self.list_versions(model_name) if v.version == str(version)]
        return matches[0] if matches else None

    def list_versions(self, model_name: str | None = None) -> list[ModelVersion]:
        with self._db() as db:
            where, args = ("WHERE v.model_name = ?", (model_name,)) if model_name else ("", ())
            rows = db.execute(
                "SELECT v.model_name, v.version, v.artifact_uri, v.local_path, v.metrics, v.lineage, v.created_at, "
                "(SELECT GROUP_CONCAT(a.alias) FROM aliases a WHERE a.model_name = v.model_name "
                f"AND a.version = v.version) FROM versions v {where} ORDER BY v.model_name, v.version",
                args,
            ).fetchall()
        return [
            ModelVersion(
                model_name=r[0],
                version=str(r[1]),
                artifact_uri=r[2],
                local_path=r[3],
                metrics=json.loads(r[4]),
                lineage=json.loads(r[5]),
                created_at=r[6],
                aliases=sorted(r[7].split(",")) if r[7] else [],
            )
            for r in rows
        ]

    def local_artifacts(self, version: ModelVersion) -> Path:
        return Path(version.local_path)
