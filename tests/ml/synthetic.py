"""Small synthetic inputs for the ML tests: churn feature rows and hourly count series with known structure."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np
import pandas as pd


def churn_features(
    n_customers: int = 300, n_weeks: int = 16, seed: int = 0, end: date = date(2026, 4, 26)
) -> pd.DataFrame:
    """Weekly feature rows whose label depends on a latent purchase rate the features reveal (noisily).

    Labels are NULL for as_of_dates within 30 days of ``end`` (not observable yet), as in the warehouse.
    """
    rng = np.random.default_rng(seed)
    rate = rng.lognormal(-2.0, 0.8, n_customers)  # orders per day
    segment = rng.choice(["consumer", "smb", "enterprise"], n_customers)
    country = rng.choice(["US", "DE", "FR"], n_customers)
    rows = []
    for w in range(n_weeks):
        as_of = end - timedelta(days=7 * (n_weeks - 1 - w))
        f30 = rng.poisson(rate * 30)
        f90 = f30 + rng.poisson(rate * 60)
        recency = np.minimum(rng.exponential(1 / rate), 400).astype(int)
        p_churn = np.exp(-30 * rate)
        label = (rng.random(n_customers) < p_churn).astype(float)
        observable = as_of + timedelta(days=30) <= end
        for i in range(n_customers):
            rows.append(
                {
                    "customer_id": f"C{i:04d}",
                    "as_of_date": as_of,
                    "recency_days": int(recency[i]),
                    "frequency_30d": int(f30[i]),
                    "frequency_90d": int(f90[i]),
                    "monetary_90d_usd": float(f90[i] * 40.0),
                    "orders_total": int(f90[i] + 3),
                    "avg_order_value_usd": 40.0 + float(rng.normal(0, 5)),
                    "tenure_days": 200 + 7 * w,
                    "sessions_30d": int(rng.poisson(rate[i] * 60)),
                    "sessions_90d": int(rng.poisson(rate[i] * 180)),
                    "last_gap_days": int(rng.exponential(1 / rate[i])) + 1,
                    "page_views_30d": int(rng.poisson(rate[i] * 200)),
                    "add_to_cart_30d": int(rng.poisson(rate[i] * 20)),
                    "days_since_last_session": None if rng.random() < 0.3 else int(rng.integers(0, 60)),
                    "customer_segment": str(segment[i]),
                    "customer_country": str(country[i]),
                    "label_churn_30d": int(label[i]) if observable else None,
                }
            )
    df = pd.DataFrame(rows)
    df["label_churn_30d"] = df["label_churn_30d"].astype("Int64")
    df["days_since_last_session"] = df["days_since_last_session"].astype("Int64")
    return df


def hourly_series(
    n_hours: int = 24 * 7 * 6, seed: int = 0, start: datetime = datetime(2026, 1, 5, tzinfo=UTC)
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Two country × platform series of Poisson counts with a known weekly intensity; (observed, expected)."""
    rng = np.random.default_rng(seed)
    hours = pd.date_range(start, periods=n_hours, freq="h")
    how = (hours.day_of_week * 24 + hours.hour).to_numpy()
    profile = 1.0 + 0.8 * np.sin(2 * np.pi * (how % 24) / 24) + 0.2 * (how >= 5 * 24)
    obs, exp = [], []
    for country, platform, level in (("US", "ios", 40.0), ("DE", "web", 8.0)):
        mu = level * profile
        counts = rng.poisson(mu)
        obs.append(
            pd.DataFrame({"ts_hour": hours, "country": country, "platform": platform, "event_count": counts})
        )
        exp.append(pd.DataFrame({"ts_hour": hours, "country": country, "platform": platform, "expected": mu}))
    return pd.concat(obs, ignore_index=True), pd.concat(exp, ignore_index=True)
