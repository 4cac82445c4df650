"""The champion/challenger gate: a worse challenger is refused, a better one is promoted."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ml.churn.artifacts import save_model
from ml.churn.features import feature_matrix, labels, time_split, to_frame
from ml.churn.gate import decide, gate_and_register
from ml.churn.model import evaluate, predict_churn, train
from ml.registry import CHAMPION, Lineage, get_registry
from tests.ml.synthetic import churn_features
from tests.support.vertex import Vertex, vertex, vertex_platform

__all__ = ["vertex", "vertex_platform"]  # fixtures: the registry is Vertex AI's, locally too

LINEAGE = Lineage("ml.ml_churn_features", "2026-04-26", 1, "h")


def test_decide_rules() -> None:
    assert decide(0.7, None).promote
    assert decide(0.71, 0.70).promote
    assert not decide(0.70, 0.70).promote  # a tie keeps the champion
    assert not decide(0.705, 0.70, min_improvement=0.01).promote


def _metrics(model: object, valid: pd.DataFrame) -> dict[str, float]:
    m = evaluate(labels(valid), predict_churn(model, feature_matrix(valid)))
    return {k: v for k, v in m.items() if isinstance(v, float)}


def test_gate_refuses_a_crippled_challenger_and_promotes_a_better_one(
    vertex_platform: Vertex, tmp_path: Path
) -> None:
    split = time_split(to_frame(churn_features(n_customers=250, n_weeks=14)), date(2026, 4, 26))
    valid = split.valid
    x, y = feature_matrix(split.train), labels(split.train)
    registry = get_registry()

    good = train("logreg", x, y)
    first = gate_and_register(
        registry,
        "churn",
        save_model(good, tmp_path / "good", "logreg"),
        _metrics(good, valid),
        valid,
        LINEAGE,
    )
    assert first.promote and first.registered_version == "1"

    # crippled: trained on shuffled labels, so it ranks no better than chance
    crippled = train("logreg", x, np.random.default_rng(1).permutation(y))
    crippled_metrics = _metrics(crippled, valid)
    refused = gate_and_register(
        registry, "churn", save_model(crippled, tmp_path / "bad", "logreg"), crippled_metrics, valid, LINEAGE
    )
    assert not refused.promote
    assert refused.champion_version == "1" and refused.registered_version is None
    assert refused.champion_score == pytest.approx(_metrics(good, valid)["roc_auc"])
    assert [v.version for v in registry.list_versions("churn")] == ["1"]
    assert registry.get("churn", alias=CHAMPION).version == "1"  # type: ignore[union-attr]

    # a challenger reported better than the champion on the same rows moves the alias
    better = train("hgb", x, y)
    better_metrics = {**_metrics(better, valid), "roc_auc": refused.champion_score + 0.01}  # type: ignore[operator]
    promoted = gate_and_register(
        registry, "churn", save_model(better, tmp_path / "better", "hgb"), better_metrics, valid, LINEAGE
    )
    assert promoted.promote and promoted.registered_version == "2"
    assert registry.get("churn", alias=CHAMPION).version == "2"  # type: ignore[union-attr]
