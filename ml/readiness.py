"""Readiness gating shared by the ML pipelines: a step that cannot run yet says why instead of failing.

On a fresh platform the warehouse's ML tables are missing or hold too little history, and there
is no ``champion`` model yet. The daily pipeline must still succeed: snapshot steps report
``ready``/``reason`` in their lineage, training steps decide with :func:`training_decision`, and
scoring/forecast steps return :func:`skipped` results. Every skip carries a human-readable reason
that ends up in the pipeline's outputs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ml.registry.base import CHAMPION, Lineage, ModelRegistry


@dataclass(frozen=True)
class Readiness:
    ready: bool
    reason: str


@dataclass(frozen=True)
class TrainingDecision:
    train: bool
    reason: str


def is_missing_table(exc: BaseException) -> bool:
    """True when ``exc`` says the queried table (or its dataset) does not exist: DuckDB or BigQuery."""
    try:
        import duckdb

        if isinstance(exc, duckdb.CatalogException) and "does not exist" in str(exc):
            return True
    except ImportError:  # pragma: no cover - duckdb is a core dependency
        pass
    try:
        from google.api_core.exceptions import NotFound

        if isinstance(exc, NotFound):
            return True
    except ImportError:  # pragma: no cover
        pass
    return False


def snapshot_lineage(lineage: Lineage, readiness: Readiness, **details: Any) -> dict[str, Any]:
    """The snapshot step's output: the lineage fields plus ``ready``, ``reason`` and any details."""
    return {**lineage.to_dict(), "ready": readiness.ready, "reason": readiness.reason, **details}


def lineage_of(snapshot: dict[str, Any]) -> Lineage:
    """The :class:`Lineage` inside a snapshot step's output (readiness fields dropped)."""
    return Lineage(
        table=snapshot["table"],
        as_of=snapshot["as_of"],
        row_count=int(snapshot["row_count"]),
        content_hash=snapshot["content_hash"],
    )


def training_decision(retrain: bool, has_champion: bool, snapshot: dict[str, Any]) -> TrainingDecision:
    """Train when (``retrain`` or no champion yet) and the snapshot is ready.

    Without a champion the first model is trained as soon as the data allows (bootstrap), not
    only on a retraining day.
    """
    if not retrain and has_champion:
        return TrainingDecision(False, "retrain=false: the current champion is kept")
    if not snapshot.get("ready", False):
        return TrainingDecision(False, f"data not ready: {snapshot.get('reason') or 'no reason given'}")
    return TrainingDecision(True, "retrain=true" if retrain else "bootstrap: no champion yet")


def skipped(reason: str, **details: Any) -> dict[str, Any]:
    """The result of a step that did nothing, and why."""
    return {"skipped": True, "reason": reason, **details}


def _registry(registry: ModelRegistry | None) -> ModelRegistry:
    from ml.registry import get_registry

    return registry or get_registry()


def has_champion(model_name: str, registry: ModelRegistry | None = None) -> bool:
    return _registry(registry).get(model_name, alias=CHAMPION) is not None


def decide_training(
    retrain: bool, snapshot: dict[str, Any], model_name: str, registry: ModelRegistry | None = None
) -> TrainingDecision:
    """:func:`training_decision` for ``model_name``, asking the registry whether it has a champion.

    Light on imports on purpose: the components decide before importing scikit-learn or torch.
    """
    return training_decision(retrain, has_champion(model_name, registry), snapshot)


def no_champion_reason(model_name: str, action: str) -> str:
    return f"model {model_name!r} has no {CHAMPION!r} version yet: nothing to {action} with"
