from datetime import date, timedelta

import numpy as np

import contracts
from rillflow.generators.clickstream import clickstream_for_day
from rillflow.generators.sales import SalesModel

START = date(2026, 1, 1)


def test_daily_volume_contract_and_day_bounds() -> None:
    sales = SalesModel(seed=5, start=START)
    ids = set(sales.customer_ids)
    for k in range(3):
        d = START + timedelta(days=k)
        events = clickstream_for_day(d, 5, sales)
        assert abs(len(events) - 1000) < 4.5 * np.sqrt(1000)
        assert len({e["event_id"] for e in events}) == len(events)
        for e in events:
            contracts.validate("clickstream_event", e)
            assert e["event_ts"].startswith(d.isoformat() + "T")
            assert e["customer_id"] is None or e["customer_id"] in ids
        kinds = {e["event_type"] for e in events}
        assert {"page_view", "product_view", "add_to_cart", "checkout", "purchase", "login"} <= kinds


def test_deterministic_and_engagement_tracks_purchase_rate() -> None:
    sales = SalesModel(seed=6, start=START)
    d = START + timedelta(days=20)
    assert clickstream_for_day(d, 6, sales) == clickstream_for_day(d, 6, SalesModel(seed=6, start=START))
    visits: dict[str, int] = {}
    for k in range(10):
        for e in clickstream_for_day(START + timedelta(days=k), 6, sales):
            if e["customer_id"] and e["event_type"] == "login":
                visits[e["customer_id"]] = visits.get(e["customer_id"], 0) + 1
    idx = np.array([int(c[1:]) - 1 for c in visits])
    alive = sales.alive_at(10.0)
    visitors_rate = np.average(sales.rate[idx], weights=list(visits.values()))
    assert visitors_rate > 1.5 * sales.rate[alive].mean()
    churned_share = sum(n for c, n in visits.items() if not alive[int(c[1:]) - 1]) / sum(visits.values())
    assert churned_share < 0.05
