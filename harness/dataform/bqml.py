"""BigQuery ML's local twin: the runner's stand-in for ``CREATE MODEL`` / ``ML.FORECAST`` / ``ML.PREDICT``.

DuckDB has no BigQuery ML. An ``operations`` action tagged :data:`TAG` (``bqml``) is executed here
instead of as plain SQL, from the same compiled SQL that runs in BigQuery:

* plain statements (``CREATE TABLE IF NOT EXISTS ...``) run as usual (transpiled);
* ``IF <condition> THEN <statements> END IF`` (a BigQuery script's guard) evaluates the condition
  on DuckDB and runs the body's statements when it holds;
* ``CREATE [OR REPLACE] MODEL name OPTIONS(...) AS <query>`` runs the training query on DuckDB and
  fits the twin registered for the ``model_type`` option (:data:`REGISTRY`) on its rows;
* any other statement that calls ``ML.FORECAST(MODEL m, STRUCT(...))`` or
  ``ML.PREDICT(MODEL m, (<query>) | TABLE t)`` gets that call replaced by a temporary table holding
  what the twin returns, in BigQuery ML's documented output columns, and then runs as usual; so the
  SQL around the call (renames, clipping, the ``model`` column) is the same in both places.

The twins (what they do not replicate of BigQuery ML is in ``dataform/README.md``):

* ``ARIMA_PLUS`` (:class:`ArimaPlusTwin`): per series, linear interpolation of gaps, an additive
  seasonal profile (hour of the week when the series spans two weeks, hour of the day when it spans
  two days) from a classical decomposition, and the de-seasonalised series modelled as
  ARIMA(0,1,1) (simple exponential smoothing: the same recursion as statsmodels'
  ``SimpleExpSmoothing``), its smoothing picked per series from a grid by the one-step error;
  Gaussian prediction intervals from the ARIMA(0,1,1) h-step variance at the requested level.
* ``LOGISTIC_REG`` / ``BOOSTED_TREE_CLASSIFIER``: scikit-learn logistic regression (standardised
  numbers with mean imputation, one-hot strings, L2 ``C = 1 / l2_reg``) / histogram gradient
  boosting, on every column of the training query except the label.

Models live in the executor for the run (``Executor.models``, keyed by ``dataset.model``).
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from scipy.stats import norm

if TYPE_CHECKING:
    from harness.dataform.executor import Executor
    from harness.dataform.graph import Action

#: the tag that sends an ``operations`` action to this module
TAG = "bqml"
#: SES smoothing grid of the ARIMA_PLUS twin's trend (ARIMA(0,1,1) with θ = α − 1)
ALPHAS = (0.001, 0.01, 0.03, 0.1, 0.2, 0.4, 0.7, 1.0)
WEEK, DAY = 168, 24


class BqmlError(ValueError):
    """A statement the twin cannot run (unknown model type, malformed call, missing model)."""


# ------------------------------------------------------------------------------------------- SQL text
def _scan(sql: str) -> Iterator[tuple[int, str, int]]:
    """(index, character, bracket depth) of every character outside quotes, backticks and comments."""
    depth, i, n = 0, 0, len(sql)
    while i < n:
        c = sql[i]
        if c in "'\"`":
            end = i + 1
            while end < n and sql[end] != c:
                end += 2 if sql[end] == "\\" else 1
            i = end + 1
            continue
        if sql.startswith("--", i) or c == "#":
            nl = sql.find("\n", i)
            i = n if nl < 0 else nl + 1
            continue
        if sql.startswith("/*", i):
            end = sql.find("*/", i + 2)
            i = n if end < 0 else end + 2
            continue
        if c in "([":
            depth += 1
        yield i, c, depth
        if c in ")]":
            depth -= 1
        i += 1


def split_statements(script: str) -> list[str]:
    """The script's statements, split at top-level semicolons (quotes, comments, parens respected)."""
    out, start = [], 0
    for i, c, depth in _scan(script):
        if c == ";" and depth == 0:
            out.append(script[start:i])
            start = i + 1
    out.append(script[start:])
    return [s.strip() for s in out if _strip_comments(s).strip()]


def _strip_comments(sql: str) -> str:
    return re.sub(r"--[^\n]*|/\*.*?\*/", "", sql, flags=re.DOTALL)


def _closing(sql: str, open_at: int) -> int:
    """Index of the parenthesis closing the one at ``open_at``."""
    base = None
    for i, c, depth in _scan(sql):
        if i == open_at:
            base = depth
        elif base is not None and c == ")" and depth == base:
            return i
    raise BqmlError(f"unbalanced parentheses after: {sql[open_at : open_at + 80]!r}")


def _top_level_split(text: str, sep: str = ",") -> list[str]:
    parts, start = [], 0
    for i, c, depth in _scan(text):
        if c == sep and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return [p.strip() for p in parts if p.strip()]


_IF = re.compile(r"^\s*IF\b(?P<cond>.*?)\bTHEN\b(?P<body>.*)\bEND\s+IF\s*;?\s*$", re.IGNORECASE | re.DOTALL)


def parse_if(script: str) -> tuple[str, str] | None:
    """(condition, body) of an ``IF ... THEN ... END IF`` script; None for anything else."""
    match = _IF.match(_strip_comments(script))
    if not match:
        return None
    if re.search(r"\bELSE(IF)?\b", match["body"], re.IGNORECASE):
        raise BqmlError("the twin runs IF ... THEN ... END IF without ELSE / ELSEIF")
    return match["cond"].strip(), match["body"]


def _value(text: str) -> Any:
    text = text.strip()
    if text.startswith("[") and text.endswith("]"):
        return [_value(v) for v in _top_level_split(text[1:-1])]
    if text[:1] in "'\"" and text[-1:] == text[:1]:
        return text[1:-1]
    if text.upper() in ("TRUE", "FALSE"):
        return text.upper() == "TRUE"
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return text


def parse_options(text: str) -> dict[str, Any]:
    """``key = value, ...`` (BigQuery ML OPTIONS) as a dict with lower-case keys."""
    options = {}
    for part in _top_level_split(text):
        key, _, value = part.partition("=")
        if not _:
            raise BqmlError(f"malformed option {part!r}")
        options[key.strip().lower()] = _value(value)
    return options


def model_key(name: str) -> str:
    """``dataset.model`` of a (possibly back-quoted, project-qualified) model name."""
    parts = name.replace("`", "").strip().split(".")
    return ".".join(parts[-2:])


@dataclass(frozen=True)
class CreateModel:
    name: str
    options: dict[str, Any]
    query: str


_CREATE_MODEL = re.compile(
    r"^\s*CREATE\s+(?:OR\s+REPLACE\s+)?MODEL\s+(?:IF\s+NOT\s+EXISTS\s+)?(?P<name>`[^`]+`|[\w.-]+)\s*OPTIONS\s*\(",
    re.IGNORECASE,
)


def parse_create_model(sql: str) -> CreateModel | None:
    """The ``CREATE MODEL`` statement in ``sql``, or None when it is something else."""
    sql = _strip_comments(sql)
    match = _CREATE_MODEL.match(sql)
    if not match:
        return None
    close = _closing(sql, match.end() - 1)
    rest = sql[close + 1 :].strip()
    if not rest[:2].upper() == "AS":
        raise BqmlError("the twin needs CREATE MODEL ... OPTIONS(...) AS <training query>")
    query = rest[2:].strip().rstrip(";").strip()
    if query.startswith("(") and _closing(query, 0) == len(query) - 1:
        query = query[1:-1].strip()
    return CreateModel(match["name"], parse_options(sql[match.end() : close]), query)


@dataclass(frozen=True)
class MlCall:
    """One ``ML.<function>(MODEL m, <argument>)`` call: its span in the statement and its parts."""

    function: str
    model: str
    argument: str
    start: int
    end: int


_ML_CALL = re.compile(r"\bML\s*\.\s*(?P<fn>[A-Z_]+)\s*\(", re.IGNORECASE)
_MODEL_ARG = re.compile(
    r"^\s*MODEL\s+(?P<name>`[^`]+`|[\w.-]+)\s*(?:,(?P<rest>.*))?$", re.IGNORECASE | re.DOTALL
)


def find_ml_calls(sql: str) -> list[MlCall]:
    """Every ``ML.<function>(MODEL m, ...)`` call in ``sql`` (outermost first, nested ones skipped)."""
    calls: list[MlCall] = []
    for match in _ML_CALL.finditer(sql):
        if any(c.start <= match.start() < c.end for c in calls):
            continue
        close = _closing(sql, match.end() - 1)
        inner = _MODEL_ARG.match(sql[match.end() : close])
        if not inner:
            raise BqmlError(f"ML.{match['fn']} without a MODEL argument")
        calls.append(
            MlCall(
                match["fn"].upper(), inner["name"], (inner["rest"] or "").strip(), match.start(), close + 1
            )
        )
    return calls


def parse_struct(text: str) -> dict[str, Any]:
    """``STRUCT(168 AS horizon, 0.9 AS confidence_level)`` as ``{"horizon": 168, ...}``."""
    text = text.strip()
    if not text:
        return {}
    match = re.match(r"^STRUCT\s*\((?P<body>.*)\)$", text, re.IGNORECASE | re.DOTALL)
    if not match:
        raise BqmlError(f"expected STRUCT(...) settings, got {text[:80]!r}")
    out = {}
    for part in _top_level_split(match["body"]):
        pieces = re.split(r"\s+AS\s+", part, flags=re.IGNORECASE)
        if len(pieces) != 2:
            raise BqmlError(f"expected '<value> AS <name>' in STRUCT, got {part!r}")
        out[pieces[1].strip().lower()] = _value(pieces[0])
    return out


# ------------------------------------------------------------------------------------------- the twins
@dataclass
class ArimaPlusTwin:
    """Fitted per-series state of the ARIMA_PLUS twin (see the module docstring)."""

    model_type: str
    id_cols: list[str]
    keys: pd.DataFrame  # one row per series: the id columns
    last_ts: np.ndarray  # (S,) datetime64[us] of each series' last point
    step: np.timedelta64
    level: np.ndarray  # (S,)
    alpha: np.ndarray  # (S,)
    sigma2: np.ndarray  # (S,) one-step error variance
    season: np.ndarray  # (period, S) additive seasonal profile, zero-mean per series
    period: int
    phase_next: np.ndarray  # (S,) the profile's slot of each series' first forecast hour
    horizon: int

    def forecast(self, horizon: int | None = None, confidence_level: float = 0.95) -> pd.DataFrame:
        """BigQuery ML's ``ML.FORECAST`` output rows for every series."""
        h = int(horizon or self.horizon)
        if not 0 < confidence_level < 1:
            raise BqmlError(f"confidence_level must be in (0, 1), got {confidence_level}")
        steps = np.arange(1, h + 1)[:, None]  # (h, 1)
        slots = (self.phase_next[None, :] + steps - 1) % self.period
        mean = self.level[None, :] + np.take_along_axis(self.season, slots, axis=0)  # (h, S)
        se = np.sqrt(self.sigma2[None, :] * (1.0 + (steps - 1) * self.alpha[None, :] ** 2))
        z = float(norm.ppf(0.5 + confidence_level / 2))
        n_s = len(self.level)
        frame = self.keys.loc[np.tile(np.arange(n_s), h)].reset_index(drop=True)
        frame["forecast_timestamp"] = pd.DatetimeIndex(
            (self.last_ts[None, :] + steps * self.step).ravel()
        ).tz_localize("UTC")
        frame["forecast_value"] = mean.ravel()
        frame["standard_error"] = se.ravel()
        frame["confidence_level"] = confidence_level
        frame["prediction_interval_lower_bound"] = (mean - z * se).ravel()
        frame["prediction_interval_upper_bound"] = (mean + z * se).ravel()
        frame["confidence_interval_lower_bound"] = frame["prediction_interval_lower_bound"]
        frame["confidence_interval_upper_bound"] = frame["prediction_interval_upper_bound"]
        return frame


def ses_states(z: np.ndarray, alphas: np.ndarray, burn_in: int) -> tuple[np.ndarray, np.ndarray]:
    """Simple exponential smoothing of every column of ``z`` (T, S) for every α: (level, one-step SSE).

    Initial level: the mean of the first ``burn_in`` points; errors are summed after them. Returns
    arrays of shape (A, S). For a given α and initial level this is statsmodels'
    ``SimpleExpSmoothing(...).fit(smoothing_level=α)`` recursion (a test holds them equal).
    """
    n_t, n_s = z.shape
    level = np.broadcast_to(z[: max(burn_in, 1)].mean(axis=0), (len(alphas), n_s)).copy()
    a = alphas[:, None]
    sse = np.zeros((len(alphas), n_s))
    for t in range(n_t):
        err = z[t] - level
        if t >= burn_in:
            sse += err * err
        level += a * err
    return level, sse


def seasonal_profile(y: np.ndarray, period: int) -> np.ndarray:
    """Additive profile (period, S) of ``y`` (T, S): phase means of y minus its centred moving average.

    The slot of row t is t % period. Zero-mean per series.
    """
    n_t, n_s = y.shape
    csum = np.vstack([np.zeros((1, n_s)), np.cumsum(y, axis=0)])
    half = period // 2
    rows = np.arange(half, n_t - (period - half) + 1)
    ma = (csum[rows + period - half] - csum[rows - half]) / period  # window [t-half, t+period-half)
    detrended = y[rows] - ma
    phases = rows % period
    totals = np.zeros((period, n_s))
    counts = np.zeros((period, 1))
    np.add.at(totals, phases, detrended)
    np.add.at(counts, phases, 1.0)
    profile = totals / np.maximum(counts, 1.0)
    return profile - profile.mean(axis=0, keepdims=True)


def _series_ids(table: pa.Table, id_cols: Sequence[str]) -> tuple[np.ndarray, pd.DataFrame]:
    """(series index of every row, the series' id values sorted) for the id columns of ``table``."""
    codes, values = [], []
    for col in id_cols:
        encoded = pc.dictionary_encode(table.column(col).combine_chunks())
        codes.append(pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False).astype(np.int64))
        values.append([*encoded.dictionary.to_pylist(), None])  # index -1: NULL
    if not id_cols:
        return np.zeros(table.num_rows, dtype=np.int64), pd.DataFrame(index=range(1))
    # one integer per combination (mixed radix; -1 = NULL maps to the last digit), then unique
    sizes = [len(v) for v in values]
    combined = np.zeros(table.num_rows, dtype=np.int64)
    for code, size in zip(codes, sizes, strict=True):
        combined = combined * size + np.where(code < 0, size - 1, code)
    uniques, inverse = np.unique(combined, return_inverse=True)
    digits = []
    for size in reversed(sizes):
        digits.append(uniques % size)
        uniques = uniques // size
    digits.reverse()
    keys = pd.DataFrame({col: [values[i][c] for c in digits[i]] for i, col in enumerate(id_cols)})
    order = keys.sort_values(list(id_cols), na_position="last").index.to_numpy()
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    return rank[inverse.ravel()], keys.loc[order].reset_index(drop=True)


def fit_arima_plus(rows: pa.Table, options: Mapping[str, Any]) -> ArimaPlusTwin:
    ts_col = str(options["time_series_timestamp_col"])
    data_col = str(options["time_series_data_col"])
    raw_ids = options.get("time_series_id_col") or []
    id_cols = [str(c) for c in (raw_ids if isinstance(raw_ids, list) else [raw_ids])]
    if rows.num_rows == 0:
        raise BqmlError("ARIMA_PLUS: the training query returned no rows")
    step = (
        pd.Timedelta(hours=1)
        if str(options.get("data_frequency", "HOURLY")).upper()
        in (
            "HOURLY",
            "AUTO_FREQUENCY",
        )
        else _frequency(str(options["data_frequency"]))
    )
    # each point on the frequency grid (irregular timestamps are floored to it); duplicates: their mean
    stamp_type = pa.timestamp("us", tz="UTC")
    micros = rows.column(ts_col).cast(stamp_type).cast(pa.int64()).to_numpy().astype(np.int64)
    step_us = step // pd.Timedelta(microseconds=1)
    floored = micros - micros % step_us
    start_us = int(floored.min())
    position = (floored - start_us) // step_us
    start = pd.Timestamp(start_us, unit="us", tz="UTC")
    n_t = int(position.max()) + 1
    series_id, keys = _series_ids(rows, id_cols)
    n_s = len(keys)
    flat = position * n_s + series_id
    value = pc.cast(rows.column(data_col), pa.float64()).to_numpy(zero_copy_only=False)
    ok = ~np.isnan(value)
    sums = np.bincount(flat[ok], weights=value[ok], minlength=n_t * n_s).reshape(n_t, n_s)
    counts = np.bincount(flat[ok], minlength=n_t * n_s).reshape(n_t, n_s)
    values = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)  # (T, S), NaN in gaps
    grid = pd.date_range(start, periods=n_t, freq=step)
    present = ~np.isnan(values)
    if not present.any(axis=0).all():
        raise BqmlError("ARIMA_PLUS: a time series has no non-NULL value")
    first = present.argmax(axis=0)
    last = len(grid) - 1 - present[::-1].argmax(axis=0)
    # gaps: local linear interpolation, as BigQuery ML does
    interpolated = pd.DataFrame(values).interpolate(method="linear", limit_area="inside").to_numpy()
    groups: dict[tuple[int, int], list[int]] = {}
    for j in range(n_s):
        groups.setdefault((int(first[j]), int(last[j])), []).append(j)
    out = {name: np.zeros(n_s) for name in ("level", "alpha", "sigma2")}
    phase_next = np.zeros(n_s, dtype=np.int64)
    lengths = [hi - lo + 1 for lo, hi in groups]
    period = _period(min(lengths), step)
    season = np.zeros((period, n_s))
    alphas = np.array(ALPHAS)
    for (lo, hi), cols in groups.items():
        y = interpolated[lo : hi + 1, cols]
        length = y.shape[0]
        profile = seasonal_profile(y, period) if period > 1 else np.zeros((1, len(cols)))
        z = y - profile[np.arange(length) % period] if period > 1 else y
        burn_in = min(max(period, 1), max(length - 1, 1))
        level, sse = ses_states(z, alphas, burn_in)
        best = np.argmin(sse, axis=0)
        idx = np.arange(len(cols))
        n_err = max(length - burn_in, 1)
        out["level"][cols] = level[best, idx]
        out["alpha"][cols] = alphas[best]
        out["sigma2"][cols] = sse[best, idx] / n_err
        season[:, cols] = profile
        phase_next[cols] = length % period
    return ArimaPlusTwin(
        model_type="ARIMA_PLUS",
        id_cols=id_cols,
        keys=keys.reset_index(drop=True),
        last_ts=grid.tz_convert("UTC").tz_localize(None).to_numpy()[last],  # UTC wall time
        step=np.timedelta64(step),
        level=out["level"],
        alpha=out["alpha"],
        sigma2=out["sigma2"],
        season=season,
        period=period,
        phase_next=phase_next,
        horizon=int(options.get("horizon", 1000)),
    )


def _frequency(name: str) -> pd.Timedelta:
    known = {
        "PER_MINUTE": pd.Timedelta(minutes=1),
        "DAILY": pd.Timedelta(days=1),
        "WEEKLY": pd.Timedelta(days=7),
    }
    if name.upper() not in known:
        raise BqmlError(f"ARIMA_PLUS twin: data_frequency {name!r} is not supported")
    return known[name.upper()]


def _period(n_points: int, step: pd.Timedelta) -> int:
    """The seasonal period the twin models: weekly with two weeks of data, daily with two days, else none."""
    per_day = int(pd.Timedelta(days=1) / step) if step <= pd.Timedelta(days=1) else 0
    if per_day and n_points >= 2 * 7 * per_day:
        return 7 * per_day
    if per_day > 1 and n_points >= 2 * per_day:
        return per_day
    return 1


@dataclass
class ClassifierTwin:
    model_type: str
    label: str
    features: list[str]
    pipeline: Any
    classes: list[Any]

    def predict(self, table: pa.Table) -> pa.Table:
        """``ML.PREDICT`` output: the input columns (types kept), ``predicted_<label>``, ``predicted_<label>_probs``."""
        missing = [c for c in self.features if c not in table.column_names]
        if missing:
            raise BqmlError(f"ML.PREDICT input lacks the model's feature columns {missing}")
        rows = table.select(self.features).to_pandas()
        n = len(rows)
        if n:
            probs = self.pipeline.predict_proba(_features(rows, self.features))
            predicted = [self.classes[i] for i in probs.argmax(axis=1)]
        else:
            probs, predicted = np.zeros((0, len(self.classes))), []
        label_type = pa.int64() if all(isinstance(c, int | np.integer) for c in self.classes) else pa.string()
        struct = pa.struct([("label", label_type), ("prob", pa.float64())])
        prob_lists = [
            [{"label": _py(c), "prob": float(p)} for c, p in zip(self.classes, row, strict=True)]
            for row in probs
        ]
        table = table.append_column(
            f"predicted_{self.label}", pa.array([_py(v) for v in predicted], label_type)
        )
        return table.append_column(f"predicted_{self.label}_probs", pa.array(prob_lists, pa.list_(struct)))


def _py(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _features(rows: pd.DataFrame, features: Sequence[str]) -> pd.DataFrame:
    out = rows.loc[:, list(features)].copy()
    for col in out.columns:
        if _is_numeric(out[col]):
            out[col] = pd.to_numeric(out[col], errors="coerce").astype("float64")
        else:
            out[col] = out[col].astype("object").where(out[col].notna(), "__NULL__").astype(str)
    return out


def _is_numeric(series: pd.Series) -> bool:
    return bool(pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series))


def _fit_classifier(table: pa.Table, options: Mapping[str, Any], model_type: str) -> ClassifierTwin:
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline, make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    rows = table.to_pandas()
    labels = options.get("input_label_cols") or ["label"]
    label = str(labels[0] if isinstance(labels, list) else labels)
    if label not in rows.columns:
        raise BqmlError(f"{model_type}: the training query has no label column {label!r}")
    data = rows[rows[label].notna()]
    y = data[label].to_numpy()
    if y.dtype.kind == "f" and np.all(np.mod(y, 1) == 0):
        y = y.astype("int64")
    classes = sorted(set(y.tolist()))
    if len(classes) < 2:
        raise BqmlError(f"{model_type}: the label {label!r} needs at least two classes, got {classes}")
    features = [c for c in rows.columns if c != label]
    x = _features(data, features)
    numeric = [c for c in features if _is_numeric(data[c])]
    categorical = [c for c in features if c not in numeric]
    estimator: Any
    if model_type == "LOGISTIC_REG":
        from sklearn.linear_model import LogisticRegression

        l2 = float(options.get("l2_reg", 0.0))
        estimator = LogisticRegression(
            C=1.0 / l2 if l2 > 0 else np.inf, max_iter=max(int(options.get("max_iterations", 20)), 200)
        )
    else:
        from sklearn.ensemble import HistGradientBoostingClassifier

        estimator = HistGradientBoostingClassifier(
            max_iter=int(options.get("max_iterations", 20)),
            learning_rate=float(options.get("learn_rate", 0.3)),
            max_depth=int(options.get("max_tree_depth", 6)),
            l2_regularization=float(options.get("l2_reg", 1.0)),
            random_state=0,
        )
    prep = ColumnTransformer(
        [
            (
                "num",
                make_pipeline(SimpleImputer(strategy="mean", keep_empty_features=True), StandardScaler()),
                numeric,
            ),
            ("cat", OneHotEncoder(handle_unknown="ignore"), categorical),
        ]
    )
    pipeline = Pipeline([("prep", prep), ("model", estimator)]).fit(x, y)
    return ClassifierTwin(model_type, label, features, pipeline, [_py(c) for c in pipeline.classes_])


def fit_logistic_reg(rows: pa.Table, options: Mapping[str, Any]) -> ClassifierTwin:
    return _fit_classifier(rows, options, "LOGISTIC_REG")


def fit_boosted_tree_classifier(rows: pa.Table, options: Mapping[str, Any]) -> ClassifierTwin:
    return _fit_classifier(rows, options, "BOOSTED_TREE_CLASSIFIER")


#: model_type (upper case) -> the twin's fit(training rows, OPTIONS) function
REGISTRY: dict[str, Callable[[pa.Table, Mapping[str, Any]], Any]] = {
    "ARIMA_PLUS": fit_arima_plus,
    "LOGISTIC_REG": fit_logistic_reg,
    "BOOSTED_TREE_CLASSIFIER": fit_boosted_tree_classifier,
}


def fit(model_type: str, rows: pa.Table | pd.DataFrame, options: Mapping[str, Any]) -> Any:
    """Fit the twin of ``model_type`` on the training query's rows with the CREATE MODEL ``OPTIONS``."""
    kind = model_type.upper()
    if isinstance(rows, pd.DataFrame):
        rows = pa.Table.from_pandas(rows, preserve_index=False)
    if kind not in REGISTRY:
        raise BqmlError(f"no local twin for model_type {model_type!r} (known: {', '.join(sorted(REGISTRY))})")
    return REGISTRY[kind](rows, options)


# ------------------------------------------------------------------------------------------- execution
def run_action(executor: Executor, action: Action) -> None:
    """Run a ``bqml``-tagged operations action on DuckDB, BigQuery ML replaced by the twins."""
    for script in action.queries:
        if not _strip_comments(script).strip():
            continue
        guarded = parse_if(script)
        if guarded is None:
            for statement in split_statements(script):
                _statement(executor, statement)
            continue
        condition, body = guarded
        rows = executor.con.execute(executor._query(f"SELECT ({condition})")).fetchall()
        if rows and rows[0][0]:
            for statement in split_statements(body):
                _statement(executor, statement)


def _rows(executor: Executor, query: str) -> pa.Table:
    """The query's rows as Arrow (types kept: DATE stays a date, strings are not boxed one by one)."""
    # con.sql() would refuse while an earlier execute() result is unread (the executor leaves some);
    # the copy DuckDB warns about is cheap next to the fit
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Arrow output on a DB-API result", category=UserWarning)
        table: pa.Table = executor.con.execute(executor._query(query)).to_arrow_table()
    return table


def _statement(executor: Executor, sql: str) -> None:
    created = parse_create_model(sql)
    if created is not None:
        model_type = str(created.options.get("model_type", ""))
        executor.models[model_key(created.name)] = fit(
            model_type, _rows(executor, created.query), created.options
        )
        return
    calls = find_ml_calls(sql)
    if not calls:
        executor._scripts([sql], {})
        return
    temps = []
    try:
        for n, call in enumerate(reversed(calls)):
            temp = f"__bqml_{n}"
            executor.con.register(temp, _call(executor, call))
            temps.append(temp)
            sql = sql[: call.start] + temp + sql[call.end :]
        executor._scripts([sql], {})
    finally:
        for temp in temps:
            executor.con.unregister(temp)


def _call(executor: Executor, call: MlCall) -> pa.Table:
    key = model_key(call.model)
    if key not in executor.models:
        raise BqmlError(f"ML.{call.function}: model {key} was not created in this run")
    model = executor.models[key]
    if call.function == "FORECAST":
        if not isinstance(model, ArimaPlusTwin):
            raise BqmlError(f"ML.FORECAST needs a time-series model; {key} is {model.model_type}")
        settings = parse_struct(call.argument)
        frame = model.forecast(settings.get("horizon"), float(settings.get("confidence_level", 0.95)))
        table = pa.Table.from_pandas(frame, preserve_index=False)
        at = table.schema.get_field_index("forecast_timestamp")
        return table.set_column(at, "forecast_timestamp", table.column(at).cast(pa.timestamp("us", tz="UTC")))
    if call.function == "PREDICT":
        if not isinstance(model, ClassifierTwin):
            raise BqmlError(f"ML.PREDICT twin supports classifiers; {key} is {model.model_type}")
        argument = call.argument.strip()
        if argument.upper().startswith("TABLE "):
            query = f"SELECT * FROM {argument[6:].strip()}"
        elif argument.startswith("(") and _closing(argument, 0) == len(argument) - 1:
            query = argument[1:-1]
        else:
            raise BqmlError("ML.PREDICT's input must be (<query>) or TABLE <name>")
        return model.predict(_rows(executor, query))
    raise BqmlError(f"ML.{call.function} has no local twin (ML.FORECAST and ML.PREDICT do)")
