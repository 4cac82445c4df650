"""Hourly series: long ``ml_app_activity_series`` rows ⇄ a dense (hours × series) matrix."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class SeriesMatrix:
    #: hourly UTC timestamps, consecutive
    hours: pd.DatetimeIndex
    #: (country, platform) per column
    keys: list[tuple[str, str]]
    #: counts, float64 (len(hours), len(keys))
    values: np.ndarray


def to_matrix(rows: pd.DataFrame, value: str = "event_count") -> SeriesMatrix:
    """Pivot long rows (ts_hour, country, platform, value) into a gap-free hourly matrix (gaps → 0)."""
    missing = {"ts_hour", "country", "platform", value} - set(rows.columns)
    if missing:
        raise ValueError(f"series rows lack columns: {sorted(missing)}")
    if rows.empty:
        raise ValueError("no series rows")
    frame = rows.assign(ts_hour=pd.to_datetime(rows["ts_hour"], utc=True))
    wide = frame.pivot_table(index="ts_hour", columns=["country", "platform"], values=value, aggfunc="sum")
    full = pd.date_range(wide.index.min(), wide.index.max(), freq="h")
    wide = wide.reindex(full).fillna(0.0).sort_index(axis=1)
    keys = [(str(c), str(p)) for c, p in wide.columns]
    return SeriesMatrix(pd.DatetimeIndex(full), keys, wide.to_numpy(dtype=np.float64))


def align(matrix: SeriesMatrix, rows: pd.DataFrame, value: str) -> np.ndarray:
    """``rows`` (e.g. oracle expectations) laid out on ``matrix``'s hours × keys (absent cells → NaN)."""
    frame = rows.assign(ts_hour=pd.to_datetime(rows["ts_hour"], utc=True))
    wide = frame.pivot_table(index="ts_hour", columns=["country", "platform"], values=value, aggfunc="sum")
    wide = wide.reindex(index=matrix.hours, columns=pd.MultiIndex.from_tuples(matrix.keys))
    return wide.to_numpy(dtype=np.float64)


def to_long(
    hours: pd.DatetimeIndex, keys: list[tuple[str, str]], values: np.ndarray, name: str
) -> pd.DataFrame:
    """The inverse of :func:`to_matrix` for a block of values."""
    n_h, n_s = values.shape
    return pd.DataFrame(
        {
            "ts_hour": np.repeat(hours.to_numpy(), n_s),
            "country": [k[0] for k in keys] * n_h,
            "platform": [k[1] for k in keys] * n_h,
            name: values.ravel(),
        }
    )
