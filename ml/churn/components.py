"""KFP v2 components of the churn pipeline: thin wrappers over :mod:`ml.churn.steps`.

They are lightweight Python components whose image (:data:`ml.pipelines.images.ML_IMAGE`)
already contains the ``rillflow`` package, so ``packages_to_install=[]`` keeps them offline.
kfp.local does not support ``dsl.If``: the ``retrain`` flag is passed in and honoured inside.
No ``from __future__ import annotations`` here: KFP reads the real annotation objects.
"""

from kfp import dsl
from kfp.dsl import ClassificationMetrics, Dataset, Input, Metrics, Model, Output

from ml.pipelines.images import ML_IMAGE


@dsl.component(base_image=ML_IMAGE, packages_to_install=[])
def churn_features_op(as_of_date: str, project: str, location: str, features: Output[Dataset]) -> str:
    """Snapshot ml.ml_churn_features up to ``as_of_date``; returns the lineage (JSON).

    The lineage carries ``ready``/``reason``: whether the rows allow training yet.
    """
    import json
    from pathlib import Path

    from ml.pipelines.env import use_project

    use_project(project, location)
    from ml.churn.snapshot import load_features
    from ml.pipelines.env import parse_date

    lineage = load_features(parse_date(as_of_date), Path(features.path))
    features.metadata.update(lineage)
    return json.dumps(lineage)


@dsl.component(base_image=ML_IMAGE, packages_to_install=[])
def churn_train_op(
    features: Input[Dataset],
    lineage: str,
    as_of_date: str,
    retrain: bool,
    seed: int,
    model_name: str,
    project: str,
    location: str,
    model: Output[Model],
    baseline: Output[Model],
    validation: Output[Dataset],
    metrics: Output[Metrics],
    classification: Output[ClassificationMetrics],
) -> str:
    """Train every candidate on the protocol's train window, choose on the selection window, report
    the test window (:mod:`ml.protocol`); returns a summary (JSON).

    Trains when (``retrain`` or no champion yet) and the snapshot is ready; otherwise returns
    ``{"skipped": true, "reason": ...}``.
    """
    import json
    from pathlib import Path

    from ml.pipelines.env import use_project

    use_project(project, location)
    from ml.readiness import decide_training

    decision = decide_training(retrain, json.loads(lineage), model_name)
    if not decision.train:  # decided before the scikit-learn imports: a cold start stays cheap
        metrics.log_metric("skipped", 1.0)
        return json.dumps({"skipped": True, "reason": decision.reason})

    import pandas as pd
    from sklearn.metrics import roc_curve

    from ml.churn.artifacts import load_model
    from ml.churn.features import feature_matrix, labels, to_frame
    from ml.churn.model import predict_churn
    from ml.churn.steps import train_candidates
    from ml.pipelines.env import parse_date

    summary = train_candidates(
        Path(features.path),
        parse_date(as_of_date),
        Path(model.path),
        Path(baseline.path),
        Path(validation.path),
        seed,
    )
    for prefix in ("challenger", "baseline", "test"):
        for key, value in summary[prefix].items():
            if isinstance(value, int | float):
                name = key if prefix == "test" else f"{prefix}_{key}"
                metrics.log_metric(name, float(value))
    model.metadata.update({"algorithm": summary["challenger_algorithm"], "framework": "scikit-learn"})
    baseline.metadata.update({"algorithm": summary["baseline_algorithm"], "framework": "scikit-learn"})
    valid = to_frame(pd.read_parquet(validation.path))
    fitted, _ = load_model(Path(model.path))
    fpr, tpr, thr = roc_curve(labels(valid), predict_churn(fitted, feature_matrix(valid)))
    step = max(1, len(fpr) // 50)  # a readable curve: about 50 points
    classification.log_roc_curve(
        fpr[::step].tolist(), tpr[::step].tolist(), [min(float(t), 1.0) for t in thr[::step]]
    )
    summary["trigger"] = decision.reason
    summary["challenger"].pop("reliability", None)
    summary["baseline"].pop("reliability", None)
    return json.dumps(summary)


@dsl.component(base_image=ML_IMAGE, packages_to_install=[])
def churn_gate_op(
    model: Input[Model],
    validation: Input[Dataset],
    lineage: str,
    train_summary: str,
    model_name: str,
    min_improvement: float,
    project: str,
    location: str,
) -> str:
    """Champion/challenger gate on the selection rows; registers (with the test window's metrics) and
    aliases the challenger if it wins. Returns the decision (JSON)."""
    import json
    from pathlib import Path

    from ml.pipelines.env import use_project

    use_project(project, location)
    summary = json.loads(train_summary)
    if summary.get("skipped"):
        return json.dumps(
            {"promote": False, "skipped": True, "reason": f"training skipped: {summary['reason']}"}
        )
    from ml.churn.steps import gate

    decision = gate(
        Path(model.path),
        Path(validation.path),
        json.loads(lineage),
        model_name,
        min_improvement,
        test_metrics=summary.get("test"),
    )
    return json.dumps(decision.to_dict())


@dsl.component(base_image=ML_IMAGE, packages_to_install=[])
def churn_score_op(
    features: Input[Dataset],
    as_of_date: str,
    model_name: str,
    gate_decision: str,
    project: str,
    location: str,
) -> str:
    """Batch-score active customers with the champion into ml.ml_churn_scores (after the gate has run).

    Without a champion or feature rows it writes nothing and returns ``skipped`` with the reason
    (and the gate's, which says why no model was trained).
    """
    import json
    from pathlib import Path

    from ml.pipelines.env import use_project

    use_project(project, location)
    from ml.readiness import has_champion, no_champion_reason, skipped

    if has_champion(model_name):
        from ml.churn.steps import score
        from ml.pipelines.env import parse_date

        result = score(Path(features.path), parse_date(as_of_date), model_name)
    else:  # checked before the scikit-learn imports: a cold start stays cheap
        result = skipped(no_champion_reason(model_name, "score"))
    gate = json.loads(gate_decision)
    if result.get("skipped") and gate.get("skipped"):
        result["reason"] = f"{result['reason']} ({gate['reason']})"
    result["gate"] = gate
    return json.dumps(result)
