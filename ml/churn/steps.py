"""The churn pipeline's steps as plain functions over files (the KFP components only wrap these).

Each step reads and writes plain files (Parquet, model directories, JSON) so that it runs the
same inside a Vertex AI pipeline container, under kfp.local, or straight from a test.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq

from ml.churn.artifacts import load_model, save_model
from ml.churn.features import LABEL, feature_matrix, labels, scoring_rows, time_split, to_frame
from ml.churn.gate import GateDecision, gate_and_register
from ml.churn.model import evaluate, predict_churn, train
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
    """Train HGB and the logistic baseline on the time split; the better on validation AUC is the challenger.

    Writes both model directories (the challenger in ``model_dir``) and the validation rows.
    """
    df = read_features(features_path)
    split = time_split(df, cutoff)
    x_train, y_train = feature_matrix(split.train), labels(split.train)
    x_valid, y_valid = feature_matrix(split.valid), labels(split.valid)
    results: dict[str, tuple[Any, dict[str, Any]]] = {}
    for algorithm in ("hgb", "logreg"):
        model = train(algorithm, x_train, y_train, seed)
        results[algorithm] = (model, evaluate(y_valid, predict_churn(model, x_valid)))
    best = max(results, key=lambda a: results[a][1]["roc_auc"])
    other = "logreg" if best == "hgb" else "hgb"
    save_model(results[best][0], model_dir, best, _scalar(results[best][1]))
    save_model(results[other][0], baseline_dir, other, _scalar(results[other][1]))
    Path(valid_path).parent.mkdir(parents=True, exist_ok=True)
    split.valid.to_parquet(valid_path, index=False)
    return {
        "challenger_algorithm": best,
        "challenger": results[best][1],
        "baseline_algorithm": other,
        "baseline": results[other][1],
        "split_date": split.split_date.isoformat(),
        "last_labelled": split.last_labelled.isoformat(),
        "train_rows": len(split.train),
        "valid_rows": len(split.valid),
    }


def _scalar(metrics: dict[str, Any]) -> dict[str, float]:
    return {k: float(v) for k, v in metrics.items() if isinstance(v, int | float)}


def gate(
    model_dir: Path,
    valid_path: Path,
    lineage: dict[str, Any],
    model_name: str = MODEL_NAME,
    min_improvement: float = 0.0,
    registry: ModelRegistry | None = None,
) -> GateDecision:
    """Evaluate the challenger on the validation rows and run the champion/challenger gate."""
    valid = to_frame(pd.read_parquet(valid_path))
    model, _ = load_model(model_dir)
    metrics = _scalar(evaluate(labels(valid), predict_churn(model, feature_matrix(valid))))
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
