"""Sales: customers with latent purchase rates and churn, and the orders they place each day.

Model (times in days since ``start``): customer *i* signs up at ``s_i`` and moves through three
states, a Markov chain the oracle knows exactly:

* **active** — buys as a Poisson process of rate ``r_i`` orders/day and visits the shop's website
  (:mod:`clickstream`) at full engagement; leaves this state at ``D_i = s_i + Exp(h_i)``, ``h_i``
  depending on segment, acquisition channel and (inversely) on the purchase rate;
* **disengaging** — the weeks before churn: buys at ``DISENGAGED_RATE × r_i`` and visits at
  :data:`DISENGAGED_VISITS` of its former engagement, for ``Exp(DISENGAGED_DAYS)`` days (hazard
  ``g = 1/DISENGAGED_DAYS``);
* **churned** from ``T_i`` on (``churn_at``): no orders, almost no visits.

So recency/frequency/monetary carry signal about churn, and the decline before it shows in the
recent order frequency and in the website sessions: features from several sources matter.
Every order placed counts as a purchase, whatever its later status (completed, refunded or
cancelled). Rates are scaled so that the expected number of orders on ``start`` is
``orders_per_day``.
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

STATUS_SHARE = (0.94, 0.04, 0.02)
#: purchase rate while disengaging, relative to the active rate
DISENGAGED_RATE = 0.3
#: mean length of the disengaging phase before churn, days
DISENGAGED_DAYS = 30.0
#: website visit propensity while disengaging, relative to the active one (see clickstream)
DISENGAGED_VISITS = 0.25  # completed, refunded, cancelled
_DISCOUNT_RATES = (0.0, 0.05, 0.10, 0.15, 0.20)
_DISCOUNT_SHARE = (0.78, 0.08, 0.07, 0.04, 0.03)


def no_purchase_probability(rate: np.ndarray, hazard: np.ndarray, horizon_days: float) -> np.ndarray:
    """P(no purchase within H days) for a customer with purchase rate r and churn hazard h (two states).

    Either churn comes first (competing exponentials, prob h/(h+r)) within H, or neither
    event happens within H: h/(h+r)·(1−e^{−H(h+r)}) + e^{−H(h+r)}.
    """
    total = rate + hazard
    survive = np.exp(-horizon_days * total)
    return hazard / total * (1.0 - survive) + survive


def no_purchase_probability_states(
    rate: np.ndarray,
    hazard: np.ndarray,
    horizon_days: float,
    disengaged_rate: float | None = None,
    disengaged_days: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """P(no purchase within H days) from the active and from the disengaging state (three states).

    Active: purchase rate r, hazard h to disengaging; disengaging: rate ρr, hazard g = 1/D to
    churned (no purchases). With a = r + h and b = ρr + g:
    P_D(H) = g/b + (1 − g/b)·e^{−bH};
    P_A(H) = e^{−aH} + ∫₀ᴴ h e^{−as} P_D(H−s) ds
           = e^{−aH} + (hg/(ab))(1 − e^{−aH}) + h(1 − g/b)(e^{−aH} − e^{−bH})/(b − a).
    """
    rho = DISENGAGED_RATE if disengaged_rate is None else disengaged_rate
    g = 1.0 / (DISENGAGED_DAYS if disengaged_days is None else disengaged_days)
    r, h = np.asarray(rate, dtype=np.float64), np.asarray(hazard, dtype=np.float64)
    a, b = r + h, rho * r + g
    ea, eb = np.exp(-a * horizon_days), np.exp(-b * horizon_days)
    p_d = g / b + (1.0 - g / b) * eb
    diff = b - a
    # (e^{−aH} − e^{−bH})/(b − a), and its limit H·e^{−aH} as b → a
    close = np.abs(diff) < 1e-9
    kernel = np.where(close, horizon_days * ea, (ea - eb) / np.where(close, 1.0, diff))
    p_a = ea + h * g / (a * b) * (1.0 - ea) + h * (1.0 - g / b) * kernel
    return p_a, p_d


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
        #: latent start of the disengaging phase, days since start (``hazard`` is its rate)
        self.disengage_at = self.signup + rng.exponential(1.0 / self.hazard)
        #: latent churn time, days since start: the end of the disengaging phase
        self.churn_at = self.disengage_at + rng.exponential(DISENGAGED_DAYS, n)
        at_start = np.where(self.active_at(0.0), 1.0, 0.0) + DISENGAGED_RATE * self.disengaging_at(0.0)
        scale = orders_per_day / max(float((raw_rate * at_start).sum()), 1e-9)
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
        """Signed up and not yet churned at ``t_days`` (days since start): active or disengaging."""
        return (self.signup <= t_days) & (self.churn_at > t_days)

    def active_at(self, t_days: float) -> np.ndarray:
        """Signed up and not yet disengaging at ``t_days``."""
        return (self.signup <= t_days) & (self.disengage_at > t_days)

    def disengaging_at(self, t_days: float) -> np.ndarray:
        """In the disengaging phase (the weeks before churn) at ``t_days``."""
        return (self.disengage_at <= t_days) & (self.churn_at > t_days)

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
        rng = np.random.default_rng([self.seed, 0x0D, d.toordinal()])
        buyers_t: list[np.ndarray] = []
        times: list[np.ndarray] = []
        # the active part of the day, then the disengaging part (at the lower rate)
        for start, end, factor in (
            (self.signup, self.disengage_at, 1.0),
            (np.maximum(self.signup, self.disengage_at), self.churn_at, DISENGAGED_RATE),
        ):
            lo = np.maximum(start, k)
            hi = np.minimum(end, k + 1)
            exposure = np.clip(hi - lo, 0.0, None)
            counts = rng.poisson(factor * self.rate * exposure)
            who = np.repeat(np.arange(self.n_customers), counts)
            buyers_t.append(who)
            times.append(lo[who] + rng.random(who.size) * (hi[who] - lo[who]))
        buyers, t = np.concatenate(buyers_t), np.concatenate(times)
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

        The window is ``(end of as_of, end of as_of + horizon]``. Churned customers: 1. Active and
        disengaging ones: :func:`no_purchase_probability_states` for their state (the chain is
        Markov: the oracle knows each customer's state, rate and hazard, not the future draws).
        """
        t = self.day_index(as_of) + 1.0
        known = self.signup <= t
        p_active, p_disengaging = no_purchase_probability_states(self.rate, self.hazard, float(horizon_days))
        p = np.where(self.active_at(t), p_active, np.where(self.disengaging_at(t), p_disengaging, 1.0))
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
