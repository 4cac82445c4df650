"""Sales: customers with latent purchase rates and churn, and the orders they place each day.

Model (times in days since ``start``): customer *i* signs up at ``s_i``, buys as a Poisson
process of rate ``r_i`` orders/day while alive, and churns (silently stops buying) at
``T_i = s_i + Exp(h_i)``. ``h_i`` depends on segment, acquisition channel and (inversely) on the
purchase rate, so recency/frequency/monetary features carry signal about churn. Every order
placed counts as a purchase, whatever its later status (completed, refunded or cancelled).
Rates are scaled so that the expected number of orders on ``start`` is ``orders_per_day``.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import pyarrow as pa

from contracts.sales import ORDER_STATUSES, SALES_LINE_SCHEMA
from rillflow.generators.sales_catalog import (
    ACQUISITION,
    ACQUISITION_HAZARD,
    ACQUISITION_SHARE,
    CHANNEL_SHARE,
    CHANNELS,
    CUSTOMER_COUNTRIES,
    FX_TO_USD,
    SEGMENT_HAZARD,
    SEGMENT_RATE,
    SEGMENT_SHARE,
    SEGMENTS,
    make_products,
    make_stores,
)

STATUS_SHARE = (0.94, 0.04, 0.02)  # completed, refunded, cancelled
_DISCOUNT_RATES = (0.0, 0.05, 0.10, 0.15, 0.20)
_DISCOUNT_SHARE = (0.78, 0.08, 0.07, 0.04, 0.03)


def no_purchase_probability(rate: np.ndarray, hazard: np.ndarray, horizon_days: float) -> np.ndarray:
    """P(no purchase within H days) for an alive customer with purchase rate r and churn hazard h.

    Either churn comes first (competing exponentials, prob h/(h+r)) within H, or neither
    event happens within H: h/(h+r)·(1−e^{−H(h+r)}) + e^{−H(h+r)}.
    """
    total = rate + hazard
    survive = np.exp(-horizon_days * total)
    return hazard / total * (1.0 - survive) + survive


class SalesModel:
    """The sales world of one seed: customers, products, stores; orders are drawn per day."""

    def __init__(
        self,
        seed: int = 0,
        n_customers: int = 2000,
        start: date = date(2026, 1, 1),
        orders_per_day: float = 300.0,
    ) -> None:
        if n_customers < 1:
            raise ValueError("n_customers must be positive")
        self.seed, self.start, self.n_customers = int(seed), start, n_customers
        rng = np.random.default_rng([self.seed, 0x5A1E5])
        self.products = make_products(rng)
        self.stores = make_stores()
        self.countries = list(CUSTOMER_COUNTRIES)
        shares = np.array([CUSTOMER_COUNTRIES[c][0] for c in self.countries])
        n = n_customers
        self.customer_ids = [f"C{i + 1:05d}" for i in range(n)]
        self.country = rng.choice(len(self.countries), n, p=shares / shares.sum())
        self.segment = rng.choice(len(SEGMENTS), n, p=SEGMENT_SHARE)
        self.acquisition = rng.choice(len(ACQUISITION), n, p=ACQUISITION_SHARE)
        existing = rng.random(n) < 0.85
        #: signup time in days since start (fractional); 85 % signed up in the 540 days before start
        self.signup = np.where(existing, rng.uniform(-540, 0, n), rng.uniform(0, 120, n))
        raw_rate = np.array(SEGMENT_RATE)[self.segment] * rng.lognormal(0.0, 0.9, n)
        affinity = (raw_rate / np.median(raw_rate)) ** -0.5
        self.hazard = (
            np.array(SEGMENT_HAZARD)[self.segment]
            * np.array(ACQUISITION_HAZARD)[self.acquisition]
            * affinity
            * rng.lognormal(0.0, 0.3, n)
        )
        #: latent churn time, days since start
        self.churn_at = self.signup + rng.exponential(1.0 / self.hazard)
        alive_at_start = (self.signup <= 0) & (self.churn_at > 0)
        scale = orders_per_day / max(raw_rate[alive_at_start].sum(), 1e-9)
        self.rate = raw_rate * scale
        self._popularity = np.array([p.popularity for p in self.products])
        self._popularity /= self._popularity.sum()
        self._stores_by_country = {
            c: [s.store_id for s in self.stores if s.country == c] for c in self.countries
        }

    # ------------------------------------------------------------------ helpers
    def day_index(self, d: date) -> int:
        return (d - self.start).days

    def signup_date(self, i: int) -> date:
        return self.start + timedelta(days=math.floor(self.signup[i]))

    def alive_at(self, t_days: float) -> np.ndarray:
        """Signed up and not yet churned at ``t_days`` (days since start)."""
        return (self.signup <= t_days) & (self.churn_at > t_days)

    def customer_currency(self, i: int) -> str:
        return CUSTOMER_COUNTRIES[self.countries[self.country[i]]][1]

    def fx_rate_to_usd(self, currency: str, d: date) -> float:
        """USD per unit, with a small deterministic daily drift (±1.5 %)."""
        phase = sorted(FX_TO_USD).index(currency)
        drift = 1.0 + 0.015 * math.sin(2 * math.pi * d.toordinal() / 61.0 + phase)
        return round(FX_TO_USD[currency] * (1.0 if currency == "USD" else drift), 6)

    # ------------------------------------------------------------------ orders
    def orders_for_day(self, d: date) -> list[dict[str, Any]]:
        """The Firestore order documents (``sales/{order_id}``) placed on UTC day ``d``, by time."""
        k = self.day_index(d)
        lo = np.maximum(self.signup, k)
        hi = np.minimum(self.churn_at, k + 1)
        exposure = np.clip(hi - lo, 0.0, None)
        rng = np.random.default_rng([self.seed, 0x0D, d.toordinal()])
        counts = rng.poisson(self.rate * exposure)
        buyers = np.repeat(np.arange(self.n_customers), counts)
        t = lo[buyers] + rng.random(buyers.size) * (hi[buyers] - lo[buyers])
        order = np.argsort(t, kind="stable")
        buyers, t = buyers[order], t[order]
        midnight = datetime(d.year, d.month, d.day, tzinfo=UTC)
        docs = []
        for j, (cust, when) in enumerate(zip(buyers.tolist(), t.tolist(), strict=True)):
            micros = min(int(round((when - k) * 86_400_000_000)), 86_400_000_000 - 1)
            ts = midnight + timedelta(microseconds=micros)
            docs.append(self._order(rng, f"SO-{d:%Y%m%d}-{j + 1:05d}", cust, ts, d))
        return docs

    def _order(
        self, rng: np.random.Generator, order_id: str, cust: int, ts: datetime, d: date
    ) -> dict[str, Any]:
        country = self.countries[self.country[cust]]
        currency = self.customer_currency(cust)
        fx = self.fx_rate_to_usd(currency, d)
        channel = CHANNELS[rng.choice(len(CHANNELS), p=CHANNEL_SHARE)]
        stores = self._stores_by_country[country]
        store_id = stores[rng.integers(len(stores))] if channel == "store" else f"ONLINE-{country}"
        n_items = min(1 + rng.poisson(0.7 + 0.5 * self.segment[cust]), 6)
        products = rng.choice(len(self.products), n_items, replace=False, p=self._popularity)
        items = []
        for line_no, p_idx in enumerate(products.tolist(), start=1):
            product = self.products[p_idx]
            unit_price = product.price_usd / fx
            unit_price = round(unit_price) if currency == "JPY" else round(unit_price, 2)
            quantity = int(1 + rng.poisson(0.3 + 1.5 * (self.segment[cust] == 2)))
            rate = _DISCOUNT_RATES[rng.choice(len(_DISCOUNT_RATES), p=_DISCOUNT_SHARE)]
            items.append(
                {
                    "line_no": line_no,
                    "product_id": product.product_id,
                    "product_name": product.name,
                    "category": product.category,
                    "quantity": quantity,
                    "unit_price": float(unit_price),
                    "discount": round(rate * unit_price * quantity, 2),
                }
            )
        return {
            "order_id": order_id,
            "order_ts": ts,
            "customer_id": self.customer_ids[cust],
            "customer_country": country,
            "customer_segment": SEGMENTS[self.segment[cust]],
            "store_id": store_id,
            "channel": channel,
            "status": ORDER_STATUSES[rng.choice(len(ORDER_STATUSES), p=STATUS_SHARE)],
            "currency": currency,
            "fx_rate_to_usd": fx,
            "items": items,
        }

    def lines_for_day(self, d: date) -> pa.Table:
        """The day's orders flattened to one row per line item (``SALES_LINE_SCHEMA``)."""
        return orders_to_lines(self.orders_for_day(d))

    # ------------------------------------------------------------------ ground truth
    def true_churn_probability(self, as_of: date, horizon_days: int = 30) -> pa.Table:
        """P(no order in the ``horizon_days`` days after ``as_of``) per customer signed up by the end of ``as_of``.

        The window is ``(end of as_of, end of as_of + horizon]``. Churned customers: 1. Alive ones:
        :func:`no_purchase_probability` (memoryless churn: the remaining lifetime is again Exp(h)).
        """
        t = self.day_index(as_of) + 1.0
        known = self.signup <= t
        alive = self.alive_at(t)
        p = np.where(alive, no_purchase_probability(self.rate, self.hazard, float(horizon_days)), 1.0)
        ids = [cid for cid, k in zip(self.customer_ids, known.tolist(), strict=True) if k]
        return pa.table({"customer_id": pa.array(ids), "p_churn": pa.array(p[known])})

    def customers(self) -> pa.Table:
        """Customer dimension as the application knows it (no latent state)."""
        return pa.table(
            {
                "customer_id": self.customer_ids,
                "country": [self.countries[c] for c in self.country],
                "segment": [SEGMENTS[s] for s in self.segment],
                "acquisition_channel": [ACQUISITION[a] for a in self.acquisition],
                "signup_date": [self.signup_date(i) for i in range(self.n_customers)],
            }
        )


def orders_to_lines(orders: list[dict[str, Any]]) -> pa.Table:
    """Flatten order documents into ``SALES_LINE_SCHEMA`` rows (the bronze/sales export)."""
    rows = [
        {**{k: v for k, v in doc.items() if k != "items"}, **item} for doc in orders for item in doc["items"]
    ]
    return pa.Table.from_pylist(rows, schema=SALES_LINE_SCHEMA)
