"""The churn pipeline's steps as plain functions over files (the KFP components only wrap these).

Each step reads and writes plain files (Parquet, model directories, JSON) so that it runs the
same inside a Vertex AI pipeline container, under kfp.local, or straight from a test.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from ml.churn.artifacts import load_model, save_model
from ml.churn.features import (
    LABEL,
    TimeSplit,
    feature_matrix,
    labels,
    recent_buyers,
    scoring_rows,
    time_split,
    to_frame,
)
from ml.churn.gate import GATE_METRIC, GateDecision, gate_and_register
from ml.churn.model import ALGORITHMS, evaluate, predict_churn, train
from ml.churn.scoring import SCORES_KEY, SCORES_TABLE, score_rows
from ml.readiness import lineage_of, no_champion_reason, skipped
from ml.registry import CHAMPION, ModelRegistry, get_registry
from rillflow.warehouse import Warehouse, get_warehouse

MODEL_NAME = "churn_classifier"


def read_features(path: Path) -> pd.DataFrame:
    return to_frame(pq.read_table(path).to_pandas())


def train_candidates(
    features_path: Path, cutoff: date, model_dir: Path, baseline_dir: Path, valid_path: Path, seed: int = 0
) -> dict[str, Any]:
    """Run the churn protocol (:mod:`ml.protocol`) and save the challenger.

    Every candidate (the models and the simple baselines, :data:`ml.churn.model.ALGORITHMS`) is
    trained on the train window; the challenger is the best on the selection window's ROC AUC; the
    figures reported are the test window's (all rows and the recent-buyers slice). Writes the
    challenger to ``model_dir``, the runner-up to ``baseline_dir`` and the selection rows (where the
    gate compares challenger and champion) to ``valid_path``.
    """
    split = time_split(read_features(features_path), cutoff)
    result = evaluate_protocol(split, seed)
    save_model(result.models[result.champion], model_dir, result.champion, result.registry_metrics())
    runner_up = result.ranking[1]
    save_model(result.models[runner_up], baseline_dir, runner_up, _scalar(result.selection[runner_up]))
    Path(valid_path).parent.mkdir(parents=True, exist_ok=True)
    split.valid.to_parquet(valid_path, index=False)
    return {
        "challenger_algorithm": result.champion,
        "challenger": result.selection[result.champion],
        "baseline_algorithm": runner_up,
        "baseline": result.selection[runner_up],
        "test": result.test_metrics(),
        "windows": split.describe(),
        "split_date": split.split_date.isoformat(),
        "selection_start": split.selection_start.isoformat(),
        "last_labelled": split.last_labelled.isoformat(),
        "train_rows": len(split.train),
        "valid_rows": len(split.valid),
        "test_rows": len(split.test),
    }


@dataclass
class ChurnEvaluation:
    """Every candidate trained on the train window, scored on the selection and test windows."""

    split: TimeSplit
    models: dict[str, Any]
    selection: dict[str, dict[str, Any]]
    #: test window, all rows: algorithm -> metrics (empty without a test window)
    test: dict[str, dict[str, Any]]
    #: test window, recent buyers only
    test_recent: dict[str, dict[str, Any]]
    #: the test window's scores per algorithm (aligned with ``split.test``)
    test_scores: dict[str, np.ndarray]

    @property
    def ranking(self) -> list[str]:
        return sorted(self.selection, key=lambda a: -self.selection[a][GATE_METRIC])

    @property
    def champion(self) -> str:
        return self.ranking[0]

    def test_metrics(self) -> dict[str, float]:
        """``test_<metric>`` of the champion, ``test_recent_<metric>`` on recent buyers, and the
        baselines' AUCs beside them (empty while there is no test window)."""
        out: dict[str, float] = {}
        for prefix, part in (("test", self.test), ("test_recent", self.test_recent)):
            if not part:
                continue
            out.update({f"{prefix}_{k}": v for k, v in _scalar(part[self.champion]).items()})
            for algorithm in ALGORITHMS:
                if algorithm != self.champion and algorithm in part:
                    out[f"{prefix}_roc_auc_{algorithm}"] = float(part[algorithm][GATE_METRIC])
        return out

    def registry_metrics(self) -> dict[str, float]:
        """The selection window's metrics (the gate's), the test window's, and the window sizes."""
        return {
            **_scalar(self.selection[self.champion]),
            **self.test_metrics(),
            "train_rows": float(len(self.split.train)),
            "selection_rows": float(len(self.split.valid)),
            "test_rows": float(len(self.split.test)),
        }


def evaluate_protocol(
    split: TimeSplit, seed: int = 0, algorithms: tuple[str, ...] = ALGORITHMS
) -> ChurnEvaluation:
    """Train each algorithm on ``split.train``; score it on the selection and test windows."""
    x_train, y_train = feature_matrix(split.train), labels(split.train)
    models = {a: train(a, x_train, y_train, seed) for a in algorithms}
    selection = {
        a: evaluate(labels(split.valid), predict_churn(m, feature_matrix(split.valid)))
        for a, m in models.items()
    }
    test: dict[str, dict[str, Any]] = {}
    test_recent: dict[str, dict[str, Any]] = {}
    scores: dict[str, np.ndarray] = {}
    if len(split.test):
        y = labels(split.test)
        recent = recent_buyers(split.test).to_numpy()
        for a, m in models.items():
            scores[a] = predict_churn(m, feature_matrix(split.test))
            test[a] = evaluate(y, scores[a])
            if len(np.unique(y[recent])) == 2:
                test_recent[a] = evaluate(y[recent], scores[a][recent])
    return ChurnEvaluation(split, models, selection, test, test_recent, scores)


def _scalar(metrics: dict[str, Any]) -> dict[str, float]:
    return {k: float(v) for k, v in metrics.items() if isinstance(v, int | float)}


def gate(
    model_dir: Path,
    valid_path: Path,
    lineage: dict[str, Any],
    model_name: str = MODEL_NAME,
    min_improvement: float = 0.0,
    registry: ModelRegistry | None = None,
    test_metrics: dict[str, Any] | None = None,
) -> GateDecision:
    """Evaluate the challenger on the selection rows and run the champion/challenger gate.

    The registry stores the selection metrics (the gate's) with the test window's
    (``test_metrics``, from the training summary) beside them.
    """
    valid = to_frame(pd.read_parquet(valid_path))
    model, meta = load_model(model_dir)
    metrics = {
        **{k: v for k, v in meta.get("metrics", {}).items() if isinstance(v, int | float)},
        **_scalar(evaluate(labels(valid), predict_churn(model, feature_matrix(valid)))),
        **_scalar(test_metrics or {}),
    }
    return gate_and_register(
        registry or get_registry(),
        model_name,
        Path(model_dir),
        metrics,
        valid,
        lineage_of(lineage),
        min_improvement,
    )


def score(
    features_path: Path,
    cutoff: date,
    model_name: str = MODEL_NAME,
    active_within_days: int = 365,
    registry: ModelRegistry | None = None,
    warehouse: Warehouse | None = None,
) -> dict[str, Any]:
    """Score active customers at the latest as_of_date with the champion; merge into ml.ml_churn_scores.

    Without a champion, or without feature rows on or before ``cutoff``, nothing is written and
    the result says ``skipped`` and why.
    """
    reg = registry or get_registry()
    champion = reg.get(model_name, alias=CHAMPION)
    if champion is None:
        return skipped(no_champion_reason(model_name, "score"))
    features = read_features(features_path)
    if not (features["as_of_date"] <= cutoff).any():
        return skipped(f"no churn feature rows on or before {cutoff}: nothing to score")
    model, _ = load_model(reg.local_artifacts(champion))
    rows = scoring_rows(features, cutoff, active_within_days)
    table = score_rows(model, rows, model_name, champion.version)
    written = (warehouse or get_warehouse()).write(
        "ml", SCORES_TABLE, table, mode="merge", key=list(SCORES_KEY)
    )
    as_of = rows["as_of_date"].iloc[0].isoformat() if len(rows) else None
    return {"rows": written, "as_of_date": as_of, "model_version": champion.version}


def oracle_comparison(valid: pd.DataFrame, model_score: Any, oracle: pd.DataFrame) -> dict[str, float]:
    """The model's AUC next to the oracle's on the same validation rows.

    ``oracle`` has columns customer_id, as_of_date, p_churn (the generator's true probability);
    validation rows without an oracle value are dropped from both.
    """
    frame = valid[["customer_id", "as_of_date", LABEL]].copy()
    frame["model"] = model_score
    oracle = oracle.assign(as_of_date=pd.to_datetime(oracle["as_of_date"]).dt.date)
    joined = frame.merge(oracle, on=["customer_id", "as_of_date"], how="inner")
    if joined.empty:
        raise ValueError("no validation row has an oracle probability")
    y = joined[LABEL].astype("int64").to_numpy()
    model_auc = evaluate(y, joined["model"].to_numpy())["roc_auc"]
    oracle_auc = evaluate(y, joined["p_churn"].to_numpy())["roc_auc"]
    return {
        "model_auc": model_auc,
        "oracle_auc": oracle_auc,
        "auc_fraction_of_oracle": model_auc / oracle_auc,
        "rows": float(len(joined)),
    }
