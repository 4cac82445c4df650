"""Champion/challenger gate: a new churn model is registered only if it beats the champion.

Both models are scored on the SAME validation rows, so the comparison is fair even when the
champion was trained on an older snapshot. Promotion registers a new version and moves the
``champion`` alias onto it in one step.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from ml.churn.artifacts import load_model
from ml.churn.features import feature_matrix, labels
from ml.churn.model import evaluate, predict_churn
from ml.registry.base import CHAMPION, Lineage, ModelRegistry

GATE_METRIC = "roc_auc"


@dataclass(frozen=True)
class GateDecision:
    promote: bool
    reason: str
    challenger_score: float
    champion_score: float | None = None
    champion_version: str | None = None
    registered_version: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def decide(
    challenger_score: float,
    champion_score: float | None,
    champion_version: str | None = None,
    min_improvement: float = 0.0,
) -> GateDecision:
    """Promote when there is no champion or the challenger's validation AUC beats it by > ``min_improvement``."""
    if champion_score is None:
        return GateDecision(True, "no champion yet", challenger_score)
    if challenger_score > champion_score + min_improvement:
        reason = f"challenger {GATE_METRIC} {challenger_score:.4f} beats champion {champion_score:.4f}"
        return GateDecision(True, reason, challenger_score, champion_score, champion_version)
    reason = (
        f"challenger {GATE_METRIC} {challenger_score:.4f} does not beat champion {champion_score:.4f}"
        f" by more than {min_improvement}"
    )
    return GateDecision(False, reason, challenger_score, champion_score, champion_version)


def gate_and_register(
    registry: ModelRegistry,
    model_name: str,
    challenger_dir: Path,
    challenger_metrics: dict[str, Any],
    valid: pd.DataFrame,
    lineage: Lineage,
    min_improvement: float = 0.0,
) -> GateDecision:
    """Re-score the champion on ``valid``, decide, and register + alias the challenger if it wins."""
    champion = registry.get(model_name, alias=CHAMPION)
    champion_score = None
    if champion is not None:
        champion_model, _ = load_model(registry.local_artifacts(champion))
        score = predict_churn(champion_model, feature_matrix(valid))
        champion_score = float(evaluate(labels(valid), score)[GATE_METRIC])
    decision = decide(
        float(challenger_metrics[GATE_METRIC]),
        champion_score,
        champion.version if champion else None,
        min_improvement,
    )
    if not decision.promote:
        return decision
    version = registry.register(model_name, challenger_dir, challenger_metrics, lineage, aliases=[CHAMPION])
    return GateDecision(**{**decision.to_dict(), "registered_version": version.version})
