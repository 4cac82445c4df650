"""Static parts of the sales world: products, stores, customer countries, currencies and fx."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

CATEGORIES = {
    "electronics": (40.0, 900.0), "home": (10.0, 300.0), "fashion": (8.0, 180.0), "beauty": (5.0, 90.0),
    "sports": (10.0, 400.0), "books": (5.0, 45.0), "toys": (6.0, 120.0), "grocery": (2.0, 40.0),
}  # fmt: skip
_ADJECTIVES = ("Classic", "Smart", "Eco", "Pro", "Ultra", "Compact", "Deluxe", "Basic", "Urban", "Nordic")
_NOUNS = {
    "electronics": ("Headphones", "Tablet", "Speaker", "Monitor", "Camera", "Router"),
    "home": ("Lamp", "Kettle", "Blanket", "Vase", "Chair", "Shelf"),
    "fashion": ("Jacket", "Sneakers", "Scarf", "Jeans", "Backpack", "Watch"),
    "beauty": ("Serum", "Shampoo", "Lotion", "Perfume", "Brush Set", "Face Mask"),
    "sports": ("Yoga Mat", "Bike Helmet", "Dumbbells", "Racket", "Tent", "Running Vest"),
    "books": ("Cookbook", "Novel", "Atlas", "Guidebook", "Notebook", "Comic"),
    "toys": ("Puzzle", "Robot Kit", "Plush Bear", "Board Game", "Train Set", "Kite"),
    "grocery": ("Coffee Beans", "Olive Oil", "Green Tea", "Chocolate", "Honey", "Granola"),
}
#: customer country -> (share of customers, currency)
CUSTOMER_COUNTRIES = {
    "US": (0.34, "USD"), "GB": (0.12, "GBP"), "DE": (0.10, "EUR"), "FR": (0.08, "EUR"), "ES": (0.05, "EUR"),
    "IT": (0.05, "EUR"), "NL": (0.04, "EUR"), "JP": (0.07, "JPY"), "BR": (0.07, "BRL"), "IN": (0.05, "INR"),
    "CA": (0.03, "USD"),
}  # fmt: skip
#: USD per unit of currency (approximate early-2026 levels); multiplied by a small daily drift
FX_TO_USD = {"USD": 1.0, "EUR": 1.08, "GBP": 1.27, "JPY": 0.0066, "BRL": 0.19, "INR": 0.0119}
SEGMENTS = ("consumer", "small_business", "enterprise")
SEGMENT_SHARE = (0.70, 0.22, 0.08)
#: mean purchase rate (orders/day) relative factor and mean churn hazard (1/day) per segment
SEGMENT_RATE = (1.0, 1.4, 2.2)
SEGMENT_HAZARD = (0.0022, 0.0012, 0.0006)
ACQUISITION = ("organic", "paid_search", "social", "referral")
ACQUISITION_SHARE = (0.40, 0.25, 0.20, 0.15)
#: churn hazard multiplier per acquisition channel (paid/social customers leave sooner)
ACQUISITION_HAZARD = (1.0, 1.5, 1.8, 0.7)
CHANNELS = ("web", "app", "store", "marketplace")
CHANNEL_SHARE = (0.45, 0.30, 0.15, 0.10)


@dataclass(frozen=True)
class Product:
    product_id: str
    name: str
    category: str
    price_usd: float
    popularity: float


@dataclass(frozen=True)
class Store:
    store_id: str
    country: str
    opened: date


def make_products(rng: np.random.Generator, n: int = 200) -> list[Product]:
    cats = list(CATEGORIES)
    out = []
    for i in range(n):
        cat = cats[i % len(cats)]
        lo, hi = CATEGORIES[cat]
        price = float(np.round(np.exp(rng.uniform(np.log(lo), np.log(hi))), 0) - 0.01)
        name = f"{_ADJECTIVES[rng.integers(len(_ADJECTIVES))]} {_NOUNS[cat][rng.integers(6)]} {100 + i}"
        out.append(Product(f"P{i + 1:04d}", name, cat, max(price, 0.99), float(rng.pareto(1.5) + 0.2)))
    return out


def make_stores() -> list[Store]:
    """Two physical stores per customer country (channel ``store``); online orders use ``ONLINE-<CC>``."""
    return [Store(f"ST-{cc}-{k}", cc, date(2018 + k, 3, 1)) for cc in CUSTOMER_COUNTRIES for k in (1, 2)]
