"""The simple baselines every forecast is reported beside (:mod:`ml.protocol` picks their settings).

* :func:`same_hour_mean` — the mean of the same hour of the week over the last ``weeks`` weeks
  (8 by default): the strongest simple baseline on a stationary weekly process.
* :func:`seasonal_naive` — the value one week earlier (``season=168``).
* :func:`holt_winters` — additive Holt-Winters (ETS(A,N,A): level + weekly season, on the counts)
  fitted per series on the last ``fit_weeks`` weeks, its two smoothing parameters chosen per series
  from a small grid by the in-sample one-step squared error. It is vectorised over series and grid
  (hundreds of series × dozens of origins in a second); for fixed parameters it is the recursion of
  statsmodels' ``ExponentialSmoothing(trend=None, seasonal="add")`` (a test holds them equal).
* :func:`ets_forecast` — statsmodels' Holt-Winters on log1p counts with DAILY seasonality (the
  earlier stand-in; slow: one optimiser run per series).

The BigQuery ML ``ARIMA_PLUS`` twin (``harness/dataform/bqml.py``) is scored by ``bench/bench_bqml.py``.
Every baseline floors its mean at :data:`ml.forecasting.metrics.MEAN_FLOOR` (a zero mean has an
infinite deviance).
"""

from __future__ import annotations

import warnings

import numpy as np

from ml.forecasting.metrics import MEAN_FLOOR

WEEK = 168
#: Holt-Winters smoothing grid: level (α) × season (γ)
HW_ALPHAS = (0.003, 0.01, 0.03, 0.1, 0.3)
HW_GAMMAS = (0.0, 0.03, 0.1, 0.3)


def seasonal_naive(history: np.ndarray, horizon: int, season: int = WEEK) -> np.ndarray:
    """Forecast y[T+h] = y[T+h−season·k] (k the smallest that reaches into history). history: (T, S)."""
    h = np.asarray(history, dtype=np.float64)
    if h.shape[0] < season:
        raise ValueError(f"seasonal naive needs at least {season} hours of history")
    last = h[-season:]
    reps = -(-horizon // season)
    return np.tile(last, (reps, 1))[:horizon] if h.ndim == 2 else np.tile(last, reps)[:horizon]


def same_hour_mean(history: np.ndarray, horizon: int, weeks: int = 8, season: int = WEEK) -> np.ndarray:
    """Mean of y[t−season·k], k = 1..``weeks`` (only lags inside the history), floored; (horizon, S)."""
    h = np.asarray(history, dtype=np.float64)
    if h.ndim == 1:
        h = h[:, None]
    if horizon > season:
        raise ValueError(f"the same-hour mean forecasts at most {season} hours ahead")
    n_t = h.shape[0]
    t = n_t + np.arange(horizon)  # target hours' indices
    total, count = np.zeros((horizon, h.shape[1])), np.zeros((horizon, 1))
    for k in range(1, weeks + 1):
        idx = t - season * k
        ok = idx >= 0
        total[ok] += h[idx[ok]]
        count[ok] += 1
    if not count.all():
        raise ValueError(f"the same-hour mean needs at least {season} hours of history")
    return np.maximum(total / count, MEAN_FLOOR)


def _hw_states(y: np.ndarray, alphas: np.ndarray, gammas: np.ndarray, season: int) -> tuple[np.ndarray, ...]:
    """Run the recursion for every (series, α, γ): returns (level, season table, one-step SSE).

    ``y``: (T, S); ``alphas``/``gammas``: (P,). The states broadcast as (P, S); the season table is
    (season, P, S), the slot of hour t being t % season. Initial level: the window's mean; initial
    season: the mean deviation of each hour of the week over the window's whole weeks.
    """
    n_t, n_s = y.shape
    n_weeks = n_t // season
    init = y[: n_weeks * season].reshape(n_weeks, season, n_s).mean(axis=0)  # (season, S)
    level0 = init.mean(axis=0)
    a = alphas[:, None]
    g = gammas[:, None]
    level = np.broadcast_to(level0, (len(alphas), n_s)).copy()
    table = np.broadcast_to((init - level0)[:, None, :], (season, len(alphas), n_s)).copy()
    sse = np.zeros((len(alphas), n_s))
    err, step = np.empty_like(level), np.empty_like(level)
    for t in range(n_t):
        # with e = y − (ℓ + s): ℓ' = α(y − s) + (1 − α)ℓ = ℓ + αe and s' = γ(y − ℓ) + (1 − γ)s = s + γe
        s_old = table[t % season]
        np.subtract(y[t], s_old, out=err)
        err -= level
        if t >= season:  # the first week is spent on the initial season
            np.multiply(err, err, out=step)
            sse += step
        np.multiply(g, err, out=step)
        s_old += step
        np.multiply(a, err, out=step)
        level += step
    return level, table, sse


def holt_winters(history: np.ndarray, horizon: int, fit_weeks: int = 4, season: int = WEEK) -> np.ndarray:
    """Additive Holt-Winters (level + weekly season) per series, parameters picked per series; (horizon, S)."""
    h = np.asarray(history, dtype=np.float64)
    if h.ndim == 1:
        h = h[:, None]
    n_weeks = min(fit_weeks, h.shape[0] // season)
    if n_weeks < 2:
        raise ValueError(f"Holt-Winters needs at least two weeks ({2 * season} hours) of history")
    window = h[-n_weeks * season :]
    grid_a, grid_g = np.meshgrid(np.array(HW_ALPHAS), np.array(HW_GAMMAS), indexing="ij")
    level, table, sse = _hw_states(window, grid_a.ravel(), grid_g.ravel(), season)
    best = np.argmin(sse, axis=0)  # (S,)
    cols = np.arange(h.shape[1])
    n_t = window.shape[0]
    slots = (n_t + np.arange(horizon)) % season
    forecast = level[best, cols][None, :] + table[slots][:, best, cols]
    return np.maximum(forecast, MEAN_FLOOR)


def holt_winters_fixed(
    history: np.ndarray, horizon: int, alpha: float, gamma: float, season: int = WEEK
) -> np.ndarray:
    """The same recursion with given parameters over all of ``history`` (a whole number of weeks); unfloored."""
    y = np.asarray(history, dtype=np.float64)
    if y.ndim == 1:
        y = y[:, None]
    level, table, _ = _hw_states(y, np.array([alpha]), np.array([gamma]), season)
    slots = (y.shape[0] + np.arange(horizon)) % season
    return level[0][None, :] + table[slots][:, 0, :]


def ets_forecast(history: np.ndarray, horizon: int, season: int = 24, fit_weeks: int = 4) -> np.ndarray:
    """Holt-Winters (additive daily seasonality on log1p counts) per column of ``history`` (T, S)."""
    from statsmodels.tsa.holtwinters import ExponentialSmoothing

    h = np.asarray(history, dtype=np.float64)
    if h.ndim == 1:
        h = h[:, None]
    window = h[-fit_weeks * 168 :]
    out = np.empty((horizon, h.shape[1]))
    for j in range(h.shape[1]):
        y = np.log1p(window[:, j])
        if np.ptp(y) == 0:
            out[:, j] = window[-1, j]
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = ExponentialSmoothing(y, trend=None, seasonal="add", seasonal_periods=season).fit()
            out[:, j] = np.expm1(fit.forecast(horizon))
    return np.clip(out, 0.0, None)
