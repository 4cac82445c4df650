"""A small PyTorch forecaster for hourly event counts, trained with the Poisson log-likelihood.

Direct multi-horizon: for a forecast origin ``o`` (last observed hour) and lead ``h`` the
target hour is ``t = o + h`` and every input is known at ``o``:

* calendar of ``t``: hour of day, day of week and hour of week as sin/cos, and ``h/168``;
* log-scale lags: mean of ``y[t−168k]`` over the last ``weeks`` weeks, ``y[t−168]``, the latest
  same-hour-of-day value ``y[t−24⌈h/24⌉]``, and the 24 h / 168 h rolling means at ``o``;
* a learned embedding of the series (country × platform).

The offset is the log of a pooled weekly same-hour mean: the country's mean over the last
``weeks`` weeks times the series' share of the country's history (platforms of a country share
one activity profile, so pooling cuts the variance). The network outputs a log-rate correction to
that offset (zero-initialised head), trained with the Poisson log-likelihood weighted by 1/series
level, and early-stopped on the last week of target hours — when no epoch beats the offset on
that week, the offset alone is kept (``best_epoch`` = 0 in the fit statistics).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ml.forecasting.readiness import EARLY_STOPPING_HOURS, TRAIN_MIN_HISTORY_WEEKS, WEEK_HOURS
from ml.registry.base import read_metadata, write_metadata
from ml.threads import ml_threads

KIND = "app_activity_forecaster"
WEEK = WEEK_HOURS


@dataclass
class ForecasterConfig:
    horizon: int = 168
    weeks: int = 6
    hidden: int = 32
    embed_dim: int = 4
    epochs: int = 8
    batch_size: int = 4096
    lr: float = 5e-3
    weight_decay: float = 1e-2
    #: the last hours of the training data held out (as targets) for early stopping; 0 disables
    val_hours: int = EARLY_STOPPING_HOURS
    origin_stride: int = 7
    seed: int = 0
    keys: list[list[str]] = field(default_factory=list)

    #: training origins need this many weeks of history (None: ``weeks``, so every training row's
    #: weekly mean is as precise as at forecast time; fewer admits more target hours, so less overfit)
    min_weeks: int | None = TRAIN_MIN_HISTORY_WEEKS

    @property
    def min_history(self) -> int:
        return WEEK * (self.min_weeks or self.weeks)

    def groups(self) -> np.ndarray:
        """Series index → country index: platforms of one country share its activity profile."""
        countries = sorted({k[0] for k in self.keys})
        return np.array([countries.index(k[0]) for k in self.keys], dtype=np.int64)


N_FEATURES = 15


def design(  # type: ignore[no-untyped-def]
    values: np.ndarray,
    hours_epoch_h: np.ndarray,
    origins: np.ndarray,
    horizon: int,
    weeks: int,
    groups: np.ndarray | None = None,
):
    """Features (n_o, H, S, F), the log offset (n_o, H, S) and target indices (n_o, H) for these origins.

    ``values`` (T, S) counts; ``hours_epoch_h`` (T,) hours since the epoch; ``origins`` indices into T.
    Lags that reach before the start of ``values`` are left out of the means. ``groups`` maps
    series to a pooling group (the country): the group's weekly same-hour mean times the series'
    share of the group's history is a lower-variance estimate of the series' own weekly mean.
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
    group_total = csum[oi + 1] @ onehot  # (n_o, G): history up to the origin
    share = np.divide(
        csum[oi + 1], group_total @ onehot.T, out=np.zeros((len(oi), n_s)), where=group_total @ onehot.T > 0
    )
    pooled = (group_mean @ onehot.T) * share[:, None, :]
    offset = np.log(pooled + 0.1)
    shape = (*t.shape, n_s)
    feats = np.concatenate(
        [
            np.broadcast_to(cal[:, :, None, :], (*shape, cal.shape[-1])),
            np.stack(
                [
                    np.log1p(week_mean),
                    np.log1p(last_week),
                    np.log1p(same_hour),
                    np.broadcast_to(np.log1p(mean24)[:, None, :], shape),
                    np.broadcast_to(np.log1p(mean168)[:, None, :], shape),
                    np.log1p(same_hour) - np.log1p(week_mean),
                    np.log1p(pooled),
                    np.broadcast_to(weeks_seen, shape),
                ],
                axis=-1,
            ),
        ],
        axis=-1,
    )
    return feats.astype(np.float32), offset.astype(np.float32), t


class PoissonForecastNet(nn.Module):
    def __init__(self, n_series: int, n_features: int, hidden: int, embed_dim: int) -> None:
        super().__init__()
        self.embed = nn.Embedding(n_series, embed_dim)
        head = nn.Linear(hidden, 1)
        # a zero head: the untrained net forecasts exactly the multi-week same-hour mean (the offset)
        nn.init.zeros_(head.weight)
        nn.init.zeros_(head.bias)
        self.mlp = nn.Sequential(
            nn.Linear(n_features + embed_dim, hidden), nn.GELU(), nn.Linear(hidden, hidden), nn.GELU(), head
        )

    def forward(self, feats: torch.Tensor, series: torch.Tensor, offset: torch.Tensor) -> torch.Tensor:
        """Log-rate per row."""
        return offset + self.mlp(torch.cat([feats, self.embed(series)], dim=-1)).squeeze(-1)


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
        origins = np.arange(cfg.min_history - 1, last_origin + 1, cfg.origin_stride)
        feats, offset, t = design(values, _epoch_hours(hours), origins, cfg.horizon, cfg.weeks, cfg.groups())
        target = values[t]  # (n_o, H, S)
        x = torch.from_numpy(feats.reshape(-1, feats.shape[-1]))
        off = torch.from_numpy(offset.reshape(-1))
        y = torch.from_numpy(target.reshape(-1).astype(np.float32))
        series = torch.from_numpy(np.broadcast_to(np.arange(n_s), target.shape).reshape(-1).copy())
        # Early stopping on the last week of TARGET hours (disjoint from the training targets): the
        # net only keeps a correction to the weekly-mean offset that helps on unseen hours; on a
        # stationary process that may well be none (epoch 0, the zero head).
        t_flat = np.broadcast_to(t[:, :, None], target.shape).reshape(-1)
        is_val = (
            torch.from_numpy(t_flat >= n_t - cfg.val_hours)
            if cfg.val_hours
            else torch.zeros(len(y), dtype=torch.bool)
        )
        train_idx = torch.nonzero(~is_val).squeeze(1)
        val_idx = torch.nonzero(is_val).squeeze(1)
        torch.manual_seed(cfg.seed)
        torch.set_num_threads(ml_threads())
        self.net = PoissonForecastNet(n_s, feats.shape[-1], cfg.hidden, cfg.embed_dim)
        opt = torch.optim.AdamW(self.net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        steps = cfg.epochs * -(-len(train_idx) // cfg.batch_size)
        # cosine decay to zero: the last steps average out minibatch noise instead of ending on it
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(1, steps))
        # Poisson NLL per row, weighted by 1/(series mean) so that every series counts alike in
        # relative terms (unweighted, the largest country dominates and small series pay for it).
        level = np.maximum(values.mean(axis=0), 1e-3)
        weight = torch.from_numpy((1.0 / level).astype(np.float32))[series]
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
            perm = train_idx[torch.randperm(len(train_idx), generator=gen)]
            for start in range(0, len(perm), cfg.batch_size):
                opt.zero_grad()
                loss = nll(perm[start : start + cfg.batch_size])
                loss.backward()
                opt.step()
                sched.step()
            current = val_loss()
            if len(val_idx) == 0 or current < best_loss:
                best_loss, best_epoch = current, epoch
                best_state = {k: v.clone() for k, v in self.net.state_dict().items()}
        self.net.load_state_dict(best_state)
        return {
            "train_poisson_nll": float(loss.detach()),
            "val_poisson_nll": best_loss,
            "best_epoch": float(best_epoch),
            "train_rows": float(len(train_idx)),
        }

    def predict(self, history: np.ndarray, hours: Any, horizon: int | None = None) -> np.ndarray:
        """Expected counts (horizon, S) for the hours after the last row of ``history``."""
        if self.net is None:
            raise RuntimeError("forecaster is not fitted")
        h = horizon or self.config.horizon
        if not 1 <= h <= WEEK:
            raise ValueError(f"horizon must be within 1..{WEEK} hours, got {h}")
        if history.shape[1] != len(self.config.keys):
            raise ValueError(f"history has {history.shape[1]} series, the model {len(self.config.keys)}")
        last = np.array([len(history) - 1])
        feats, offset, _ = design(
            history, _epoch_hours(hours), last, h, self.config.weeks, self.config.groups()
        )
        n_s = history.shape[1]
        series = torch.from_numpy(np.broadcast_to(np.arange(n_s), offset.shape).reshape(-1).copy())
        self.net.eval()
        with torch.no_grad():
            log_rate = self.net(
                torch.from_numpy(feats.reshape(-1, feats.shape[-1])),
                series,
                torch.from_numpy(offset.reshape(-1)),
            )
        return np.exp(log_rate.numpy().astype(np.float64)).reshape(h, n_s)

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
            metrics=metrics or {},
        )
        return directory

    @classmethod
    def load(cls, directory: Path) -> Forecaster:
        meta = read_metadata(directory)
        if meta.get("kind") != KIND:
            raise ValueError(f"{directory} holds a {meta.get('kind')!r} model, not a {KIND}")
        cfg = ForecasterConfig(**meta["config"])
        net = PoissonForecastNet(len(cfg.keys), int(meta["n_features"]), cfg.hidden, cfg.embed_dim)
        net.load_state_dict(torch.load(Path(directory) / meta["model_file"], weights_only=True))
        return cls(cfg, net)


def describe(config: ForecasterConfig) -> str:
    return json.dumps({k: v for k, v in asdict(config).items() if k != "keys"})
