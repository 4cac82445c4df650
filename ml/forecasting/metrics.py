"""Forecast accuracy for hourly COUNTS, and the older sMAPE/MASE kept as secondary figures.

Primary: the mean Poisson deviance per cell (series × hour), the proper score of a count forecast's
mean; it stays finite and meaningful on sparse series (mostly-zero hours), where sMAPE rewards an
all-zero forecast and an hourly MASE divides by zero. Beside it: MASE on DAILY totals (each
series' in-sample weekly-seasonal-naive MAE of daily totals as the scale), the total bias, and the
coverage of central prediction intervals.

Interval coverage of a COUNT forecast is measured on the randomized PIT (Czado, Gneiting & Held
2009), in expectation: for an observation ``y`` with predictive CDF ``F``, the PIT is uniform on
``[F(y−1), F(y)]``, and the score is the share of that range inside ``[α, 1−α]``. A calibrated
forecast scores exactly the nominal level, whatever the counts; the plain "y inside the integer
interval" share (:func:`interval_hit_rate`) over-covers when counts are small (a Poisson(0.2)
95 % interval [0, 1] holds 98 % of draws) and is reported beside it.

The noise floor is not a formula: it is the score of the oracle that forecasts the process's true
expected counts, computed with these same functions.
"""

from __future__ import annotations

import numpy as np
from scipy import special, stats


def smape(actual: np.ndarray, forecast: np.ndarray) -> float:
    """Symmetric MAPE in percent: mean of 200·|F−A| / (|A|+|F|), a 0/0 term counting as 0."""
    a = np.asarray(actual, dtype=np.float64)
    f = np.asarray(forecast, dtype=np.float64)
    if a.shape != f.shape:
        raise ValueError(f"actual {a.shape} and forecast {f.shape} differ in shape")
    if a.size == 0:
        raise ValueError("sMAPE of nothing")
    denom = np.abs(a) + np.abs(f)
    terms = np.divide(2.0 * np.abs(f - a), denom, out=np.zeros_like(denom), where=denom > 0)
    return float(100.0 * terms.mean())


def seasonal_naive_scale(history: np.ndarray, season: int) -> float:
    """In-sample MAE of the seasonal-naive forecast y[t−season] over ``history`` (MASE's denominator)."""
    h = np.asarray(history, dtype=np.float64)
    if h.size <= season:
        raise ValueError(f"MASE needs more than {season} history points, got {h.size}")
    return float(np.mean(np.abs(h[season:] - h[:-season])))


def mase(actual: np.ndarray, forecast: np.ndarray, history: np.ndarray, season: int = 168) -> float:
    """Mean absolute scaled error: MAE of the forecast / in-sample seasonal-naive MAE of ``history``."""
    a = np.asarray(actual, dtype=np.float64)
    f = np.asarray(forecast, dtype=np.float64)
    if a.shape != f.shape:
        raise ValueError(f"actual {a.shape} and forecast {f.shape} differ in shape")
    scale = seasonal_naive_scale(history, season)
    if scale == 0:
        return float("inf") if np.any(a != f) else 0.0
    return float(np.mean(np.abs(a - f)) / scale)


def poisson_deviance(actual: np.ndarray, mean: np.ndarray) -> float:
    """Mean Poisson deviance per cell: 2·[y·log(y/μ) − (y − μ)] (a y = 0 cell scores 2μ).

    A forecast of 0 where something happened is infinitely wrong (that is the deviance's point);
    methods that can forecast 0 floor their means (:data:`MEAN_FLOOR`).
    """
    y = np.asarray(actual, dtype=np.float64)
    mu = np.asarray(mean, dtype=np.float64)
    if y.shape != mu.shape:
        raise ValueError(f"actual {y.shape} and mean {mu.shape} differ in shape")
    if y.size == 0:
        raise ValueError("deviance of nothing")
    if (mu < 0).any():
        raise ValueError("a forecast mean is negative")
    with np.errstate(divide="ignore", invalid="ignore"):
        ylogy = np.where(y > 0, y * np.log(y / mu), 0.0)
    return float(np.mean(2.0 * (ylogy - (y - mu))))


#: the smallest mean a baseline forecasts (events per series-hour): a zero mean makes the deviance infinite
MEAN_FLOOR = 1e-3


def total_bias(actual: np.ndarray, mean: np.ndarray) -> float:
    """(Σ forecast − Σ actual) / Σ actual: +0.05 forecasts 5 % too many events in total."""
    total = float(np.sum(actual))
    if total == 0:
        return float("nan")
    return float((np.sum(mean) - total) / total)


def daily_mase(actual: np.ndarray, mean: np.ndarray, histories: list[np.ndarray]) -> tuple[float, int]:
    """MASE of DAILY totals, averaged over series; returns (value, series left out).

    ``actual``/``mean``: (n_origins, H, S) with H a multiple of 24 (leads grouped into days from the
    origin); ``histories[i]``: the (T_i, S) hours up to origin i. Each series' scale is the in-sample
    MAE of the weekly seasonal naive on its daily totals (the last 8 weeks of the first origin's
    history, whole days ending at the origin). A series whose scale is 0 (never any event) is left out
    and counted.
    """
    a = np.asarray(actual, dtype=np.float64)
    f = np.asarray(mean, dtype=np.float64)
    n_o, h, n_s = a.shape
    if h % 24:
        raise ValueError(f"daily MASE needs whole days of leads, got {h} hours")
    days_a = a.reshape(n_o, h // 24, 24, n_s).sum(axis=2)
    days_f = f.reshape(n_o, h // 24, 24, n_s).sum(axis=2)
    hist = np.asarray(histories[0], dtype=np.float64)
    n_days = min(len(hist) // 24, 56)
    if n_days <= 7:
        raise ValueError("daily MASE needs more than a week of history")
    daily_hist = hist[len(hist) - 24 * n_days :].reshape(n_days, 24, n_s).sum(axis=1)
    scale = np.mean(np.abs(daily_hist[7:] - daily_hist[:-7]), axis=0)  # (S,)
    mae = np.mean(np.abs(days_a - days_f), axis=(0, 1))  # (S,)
    ok = scale > 0
    if not ok.any():
        return float("nan"), int(n_s)
    return float(np.mean(mae[ok] / scale[ok])), int((~ok).sum())


def predictive_cdf(y: np.ndarray, mean: np.ndarray, dispersion: float = 0.0) -> np.ndarray:
    """P(Y ≤ y) under Poisson(μ) (``dispersion`` 0) or the negative binomial with Var = μ + φ·μ²."""
    y = np.asarray(y, dtype=np.float64)
    mu = np.maximum(np.asarray(mean, dtype=np.float64), 1e-12)
    if dispersion <= 0:
        return np.asarray(stats.poisson.cdf(y, mu), dtype=np.float64)
    n = 1.0 / dispersion
    return np.asarray(stats.nbinom.cdf(y, n, n / (n + mu)), dtype=np.float64)


def _count_bounds(y: np.ndarray, mu: np.ndarray, dispersion: float) -> tuple[np.ndarray, np.ndarray]:
    """(F(y−1), F(y)) at whole counts ``y ≥ 0``, means ``mu`` already floored: F(y−1) from the
    functions ``scipy.stats`` evaluates (``pdtr``; ``nbinom``'s regularised incomplete beta) only
    where y > 0, F(y) = F(y−1) + P(y), and F(0) in closed form (``e^−μ``; ``pⁿ``) — where most cells
    of sparse series are. The same values as :func:`predictive_cdf` to ~1e-15, at a fraction of the
    cost on a backtest's millions of cells (``scipy.stats``' argument checks alone cost as much)."""
    flat_y, flat_mu = y.ravel(), mu.ravel()
    counted = np.flatnonzero(flat_y > 0)
    k, m = flat_y[counted], flat_mu[counted]
    lower = np.zeros(flat_y.shape)
    if dispersion <= 0:
        upper = np.exp(-flat_mu)
        below = special.pdtr(k - 1.0, m)
        pmf = np.exp(k * np.log(m) - m - special.gammaln(k + 1.0))
    else:
        n = 1.0 / dispersion
        p = n / (n + flat_mu)
        upper = p**n
        pk = p[counted]
        below = special.betainc(n, k, pk)
        log_pmf = special.gammaln(k + n) - special.gammaln(n) - special.gammaln(k + 1.0)
        pmf = np.exp(log_pmf + n * np.log(pk) + k * np.log1p(-pk))
    lower[counted] = below
    upper[counted] = np.minimum(below + pmf, 1.0)
    return lower.reshape(y.shape), upper.reshape(y.shape)


def predictive_interval(
    mean: np.ndarray, level: float, dispersion: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """The central ``level`` interval (integer bounds) of the predictive distribution."""
    alpha = (1.0 - level) / 2
    mu = np.maximum(np.asarray(mean, dtype=np.float64), 1e-12)
    if dispersion <= 0:
        return stats.poisson.ppf(alpha, mu), stats.poisson.ppf(1 - alpha, mu)
    n = 1.0 / dispersion
    p = n / (n + mu)
    return stats.nbinom.ppf(alpha, n, p), stats.nbinom.ppf(1 - alpha, n, p)


def pit_bounds(
    actual: np.ndarray, mean: np.ndarray, dispersion: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """(F(y−1), F(y)) of each observation under the predictive distribution: the randomized PIT's range."""
    y = np.asarray(actual, dtype=np.float64)
    mu = np.broadcast_to(np.maximum(np.asarray(mean, dtype=np.float64), 1e-12), y.shape)
    if (y < 0).any() or not np.array_equal(y, np.floor(y)):
        upper_cdf = predictive_cdf(y, mean, dispersion)
        lower_cdf = np.where(y > 0, predictive_cdf(np.maximum(y - 1, 0), mean, dispersion), 0.0)
        return lower_cdf, upper_cdf
    return _count_bounds(y, np.ascontiguousarray(mu), dispersion)


def pit_coverage_from(bounds: tuple[np.ndarray, np.ndarray], level: float) -> float:
    """Expected coverage of the central ``level`` interval given :func:`pit_bounds`."""
    lower_cdf, upper_cdf = bounds
    alpha = (1.0 - level) / 2
    lo, hi = alpha, 1.0 - alpha
    width = upper_cdf - lower_cdf
    inside = np.clip(np.minimum(upper_cdf, hi) - np.maximum(lower_cdf, lo), 0.0, None)
    share = np.divide(inside, width, out=np.zeros_like(width), where=width > 0)
    point = (width <= 0) & (upper_cdf >= lo) & (upper_cdf <= hi)
    return float(np.mean(np.where(point, 1.0, share)))


def hit_rate_from(bounds: tuple[np.ndarray, np.ndarray], level: float) -> float:
    """Share of observations inside the integer interval [ppf(α), ppf(1−α)] given :func:`pit_bounds`.

    ``y ≥ ppf(α)`` ⇔ ``F(y) ≥ α`` and ``y ≤ ppf(1−α)`` ⇔ ``F(y−1) < 1−α`` (ppf: the smallest k with F(k) ≥ q).
    """
    lower_cdf, upper_cdf = bounds
    alpha = (1.0 - level) / 2
    return float(np.mean((upper_cdf >= alpha) & (lower_cdf < 1.0 - alpha)))


def pit_coverage(actual: np.ndarray, mean: np.ndarray, level: float, dispersion: float = 0.0) -> float:
    """Expected coverage of the central ``level`` interval under the randomized PIT (exact for counts)."""
    return pit_coverage_from(pit_bounds(actual, mean, dispersion), level)


def interval_hit_rate(actual: np.ndarray, mean: np.ndarray, level: float, dispersion: float = 0.0) -> float:
    """Share of observations inside the integer interval of :func:`predictive_interval` (over-covers at small counts)."""
    return hit_rate_from(pit_bounds(actual, mean, dispersion), level)
