"""Every ML bench goal can fail: a trivial model misses it, the oracle (or a fair model) meets it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bench import Result
from bench.bench_ml import GOALS, churn_results, forecast_results
from ml.churn.features import time_split, to_frame
from ml.forecasting.backtest import ORACLE, Predictive, backtest, rolling_origins
from ml.forecasting.baselines import same_hour_mean, seasonal_naive
from ml.forecasting.metrics import MEAN_FLOOR
from tests.ml.synthetic import churn_features

H = 168


@pytest.fixture(scope="module")
def sparse() -> tuple[np.ndarray, pd.DatetimeIndex, np.ndarray]:
    """12 sparse series (≈ 0.2 events/hour, mostly zeros) with a weekly profile, 6 weeks; (counts, hours, truth)."""
    rng = np.random.default_rng(5)
    hours = pd.date_range("2026-01-05", periods=6 * H, freq="h", tz="UTC")
    how = np.arange(len(hours)) % H
    profile = 1.0 + 0.9 * np.sin(2 * np.pi * how / 24)[:, None]
    level = rng.uniform(0.05, 0.4, 12)[None, :]
    truth = profile * level
    return rng.poisson(truth).astype(float), hours, truth


def _scores(sparse, model) -> dict[str, dict[str, float]]:  # type: ignore[no-untyped-def]
    values, hours, truth = sparse
    return backtest(
        values,
        hours,
        rolling_origins(len(values), H, 4, 24),
        H,
        {
            "pytorch": model,
            "same_hour_mean_8w": lambda h, hh, n: same_hour_mean(h, n, 8),
            "seasonal_naive_weekly": lambda h, hh, n: np.maximum(seasonal_naive(h, n), MEAN_FLOOR),
        },
        oracle=truth,
    )


def _met(bench_id: str, result: Result) -> bool:
    return GOALS[bench_id].met(result)


def test_forecast_goals_fail_for_trivial_models_and_hold_for_the_truth(sparse) -> None:  # type: ignore[no-untyped-def]
    values, _, truth = sparse
    flat = _scores(sparse, lambda h, hh, n: np.full((n, h.shape[1]), max(h.mean(), MEAN_FLOOR)))
    naive = _scores(sparse, lambda h, hh, n: np.maximum(seasonal_naive(h, n), MEAN_FLOOR))
    biased = _scores(sparse, lambda h, hh, n: 0.25 * truth[len(h) : len(h) + n])
    overdispersed = _scores(
        sparse, lambda h, hh, n: Predictive(3 * truth[len(h) : len(h) + n], dispersion=3.0)
    )
    perfect = _scores(sparse, lambda h, hh, n: truth[len(h) : len(h) + n])
    # a flat mean ignores the daily profile: far from the oracle
    assert not _met("ml.forecast.deviance_sparse", forecast_results(flat)["ml.forecast.deviance_sparse"])
    # a baseline as "the model" can never beat the strongest baseline by 10 %
    assert not _met("ml.forecast.vs_best_baseline", forecast_results(naive)["ml.forecast.vs_best_baseline"])
    # intervals around a quarter of the true mean cover too little; needlessly wide ones too much
    assert forecast_results(biased)["ml.forecast.coverage_95"].value < 0.93
    assert forecast_results(overdispersed)["ml.forecast.coverage_95"].value > 0.97
    # ...and the truth meets every goal (the goals are not out of reach by construction)
    ok = forecast_results(perfect)
    assert _met("ml.forecast.deviance_sparse", ok["ml.forecast.deviance_sparse"])
    assert _met("ml.forecast.vs_best_baseline", ok["ml.forecast.vs_best_baseline"])
    assert _met("ml.forecast.coverage_95", ok["ml.forecast.coverage_95"])
    # on sparse counts the plain integer interval over-covers; the randomized PIT does not
    assert perfect[ORACLE]["hit_rate_95"] > 0.97 and abs(perfect[ORACLE]["coverage_95"] - 0.95) < 0.01


def test_churn_goals_fail_for_a_trivial_model() -> None:
    frame = to_frame(churn_features(n_customers=120, n_weeks=26, seed=3))
    split = time_split(frame, frame["as_of_date"].max())
    test = split.test
    y = test["label_churn_30d"].astype(int).to_numpy()
    rng = np.random.default_rng(0)
    oracle = test[["customer_id", "as_of_date"]].assign(p_churn=0.1 + 0.8 * y)  # a perfect ranker
    scores = {"constant": np.full(len(test), 0.5), "random": rng.random(len(test)), "truth": 0.1 + 0.8 * y}
    for trivial in ("constant", "random"):
        results = churn_results(test, scores, trivial, oracle)
        assert not _met("ml.churn.auc", results["ml.churn.auc"])
        assert not _met("ml.churn.auc_recent", results["ml.churn.auc_recent"])
    good = churn_results(test, scores, "truth", oracle)
    assert _met("ml.churn.auc", good["ml.churn.auc"]) and _met(
        "ml.churn.auc_recent", good["ml.churn.auc_recent"]
    )


def test_goals_read_what_they_say() -> None:
    assert GOALS["ml.forecast.coverage_95"].met(Result(0.95, "", reference=0.95))
    assert not GOALS["ml.forecast.coverage_95"].met(Result(0.99, "", reference=0.95))
    assert not GOALS["ml.forecast.deviance_sparse"].met(Result(float("nan"), "", reference=1.0))
    # the training-cost goal reads the ratio of the 90-day run's seconds to the 40-day run's
    train = GOALS["ml.train.seconds_day90_vs_day40"]
    assert train.met(Result(55.0, "CPU s", reference=50.0)) and not train.met(
        Result(65.0, "CPU s", reference=50.0)
    )
    assert {g for g, goal in GOALS.items() if goal.primary} == {
        "ml.churn.auc",
        "ml.churn.auc_recent",
        "ml.forecast.deviance_sparse",
        "ml.forecast.vs_best_baseline",
        "ml.forecast.coverage_95",
    }


def test_readme_table_says_where_the_model_misses(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import json

    from bench import bench_ml, ml_readme

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(bench_ml, "REPORT", tmp_path / "ml_report.json")
    monkeypatch.setattr(bench_ml, "_REPORT_ROWS", {})
    bench_ml.judge(
        "ml.forecast.deviance_sparse",
        Result(0.62, "deviance/cell", 0.56),
        "oracle",
        "it cannot foresee outages",
    )
    bench_ml.judge("ml.forecast.vs_best_baseline", Result(0.62, "deviance/cell", 0.78), "best baseline")
    report = json.loads((tmp_path / "ml_report.json").read_text())
    assert report["ml.forecast.vs_best_baseline"]["met"] and not report["ml.forecast.deviance_sparse"]["met"]
    block = ml_readme.render(report)
    assert (
        "| `ml.forecast.deviance_sparse` | 0.62 deviance/cell | oracle: 0.56 | 1.107 | ratio ≤ 1.05 ✘ |"
        in block
    )
    assert "- `ml.forecast.deviance_sparse`: it cannot foresee outages." in block
    (tmp_path / "README.md").write_text(f"x\n{ml_readme.START}\nold\n{ml_readme.END}\ny\n")
    monkeypatch.setattr(ml_readme, "REPORT", tmp_path / "ml_report.json")
    monkeypatch.setattr(ml_readme, "README", tmp_path / "README.md")
    assert ml_readme.main([]) == 0
    text = (tmp_path / "README.md").read_text()
    assert (
        "old" not in text
        and text.startswith("x\n")
        and text.endswith(f"{ml_readme.END}\ny\n")
        and "✘" in text
    )
