"""BigQuery ML in the warehouse: the SQLX the real CLI compiles, and the local twin that fills its tables."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from harness.dataform import RunResult
from harness.dataform.bqml import (
    BqmlError,
    find_ml_calls,
    fit,
    parse_create_model,
    parse_if,
    parse_struct,
    ses_states,
    split_statements,
)
from rillflow.settings import Settings
from rillflow.warehouse import DuckDBWarehouse

Query = Callable[[str], list[dict[str, Any]]]
HORIZON = 168
START = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)  # a Monday
SERIES = [("DE", "ios"), ("DE", "web"), ("US", "android")]
FORECAST_COLUMNS = [
    "ts_hour",
    "country",
    "platform",
    "predicted_count",
    "lower",
    "upper",
    "model_name",
    "model_version",
    "origin_ts",
    "created_at",
    "model",
]
SCORE_COLUMNS = ["customer_id", "as_of_date", "score", "model_name", "model_version", "scored_at", "model"]


def _operation(compiled: dict[str, Any], name: str) -> dict[str, Any]:
    return next(o for o in compiled["operations"] if o["target"]["name"] == name)


# ------------------------------------------------------------------------------------ compiled SQL
def test_the_cli_compiles_the_bqml_statements(compiled: dict[str, Any]) -> None:
    forecasts = _operation(compiled, "bqml_app_forecasts")
    scores = _operation(compiled, "bqml_churn_scores")
    for action in (forecasts, scores):
        assert action["hasOutput"] is True and "bqml" in action["tags"]
    script = forecasts["queries"][1]
    guard = parse_if(script)
    assert guard is not None
    model = parse_create_model(split_statements(guard[1])[0])
    assert model is not None and model.name.endswith(".ml.bqml_app_activity_arima`")
    assert model.options["model_type"] == "ARIMA_PLUS"
    assert model.options["time_series_id_col"] == ["country", "platform"]
    assert model.options["horizon"] == HORIZON  # the Vertex forecaster's horizon (ml.protocol)
    assert "ml.ml_app_activity_series" in model.query
    (call,) = find_ml_calls(split_statements(guard[1])[1])
    assert call.function == "FORECAST"
    assert parse_struct(call.argument) == {"horizon": HORIZON, "confidence_level": 0.9}
    churn_guard = parse_if(scores["queries"][1])
    assert churn_guard is not None
    churn = parse_create_model(split_statements(churn_guard[1])[0])
    assert churn is not None and churn.options["model_type"] == "LOGISTIC_REG"
    assert churn.options["input_label_cols"] == ["label_churn_30d"]
    assert [c.function for c in find_ml_calls(split_statements(churn_guard[1])[1])] == ["PREDICT"]
    assert {d["name"] for d in scores["dependencyTargets"]} == {"ml_churn_features"}


def test_forecast_horizon_is_the_vertex_forecasters() -> None:
    from ml.protocol import FORECAST

    assert FORECAST.horizon == HORIZON


def test_sql_helpers_respect_quotes_and_nesting() -> None:
    assert split_statements("SELECT ';' AS a; SELECT (1;2) -- x;\n; ") == [
        "SELECT ';' AS a",
        "SELECT (1;2) -- x;",
    ]
    with pytest.raises(BqmlError):
        parse_if("IF TRUE THEN SELECT 1; ELSE SELECT 2; END IF")
    with pytest.raises(BqmlError):
        fit("KMEANS", pd.DataFrame({"a": [1]}), {})


# ------------------------------------------------------------------------------------------- twins
def _seasonal_series(hours: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Poisson counts with a daily and a weekly cycle, three series of different sizes: (hours, 3)."""
    t = np.arange(hours)
    daily = 1.0 + 0.8 * np.sin(2 * np.pi * (t % 24) / 24)
    weekly = np.where((t // 24) % 7 >= 5, 0.5, 1.0)
    scale = np.array([5.0, 20.0, 60.0])
    rate = daily[:, None] * weekly[:, None] * scale[None, :]
    return np.random.default_rng(seed).poisson(rate).astype(float), rate


def _long_frame(values: np.ndarray) -> pd.DataFrame:
    hours = pd.date_range(START, periods=values.shape[0], freq="h")
    return pd.DataFrame(
        {
            "ts_hour": np.repeat(hours, len(SERIES)),
            "country": np.tile([c for c, _ in SERIES], len(hours)),
            "platform": np.tile([p for _, p in SERIES], len(hours)),
            "event_count": values.ravel(),
        }
    )


ARIMA_OPTIONS = {
    "model_type": "ARIMA_PLUS",
    "time_series_timestamp_col": "ts_hour",
    "time_series_data_col": "event_count",
    "time_series_id_col": ["country", "platform"],
    "data_frequency": "HOURLY",
    "horizon": HORIZON,
}


def test_arima_twin_beats_a_flat_mean_on_a_seasonal_series() -> None:
    weeks = 5
    values, rate = _seasonal_series((weeks + 1) * 168)
    history, future = values[: weeks * 168], rate[weeks * 168 :]
    model = fit("ARIMA_PLUS", _long_frame(history), ARIMA_OPTIONS)
    out = model.forecast(HORIZON, 0.9)
    assert len(out) == HORIZON * len(SERIES)
    predicted = out.pivot_table(
        index="forecast_timestamp", columns=["country", "platform"], values="forecast_value"
    )
    predicted = predicted[[pd.MultiIndex.from_tuples(SERIES)[i] for i in range(len(SERIES))]].to_numpy()
    flat = np.broadcast_to(history.mean(axis=0), future.shape)
    twin_mse, flat_mse = ((predicted - future) ** 2).mean(), ((flat - future) ** 2).mean()
    assert twin_mse < 0.25 * flat_mse, (twin_mse, flat_mse)
    assert out["forecast_timestamp"].min() == pd.Timestamp(START) + pd.Timedelta(hours=weeks * 168)
    # the 90 % interval holds about 90 % of fresh draws from the true rate
    draws = np.random.default_rng(9).poisson(future)
    lower = out.pivot_table(
        index="forecast_timestamp", columns=["country", "platform"], values="prediction_interval_lower_bound"
    )
    upper = out.pivot_table(
        index="forecast_timestamp", columns=["country", "platform"], values="prediction_interval_upper_bound"
    )
    cols = pd.MultiIndex.from_tuples(SERIES)
    inside = (draws >= lower[cols].to_numpy()) & (draws <= upper[cols].to_numpy())
    assert 0.8 < inside.mean() <= 0.99, inside.mean()


def test_arima_twin_models_the_season_the_history_allows() -> None:
    values, _ = _seasonal_series(3 * 168)
    for hours, period in ((30, 1), (3 * 24, 24), (3 * 168, 168)):
        model = fit("ARIMA_PLUS", _long_frame(values[:hours]), ARIMA_OPTIONS)
        assert model.period == period
        out = model.forecast(48, 0.8)
        assert len(out) == 48 * len(SERIES) and out["forecast_value"].notna().all()
        assert (out["prediction_interval_lower_bound"] <= out["forecast_value"]).all()
        assert (out["forecast_value"] <= out["prediction_interval_upper_bound"]).all()


def test_twin_smoothing_is_statsmodels_recursion() -> None:
    from statsmodels.tsa.holtwinters import SimpleExpSmoothing

    y = np.random.default_rng(1).poisson(10, size=200).astype(float)
    level, _ = ses_states(y[:, None], np.array([0.3]), burn_in=0)
    fit_sm = SimpleExpSmoothing(y, initialization_method="known", initial_level=float(y[:1].mean())).fit(
        smoothing_level=0.3, optimized=False
    )
    assert level[0, 0] == pytest.approx(float(fit_sm.forecast(1)[0]))


def test_classifier_twin_learns_the_signal() -> None:
    rng = np.random.default_rng(2)
    n = 600
    recency = rng.uniform(0, 120, n)
    rows = pd.DataFrame(
        {
            "recency_days": recency,
            "orders_total": rng.poisson(3, n),
            "days_since_last_session": np.where(rng.random(n) < 0.2, np.nan, rng.uniform(0, 60, n)),
            "customer_segment": np.array(["consumer", "smb", None], dtype=object)[rng.integers(0, 3, n)],
            "label_churn_30d": (rng.random(n) < 1 / (1 + np.exp(-(recency - 60) / 10))).astype(int),
        }
    )
    for kind in ("LOGISTIC_REG", "BOOSTED_TREE_CLASSIFIER"):
        model = fit(kind, rows, {"model_type": kind, "input_label_cols": ["label_churn_30d"], "l2_reg": 1.0})
        out = model.predict(pa.Table.from_pandas(rows.drop(columns="label_churn_30d"))).to_pandas()
        probs = np.array(
            [{d["label"]: d["prob"] for d in p}[1] for p in out["predicted_label_churn_30d_probs"]]
        )
        assert np.all((probs >= 0) & (probs <= 1))
        from sklearn.metrics import roc_auc_score

        assert roc_auc_score(rows["label_churn_30d"], probs) > 0.85


# ----------------------------------------------------------------------------- through the runner
def _write_inputs(settings: Settings, hours: int) -> None:
    values, _ = _seasonal_series(hours, seed=4)
    series = _long_frame(values).astype({"event_count": "int64"})
    wh = DuckDBWarehouse(settings.warehouse_path)
    wh.write("ml", "ml_app_activity_series", pa.Table.from_pandas(series, preserve_index=False))
    rng = np.random.default_rng(5)
    dates = [dt.date(2024, 1, 7) + dt.timedelta(days=7 * k) for k in range(8)]
    rows = []
    for k, day in enumerate(dates):
        for c in range(60):
            recency = int(rng.integers(0, 200))
            label = int(rng.random() < 1 / (1 + np.exp(-(recency - 60) / 15))) if k < 6 else None
            rows.append(
                {
                    "customer_id": f"c{c}",
                    "as_of_date": day,
                    "recency_days": recency,
                    "frequency_30d": int(rng.integers(0, 3)),
                    "frequency_90d": int(rng.integers(3, 6)),
                    "monetary_90d_usd": float(rng.uniform(0, 300)),
                    "orders_total": int(rng.integers(1, 20)),
                    "avg_order_value_usd": float(rng.uniform(5, 80)),
                    "tenure_days": int(rng.integers(200, 400)),
                    "sessions_30d": int(rng.integers(0, 5)),
                    "page_views_30d": int(rng.integers(0, 30)),
                    "add_to_cart_30d": int(rng.integers(0, 5)),
                    "days_since_last_session": None if c % 7 == 0 else int(rng.integers(0, 60)),
                    "customer_segment": ["consumer", "smb"][c % 2],
                    "customer_country": ["DE", "US", None][c % 3],
                    "label_churn_30d": label,
                }
            )
    features = pd.DataFrame(rows).astype({"label_churn_30d": "Int64", "days_since_last_session": "Int64"})
    wh.write("ml", "ml_churn_features", pa.Table.from_pandas(features, preserve_index=False))


BQML_ACTIONS = ["bqml_app_forecasts", "bqml_churn_scores"]


def test_runner_fills_the_bqml_tables_with_the_twins(
    settings: Settings, run_dataform: Callable[..., RunResult], query: Query
) -> None:
    _write_inputs(settings, 3 * 168)
    started = time.perf_counter()
    result = run_dataform(actions=BQML_ACTIONS)
    assert time.perf_counter() - started < 10
    columns = query(
        "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'ml' "
        "AND table_name LIKE 'bqml_%' ORDER BY table_name, ordinal_position"
    )
    by_table: dict[str, list[str]] = {}
    for row in columns:
        by_table.setdefault(row["table_name"], []).append(row["column_name"])
    assert by_table == {"bqml_app_forecasts": FORECAST_COLUMNS, "bqml_churn_scores": SCORE_COLUMNS}
    assert result.action("bqml_app_forecasts").rows == HORIZON * len(SERIES)
    summary = query(
        "SELECT COUNT(*) AS n, COUNT(DISTINCT (country, platform)) AS series, MIN(ts_hour) AS first, "
        "MAX(ts_hour) AS last, ANY_VALUE(origin_ts) AS origin, "
        "COUNT(*) FILTER (WHERE NOT (lower <= predicted_count AND predicted_count <= upper)) AS outside, "
        "COUNT(*) FILTER (WHERE predicted_count < 0) AS negative, ANY_VALUE(model) AS model "
        "FROM ml.bqml_app_forecasts"
    )[0]
    origin = START + dt.timedelta(hours=3 * 168 - 1)
    assert summary == {
        "n": HORIZON * len(SERIES),
        "series": len(SERIES),
        "first": origin + dt.timedelta(hours=1),
        "last": origin + dt.timedelta(hours=HORIZON),
        "origin": origin,
        "outside": 0,
        "negative": 0,
        "model": "ml.bqml_app_activity_arima",
    }
    scores = query("SELECT * FROM ml.bqml_churn_scores ORDER BY customer_id")
    latest = query(
        "SELECT COUNT(*) AS n FROM ml.ml_churn_features "
        "WHERE as_of_date = (SELECT MAX(as_of_date) FROM ml.ml_churn_features) AND recency_days <= 365"
    )[0]["n"]
    assert len(scores) == latest == 60
    assert all(0.0 <= r["score"] <= 1.0 for r in scores)
    assert {r["as_of_date"] for r in scores} == {dt.date(2024, 2, 25)}
    assert {r["model_name"] for r in scores} == {"bqml_logistic_reg"}
    recency = {
        r["customer_id"]: r["recency_days"]
        for r in query(
            "SELECT customer_id, recency_days FROM ml.ml_churn_features WHERE as_of_date = DATE '2024-02-25'"
        )
    }
    ranked = sorted(scores, key=lambda r: r["score"])
    low, high = ranked[:15], ranked[-15:]
    assert np.mean([recency[r["customer_id"]] for r in high]) > np.mean(
        [recency[r["customer_id"]] for r in low]
    )


def test_bqml_tables_stay_empty_until_there_is_enough_data(
    settings: Settings, run_dataform: Callable[..., RunResult], query: Query
) -> None:
    _write_inputs(settings, 100)  # less than the week the forecast needs
    wh = DuckDBWarehouse(settings.warehouse_path)
    with wh.connect() as con:
        con.execute("UPDATE ml.ml_churn_features SET label_churn_30d = 0 WHERE label_churn_30d IS NOT NULL")
    result = run_dataform(actions=BQML_ACTIONS)
    assert result.action("bqml_app_forecasts").rows == 0
    assert result.action("bqml_churn_scores").rows == 0
    assert [
        r["column_name"]
        for r in query(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'bqml_churn_scores' ORDER BY ordinal_position"
        )
    ] == SCORE_COLUMNS


def test_comparison_views_put_the_models_side_by_side(
    settings: Settings, run_dataform: Callable[..., RunResult], query: Query
) -> None:
    _write_inputs(settings, 3 * 168)
    run_dataform(
        actions=[
            *BQML_ACTIONS,
            "ml_app_forecasts",
            "ml_churn_scores",
            "bi_forecast_model_comparison",
            "bi_churn_model_comparison",
        ]
    )
    with DuckDBWarehouse(settings.warehouse_path).connect() as con:
        con.execute(
            "INSERT INTO ml.ml_app_forecasts SELECT ts_hour, country, platform, predicted_count + 1, lower, upper + 1, "
            "'vertex', 'v1', origin_ts, created_at FROM ml.bqml_app_forecasts WHERE country = 'DE'"
        )
        con.execute(
            "INSERT INTO ml.ml_churn_scores SELECT customer_id, as_of_date, 0.5, 'vertex', 'v1', scored_at "
            "FROM ml.bqml_churn_scores WHERE customer_id IN ('c1', 'c2')"
        )
    forecast = query(
        "SELECT COUNT(*) AS n, COUNT(vertex_predicted_count) AS vertex, COUNT(bqml_predicted_count) AS bqml, "
        "MAX(ABS(vertex_predicted_count - bqml_predicted_count - 1)) AS gap FROM bi.bi_forecast_model_comparison"
    )[0]
    assert forecast == {
        "n": HORIZON * len(SERIES),
        "vertex": 2 * HORIZON,
        "bqml": HORIZON * len(SERIES),
        "gap": pytest.approx(0.0),
    }
    churn = query(
        "SELECT * FROM bi.bi_churn_model_comparison WHERE vertex_score IS NOT NULL ORDER BY customer_id"
    )
    assert [r["customer_id"] for r in churn] == ["c1", "c2"]
    assert all(r["score_difference"] == pytest.approx(r["bqml_score"] - 0.5) for r in churn)
