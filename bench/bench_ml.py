"""ML quality benchmarks on generated data, against the generators' ground truth (the oracles).

Both run the production protocol (:mod:`ml.protocol`: one config for the pipelines and the bench)
and the same code (:func:`ml.churn.steps.evaluate_protocol`, :func:`ml.forecasting.evaluation.
evaluate`); every figure is the TEST window's, after the champion was chosen on the selection
window. Goals are set against the oracle and the strongest simple baseline (:data:`GOALS`); each
result's note says whether its goal is met and, when not, why, with figures.

* ``ml.churn.auc`` / ``ml.churn.auc_recent`` — 240 days of :class:`SalesModel` orders and
  clickstream sessions (the generator's default world: 2000 customers, 300 orders/day), turned
  into ``ml_churn_features`` rows by :func:`ml.churn.features.build_feature_rows`, the pandas twin
  of ``dataform/definitions/ml/ml_churn_features.sqlx`` (weekly Sunday as_of_dates; the Dataform
  route needs the whole bronze → Firestore-export chain and is not used here). Beside the oracle,
  an *observable oracle* (:func:`observable_oracle`: every parameter known, the customer's state
  filtered from the orders and sessions alone) gives the ceiling of what those sources reveal. Value: the champion's
  test AUC on all rows / on recent buyers (last order ≤ 30 days before the snapshot); reference: the
  AUC of ``SalesModel.true_churn_probability`` on the same rows. The recency-only and RFM logistic
  baselines are reported beside it.
* ``ml.forecast.*`` — hourly :class:`AppEventModel` counts per country × platform (Poisson per
  minute × country as the generator draws them, split over platforms by the true platform mix — the
  same distribution as the generator's per-event platform draw) in two regimes: ``sparse``
  (replay-like: 20k events/day over every country, ~600 series, mostly zero hours) and ``dense``
  (8 large countries, 400k events/day). 15 weeks each; the protocol's 7 selection and 28 test
  origins (4 weeks, daily, 168 h horizon). The oracle forecasts ``expected_counts`` (the true
  intensity integrated per hour, with every trend, holiday, release, campaign and outage); oracles
  blind to the outages, and to the outages, campaigns and releases (:func:`oracle_variants`), say
  how much of the gap no forecaster could close. The network gets the company's release and
  campaign calendar (dates only) as known-future inputs (``ForecasterConfig.known_events_seed``).
  ``deviance_sparse`` (model / oracle Poisson deviance), ``vs_best_baseline`` (model / the best
  simple baseline's deviance), ``coverage_95`` (the 95 % interval's randomized-PIT coverage) are
  the sparse regime's; ``deviance_dense`` and the older sMAPE rows are the dense regime's.

* ``ml.train.seconds_day90_vs_day40`` — the forecaster's training cost against the length of its
  history: the call the Vertex CustomJob runs (:func:`ml.forecasting.steps.fit_model`: the
  protocol's evaluation, the final fit, the saved model) at the pipelines' epochs, on the sparse
  regime's series cut to 90 days, over the same on 40 days. Each run is a fresh process (as each
  CustomJob is; imports done before the clock starts) and its CPU seconds are the figure, which
  other load on a shared machine disturbs less than wall seconds (both are in the details).

``python -m bench --only ml`` runs them and writes ``.bench/ml_report.json`` (every row with its goal
and verdict); ``python -m bench.ml_readme`` turns that into the README's ML table.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bench import Result, benchmark

#: the sales world the platform generates (``SalesModel``'s defaults: 2000 customers, 300 orders/day)
SALES_SEED, N_CUSTOMERS, ORDERS_PER_DAY, SALES_DAYS = 7, 2000, 300.0, 240
APP_COUNTRIES = ("US", "IN", "BR", "DE", "JP", "GB", "FR", "NG")
APP_START = datetime(2025, 9, 29, tzinfo=UTC)  # a Monday: the test window holds Christmas and New Year
REPORT = Path(".bench/ml_report.json")


@dataclass(frozen=True)
class Regime:
    name: str
    events_per_day: float
    countries: tuple[str, ...] | None
    weeks: int = 15
    seed: int = 3
    start: datetime = APP_START


SPARSE = Regime("sparse", 20_000, None)
DENSE = Regime("dense", 400_000, APP_COUNTRIES)


# ------------------------------------------------------------------------------------------------ goals
@dataclass(frozen=True)
class Goal:
    text: str
    low: float | None = None
    high: float | None = None
    #: what the goal reads: the ratio to the reference, or the value itself
    on: str = "ratio"
    #: a goal of the issue's list (the others are the earlier, secondary rows)
    primary: bool = True

    def met(self, result: Result) -> bool:
        x = result.ratio if self.on == "ratio" else result.value
        if x is None or not math.isfinite(x):
            return False
        return (self.low is None or x >= self.low) and (self.high is None or x <= self.high)


GOALS = {
    "ml.churn.auc": Goal("ratio ≥ 0.95", low=0.95),
    "ml.churn.auc_recent": Goal("ratio ≥ 0.95", low=0.95),
    "ml.forecast.deviance_sparse": Goal("ratio ≤ 1.05", high=1.05),
    "ml.forecast.vs_best_baseline": Goal("ratio ≤ 0.90", high=0.90),
    "ml.forecast.coverage_95": Goal("value within 0.93–0.97", low=0.93, high=0.97, on="value"),
    "ml.forecast.deviance_dense": Goal("ratio ≤ 1.05", high=1.05, primary=False),
    "ml.forecast.smape": Goal("ratio ≤ 1.10", high=1.10, primary=False),
    "ml.forecast.vs_seasonal_naive": Goal("ratio ≤ 0.80", high=0.80, primary=False),
    # BigQuery ML's local twins (bench/bench_bqml.py) against the oracle, held to the bar of the
    # Vertex models doing the same job; they are comparisons beside those models, not its goals
    "ml.churn.bqml_twin_auc": Goal("ratio ≥ 0.95", low=0.95, primary=False),
    "ml.forecast.bqml_twin_deviance_sparse": Goal("ratio ≤ 1.05", high=1.05, primary=False),
    # issue 17: the forecaster's retraining cost stops growing with the history (not a quality goal)
    "ml.train.seconds_day90_vs_day40": Goal("ratio ≤ 1.2", high=1.2, primary=False),
}


def judge(bench_id: str, result: Result, reference_label: str, why_not: str = "") -> Result:
    """Append the goal and its verdict to the note (and ``why_not`` when it is missed); record the row."""
    goal = GOALS[bench_id]
    met = goal.met(result)
    verdict = f"goal {goal.text} {'✔' if met else '✘'}"
    if not met and why_not:
        verdict += f" — {why_not}"
    result.note = f"{result.note}; {verdict}" if result.note else verdict
    _REPORT_ROWS[bench_id] = {
        "id": bench_id,
        "value": result.value,
        "unit": result.unit,
        "reference": result.reference,
        "reference_label": reference_label,
        "ratio": result.ratio,
        "goal": goal.text,
        "goal_on": goal.on,
        "primary": goal.primary,
        "met": met,
        "why_not": "" if met else why_not,
        "note": result.note,
        "details": {k: list(v) for k, v in result.details.items()},
    }
    _write_report()
    return result


_REPORT_ROWS: dict[str, dict[str, Any]] = {}


def _write_report() -> None:
    REPORT.parent.mkdir(exist_ok=True)
    stored = json.loads(REPORT.read_text()) if REPORT.exists() else {}
    stored.update(_REPORT_ROWS)
    stored["_measured"] = {"date": date.today().isoformat()}
    REPORT.write_text(json.dumps(stored, indent=2, sort_keys=True, default=float) + "\n")


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
    """The ml_churn_features rows (:func:`ml.churn.features.build_feature_rows`, the SQLX's twin)."""
    from ml.churn.features import build_feature_rows

    return build_feature_rows(orders, sessions, horizon)


def observable_oracle(
    model: Any, orders: pd.DataFrame, sessions: pd.DataFrame, days: list[date], as_ofs: list[date]
) -> pd.DataFrame:
    """P(churn) of an oracle that knows every parameter but not the state: the ceiling of the data.

    It knows each customer's purchase rate, hazard and visit propensity (and the generator's
    constants) exactly, and sees what the warehouse sees: completed orders and logged-in website
    sessions per customer and day. It filters the three-state chain (active → disengaging →
    churned; :class:`SalesModel`) forward day by day (Poisson emissions of orders and sessions,
    daily transition probabilities) and scores ``Σ P(state | data) × P(no purchase | state)``. No
    model trained on features of those two sources can expect to beat it; the gap between it and the
    full oracle is what the latent state hides from those sources.
    """
    from rillflow.generators import clickstream as click
    from rillflow.generators import sales as sales_mod

    n, n_days = model.n_customers, len(days)
    customer = {c: i for i, c in enumerate(model.customer_ids)}
    day = {d: j for j, d in enumerate(days)}
    k_orders, k_sessions = np.zeros((n_days, n)), np.zeros((n_days, n))
    np.add.at(
        k_orders,
        (orders["order_date"].map(day).to_numpy(), orders["customer_id"].map(customer).to_numpy()),
        1,
    )
    np.add.at(
        k_sessions,
        (sessions["session_date"].map(day).to_numpy(), sessions["customer_id"].map(customer).to_numpy()),
        1,
    )
    sessions_per_day = k_sessions.sum(axis=1)
    h, g = model.hazard, 1.0 / sales_mod.DISENGAGED_DAYS
    order_rates = (model.rate * sales_mod.STATUS_SHARE[0])[:, None] * np.array(
        [1.0, sales_mod.DISENGAGED_RATE, 0.0]
    )
    engagement = np.array([1.0, sales_mod.DISENGAGED_VISITS, click.CHURNED_VISIT_FACTOR])
    visit = model.rate**click.VISIT_RATE_POWER
    p_aa, p_dd = np.exp(-h), np.exp(-g)
    p_ad = h / (g - h) * (np.exp(-h) - np.exp(-g))
    # the state at day 0 of customers who signed up before: the chain run for the days they lived
    lived = np.maximum(-model.signup, 0.0)
    e_h, e_g = np.exp(-h * lived), np.exp(-g * lived)
    pi = np.stack([e_h, h / (g - h) * (e_h - e_g), np.zeros(n)], axis=1)
    pi[:, 2] = 1.0 - pi[:, 0] - pi[:, 1]
    p_active, p_disengaging = sales_mod.no_purchase_probability_states(model.rate, model.hazard, 30.0)
    wanted, out = set(as_ofs), []
    for j, d in enumerate(days):
        t_mid = j + 0.5
        signed = model.signup <= t_mid
        if j:
            pi = np.stack(
                [
                    pi[:, 0] * p_aa,
                    pi[:, 0] * p_ad + pi[:, 1] * p_dd,
                    pi[:, 0] * (1 - p_aa - p_ad) + pi[:, 1] * (1 - p_dd) + pi[:, 2],
                ],
                axis=1,
            )
        # the website picks visitors by everyone's true engagement: its normaliser is known exactly
        state = np.where(
            model.active_at(t_mid), 1.0, np.where(model.disengaging_at(t_mid), engagement[1], engagement[2])
        )
        lam_s = sessions_per_day[j] * visit[:, None] * engagement[None, :] / (visit * state * signed).sum()
        like = (
            np.exp(-order_rates - lam_s)
            * order_rates ** k_orders[j][:, None]
            * lam_s ** k_sessions[j][:, None]
        )
        post = pi * like
        total = post.sum(axis=1, keepdims=True)
        pi = np.where(signed[:, None] & (total > 0), post / np.where(total > 0, total, 1.0), pi)
        if d in wanted:
            p = pi[:, 0] * p_active + pi[:, 1] * p_disengaging + pi[:, 2]
            out.append(pd.DataFrame({"customer_id": model.customer_ids, "p_churn": p, "as_of_date": d}))
    return pd.concat(out, ignore_index=True)


@cache
def churn_run() -> tuple[Any, pd.DataFrame, pd.DataFrame]:
    """(the protocol's evaluation, the oracle's p_churn on the test snapshots, the observable oracle's)."""
    from ml.churn.features import time_split, to_frame
    from ml.churn.steps import evaluate_protocol
    from rillflow.generators.sales import SalesModel

    model = SalesModel(seed=SALES_SEED, n_customers=N_CUSTOMERS, orders_per_day=ORDERS_PER_DAY)
    days = [model.start + timedelta(days=i) for i in range(SALES_DAYS)]
    orders, sessions = _orders(model, days), _sessions(model, days, SALES_SEED)
    frame = to_frame(churn_features_frame(orders, sessions))
    evaluation = evaluate_protocol(time_split(frame, days[-1]))
    test_dates = sorted(set(evaluation.split.test["as_of_date"]))
    oracle = pd.concat([model.true_churn_probability(d).to_pandas().assign(as_of_date=d) for d in test_dates])
    return evaluation, oracle, observable_oracle(model, orders, sessions, days, test_dates)


def churn_results(
    test: pd.DataFrame,
    scores: dict[str, np.ndarray],
    champion: str,
    oracle: pd.DataFrame,
    observable: pd.DataFrame | None = None,
) -> dict[str, Result]:
    """``ml.churn.auc`` and ``ml.churn.auc_recent`` of ``scores[champion]`` on the test rows."""
    from ml.churn.features import recent_buyers
    from ml.churn.model import BASELINES, evaluate
    from ml.churn.steps import oracle_comparison

    recent = recent_buyers(test).to_numpy()
    out = {}
    for bench_id, mask, slice_name in (
        ("ml.churn.auc", np.ones(len(test), dtype=bool), "all test rows"),
        ("ml.churn.auc_recent", recent, "recent buyers (last order ≤ 30 d)"),
    ):
        part = test[mask].reset_index(drop=True)
        cmp = {a: oracle_comparison(part, s[mask], oracle) for a, s in scores.items()}
        best = cmp[champion]
        details = {
            f"auc {a}{' (champion)' if a == champion else ''}": (c["model_auc"], "AUC")
            for a, c in cmp.items()
        }
        details["auc oracle"] = (best["oracle_auc"], "AUC")
        if observable is not None:
            seen = oracle_comparison(part, np.zeros(mask.sum()), observable)["oracle_auc"]
            details[OBSERVABLE] = (seen, "AUC")
        y = part["label_churn_30d"].astype("int64").to_numpy()
        m = evaluate(y, scores[champion][mask])
        details["pr_auc champion"] = (m["pr_auc"], "AP")
        details["brier champion"] = (m["brier"], "")
        details["calibration error (ECE) champion"] = (m["ece"], "")
        details["lift@10% champion"] = (m["lift_at_10pct"], "x")
        details["rows"] = (best["rows"], "rows")
        strongest = max((a for a in BASELINES if a in cmp), key=lambda a: cmp[a]["model_auc"], default=None)
        note = f"{slice_name}; champion={champion} (chosen on the selection window)"
        if strongest is not None:
            note += f"; strongest baseline {strongest} {cmp[strongest]['model_auc']:.3f}"
        out[bench_id] = Result(
            value=best["model_auc"], unit="AUC", reference=best["oracle_auc"], note=note, details=details
        )
    return out


OBSERVABLE = "auc observable oracle (knows the parameters, sees only orders + sessions)"


def _churn_why_not(result: Result) -> str:
    base = [
        (k, v[0])
        for k, v in result.details.items()
        if k.startswith("auc ") and k.split()[1] in ("recency_logreg", "rfm_logreg")
    ]
    best = max(base, key=lambda kv: kv[1], default=None)
    text = f"the champion reaches {result.ratio:.3f} of the oracle's AUC"
    if best is not None and result.reference:
        text += f" (the best simple baseline, {best[0][4:]}, {best[1] / result.reference:.3f})"
    if OBSERVABLE in result.details and result.reference:
        seen = result.details[OBSERVABLE][0]
        return text + (
            f"; the observable oracle (every parameter known, the state inferred from the orders and "
            f"sessions alone) reaches {seen / result.reference:.3f}: the rest of the gap is the customer's "
            "latent state (active / disengaging / churned), which a visit or two a month and a few orders "
            f"do not reveal — the model is at {result.value / seen:.3f} of what these sources allow"
        )
    return text + (
        ": what separates churners among recent buyers is the latent state and purchase rate the "
        "oracle knows; the features show it only faintly"
    )


@cache
def _churn_results() -> dict[str, Result]:
    evaluation, oracle, observable = churn_run()
    results = churn_results(
        evaluation.split.test, evaluation.test_scores, evaluation.champion, oracle, observable
    )
    windows = evaluation.split.describe()
    for r in results.values():
        r.details["windows: " + windows] = (float(len(evaluation.split.test)), "test rows")
    return results


@benchmark("ml.churn.auc")
def churn_auc() -> Result:
    r = _churn_results()["ml.churn.auc"]
    return judge("ml.churn.auc", r, "oracle AUC (true churn probability)", _churn_why_not(r))


@benchmark("ml.churn.auc_recent")
def churn_auc_recent() -> Result:
    r = _churn_results()["ml.churn.auc_recent"]
    return judge("ml.churn.auc_recent", r, "oracle AUC on recent buyers", _churn_why_not(r))


# ------------------------------------------------------------------------------------------ forecasting
def regime_data(regime: Regime) -> tuple[Any, np.ndarray]:
    """(observed SeriesMatrix, oracle expected counts aligned to it) for one regime."""
    from ml.forecasting.series import align, to_matrix
    from rillflow.generators.app_event_intensity import PLATFORMS
    from rillflow.generators.app_events import AppEventModel
    from rillflow.generators.diurnal import epoch_minute

    countries = list(regime.countries) if regime.countries else None
    gen = AppEventModel(events_per_day=regime.events_per_day, seed=regime.seed, countries=countries)
    n_hours = regime.weeks * 168
    per_minute = gen.minute_counts(epoch_minute(regime.start), n_hours * 60)
    per_hour = per_minute.reshape(n_hours, 60, -1).sum(axis=1)  # (hours, countries)
    # the platform split of each country-hour: multinomial(n, platform mix) as chained binomials
    rng = np.random.default_rng([regime.seed, 0xF0CA])
    mix = gen.platform_mix[None, :, :]
    ios = rng.binomial(per_hour, mix[..., 0])
    android = rng.binomial(per_hour - ios, mix[..., 1] / (mix[..., 1] + mix[..., 2]))
    split = np.stack([ios, android, per_hour - ios - android], axis=-1)  # (hours, countries, 3)
    hours = pd.date_range(regime.start, periods=n_hours, freq="h")
    obs = pd.DataFrame(
        {
            "ts_hour": np.repeat(hours, gen.n_countries * 3),
            "country": np.tile(np.repeat(np.array(gen.codes), 3), n_hours),
            "platform": np.tile(np.array(PLATFORMS), n_hours * gen.n_countries),
            "event_count": split.ravel(),
        }
    )
    exp = gen.expected_counts(regime.start, regime.start + timedelta(hours=n_hours)).to_pandas()
    m = to_matrix(obs)
    return m, align(m, exp.rename(columns={"bucket_start": "ts_hour"}), "expected")


#: oracles that do not know part of the dynamics: (label, the dynamics' schedules left out)
ORACLE_VARIANTS = (
    ("oracle without outages", ("country_outages", "platform_outages")),
    (
        "oracle without outages, campaigns, releases",
        ("country_outages", "platform_outages", "campaigns", "releases"),
    ),
)


@cache
def oracle_variants(regime_name: str) -> dict[str, float]:
    """Test-window deviance of oracles blind to some dynamics: how much of the gap no forecaster can close.

    Each is the true intensity with some schedules emptied (outages: unforeseeable; campaigns and
    releases: foreseeable only with the company's calendar), scored on the same cells as the oracle.
    """
    from ml.forecasting.metrics import poisson_deviance
    from ml.forecasting.series import align
    from rillflow.generators.app_events import AppEventModel

    regime = {r.name: r for r in (SPARSE, DENSE)}[regime_name]
    run = forecast_run(regime_name)
    m, oracle = regime_data(regime)
    origins = run.windows.test or run.windows.selection
    h = run.model.config.horizon

    def cells(a: np.ndarray) -> np.ndarray:
        return np.stack([a[o + 1 : o + 1 + h] for o in origins])

    actual = cells(m.values)
    out = {"oracle": poisson_deviance(actual, cells(oracle))}
    countries = list(regime.countries) if regime.countries else None
    for label, dropped in ORACLE_VARIANTS:
        gen = AppEventModel(events_per_day=regime.events_per_day, seed=regime.seed, countries=countries)
        assert gen.dynamics is not None
        for name in dropped:
            setattr(gen.dynamics, name, getattr(gen.dynamics, name)[:0])
        end = regime.start + timedelta(hours=regime.weeks * 168)
        exp = gen.expected_counts(regime.start, end).to_pandas().rename(columns={"bucket_start": "ts_hour"})
        out[label] = poisson_deviance(actual, cells(align(m, exp, "expected")))
    return out


@cache
def forecast_run(regime_name: str) -> Any:
    """The protocol's evaluation (:class:`ForecastEvaluation`) on one regime, the oracle scored beside."""
    from ml.forecasting.evaluation import evaluate
    from ml.forecasting.model import ForecasterConfig

    regime = {r.name: r for r in (SPARSE, DENSE)}[regime_name]
    m, oracle = regime_data(regime)
    # the company knows its own release and campaign plan (the generator's, for this seed)
    config = ForecasterConfig(known_events_seed=regime.seed)
    return evaluate(m.values, m.hours, m.keys, config, oracle=oracle)


def forecast_results(scores: dict[str, dict[str, float]], model: str = "pytorch") -> dict[str, Result]:
    """The sparse-regime ids from one window's scores (``scores`` holds the model, the baselines, the oracle)."""
    from ml.forecasting.backtest import ORACLE
    from ml.forecasting.evaluation import BASELINES

    s = scores[model]
    best = min((b for b in BASELINES if b in scores), key=lambda b: scores[b]["deviance"])
    return {
        "ml.forecast.deviance_sparse": Result(
            value=s["deviance"], unit="deviance/cell", reference=scores[ORACLE]["deviance"]
        ),
        "ml.forecast.vs_best_baseline": Result(
            value=s["deviance"],
            unit="deviance/cell",
            reference=scores[best]["deviance"],
            note=f"strongest baseline: {best}",
        ),
        "ml.forecast.coverage_95": Result(
            value=s["coverage_95"],
            unit="coverage",
            reference=0.95,
            note=f"randomized-PIT coverage; 80 %: {s['coverage_80']:.3f}; integer-interval hit rate {s['hit_rate_95']:.3f}",
        ),
    }


def _forecast_details(run: Any) -> dict[str, tuple[float, str]]:
    details: dict[str, tuple[float, str]] = {}
    for name, s in run.reported.items():
        label = f"{name}{' (selection champion)' if name == run.champion else ''}"
        details[f"deviance {label}"] = (s["deviance"], "/cell")
        details[f"MASE daily {name}"] = (s.get("mase_daily", float("nan")), "")
        details[f"bias {name}"] = (s["bias"], "")
        details[f"coverage 80/95 % {name}"] = (s["coverage_80"], f"/ {s['coverage_95']:.3f}")
    details[f"early-stopping epoch (0 = the initial state: {run.model_label()})"] = (
        run.fit["best_epoch"],
        "",
    )
    details[f"windows: {run.windows.describe()}"] = (float(len(run.windows.test)), "test origins")
    return details


def _sparse_why_not(bench_id: str, run: Any, result: Result, regime: str = "sparse") -> str:
    from ml.forecasting.backtest import ORACLE
    from ml.forecasting.evaluation import INITIAL_STATE

    s = run.reported
    oracle = s[ORACLE]["deviance"]
    best = run.best_baseline()
    if bench_id == "ml.forecast.deviance_sparse":
        blind = oracle_variants(regime)
        no_outage = blind[ORACLE_VARIANTS[0][0]] / blind["oracle"]
        no_calendar = blind[ORACLE_VARIANTS[1][0]] / blind["oracle"]
        return (
            f"{run.model_label()} is {result.ratio:.3f}× the oracle; the best baseline ({best}) "
            f"{s[best]['deviance'] / oracle:.3f}×, the initial state {s[INITIAL_STATE]['deviance'] / oracle:.3f}×. "
            f"The oracle blind to outages (unforeseeable) is {no_outage:.3f}×; blind to outages, campaigns "
            f"and releases {no_calendar:.3f}×. The rest is estimating each "
            f"series' level and the size of each holiday/campaign/release lift from a few weeks of "
            "history: the network has the calendar but too few such events to learn their lifts"
            + (
                " (and mostly-zero hours)"
                if regime == "sparse"
                else " (at thousands of events an hour every misjudged lift costs a large deviance)"
            )
        )
    if bench_id == "ml.forecast.vs_best_baseline":
        return f"{run.model_label()} does not beat {best} by 10 % (deviance {s['pytorch']['deviance']:.4f} vs {s[best]['deviance']:.4f})"
    return (
        f"the intervals hold {result.value:.3f} of the hours at 95 % (80 %: {s['pytorch']['coverage_80']:.3f}); "
        f"the oracle's Poisson intervals {s[ORACLE]['coverage_95']:.3f}"
    )


@cache
def _sparse_results() -> dict[str, Result]:
    run = forecast_run(SPARSE.name)
    results = forecast_results(run.reported)
    details = _forecast_details(run)
    for label, value in oracle_variants(SPARSE.name).items():
        if label != "oracle":
            details[f"deviance {label}"] = (value, "/cell")
    results["ml.forecast.deviance_sparse"].details = details
    return results


def _sparse(bench_id: str, reference_label: str) -> Result:
    run = forecast_run(SPARSE.name)
    r = _sparse_results()[bench_id]
    r.note = f"sparse, {len(run.model.config.keys)} series, {run.windows.describe()}; {r.note}".rstrip("; ")
    return judge(bench_id, r, reference_label, _sparse_why_not(bench_id, run, r))


@benchmark("ml.forecast.deviance_sparse")
def forecast_deviance_sparse() -> Result:
    return _sparse("ml.forecast.deviance_sparse", "oracle (true intensity)")


@benchmark("ml.forecast.vs_best_baseline")
def forecast_vs_best_baseline() -> Result:
    return _sparse("ml.forecast.vs_best_baseline", "strongest simple baseline")


@benchmark("ml.forecast.coverage_95")
def forecast_coverage_95() -> Result:
    return _sparse("ml.forecast.coverage_95", "nominal 0.95")


@benchmark("ml.forecast.deviance_dense")
def forecast_deviance_dense() -> Result:
    from ml.forecasting.backtest import ORACLE

    run = forecast_run(DENSE.name)
    s = run.reported
    best = run.best_baseline()
    r = Result(
        value=s["pytorch"]["deviance"],
        unit="deviance/cell",
        reference=s[ORACLE]["deviance"],
        note=f"dense, {len(run.model.config.keys)} series; best baseline {best} {s[best]['deviance'] / s[ORACLE]['deviance']:.3f}× the oracle",
        details=_forecast_details(run),
    )
    return judge(
        "ml.forecast.deviance_dense",
        r,
        "oracle (true intensity)",
        _sparse_why_not("ml.forecast.deviance_sparse", run, r, DENSE.name),
    )


@benchmark("ml.forecast.smape")
def forecast_smape() -> Result:
    from ml.forecasting.backtest import ORACLE

    run = forecast_run(DENSE.name)
    s = run.reported
    r = Result(
        value=s["pytorch"]["smape"],
        unit="% sMAPE",
        reference=s[ORACLE]["smape"],
        note="dense regime, secondary",
    )
    best = min(BASELINES_SMAPE, key=lambda b: s[b]["smape"])
    why = (
        f"dense regime: campaigns, releases and outages the oracle knows and no forecaster can foresee "
        f"dominate the error at thousands of events an hour (best baseline {best} {s[best]['smape']:.2f} %, "
        f"{s[best]['smape'] / s[ORACLE]['smape']:.2f}× the oracle)"
    )
    return judge("ml.forecast.smape", r, "oracle sMAPE", why)


BASELINES_SMAPE = ("same_hour_mean_8w", "holt_winters", "seasonal_naive_weekly", "pytorch_initial_state")


@benchmark("ml.forecast.vs_seasonal_naive")
def forecast_vs_seasonal_naive() -> Result:
    from ml.forecasting.evaluation import SEASONAL_NAIVE

    s = forecast_run(DENSE.name).reported
    r = Result(
        value=s["pytorch"]["smape"],
        unit="% sMAPE",
        reference=s[SEASONAL_NAIVE]["smape"],
        note="dense regime, secondary: seasonal naive is not the strongest baseline (see vs_best_baseline)",
    )
    why = (
        f"the unforeseeable bursts and drops weigh on every method alike: the 8-week mean scores "
        f"{s['same_hour_mean_8w']['smape'] / s[SEASONAL_NAIVE]['smape']:.3f}× the seasonal naive, the "
        f"network's initial state {s['pytorch_initial_state']['smape'] / s[SEASONAL_NAIVE]['smape']:.3f}×"
    )
    return judge("ml.forecast.vs_seasonal_naive", r, "weekly seasonal naive sMAPE", why)


# ------------------------------------------------------------------------------------------- training
TRAIN_DAYS = (40, 90)
#: one training run in a fresh interpreter: argv = series Parquet, model dir, epochs, known-events seed
_TRAIN_RUN = """
import json, sys, time
import torch
from ml.forecasting.model import ForecasterConfig
from ml.forecasting.steps import fit_model
torch.optim.AdamW([torch.zeros(1, requires_grad=True)])  # torch's lazy optimiser imports, before the clock
series, model_dir, epochs, seed = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
config = ForecasterConfig(epochs=epochs, known_events_seed=seed)
wall, cpu = time.perf_counter(), time.process_time()
metrics = fit_model(series, model_dir, config)
print(json.dumps({"cpu": time.process_time() - cpu, "wall": time.perf_counter() - wall, "metrics": metrics}))
"""


def train_once(series_path: Path, model_dir: Path, epochs: int, seed: int) -> dict[str, Any]:
    """One :func:`ml.forecasting.steps.fit_model` in a fresh interpreter (a CustomJob's process)."""
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", _TRAIN_RUN, str(series_path), str(model_dir), str(epochs), str(seed)],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


@benchmark("ml.train.seconds_day90_vs_day40")
def train_seconds_day90_vs_day40() -> Result:
    """Training on 90 days of history over training on 40 days, in the same run."""
    import tempfile

    from ml.forecasting.series import to_long
    from ml.protocol import FORECAST

    m, _ = regime_data(SPARSE)
    runs: dict[int, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-train-") as tmp:
        for days in TRAIN_DAYS:
            n = days * 24
            path = Path(tmp) / f"series_{days}d.parquet"
            to_long(m.hours[:n], m.keys, m.values[:n], "event_count").to_parquet(path, index=False)
            runs[days] = train_once(path, Path(tmp) / f"model_{days}d", FORECAST.epochs, SPARSE.seed)
    short, long = runs[TRAIN_DAYS[0]], runs[TRAIN_DAYS[1]]
    details: dict[str, tuple[float, str]] = {}
    for days, run in runs.items():
        metrics = run["metrics"]
        details[f"{days} days: CPU / wall seconds"] = (run["cpu"], f"s / {run['wall']:.1f} s")
        details[f"{days} days: final fit training rows / hold-out fit's"] = (
            metrics["train_rows"],
            f"/ {metrics['holdout_train_rows']:.0f}",
        )
        details[f"{days} days: selection / test origins"] = (
            metrics["selection_origins"],
            f"/ {metrics['test_origins']:.0f}",
        )
    r = Result(
        value=long["cpu"],
        unit="CPU s",
        reference=short["cpu"],
        note=(
            f"fit_model (protocol + final fit), {FORECAST.epochs} epochs, sparse regime "
            f"({len(m.keys)} series) cut to {TRAIN_DAYS[1]} vs {TRAIN_DAYS[0]} days; wall "
            f"{long['wall']:.1f} / {short['wall']:.1f} s"
        ),
        details=details,
    )
    why = (
        f"the fits train on the same rows (the training window and the row budget), but the protocol's "
        f"backtest grows from {short['metrics']['selection_origins']:.0f}+{short['metrics']['test_origins']:.0f} "
        f"origins at {TRAIN_DAYS[0]} days to {long['metrics']['selection_origins']:.0f}+"
        f"{long['metrics']['test_origins']:.0f} at {TRAIN_DAYS[1]} (its test window fills up by ~75 days; "
        "from there on the cost no longer grows)"
    )
    return judge("ml.train.seconds_day90_vs_day40", r, f"CPU seconds at {TRAIN_DAYS[0]} days", why)
