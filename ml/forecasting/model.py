"""A small PyTorch forecaster for hourly event counts, trained with the Poisson log-likelihood.

Direct multi-horizon: for a forecast origin ``o`` (last observed hour) and lead ``h`` the
target hour is ``t = o + h`` and every input is known at ``o``:

* calendar of ``t``: hour of day, day of week and hour of week as sin/cos, and ``h/168``;
* log-scale lags: mean of ``y[t−168k]`` over the last ``weeks`` weeks, ``y[t−168]``, the latest
  same-hour-of-day value ``y[t−24⌈h/24⌉]``, and the 24 h / 168 h rolling means at ``o``;
* known in advance: the public holidays of the target hour and of the hour a week earlier (the
  series' country, local time: :mod:`ml.forecasting.calendar`);
* pooled recent lifts at ``o``: the last 24 h against the last week's daily mean, summed over the
  series' platform (app releases, platform outages) and over its country (campaigns);
* a learned embedding of the series (country × platform).

The offset is the log of a pooled weekly same-hour mean: the country's mean over the last
``weeks`` weeks times the series' share of the country's events over those weeks (platforms of a
country share one activity profile, so pooling cuts the variance). The network outputs a log-rate correction to
that offset (zero-initialised head), trained with the Poisson log-likelihood weighted by 1/series
level, and early-stopped on the last week of target hours — when no epoch beats the offset on
that week, the offset alone is kept (``best_epoch`` = 0 in the fit statistics).

Bounded windows (issue 17): a forecast reads only the last ``ForecasterConfig.history_hours`` of
its history (older hours change nothing), and a fit trains from the origins of its last
``train_weeks`` weeks within a budget of ``max_train_rows`` (:func:`training_origins`), reading
only the hours their features need: once the history fills the window, a longer one costs nothing.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ml.forecasting.backtest import Predictive
from ml.forecasting.calendar import KnownEvents
from ml.forecasting.metrics import MEAN_FLOOR
from ml.forecasting.readiness import (
    EARLY_STOPPING_HOURS,
    LAG_WEEKS,
    TRAIN_MIN_HISTORY_WEEKS,
    TRAIN_WINDOW_WEEKS,
    WEEK_HOURS,
)
from ml.protocol import FORECAST
from ml.registry.base import read_metadata, write_metadata
from ml.threads import ml_threads

KIND = "app_activity_forecaster"
WEEK = WEEK_HOURS


@dataclass
class ForecasterConfig:
    horizon: int = FORECAST.horizon
    weeks: int = LAG_WEEKS
    #: a small MLP without a per-series embedding (0): with hundreds of sparse series an embedding
    #: memorises each series' noise within an epoch (measured: bench sparse regime, issue 20)
    hidden: int = 16
    embed_dim: int = 0
    epochs: int = FORECAST.epochs
    batch_size: int = 16384
    lr: float = 2e-3
    weight_decay: float = 0.1
    #: the last hours of the training data held out (as targets) for early stopping; 0 disables
    val_hours: int = EARLY_STOPPING_HOURS
    origin_stride: int = 7
    #: at most this many training rows (origins × leads × series, the early-stopping targets not
    #: counted): with many series (hundreds at replay volumes) fewer origins are kept, spread over
    #: the training window, so that a fit stays a few seconds per epoch (:func:`training_origins`)
    max_train_rows: int = 1_000_000
    seed: int = 0
    #: negative-binomial dispersion φ of the predictive distribution (Var = μ + φμ²), fitted on the
    #: early-stopping hours; 0 (Poisson) until fitted or when those hours show no over-dispersion
    dispersion: float = 0.0
    #: the offset the net corrects: "local_profile" (a shared local-time profile × each series'
    #: level), "country_mean" (the country's pooled same-hour mean) or "auto" (the fit keeps the
    #: one with the lower Poisson deviance on its training targets)
    offset: str = "auto"
    keys: list[list[str]] = field(default_factory=list)
    #: where ``fit`` trains ("cuda" on a GPU machine: ``ml.training.forecaster_job`` picks it);
    #: the fitted net goes back to the CPU, where ``predict``/``save`` work
    device: str = "cpu"
    #: the company's release/campaign calendar as known-future inputs (:class:`ml.forecasting.
    #: calendar.KnownEvents`): the app-event generator's plan for this seed; None: not known
    known_events_seed: int | None = None
    #: the linear path's inputs: "all" features, or "calendar" (the known-in-advance ones only:
    #: holidays, campaigns, releases — see :data:`CALENDAR_FEATURES`)
    linear_inputs: str = "all"

    #: training origins need this many weeks of history (None: ``weeks``, so every training row's
    #: weekly mean is as precise as at forecast time; fewer admits more target hours, so less overfit)
    min_weeks: int | None = TRAIN_MIN_HISTORY_WEEKS
    #: the training window: a fit's origins lie in the last ``train_weeks`` weeks before its last
    #: origin, and it reads only those origins' :attr:`history_hours` before them, so that a fit's
    #: cost stops growing with the history (None: every origin since ``min_history``)
    train_weeks: int | None = TRAIN_WINDOW_WEEKS

    @property
    def min_history(self) -> int:
        return WEEK * (self.min_weeks or self.weeks)

    @property
    def history_hours(self) -> int:
        """Hours of history a forecast from one origin reads (the weekly lags, the local profile and
        the level, the series' share of its country): older hours do not change it."""
        return WEEK * max(self.weeks, self.min_weeks or 0, PROFILE_WEEKS, LEVEL_WEEKS)

    def groups(self) -> np.ndarray:
        """Series index → country index: platforms of one country share its activity profile."""
        countries = sorted({k[0] for k in self.keys})
        return np.array([countries.index(k[0]) for k in self.keys], dtype=np.int64)

    def context(self) -> SeriesContext:
        return SeriesContext.of([tuple(k) for k in self.keys])  # type: ignore[misc]

    def events(self) -> KnownEvents | None:
        if self.known_events_seed is None or not self.keys:
            return None
        return _known_events(int(self.known_events_seed), self.context().countries)


@lru_cache(maxsize=8)
def _known_events(seed: int, countries: tuple[str, ...]) -> KnownEvents:
    return KnownEvents.from_generator(seed, countries)


@dataclass(frozen=True)
class SeriesContext:
    """What the design knows about the series besides their counts: country and platform of each."""

    #: per series: index into ``countries`` / into the sorted platforms
    country: np.ndarray
    platform: np.ndarray
    countries: tuple[str, ...]
    platforms: tuple[str, ...] = ()

    @classmethod
    def of(cls, keys: list[tuple[str, str]]) -> SeriesContext:
        countries = tuple(sorted({k[0] for k in keys}))
        platforms = sorted({k[1] for k in keys})
        return cls(
            np.array([countries.index(k[0]) for k in keys], dtype=np.int64),
            np.array([platforms.index(k[1]) for k in keys], dtype=np.int64),
            countries,
            tuple(platforms),
        )


N_FEATURES = 25
#: indices of the known-in-advance inputs: holiday of the target hour and a week before, the share
#: of holidays in the last two weeks, the campaign and release inputs of :class:`KnownEvents`
CALENDAR_FEATURES = (15, 16, 19, 20, 21, 22, 23, 24)
#: index of log1p(the country's pooled same-hour mean) among the features
POOLED_FEATURE = 13


def _mean_deviance(y: np.ndarray, mu: np.ndarray) -> float:
    from ml.forecasting.metrics import poisson_deviance

    return poisson_deviance(y, mu)


#: weeks of history the shared local-time profile is estimated on, and the series' level
PROFILE_WEEKS, LEVEL_WEEKS = 4, 2


def local_hour_of_week(context: SeriesContext, epoch_hours: np.ndarray) -> np.ndarray:
    """Local hour of the week (Monday 00 = 0) of each hour in each series' country: (len(hours), S)."""
    from ml.forecasting.calendar import country_offsets

    offsets = country_offsets(context.countries, epoch_hours)  # minutes, (hours, countries)
    local = (np.asarray(epoch_hours, dtype=np.int64)[:, None] * 60 + offsets) // 60
    return np.asarray((local + 72) % WEEK)[:, context.country]  # 1970-01-01 was a Thursday


def local_profile_mean(
    y: np.ndarray, hours_epoch_h: np.ndarray, origins: np.ndarray, t: np.ndarray, context: SeriesContext
) -> np.ndarray | None:
    """level_s × profile(local hour of week) per (origin, lead, series), or None without a whole week.

    Every country follows one activity profile in its local time (people's days are alike), so the
    profile is pooled over every series in local time on the last ``PROFILE_WEEKS`` whole weeks
    before the origin — nearly noise-free even where each series sees a fraction of an event an
    hour — and each series keeps its own level (its mean over the last ``LEVEL_WEEKS`` weeks).
    """
    first_h = int(hours_epoch_h[0])
    span = np.arange(first_h, first_h + int(t.max()) + 1)
    how = local_hour_of_week(context, span)  # (T + H, S)
    out = np.empty((*t.shape, y.shape[1]))
    csum = np.vstack([np.zeros((1, y.shape[1])), np.cumsum(y, axis=0)])
    for i, o in enumerate(origins.tolist()):
        weeks = min(PROFILE_WEEKS, (o + 1) // WEEK)
        if weeks == 0:
            return None
        lo = o + 1 - weeks * WEEK
        window = y[lo : o + 1]
        level_lo = o + 1 - min(LEVEL_WEEKS, weeks) * WEEK
        level = (csum[o + 1] - csum[level_lo]) / (o + 1 - level_lo)  # (S,)
        total = np.bincount(how[lo : o + 1].ravel(), weights=window.ravel(), minlength=WEEK)
        exposure = np.bincount(
            how[lo : o + 1].ravel(),
            weights=np.broadcast_to(window.mean(axis=0), window.shape).ravel(),
            minlength=WEEK,
        )
        profile = np.divide(total, exposure, out=np.ones(WEEK), where=exposure > 0)
        out[i] = level[None, :] * profile[how[t[i]]]
    return out


def _pooled_lift(sum24: np.ndarray, sum168: np.ndarray, group: np.ndarray) -> np.ndarray:
    """log((group's last-24 h events + 1) / (group's last-168 h events / 7 + 1)) per (origin, series)."""
    onehot = (group[:, None] == np.arange(group.max() + 1)[None, :]).astype(np.float64)
    g24, g168 = sum24 @ onehot, sum168 @ onehot
    return np.asarray(np.log((g24 + 1.0) / (g168 / 7.0 + 1.0)) @ onehot.T)


def design(  # type: ignore[no-untyped-def]
    values: np.ndarray,
    hours_epoch_h: np.ndarray,
    origins: np.ndarray,
    horizon: int,
    weeks: int,
    groups: np.ndarray | None = None,
    context: SeriesContext | None = None,
    offset_kind: str = "local_profile",
    events: KnownEvents | None = None,
):
    """Features (n_o, H, S, F), the log offset (n_o, H, S) and target indices (n_o, H) for these origins.

    ``values`` (T, S) counts; ``hours_epoch_h`` (T,) hours since the epoch; ``origins`` indices into T.
    Lags that reach before the start of ``values`` are left out of the means. ``groups`` maps
    series to a pooling group (the country): the group's weekly same-hour mean times the series'
    share of the group's history is a lower-variance estimate of the series' own weekly mean.
    ``context`` (country and platform of each series) adds the known-in-advance public holidays of
    the target hour and of the hour a week before it (local time), and the pooled recent lifts: the
    last 24 h against the last week's daily mean over the series' platform and over its country
    (an app release moves a platform everywhere, a campaign a country's every platform: pooled, the
    sparse series see them through the noise), and the share of the last two weeks spent on
    holidays (they lift the level the offset is estimated on). ``events`` (the company's release
    and campaign calendar) adds the campaign share of the target hour and of the last two weeks
    (the series' country), and the decayed release activity of the target hour (half-lives 12 h
    and 36 h) and of the last week (the series' platform); without it those inputs are zero.
    """
    y = np.asarray(values, dtype=np.float64)
    n_t, n_s = y.shape
    o = np.asarray(origins, dtype=np.int64)[:, None]
    lead = np.arange(1, horizon + 1)[None, :]
    t = o + lead  # (n_o, H)
    lagged = []
    for k in range(1, weeks + 1):
        idx = t - WEEK * k
        lagged.append(np.where((idx >= 0)[..., None], y[np.clip(idx, 0, n_t - 1)], np.nan))
    stacked = np.stack(lagged)
    week_mean = np.nanmean(stacked, axis=0)  # (n_o, H, S)
    weeks_seen = np.isfinite(stacked[..., :1]).sum(axis=0) / weeks  # (n_o, H, 1)
    group = np.arange(n_s) if groups is None else np.asarray(groups)
    onehot = (group[:, None] == np.arange(group.max() + 1)[None, :]).astype(np.float64)  # (S, G)
    last_week = lagged[0]
    same_hour = y[np.clip(t - 24 * -(-lead // 24), 0, n_t - 1)]
    csum = np.vstack([np.zeros((1, n_s)), np.cumsum(y, axis=0)])
    oi = o[:, 0]
    mean24 = (csum[oi + 1] - csum[np.clip(oi - 23, 0, None)]) / np.minimum(oi + 1, 24)[:, None]
    mean168 = (csum[oi + 1] - csum[np.clip(oi - 167, 0, None)]) / np.minimum(oi + 1, 168)[:, None]
    th = (hours_epoch_h[0] + t).astype(np.float64)  # hours since epoch of the targets
    hod, dow, how = th % 24, (th // 24 + 3) % 7, (th + 72) % WEEK  # 1970-01-01 was a Thursday
    cal = np.stack(
        [
            np.sin(2 * np.pi * hod / 24), np.cos(2 * np.pi * hod / 24),
            np.sin(2 * np.pi * dow / 7), np.cos(2 * np.pi * dow / 7),
            np.sin(2 * np.pi * how / WEEK), np.cos(2 * np.pi * how / WEEK),
            np.broadcast_to(lead / WEEK, t.shape),
        ],
        axis=-1,
    )  # fmt: skip
    group_mean = np.nan_to_num(week_mean) @ onehot  # (n_o, H, G)
    # each series' share of its group over the same ``weeks`` weeks before the origin (a bounded
    # window: a forecast depends on no older hour, see ``ForecasterConfig.history_hours``)
    own = csum[oi + 1] - csum[np.clip(oi + 1 - WEEK * weeks, 0, None)]  # (n_o, S)
    group_total = own @ onehot  # (n_o, G)
    share = np.divide(
        own, group_total @ onehot.T, out=np.zeros((len(oi), n_s)), where=group_total @ onehot.T > 0
    )
    pooled = (group_mean @ onehot.T) * share[:, None, :]
    offset = np.log(pooled + MEAN_FLOOR)
    shape = (*t.shape, n_s)
    if context is not None:
        from ml.forecasting.calendar import holiday_flags

        span = np.arange(int(th.min()) - WEEK, int(th.max()) + 1)
        flags = holiday_flags(context.countries, span)[:, context.country]  # (span, S)
        at = (th - span[0]).astype(np.int64)
        holiday, holiday_lag = flags[at], flags[at - WEEK]
        origin_h = hours_epoch_h[0] + oi  # (n_o,) epoch hour of each origin
        back = np.arange(int(origin_h.min()) - 2 * WEEK + 1, int(th.max()) + 1)
        window = origin_h[:, None] - back[0] - np.arange(2 * WEEK)[None, :]  # (n_o, 336) into back
        hol_back = holiday_flags(context.countries, back)[:, context.country]
        holiday_recent = hol_back[window].mean(axis=1)  # (n_o, S)
        at_back = (th - back[0]).astype(np.int64)
        known = np.zeros((5, *shape))
        if events is not None:
            camp = events.campaign_share(context.countries, back)[:, context.country]  # (back, S)
            known[0] = camp[at_back]
            known[1] = camp[window].mean(axis=1)[:, None, :]

            def decay(half_life: float) -> np.ndarray:
                return events.release_decay(context.platforms, back, half_life)[:, context.platform]

            known[2] = decay(12.0)[at_back]
            known[3] = decay(36.0)[at_back]
            known[4] = decay(24.0)[window[:, :WEEK]].mean(axis=1)[:, None, :]
        sum24 = csum[oi + 1] - csum[np.clip(oi - 23, 0, None)]
        sum168 = csum[oi + 1] - csum[np.clip(oi - 167, 0, None)]
        lifts = [_pooled_lift(sum24, sum168, context.platform), _pooled_lift(sum24, sum168, context.country)]
        local = (
            local_profile_mean(y, hours_epoch_h, oi, t, context) if offset_kind != "country_mean" else None
        )
        if local is not None:
            # the offset becomes the local-time profile mean; the country's own same-hour mean stays an input
            offset = np.log(local + MEAN_FLOOR)
    else:
        holiday = holiday_lag = np.zeros(shape)
        lifts = [np.zeros((len(oi), n_s))] * 2
        holiday_recent = np.zeros((len(oi), n_s))
        known = np.zeros((5, *shape))
    columns = [
        *(cal[:, :, None, i] for i in range(cal.shape[-1])),
        np.log1p(week_mean),
        np.log1p(last_week),
        np.log1p(same_hour),
        np.log1p(mean24)[:, None, :],
        np.log1p(mean168)[:, None, :],
        np.log1p(same_hour) - np.log1p(week_mean),
        np.log1p(pooled),
        weeks_seen,
        holiday,
        holiday_lag,
        lifts[0][:, None, :],
        lifts[1][:, None, :],
        holiday_recent[:, None, :],
        *known,
    ]
    # written column by column into the float32 matrix (no float64 copy of the whole design)
    planes = np.empty((len(columns), *shape), dtype=np.float32)
    for i, column in enumerate(columns):
        planes[i] = column
    return np.ascontiguousarray(np.moveaxis(planes, 0, -1)), offset.astype(np.float32), t


class PoissonForecastNet(nn.Module):
    def __init__(
        self, n_series: int, n_features: int, hidden: int, embed_dim: int, linear_inputs: str = "all"
    ) -> None:
        super().__init__()
        idx = list(CALENDAR_FEATURES) if linear_inputs == "calendar" else list(range(n_features))
        self.register_buffer("linear_idx", torch.tensor(idx, dtype=torch.long), persistent=False)
        self.embed = nn.Embedding(n_series, embed_dim) if embed_dim else None
        head = nn.Linear(hidden, 1)
        # a zero head: the untrained net forecasts exactly the multi-week same-hour mean (the offset)
        nn.init.zeros_(head.weight)
        nn.init.zeros_(head.bias)
        #: hidden = 0: the linear path alone (a Poisson GLM on the offset)
        self.mlp = (
            nn.Sequential(
                nn.Linear(n_features + embed_dim, hidden),
                nn.GELU(),
                nn.Linear(hidden, hidden),
                nn.GELU(),
                head,
            )
            if hidden
            else None
        )
        # a linear (log-link GLM) path beside the MLP, also zero-initialised: the known-in-advance
        # effects (holiday, campaign, release lifts) are close to multiplicative, so a few weights
        # learn them from few effective samples where the MLP alone would fit noise first
        self.linear = nn.Linear(len(idx), 1)
        nn.init.zeros_(self.linear.weight)
        nn.init.zeros_(self.linear.bias)

    def forward(self, feats: torch.Tensor, series: torch.Tensor, offset: torch.Tensor) -> torch.Tensor:
        """Log-rate per row."""
        idx: torch.Tensor = self.linear_idx  # type: ignore[assignment]
        out = offset + self.linear(feats[:, idx]).squeeze(-1)
        if self.mlp is not None:
            inputs = feats if self.embed is None else torch.cat([feats, self.embed(series)], dim=-1)
            out = out + self.mlp(inputs).squeeze(-1)
        return out


def training_origins(config: ForecasterConfig, n_hours: int, n_series: int) -> np.ndarray:
    """The origins a fit on ``n_hours`` of history trains from (indices of their last observed hour).

    They span the training window: from the earliest origin with ``min_history`` hours before it,
    or ``train_weeks`` weeks before the last origin when that is later, to the last origin whose
    horizon the history holds (always used: the early-stopping week's targets come from the latest
    ones). Every ``origin_stride`` hours while their training rows (origins × leads × series, the
    early-stopping targets not counted) stay within ``max_train_rows``; else the most origins, spread
    evenly over the window, that do. So once the history fills the window, a fit trains on the
    same number of rows however long the history is.
    """
    horizon = config.horizon
    last = n_hours - 1 - horizon
    first = config.min_history - 1
    if config.train_weeks:
        first = max(first, last - WEEK * config.train_weeks + 1)
    val_start = n_hours - config.val_hours if config.val_hours else n_hours

    def train_rows(origins: np.ndarray) -> int:
        return (
            int(np.clip(np.minimum(origins + horizon, val_start - 1) - origins, 0, horizon).sum()) * n_series
        )

    every = np.arange(last, first - 1, -config.origin_stride)[::-1]
    if len(every) <= 1 or train_rows(every) <= config.max_train_rows:
        return every
    for n in range(len(every) - 1, 1, -1):
        spread = np.unique(np.round(np.linspace(first, last, n)).astype(np.int64))
        if train_rows(spread) <= config.max_train_rows:
            return spread
    return np.array([last], dtype=np.int64)


def _epoch_hours(hours: Any) -> np.ndarray:
    return np.asarray(hours.asi8 if hasattr(hours, "asi8") else hours, dtype=np.int64) // 3_600_000_000_000


class Forecaster:
    """Fit on a (T, S) history, forecast the next ``horizon`` hours after any origin."""

    def __init__(self, config: ForecasterConfig, net: PoissonForecastNet | None = None) -> None:
        self.config = config
        self.net = net

    def fit(self, values: np.ndarray, hours: Any, keys: list[tuple[str, str]]) -> dict[str, float]:
        cfg = self.config
        cfg.keys = [list(k) for k in keys]
        n_t, n_s = values.shape
        last_origin = n_t - 1 - cfg.horizon
        if last_origin < cfg.min_history - 1:
            raise ValueError(f"need at least {cfg.min_history + cfg.horizon} hours of history, got {n_t}")
        origins = training_origins(cfg, n_t, n_s)
        # the window: the hours the first origin's features read, and after
        lo = max(0, int(origins[0]) + 1 - cfg.history_hours)
        values, hours, origins = values[lo:], hours[lo:], origins - lo
        n_t = len(values)
        feats, offset, t = design(
            values,
            _epoch_hours(hours),
            origins,
            cfg.horizon,
            cfg.weeks,
            cfg.groups(),
            cfg.context(),
            "country_mean" if cfg.offset == "country_mean" else "local_profile",
            cfg.events(),
        )
        target = values[t]  # (n_o, H, S)
        if cfg.offset == "auto":
            # the country's same-hour mean is an input (log1p(pooled)): compare the two offsets on the targets
            country = np.log(np.expm1(feats[..., POOLED_FEATURE].astype(np.float64)) + MEAN_FLOOR)
            local_dev = _mean_deviance(target, np.exp(offset.astype(np.float64)))
            cfg.offset = (
                "local_profile" if local_dev <= _mean_deviance(target, np.exp(country)) else "country_mean"
            )
            if cfg.offset == "country_mean":
                offset = country.astype(np.float32)
        dev = torch.device(cfg.device)
        x = torch.from_numpy(feats.reshape(-1, feats.shape[-1])).to(dev)
        off = torch.from_numpy(offset.reshape(-1)).to(dev)
        y = torch.from_numpy(target.reshape(-1).astype(np.float32)).to(dev)
        series = torch.from_numpy(np.broadcast_to(np.arange(n_s), target.shape).reshape(-1).copy()).to(dev)
        # Early stopping on the last week of TARGET hours (disjoint from the training targets): the
        # net only keeps a correction to the weekly-mean offset that helps on unseen hours; on a
        # stationary process that may well be none (epoch 0, the zero head).
        t_flat = np.broadcast_to(t[:, :, None], target.shape).reshape(-1)
        is_val = (
            torch.from_numpy(t_flat >= n_t - cfg.val_hours)
            if cfg.val_hours
            else torch.zeros(len(y), dtype=torch.bool)
        )
        is_val = is_val.to(dev)
        train_idx = torch.nonzero(~is_val).squeeze(1)
        val_idx = torch.nonzero(is_val).squeeze(1)
        torch.manual_seed(cfg.seed)
        torch.set_num_threads(ml_threads())
        self.net = PoissonForecastNet(n_s, feats.shape[-1], cfg.hidden, cfg.embed_dim, cfg.linear_inputs).to(
            dev
        )
        opt = torch.optim.AdamW(self.net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        # at least ~32 steps an epoch: small fits (few series) would barely move with a large batch
        batch = max(512, min(cfg.batch_size, len(train_idx) // 32))
        steps = cfg.epochs * -(-len(train_idx) // batch)
        # cosine decay to zero: the last steps average out minibatch noise instead of ending on it
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(1, steps))
        # Poisson NLL per row, weighted by 1/(series mean) so that every series counts alike in
        # relative terms (unweighted, the largest country dominates and small series pay for it).
        level = np.maximum(values.mean(axis=0), 1e-3)
        weight = torch.from_numpy((1.0 / level).astype(np.float32)).to(dev)[series]
        weight = weight / weight.mean()

        def nll(idx: torch.Tensor) -> torch.Tensor:
            log_rate = self.net(x[idx], series[idx], off[idx])  # type: ignore[misc]
            return (weight[idx] * (torch.exp(log_rate) - y[idx] * log_rate)).mean()

        def val_loss() -> float:
            with torch.no_grad():
                return float(nll(val_idx)) if len(val_idx) else float("nan")

        best_loss, best_epoch = val_loss(), 0
        best_state = {k: v.clone() for k, v in self.net.state_dict().items()}
        gen = torch.Generator().manual_seed(cfg.seed)
        loss = torch.tensor(float("nan"))
        for epoch in range(1, cfg.epochs + 1):
            perm = train_idx[torch.randperm(len(train_idx), generator=gen).to(dev)]
            for start in range(0, len(perm), batch):
                opt.zero_grad()
                loss = nll(perm[start : start + batch])
                loss.backward()
                opt.step()
                sched.step()
            current = val_loss()
            if len(val_idx) == 0 or current < best_loss:
                best_loss, best_epoch = current, epoch
                best_state = {k: v.clone() for k, v in self.net.state_dict().items()}
        self.net.load_state_dict(best_state)
        cfg.dispersion = self._dispersion(x, series, off, y, val_idx) if len(val_idx) else 0.0
        self.net.to("cpu")
        return {
            "train_poisson_nll": float(loss.detach()),
            "val_poisson_nll": best_loss,
            "best_epoch": float(best_epoch),
            #: 1 when early stopping kept the initial state: the forecast is then the offset alone
            #: (the pooled same-hour mean), not anything the network learned
            "untrained": float(best_epoch == 0),
            "train_rows": float(len(train_idx)),
            "dispersion": cfg.dispersion,
        }

    def _dispersion(
        self, x: torch.Tensor, series: torch.Tensor, off: torch.Tensor, y: torch.Tensor, idx: torch.Tensor
    ) -> float:
        """Method-of-moments φ on held-out rows: Σ((y−μ)² − μ) / Σμ², floored at 0.

        The forecast's own error is part of what the interval has to cover, so it is measured on
        hours the fit did not train on (the early-stopping week).
        """
        assert self.net is not None
        with torch.no_grad():
            mu = torch.exp(self.net(x[idx], series[idx], off[idx])).double()
        obs = y[idx].double()
        phi = float((((obs - mu) ** 2 - mu).sum() / (mu**2).sum()).item())
        return max(0.0, phi)

    def predictive(self, history: np.ndarray, hours: Any, horizon: int | None = None) -> Predictive:
        """The forecast mean with the fitted dispersion (the predictive distribution of each cell)."""
        return Predictive(self.predict(history, hours, horizon), self.config.dispersion)

    def predict(
        self, history: np.ndarray, hours: Any, horizon: int | None = None, offset_only: bool = False
    ) -> np.ndarray:
        """Expected counts (horizon, S) for the hours after the last row of ``history``.

        ``offset_only``: the network's initial state (zero head), i.e. the pooled same-hour mean.
        Only the last :attr:`ForecasterConfig.history_hours` of ``history`` are read.
        """
        mean, initial = self.predict_with_initial(history, hours, horizon, net=not offset_only)
        return initial if offset_only else mean

    def predict_with_initial(
        self, history: np.ndarray, hours: Any, horizon: int | None = None, net: bool = True
    ) -> tuple[np.ndarray, np.ndarray]:
        """(the forecast, the initial state's forecast) from one design of the inputs; ``net=False``
        skips the network (the first is then the initial state's too)."""
        if self.net is None:
            raise RuntimeError("forecaster is not fitted")
        h = horizon or self.config.horizon
        if not 1 <= h <= WEEK:
            raise ValueError(f"horizon must be within 1..{WEEK} hours, got {h}")
        if history.shape[1] != len(self.config.keys):
            raise ValueError(f"history has {history.shape[1]} series, the model {len(self.config.keys)}")
        # only the hours the forecast reads: older ones would not change it, only its cost
        keep = self.config.history_hours
        if len(history) > keep:
            history, hours = history[-keep:], hours[-keep:]
        last = np.array([len(history) - 1])
        feats, offset, _ = design(
            history,
            _epoch_hours(hours),
            last,
            h,
            self.config.weeks,
            self.config.groups(),
            self.config.context(),
            "country_mean" if self.config.offset == "country_mean" else "local_profile",
            self.config.events(),
        )
        n_s = history.shape[1]
        initial = np.exp(offset.astype(np.float64)).reshape(h, n_s)
        if not net:
            return initial, initial
        series = torch.from_numpy(np.broadcast_to(np.arange(n_s), offset.shape).reshape(-1).copy())
        self.net.eval()
        with torch.no_grad():
            log_rate = self.net(
                torch.from_numpy(feats.reshape(-1, feats.shape[-1])),
                series,
                torch.from_numpy(offset.reshape(-1)),
            )
        return np.exp(log_rate.numpy().astype(np.float64)).reshape(h, n_s), initial

    # ------------------------------------------------------------------ persistence
    def save(self, directory: Path, metrics: dict[str, Any] | None = None) -> Path:
        if self.net is None:
            raise RuntimeError("forecaster is not fitted")
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        torch.save(self.net.state_dict(), directory / "model.pt")
        write_metadata(
            directory,
            kind=KIND,
            framework="pytorch",
            model_file="model.pt",
            config=asdict(self.config),
            n_features=N_FEATURES,
            #: what a client sends the endpoint: the last this many hours of every series
            history_hours=self.config.history_hours,
            metrics=metrics or {},
        )
        return directory

    @classmethod
    def load(cls, directory: Path) -> Forecaster:
        meta = read_metadata(directory)
        if meta.get("kind") != KIND:
            raise ValueError(f"{directory} holds a {meta.get('kind')!r} model, not a {KIND}")
        cfg = ForecasterConfig(**meta["config"])
        net = PoissonForecastNet(
            len(cfg.keys), int(meta["n_features"]), cfg.hidden, cfg.embed_dim, cfg.linear_inputs
        )
        net.load_state_dict(torch.load(Path(directory) / meta["model_file"], weights_only=True))
        return cls(cfg, net)


def describe(config: ForecasterConfig) -> str:
    return json.dumps({k: v for k, v in asdict(config).items() if k != "keys"})
