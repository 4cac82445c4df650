"""Website clickstream: ~1000 events per UTC day, grouped into sessions with shopping funnels.

Logged-in sessions belong to real customers of the :class:`SalesModel`; who visits is weighted
by the customer's purchase rate and state: active customers at full engagement, disengaging ones
(the weeks before churn) at :data:`~rillflow.generators.sales.DISENGAGED_VISITS` of it, churned
ones rarely, so engagement — and its decline — carries signal about churn. Every event validates against ``contracts/clickstream_event.schema.json``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np

from rillflow.generators.sales import DISENGAGED_VISITS, SalesModel

EVENTS_PER_DAY = 1000
SITE = "https://shop.rillflow.dev"
DEVICES = ("desktop", "mobile", "tablet")
DEVICE_SHARE = (0.45, 0.47, 0.08)
USER_AGENTS = {
    "desktop": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36",
    "mobile": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
    "tablet": "Mozilla/5.0 (Linux; Android 14; SM-X710) AppleWebKit/537.36 Chrome/126.0 Safari/537.36",
}
REFERRERS = (None, "https://www.google.com/", "https://www.facebook.com/", "https://newsletter.rillflow.dev/")
REFERRER_SHARE = (0.40, 0.35, 0.15, 0.10)
SEARCH_TERMS = (
    "headphones",
    "yoga mat",
    "coffee",
    "jacket",
    "lamp",
    "board game",
    "perfume",
    "tent",
    "novel",
)
ANON_COUNTRIES = ("US", "GB", "DE", "FR", "ES", "IT", "NL", "JP", "BR", "IN", "CA", "MX", "PL")
LOGGED_IN_SHARE = 0.45
#: relative visit propensity of a churned customer compared with an alive one of the same rate
CHURNED_VISIT_FACTOR = 0.03
#: visit propensity ∝ purchase rate ** this power (heavy buyers visit more, not proportionally more)
VISIT_RATE_POWER = 1.0


def _session_events(rng: np.random.Generator, logged_in: bool, products: list[str]) -> list[dict[str, Any]]:
    """One session's funnel as (event_type, page_url, product_id, search_query) dicts, without times."""
    events: list[dict[str, Any]] = [{"event_type": "page_view", "page_url": f"{SITE}/"}]
    if logged_in:
        events.append({"event_type": "login", "page_url": f"{SITE}/account/login"})
    if rng.random() < 0.45:
        term = SEARCH_TERMS[rng.integers(len(SEARCH_TERMS))]
        events.append({"event_type": "search", "page_url": f"{SITE}/search?q={term.replace(' ', '+')}",
                       "search_query": term})  # fmt: skip
    viewed = [products[i] for i in rng.integers(len(products), size=1 + rng.poisson(1.5))]
    for pid in viewed:
        events.append({"event_type": "product_view", "page_url": f"{SITE}/p/{pid}", "product_id": pid})
    cart_p = 0.35 if logged_in else 0.15
    carted = [pid for pid in viewed if rng.random() < cart_p]
    for pid in carted:
        events.append({"event_type": "add_to_cart", "page_url": f"{SITE}/p/{pid}", "product_id": pid})
    if carted and rng.random() < 0.15:
        pid = carted.pop()
        events.append({"event_type": "remove_from_cart", "page_url": f"{SITE}/cart", "product_id": pid})
    if carted and rng.random() < (0.6 if logged_in else 0.3):
        events.append({"event_type": "checkout", "page_url": f"{SITE}/checkout"})
        if rng.random() < 0.75:
            events.append({"event_type": "purchase", "page_url": f"{SITE}/checkout/confirmation"})
    return events


def clickstream_for_day(d: date, seed: int, sales_model: SalesModel) -> list[dict[str, Any]]:
    """About 1000 events (Poisson) of UTC day ``d``, deterministic per (seed, day), sorted by time."""
    rng = np.random.default_rng([int(seed), 0xC11C, d.toordinal()])
    target = int(rng.poisson(EVENTS_PER_DAY))
    t_mid = sales_model.day_index(d) + 0.5
    engagement = np.where(
        sales_model.active_at(t_mid),
        1.0,
        np.where(sales_model.disengaging_at(t_mid), DISENGAGED_VISITS, CHURNED_VISIT_FACTOR),
    )
    signed_up = sales_model.signup <= t_mid
    raw_weight = sales_model.rate**VISIT_RATE_POWER * engagement * signed_up
    weight = raw_weight / raw_weight.sum() if raw_weight.sum() > 0 else None
    products = [p.product_id for p in sales_model.products]
    midnight = datetime(d.year, d.month, d.day, tzinfo=UTC)
    out: list[dict[str, Any]] = []
    n_session = 0
    while len(out) < target:
        n_session += 1
        logged_in = weight is not None and rng.random() < LOGGED_IN_SHARE
        customer = int(rng.choice(sales_model.n_customers, p=weight)) if logged_in else None
        funnel = _session_events(rng, logged_in, products)[: target - len(out)]
        gaps = rng.exponential(40.0, len(funnel))
        gaps[0] = 0.0
        offsets = np.cumsum(gaps)
        span = min(float(offsets[-1]), 86_399.0)
        start = rng.uniform(0.0, 86_399.0 - span)
        device = DEVICES[rng.choice(3, p=DEVICE_SHARE)]
        referrer = REFERRERS[rng.choice(len(REFERRERS), p=REFERRER_SHARE)]
        if customer is not None:
            country = sales_model.countries[sales_model.country[customer]]
            anonymous_id = f"anon-{seed}-{customer:05d}"
        else:
            country = ANON_COUNTRIES[rng.integers(len(ANON_COUNTRIES))]
            anonymous_id = f"anon-{d:%Y%m%d}-{rng.integers(1 << 40):010x}"
        session_id = f"sess-{d:%Y%m%d}-{n_session:05d}"
        for k, (event, offset) in enumerate(zip(funnel, offsets.tolist(), strict=True)):
            ts = midnight + timedelta(microseconds=int(min(start + offset, 86_399.999) * 1_000_000))
            out.append(
                {
                    "event_id": f"{session_id}-{k:03d}",
                    "event_ts": ts.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                    "session_id": session_id,
                    "anonymous_id": anonymous_id,
                    "customer_id": sales_model.customer_ids[customer] if customer is not None else None,
                    "event_type": event["event_type"],
                    "page_url": event["page_url"],
                    "referrer": referrer if k == 0 else f"{SITE}/",
                    "product_id": event.get("product_id"),
                    "search_query": event.get("search_query"),
                    "device": device,
                    "user_agent": USER_AGENTS[device],
                    "country": country,
                }
            )
    out.sort(key=lambda e: (e["event_ts"], e["event_id"]))
    return out
