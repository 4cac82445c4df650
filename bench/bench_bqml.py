"""BigQuery ML's local twins against the oracle, on the ML bench's data (:mod:`bench.bench_ml`).

The twins are what fills ``ml.bqml_app_forecasts`` / ``ml.bqml_churn_scores`` locally
(:mod:`harness.dataform.bqml`); their settings are read from the compiled SQLX (the real Dataform
CLI), so the bench scores exactly what the warehouse runs:

* ``ml.forecast.bqml_twin_deviance_sparse`` — the ARIMA_PLUS twin on :data:`bench.bench_ml.SPARSE`
  (replay-like: ~600 country × platform series, 15 weeks): refitted at each of the protocol's test
  origins (:func:`ml.protocol.forecast_windows`: 28 daily origins, 168 h horizon) on the training
  window of the SQLX (the last 56 days), mean floored as the baselines' are. Value: its Poisson
  deviance per cell; reference: the oracle's (the true intensity) on the same cells. Details: the
  8-week same-hour mean's deviance on the same cells, the 90 % interval's hit rate, the fit time.
* ``ml.churn.bqml_twin_auc`` — the LOGISTIC_REG twin trained on the labelled rows known at the first
  test snapshot (the protocol's train + selection windows: :func:`ml.churn.features.time_split`),
  on the table's columns (what ``SELECT * EXCEPT (customer_id, as_of_date)`` gives BigQuery ML);
  value: its AUC on the test window; reference: the oracle's (the true churn probability).

``python -m bench --only ml.bqml`` runs them.
"""

from __future__ import annotations

import re
import time
from datetime import timedelta
from functools import cache
from typing import Any

import numpy as np
import pandas as pd

from bench import Result, benchmark
from bench.bench_ml import (
    N_CUSTOMERS,
    ORDERS_PER_DAY,
    SALES_DAYS,
    SALES_SEED,
    SPARSE,
    _orders,
    _sessions,
    churn_features_frame,
    judge,
    regime_data,
)


# ------------------------------------------------------------------------------------ the SQLX's settings
@cache
def _bqml_statements(action: str) -> tuple[Any, list[Any]]:
    """(CREATE MODEL, ML calls) of a ``bqml`` action as the real CLI compiles it."""
    from harness.dataform import compile_project
    from harness.dataform.bqml import find_ml_calls, parse_create_model, parse_if, split_statements
    from tests.support.dataform import PROJECT_DIR

    compiled = compile_project(PROJECT_DIR)
    op = next(o for o in compiled["operations"] if o["target"]["name"] == action)
    for script in op["queries"]:
        guarded = parse_if(script)
        if guarded is None:
            continue
        statements = split_statements(guarded[1])
        created = next(c for c in map(parse_create_model, statements) if c is not None)
        calls = [call for s in statements for call in find_ml_calls(s)]
        return created, calls
    raise ValueError(f"{action}: no guarded CREATE MODEL script")


def forecast_settings() -> tuple[dict[str, Any], int, float, int]:
    """(CREATE MODEL options, horizon, confidence level, training window in days) of bqml_app_forecasts."""
    from harness.dataform.bqml import parse_struct

    created, calls = _bqml_statements("bqml_app_forecasts")
    settings = parse_struct(calls[0].argument)
    window = re.search(r"INTERVAL\s+(\d+)\s+DAY", created.query, re.IGNORECASE)
    if window is None:
        raise ValueError("bqml_app_forecasts: no training window (INTERVAL n DAY) in the training query")
    return created.options, int(settings["horizon"]), float(settings["confidence_level"]), int(window[1])


# --------------------------------------------------------------------------------------------- forecast
def _long(hours: pd.DatetimeIndex, keys: list[tuple[str, str]], values: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "ts_hour": np.repeat(hours, len(keys)),
            "country": np.tile(np.array([k[0] for k in keys]), len(hours)),
            "platform": np.tile(np.array([k[1] for k in keys]), len(hours)),
            "event_count": values.ravel(),
        }
    )


def _wide(frame: pd.DataFrame, column: str, keys: list[tuple[str, str]], horizon: int) -> np.ndarray:
    position = {k: j for j, k in enumerate(keys)}
    cols = np.array([position[k] for k in zip(frame["country"], frame["platform"], strict=True)])
    steps = frame.groupby(["country", "platform"]).cumcount().to_numpy()
    out = np.full((horizon, len(keys)), np.nan)
    out[steps, cols] = frame[column].to_numpy()
    return out


@cache
def forecast_run() -> dict[str, Any]:
    from harness.dataform.bqml import fit
    from ml.forecasting.baselines import same_hour_mean
    from ml.forecasting.metrics import MEAN_FLOOR, poisson_deviance
    from ml.protocol import FORECAST, forecast_windows

    options, horizon, level, window_days = forecast_settings()
    if horizon != FORECAST.horizon:
        raise ValueError(f"the SQLX forecasts {horizon} h, the protocol {FORECAST.horizon} h")
    m, oracle = regime_data(SPARSE)
    window = window_days * 24
    origins = forecast_windows(len(m.hours), window - 1).test
    twin, base, truth, actual, inside, seconds = [], [], [], [], [], []
    for o in origins:
        lo = o + 1 - window
        started = time.perf_counter()
        model = fit("ARIMA_PLUS", _long(m.hours[lo : o + 1], m.keys, m.values[lo : o + 1]), options)
        out = model.forecast(horizon, level)
        seconds.append(time.perf_counter() - started)
        mean = np.maximum(_wide(out, "forecast_value", m.keys, horizon), MEAN_FLOOR)
        lower = np.maximum(_wide(out, "prediction_interval_lower_bound", m.keys, horizon), 0.0)
        upper = np.maximum(_wide(out, "prediction_interval_upper_bound", m.keys, horizon), 0.0)
        y = m.values[o + 1 : o + 1 + horizon]
        twin.append(mean)
        base.append(same_hour_mean(m.values[: o + 1], horizon, FORECAST.mean_weeks))
        truth.append(np.maximum(oracle[o + 1 : o + 1 + horizon], MEAN_FLOOR))
        actual.append(y)
        inside.append((y >= lower) & (y <= upper))
    y_all = np.concatenate(actual)
    return {
        "twin": poisson_deviance(y_all, np.concatenate(twin)),
        "oracle": poisson_deviance(y_all, np.concatenate(truth)),
        "same_hour_mean_8w": poisson_deviance(y_all, np.concatenate(base)),
        "hit_rate": float(np.concatenate(inside).mean()),
        "level": level,
        "origins": len(origins),
        "series": len(m.keys),
        "seconds": float(np.median(seconds)),
        "window_days": window_days,
    }


@benchmark("ml.forecast.bqml_twin_deviance_sparse")
def forecast_deviance_sparse() -> Result:
    r = forecast_run()
    result = Result(
        value=r["twin"],
        unit="deviance/cell",
        reference=r["oracle"],
        note=(
            f"ARIMA_PLUS twin / oracle (true intensity); sparse, {r['series']} series, {r['origins']} test "
            f"origins, trained on the last {r['window_days']} days at each"
        ),
        details={
            "deviance same_hour_mean_8w (same cells)": (r["same_hour_mean_8w"], "/cell"),
            "twin / same_hour_mean_8w": (r["twin"] / r["same_hour_mean_8w"], "ratio"),
            f"{r['level']:.0%} interval hit rate (integer counts from lower to upper)": (r["hit_rate"], ""),
            "twin fit + forecast, median per origin": (r["seconds"], "s"),
        },
    )
    why = (
        "one ARIMA_PLUS per series on sparse hourly counts: no pooling across series and, in the "
        "twin, no auto.ARIMA order search or holiday effects (dataform/README.md); "
        f"{r['twin'] / r['same_hour_mean_8w']:.2f}x the 8-week same-hour mean"
    )
    return judge("ml.forecast.bqml_twin_deviance_sparse", result, "oracle (true intensity)", why)


# ------------------------------------------------------------------------------------------------ churn
@cache
def churn_run() -> dict[str, Any]:
    from harness.dataform.bqml import fit
    from ml.churn.features import KEY, LABEL, recent_buyers, time_split, to_frame
    from ml.churn.steps import oracle_comparison
    from rillflow.generators.sales import SalesModel

    created, _ = _bqml_statements("bqml_churn_scores")
    model = SalesModel(seed=SALES_SEED, n_customers=N_CUSTOMERS, orders_per_day=ORDERS_PER_DAY)
    days = [model.start + timedelta(days=i) for i in range(SALES_DAYS)]
    orders, sessions = _orders(model, days), _sessions(model, days, SALES_SEED)
    table = churn_features_frame(orders, sessions)  # the ml_churn_features rows
    split = time_split(to_frame(table), days[-1])
    if split.test.empty:
        raise ValueError("the bench's sales history leaves no test window")
    # what `SELECT * EXCEPT (customer_id, as_of_date)` gives BigQuery ML: the table's columns
    features = [c for c in table.columns if c not in (*KEY, LABEL)]
    columns = [*features, LABEL]
    known = pd.concat([split.train, split.valid], ignore_index=True)
    started = time.perf_counter()
    twin = fit(str(created.options["model_type"]), known[columns], created.options)
    test = split.test.reset_index(drop=True)
    import pyarrow as pa

    predicted = twin.predict(pa.Table.from_pandas(test[features], preserve_index=False))
    seconds = time.perf_counter() - started
    probs = predicted.column(f"predicted_{LABEL}_probs").to_pylist()
    score = np.array([next(p["prob"] for p in row if p["label"] == 1) for row in probs])
    test_dates = sorted(set(test["as_of_date"]))
    oracle = pd.concat([model.true_churn_probability(d).to_pandas().assign(as_of_date=d) for d in test_dates])
    recent = recent_buyers(test).to_numpy()
    return {
        "all": oracle_comparison(test, score, oracle),
        "recent": oracle_comparison(test[recent].reset_index(drop=True), score[recent], oracle),
        "model_type": created.options["model_type"],
        "train_rows": len(known),
        "seconds": seconds,
        "windows": split.describe(),
    }


@benchmark("ml.churn.bqml_twin_auc")
def churn_auc() -> Result:
    r = churn_run()
    result = Result(
        value=r["all"]["model_auc"],
        unit="AUC",
        reference=r["all"]["oracle_auc"],
        note=f"{r['model_type']} twin / oracle AUC on the test window's rows; trained on {r['train_rows']} labelled rows",
        details={
            "auc recent buyers (last order ≤ 30 d)": (r["recent"]["model_auc"], "AUC"),
            "auc oracle, recent buyers": (r["recent"]["oracle_auc"], "AUC"),
            "ratio, recent buyers": (r["recent"]["model_auc"] / r["recent"]["oracle_auc"], ""),
            "test rows": (r["all"]["rows"], "rows"),
            f"twin fit + predict ({r['windows']})": (r["seconds"], "s"),
        },
    )
    return judge("ml.churn.bqml_twin_auc", result, "oracle (true churn probability)")
