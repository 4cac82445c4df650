"""Churn classifiers and their evaluation.

The candidates: HistGradientBoosting and a logistic regression on every feature, and the two
simple baselines always reported beside them (:data:`BASELINES`): a logistic regression on recency
alone, and one on RFM (recency, 90-day frequency and 90-day monetary value). Every candidate takes
the same :func:`ml.churn.features.feature_matrix` frame (each selects its own columns), so any of
them can be the champion and be served.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, OrdinalEncoder, StandardScaler
from threadpoolctl import threadpool_limits

from ml.churn.features import CATEGORICAL_FEATURES, MODEL_NUMERIC
from ml.threads import ml_threads

ALGORITHMS = ("hgb", "logreg", "rfm_logreg", "recency_logreg")
#: the simple baselines reported beside the models
BASELINES = ("recency_logreg", "rfm_logreg")
#: the columns of the simple baselines
BASELINE_COLUMNS = {
    "recency_logreg": ("recency_days",),
    "rfm_logreg": ("recency_days", "frequency_90d", "monetary_90d_usd"),
}


def build_model(algorithm: str, seed: int = 0) -> Pipeline:
    """An unfitted scikit-learn pipeline taking :func:`ml.churn.features.feature_matrix` frames."""
    num, cat = list(MODEL_NUMERIC), list(CATEGORICAL_FEATURES)
    if algorithm == "hgb":
        encode = ColumnTransformer(
            [
                ("num", "passthrough", num),
                (
                    "cat",
                    OrdinalEncoder(
                        handle_unknown="use_encoded_value", unknown_value=np.nan, encoded_missing_value=np.nan
                    ),
                    cat,
                ),
            ]
        )
        clf = HistGradientBoostingClassifier(
            learning_rate=0.06,
            max_iter=300,
            max_leaf_nodes=15,
            min_samples_leaf=40,
            l2_regularization=1.0,
            categorical_features=[False] * len(num) + [True] * len(cat),
            early_stopping=True,
            validation_fraction=0.15,
            n_iter_no_change=20,
            random_state=seed,
        )
        return Pipeline([("encode", encode), ("clf", clf)])
    if algorithm in BASELINE_COLUMNS:
        numeric = make_pipeline(
            SimpleImputer(strategy="median", keep_empty_features=True),
            FunctionTransformer(signed_log1p),
            StandardScaler(),
        )
        encode = ColumnTransformer([("num", numeric, list(BASELINE_COLUMNS[algorithm]))])
        return Pipeline([("encode", encode), ("clf", LogisticRegression(C=1.0, max_iter=2000))])
    if algorithm == "logreg":
        # log1p tames the heavy-tailed counts and amounts; missing session recency is imputed + flagged.
        numeric = make_pipeline(
            SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True),
            FunctionTransformer(signed_log1p),
            StandardScaler(),
        )
        encode = ColumnTransformer(
            [("num", numeric, num), ("cat", OneHotEncoder(handle_unknown="ignore"), cat)]
        )
        return Pipeline([("encode", encode), ("clf", LogisticRegression(C=1.0, max_iter=2000))])
    raise ValueError(f"unknown algorithm {algorithm!r}; expected one of {ALGORITHMS}")


def signed_log1p(x: Any) -> np.ndarray:
    """Sign-preserving log1p (module level so pickled models can find it)."""
    arr = np.asarray(x, dtype=np.float64)
    return np.sign(arr) * np.log1p(np.abs(arr))


def train(algorithm: str, x: pd.DataFrame, y: np.ndarray, seed: int = 0) -> Pipeline:
    model = build_model(algorithm, seed)
    with threadpool_limits(ml_threads()):
        model.fit(x, y)
    return model


def predict_churn(model: Any, x: pd.DataFrame) -> np.ndarray:
    """P(churn) per row."""
    with threadpool_limits(ml_threads()):
        return np.asarray(model.predict_proba(x)[:, 1], dtype=np.float64)


def lift_at(y: np.ndarray, score: np.ndarray, fraction: float = 0.1) -> float:
    """Churn rate among the top ``fraction`` highest scores divided by the overall churn rate."""
    y = np.asarray(y, dtype=np.float64)
    if y.size == 0 or y.mean() == 0:
        return float("nan")
    k = max(1, int(np.ceil(fraction * y.size)))
    top = np.argsort(-np.asarray(score), kind="stable")[:k]
    return float(y[top].mean() / y.mean())


def reliability_bins(y: np.ndarray, score: np.ndarray, n_bins: int = 10) -> list[dict[str, float]]:
    """Equal-width probability bins: mean predicted vs observed churn rate, with counts (empty bins omitted)."""
    y, score = np.asarray(y, dtype=np.float64), np.asarray(score, dtype=np.float64)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    idx = np.clip(np.digitize(score, edges[1:-1]), 0, n_bins - 1)
    bins = []
    for b in range(n_bins):
        mask = idx == b
        if mask.any():
            bins.append(
                {
                    "lower": float(edges[b]),
                    "upper": float(edges[b + 1]),
                    "mean_predicted": float(score[mask].mean()),
                    "observed_rate": float(y[mask].mean()),
                    "count": float(mask.sum()),
                }
            )
    return bins


def evaluate(y: np.ndarray, score: np.ndarray) -> dict[str, Any]:
    """ROC AUC, PR AUC, Brier score, expected calibration error, lift@10% and the reliability bins."""
    y = np.asarray(y, dtype=np.int64)
    score = np.asarray(score, dtype=np.float64)
    if y.shape != score.shape:
        raise ValueError(f"labels {y.shape} and scores {score.shape} differ in shape")
    if len(np.unique(y)) < 2:
        raise ValueError("evaluation needs both classes in the labels")
    bins = reliability_bins(y, score)
    ece = sum(b["count"] * abs(b["mean_predicted"] - b["observed_rate"]) for b in bins) / y.size
    return {
        "roc_auc": float(roc_auc_score(y, score)),
        "pr_auc": float(average_precision_score(y, score)),
        "brier": float(brier_score_loss(y, score)),
        "ece": float(ece),
        "lift_at_10pct": lift_at(y, score, 0.1),
        "base_rate": float(y.mean()),
        "n": int(y.size),
        "reliability": bins,
    }
