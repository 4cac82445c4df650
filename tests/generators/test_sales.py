from datetime import date, timedelta

import numpy as np
import pytest

from contracts.sales import ORDER_DOCUMENT_FIELDS, ORDER_ITEM_FIELDS, ORDER_STATUSES, SALES_LINE_SCHEMA
from rillflow.generators.sales import SalesModel, no_purchase_probability

START = date(2026, 1, 1)


@pytest.fixture(scope="module")
def model() -> SalesModel:
    return SalesModel(seed=42, start=START)


def test_orders_per_day_documents_and_statuses(model: SalesModel) -> None:
    days = [START + timedelta(days=k) for k in range(6)]
    orders = {d: model.orders_for_day(d) for d in days}
    assert 260 < np.mean([len(v) for v in orders.values()]) < 340
    statuses = {o["status"] for v in orders.values() for o in v}
    assert statuses == set(ORDER_STATUSES)
    for d, docs in orders.items():
        assert len({o["order_id"] for o in docs}) == len(docs)
        for doc in docs:
            assert tuple(doc) == ORDER_DOCUMENT_FIELDS
            assert doc["order_ts"].tzinfo is not None and doc["order_ts"].date() == d
            assert doc["items"] and all(tuple(item) == ORDER_ITEM_FIELDS for item in doc["items"])
            assert all(
                i["quantity"] >= 1 and i["unit_price"] > 0 and i["discount"] >= 0 for i in doc["items"]
            )


def test_lines_follow_the_export_schema(model: SalesModel) -> None:
    d = START + timedelta(days=2)
    lines = model.lines_for_day(d)
    assert lines.schema.equals(SALES_LINE_SCHEMA, check_metadata=False)
    assert lines.num_rows == sum(len(o["items"]) for o in model.orders_for_day(d))


def test_deterministic_per_seed_and_day(model: SalesModel) -> None:
    d = START + timedelta(days=3)
    assert SalesModel(seed=42, start=START).orders_for_day(d) == model.orders_for_day(d)
    assert SalesModel(seed=43, start=START).orders_for_day(d) != model.orders_for_day(d)


def test_no_purchase_formula_matches_monte_carlo() -> None:
    rng = np.random.default_rng(0)
    horizon = 30.0
    for rate, hazard in [(0.05, 0.01), (0.2, 0.002), (0.01, 0.05), (0.03, 0.0)]:
        n = 200_000
        churn = rng.exponential(1 / hazard, n) if hazard else np.full(n, np.inf)
        first_purchase = rng.exponential(1 / rate, n)
        simulated = np.mean(first_purchase > np.minimum(churn, horizon))
        p = float(no_purchase_probability(np.array([rate]), np.array([hazard]), horizon)[0])
        assert abs(simulated - p) < 4.5 * np.sqrt(p * (1 - p) / n) + 1e-4


def test_true_churn_probability_is_calibrated_on_generated_orders(model: SalesModel) -> None:
    as_of, horizon = START + timedelta(days=9), 30
    truth = model.true_churn_probability(as_of, horizon).to_pandas()
    buyers = {
        o["customer_id"]
        for k in range(1, horizon + 1)
        for o in model.orders_for_day(as_of + timedelta(days=k))
    }
    outcome = ~truth.customer_id.isin(buyers)
    p = truth.p_churn.to_numpy()
    assert (p[outcome.to_numpy() == 0] < 1).all()  # a customer who bought was not churned
    uncertain = (p > 0) & (p < 1)
    z = (outcome[uncertain].sum() - p[uncertain].sum()) / np.sqrt((p * (1 - p))[uncertain].sum())
    assert abs(z) < 4.0
    bins = np.digitize(p, [0.2, 0.5, 0.8, 0.999])
    for b in range(4):
        sel = bins == b
        if sel.sum() > 50:
            assert abs(outcome[sel].mean() - p[sel].mean()) < 0.1


def test_churn_is_learnable_from_rfm_like_signal(model: SalesModel) -> None:
    truth = model.true_churn_probability(START + timedelta(days=9)).to_pandas()
    alive = truth.p_churn < 1
    assert 0.3 < alive.mean() < 0.95
    idx = np.array([int(c[1:]) - 1 for c in truth.customer_id])
    assert np.corrcoef(model.rate[idx][alive], truth.p_churn[alive])[0, 1] < -0.3


@pytest.mark.parametrize("rate,hazard", [(0.05, 0.01), (0.2, 0.002), (0.01, 0.05), (0.1, 1 / 30)])
def test_three_state_no_purchase_probability_matches_simulation(rate: float, hazard: float) -> None:
    from rillflow.generators.sales import DISENGAGED_DAYS, DISENGAGED_RATE, no_purchase_probability_states

    rng = np.random.default_rng(11)
    n, horizon = 200_000, 30.0
    # from the active state: disengage at D ~ Exp(h), churn at D + Exp(DISENGAGED_DAYS)
    d = rng.exponential(1 / hazard, n)
    c = d + rng.exponential(DISENGAGED_DAYS, n)
    active_exposure = np.minimum(d, horizon)
    disengaged_exposure = np.clip(np.minimum(c, horizon) - d, 0.0, None)
    bought = rng.poisson(rate * active_exposure + DISENGAGED_RATE * rate * disengaged_exposure) > 0
    p_active, p_disengaging = no_purchase_probability_states(np.array([rate]), np.array([hazard]), horizon)
    p = float(p_active[0])
    assert abs(np.mean(~bought) - p) < 4.5 * np.sqrt(p * (1 - p) / n) + 1e-4
    # from the disengaging state: only the remaining Exp(DISENGAGED_DAYS) at the lower rate
    rest = np.minimum(rng.exponential(DISENGAGED_DAYS, n), horizon)
    q = float(p_disengaging[0])
    simulated = np.mean(rng.poisson(DISENGAGED_RATE * rate * rest) == 0)
    assert abs(simulated - q) < 4.5 * np.sqrt(q * (1 - q) / n) + 1e-4


def test_engagement_and_orders_decline_before_churn(model: SalesModel) -> None:
    from rillflow.generators.clickstream import clickstream_for_day

    days = [START + timedelta(days=k) for k in range(40)]
    t = 20.0
    active, disengaging = model.active_at(t), model.disengaging_at(t)
    assert disengaging.sum() > 20 and not (active & disengaging).any()
    assert (model.disengage_at <= model.churn_at).all()
    visits = np.zeros(model.n_customers)
    orders = np.zeros(model.n_customers)
    index = {c: i for i, c in enumerate(model.customer_ids)}
    for d in days[15:25]:
        for e in clickstream_for_day(d, 42, model):
            if e["customer_id"] and e["event_type"] == "login":
                visits[index[e["customer_id"]]] += 1
        for o in model.orders_for_day(d):
            orders[index[o["customer_id"]]] += 1
    # per unit of purchase rate, disengaging customers order and visit far less than active ones
    rate = model.rate
    assert (
        orders[disengaging].sum() / rate[disengaging].sum() < 0.6 * orders[active].sum() / rate[active].sum()
    )
    assert (
        visits[disengaging].sum() / rate[disengaging].sum() < 0.6 * visits[active].sum() / rate[active].sum()
    )
