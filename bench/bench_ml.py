"""ML quality benchmarks on generated data, against the generators' ground truth (the oracles).

* ``ml.churn.auc`` — 240 days of :class:`SalesModel` orders and clickstream sessions, turned into
  ``ml_churn_features`` rows by a pandas re-implementation of ``dataform/definitions/ml/
  ml_churn_features.sqlx`` (weekly Sunday as_of_dates; the Dataform route needs the whole bronze
  → Firestore-export chain and is not used here). Value: the champion's validation AUC; reference:
  the AUC of ``SalesModel.true_churn_probability`` on the same rows.
* ``ml.forecast.smape`` / ``ml.forecast.vs_seasonal_naive`` — 12 weeks of hourly
  :class:`AppEventModel` counts per country × platform (Poisson per minute × country as the
  generator draws them, split over platforms by the true platform mix — the same distribution as
  the generator's per-event platform draw), backtested from 7 daily origins with a 168 h horizon.
  The oracle forecasts ``expected_counts`` (the true intensity integrated per hour).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from functools import cache
from typing import Any

import numpy as np
import pandas as pd

from bench import Result, benchmark

SALES_SEED, N_CUSTOMERS, ORDERS_PER_DAY, SALES_DAYS = 7, 4000, 400.0, 240
APP_SEED, EVENTS_PER_DAY, APP_WEEKS = 3, 400_000, 12
APP_COUNTRIES = ("US", "IN", "BR", "DE", "JP", "GB", "FR", "NG")
APP_START = datetime(2025, 11, 3, tzinfo=UTC)  # a Monday after the US/EU DST changes


# ---------------------------------------------------------------------------------------------- churn
def _orders(model: Any, days: list[date]) -> pd.DataFrame:
    rows = []
    for d in days:
        for doc in model.orders_for_day(d):
            if doc["status"] != "completed":
                continue
            value = sum(i["quantity"] * i["unit_price"] - i["discount"] for i in doc["items"])
            rows.append(
                {
                    "customer_id": doc["customer_id"],
                    "order_date": d,
                    "value_usd": value * doc["fx_rate_to_usd"],
                    "segment": doc["customer_segment"],
                    "country": doc["customer_country"],
                }
            )
    return pd.DataFrame(rows)


def _sessions(model: Any, days: list[date], seed: int) -> pd.DataFrame:
    from rillflow.generators.clickstream import clickstream_for_day

    rows = []
    for d in days:
        for e in clickstream_for_day(d, seed, model):
            if e["customer_id"]:
                rows.append((e["customer_id"], e["session_id"], d, e["event_type"]))
    ev = pd.DataFrame(rows, columns=["customer_id", "session_id", "session_date", "event_type"])
    return ev.groupby(["customer_id", "session_id", "session_date"], as_index=False).agg(
        page_views=("event_type", lambda s: int((s == "page_view").sum())),
        add_to_carts=("event_type", lambda s: int((s == "add_to_cart").sum())),
    )


def churn_features_frame(orders: pd.DataFrame, sessions: pd.DataFrame, horizon: int = 30) -> pd.DataFrame:
    """The ml_churn_features rows (same definitions as the SQLX) for every Sunday of the history."""
    first, last = orders["order_date"].min(), orders["order_date"].max()
    sundays = [d for d in pd.date_range(first, last).date if d.weekday() == 6]
    out = []
    for as_of in sundays:
        past = orders[orders["order_date"] <= as_of]
        age = past["order_date"].map(lambda d, a=as_of: (a - d).days)
        g = past.assign(age=age).groupby("customer_id")
        f = pd.DataFrame(
            {
                "recency_days": g["age"].min(),
                "frequency_30d": g["age"].apply(lambda a: int((a < 30).sum())),
                "frequency_90d": g["age"].apply(lambda a: int((a < 90).sum())),
                "orders_total": g.size(),
                "tenure_days": g["age"].max(),
                "avg_order_value_usd": g["value_usd"].mean(),
                "customer_segment": g["segment"].last(),
                "customer_country": g["country"].last(),
            }
        )
        f["monetary_90d_usd"] = past[age < 90].groupby("customer_id")["value_usd"].sum()
        s = sessions[sessions["session_date"] <= as_of]
        s_age = s["session_date"].map(lambda d, a=as_of: (a - d).days)
        recent = s[s_age < 30].groupby("customer_id")
        f["sessions_30d"] = recent.size()
        f["page_views_30d"] = recent["page_views"].sum()
        f["add_to_cart_30d"] = recent["add_to_carts"].sum()
        f["days_since_last_session"] = s.assign(age=s_age).groupby("customer_id")["age"].min()
        future = orders[
            (orders["order_date"] > as_of) & (orders["order_date"] <= as_of + timedelta(days=horizon))
        ]
        bought = set(future["customer_id"])
        observable = as_of + timedelta(days=horizon) <= last
        f["label_churn_30d"] = [(0 if c in bought else 1) if observable else None for c in f.index]
        out.append(f.fillna({"monetary_90d_usd": 0, "sessions_30d": 0, "page_views_30d": 0, "add_to_cart_30d": 0})
                   .assign(as_of_date=as_of).reset_index(names="customer_id"))  # fmt: skip
    return pd.concat(out, ignore_index=True)


@benchmark("ml.churn.auc")
def churn_auc() -> Result:
    from ml.churn.features import feature_matrix, labels, time_split, to_frame
    from ml.churn.model import evaluate, predict_churn, train
    from ml.churn.steps import oracle_comparison
    from rillflow.generators.sales import SalesModel

    model = SalesModel(seed=SALES_SEED, n_customers=N_CUSTOMERS, orders_per_day=ORDERS_PER_DAY)
    days = [model.start + timedelta(days=i) for i in range(SALES_DAYS)]
    frame = to_frame(churn_features_frame(_orders(model, days), _sessions(model, days, SALES_SEED)))
    split = time_split(frame, days[-1])
    x, y = feature_matrix(split.train), labels(split.train)
    scores = {a: predict_churn(train(a, x, y), feature_matrix(split.valid)) for a in ("hgb", "logreg")}
    oracle = pd.concat(
        [
            model.true_churn_probability(d).to_pandas().assign(as_of_date=d)
            for d in sorted(set(split.valid["as_of_date"]))
        ]
    )
    cmp = {a: oracle_comparison(split.valid, s, oracle) for a, s in scores.items()}
    best = max(cmp, key=lambda a: cmp[a]["model_auc"])
    details = {f"auc {a}": (cmp[a]["model_auc"], "AUC") for a in cmp}
    details["auc oracle"] = (cmp[best]["oracle_auc"], "AUC")
    valid_metrics = evaluate(labels(split.valid), scores[best])
    details["pr_auc champion"] = (valid_metrics["pr_auc"], "AP")
    details["brier champion"] = (valid_metrics["brier"], "")
    details["lift@10% champion"] = (valid_metrics["lift_at_10pct"], "x")
    details["train rows"] = (float(len(split.train)), "rows")
    details["validation rows"] = (cmp[best]["rows"], "rows")
    return Result(
        value=cmp[best]["model_auc"],
        unit="AUC",
        reference=cmp[best]["oracle_auc"],
        note=f"champion={best}; goal ratio >= 0.95; oracle label = any order, features label = completed order",
        details=details,
    )


# ------------------------------------------------------------------------------------------ forecasting
@cache
def app_data() -> tuple[Any, np.ndarray]:
    """(observed SeriesMatrix, oracle expected counts aligned to it)."""
    from ml.forecasting.series import align, to_matrix
    from rillflow.generators.app_events import AppEventModel
    from rillflow.generators.diurnal import epoch_minute

    gen = AppEventModel(events_per_day=EVENTS_PER_DAY, seed=APP_SEED, countries=list(APP_COUNTRIES))
    n_hours = APP_WEEKS * 168
    per_minute = gen.minute_counts(epoch_minute(APP_START), n_hours * 60)
    per_hour = per_minute.reshape(n_hours, 60, -1).sum(axis=1)  # (hours, countries)
    rng = np.random.default_rng([APP_SEED, 0xF0CA])
    split = np.stack(
        [rng.multinomial(n, gen.platform_mix[c]) for n_row in per_hour for c, n in enumerate(n_row)]
    )
    hours = pd.date_range(APP_START, periods=n_hours, freq="h")
    from rillflow.generators.app_event_intensity import PLATFORMS

    obs = pd.DataFrame(
        {
            "ts_hour": np.repeat(hours, gen.n_countries * 3),
            "country": np.tile(np.repeat(np.array(gen.codes), 3), n_hours),
            "platform": np.tile(np.array(PLATFORMS), n_hours * gen.n_countries),
            "event_count": split.ravel(),
        }
    )
    exp = gen.expected_counts(APP_START, APP_START + timedelta(hours=n_hours)).to_pandas()
    m = to_matrix(obs)
    return m, align(m, exp.rename(columns={"bucket_start": "ts_hour"}), "expected")


@cache
def _app_backtest() -> dict[str, Any]:
    from ml.forecasting.backtest import backtest, rolling_origins
    from ml.forecasting.baselines import ets_forecast, seasonal_naive
    from ml.forecasting.model import Forecaster, ForecasterConfig

    m, oracle = app_data()
    n_hours = len(m.hours)
    horizon = 168
    origins = rolling_origins(n_hours, horizon, 7, 24)
    cut = origins[0] + 1
    model = Forecaster(ForecasterConfig(horizon=horizon, weeks=8, min_weeks=3, epochs=8))
    fit = model.fit(m.values[:cut], m.hours[:cut], m.keys)
    scores = backtest(
        m.values,
        m.hours,
        origins,
        horizon,
        {
            "pytorch": lambda h, hh, n: model.predict(h, hh, n),
            "ets_daily": lambda h, hh, n: ets_forecast(h, n, fit_weeks=2),
            "seasonal_naive_weekly": lambda h, hh, n: seasonal_naive(h, n),
        },
        oracle=oracle,
    )
    return {"scores": scores, "series": len(m.keys), "train_hours": cut, "best_epoch": fit["best_epoch"]}


def _forecast_details(scores: dict[str, dict[str, float]]) -> dict[str, tuple[float, str]]:
    details = {}
    for name, s in scores.items():
        details[f"sMAPE {name}"] = (s["smape"], "%")
        details[f"MASE {name}"] = (s["mase"], "")
    return details


@benchmark("ml.forecast.smape")
def forecast_smape() -> Result:
    run = _app_backtest()
    s = run["scores"]
    return Result(
        value=s["pytorch"]["smape"],
        unit="% sMAPE",
        reference=s["oracle"]["smape"],
        note=f"{run['series']} series, 7 origins x 168 h; reference = oracle (Poisson floor); goal ratio <= 1.10",
        details={**_forecast_details(s), "early-stopping epoch (0 = offset only)": (run["best_epoch"], "")},
    )


@benchmark("ml.forecast.vs_seasonal_naive")
def forecast_vs_seasonal_naive() -> Result:
    s = _app_backtest()["scores"]
    return Result(
        value=s["pytorch"]["smape"],
        unit="% sMAPE",
        reference=s["seasonal_naive_weekly"]["smape"],
        note="ratio = model / weekly seasonal naive sMAPE; goal <= 0.80 "
        f"(MASE ratio {s['pytorch']['mase'] / s['seasonal_naive_weekly']['mase']:.3f})",
    )
