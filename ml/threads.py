"""How many threads model fitting may use (``RILLFLOW_ML_THREADS``, default 1).

OpenMP in HistGradientBoosting (and torch's intra-op pool) oversubscribe a small shared
machine badly — HGB fitting was measured 50x slower on 2 busy cores — so the default is one.
"""

from __future__ import annotations

from rillflow.settings import get_settings


def ml_threads() -> int:
    return max(1, get_settings().ml_threads)
