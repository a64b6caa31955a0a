"""Input checks and integer coding shared by Kaplan–Meier and the log-rank tests.

Rows with a missing time, event, group or stratum are dropped and counted (R's ``na.omit``);
everything else that is wrong raises a one-line error naming the column, the value and the
number of rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from regsurv._frames import to_polars
from regsurv.survival._km import rank_times


@dataclass(frozen=True, slots=True)
class SurvivalData:
    """Checked survival input as numpy arrays (rows with missing values removed)."""

    time: np.ndarray  # float64, >= 0
    event: np.ndarray  # float64, 0/1
    weights: np.ndarray | None  # float64, >= 0, or None when unweighted
    group_code: np.ndarray  # int64 in [0, len(group_levels))
    group_levels: tuple[str, ...]
    strata_code: np.ndarray  # int64 in [0, len(strata_levels))
    strata_levels: tuple[str, ...]
    n_dropped: int
    warnings: tuple[str, ...]
    start: np.ndarray | None = None  # float64 entry times (counting process), < time


def _label(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _pandas_categories(data: Any, column: str) -> list[str] | None:
    """Declared category order of a pandas Categorical column (lost by ``pl.from_pandas``)."""
    dtype = getattr(getattr(data, "dtypes", None), "get", lambda _: None)(column)
    categories = getattr(dtype, "categories", None)
    return None if categories is None else [str(c) for c in categories]


def _factor(
    series: pl.Series, keep: np.ndarray | slice, declared: list[str] | None
) -> tuple[np.ndarray, tuple[str, ...]]:
    """Integer codes and level labels: Enum / pandas order, else sorted distinct values (R)."""
    dtype = series.dtype
    if isinstance(dtype, pl.Enum) and declared is None:
        codes = series.to_physical().to_numpy()[keep].astype(np.int64)
        return codes, tuple(str(v) for v in dtype.categories)
    if declared is not None:
        codes = series.cast(pl.String).cast(pl.Enum(declared)).to_physical().to_numpy()
        return codes[keep].astype(np.int64), tuple(declared)
    if dtype == pl.Boolean:  # labelled "false"/"true", as polars casts them and regsurv.causal
        codes = series.cast(pl.Int8).to_numpy()[keep].astype(np.int64)
        levels = np.unique(codes)
        labels = tuple(("false", "true")[v] for v in levels)
        return np.searchsorted(levels, codes).astype(np.int64), labels
    if series.dtype.is_numeric():
        values = series.to_numpy()[keep].astype(np.float64)
        uniq, codes = rank_times(values)
        return codes.astype(np.int64), tuple(_label(v.item()) for v in uniq)
    strings = series.cast(pl.String)
    levels = sorted(strings.drop_nulls().unique().to_list())
    codes = strings.cast(pl.Enum(levels)).to_physical().to_numpy()
    return codes[keep].astype(np.int64), tuple(levels)


def _numeric_values(series: pl.Series) -> tuple[np.ndarray, np.ndarray | None]:
    """Values as a numpy array (float64 with NaN for nulls when there are any) and the
    missing-value mask (None when nothing is missing); cheap when there are no nulls."""
    if series.dtype == pl.Boolean:
        series = series.cast(pl.UInt8)
    values = series.cast(pl.Float64).to_numpy() if series.null_count() else series.to_numpy()
    if values.dtype.kind == "f":
        missing = np.isnan(values)
        return values, missing if missing.any() else None
    return values, None


def _first_bad(values: np.ndarray, bad: np.ndarray) -> str:
    return repr(values[np.flatnonzero(bad)[0]].item())


def prepare_survival_data(
    data: Any,
    *,
    time: str,
    event: str,
    group: str | None = None,
    strata: str | None = None,
    weights: str | None = None,
    start: str | None = None,
) -> SurvivalData:
    """Validate and encode the columns of a survival analysis (see the module docstring).

    With ``start``, rows are counting-process intervals (start, time]: ``time`` is the stop
    time and must be > start (a one-line error counts the rows that are not)."""
    frame = to_polars(data)
    columns = {
        "start": start,
        "time" if start is None else "stop": time,
        "event": event,
        "group": group,
        "strata": strata,
        "weights": weights,
    }
    for role, name in columns.items():
        if name is not None and name not in frame.columns:
            raise ValueError(f"{role} column {name!r} not found in data ({frame.width} columns)")
    n_rows = frame.height
    if n_rows == 0:
        raise ValueError("data has no rows")

    time_s = frame.get_column(time)
    if not time_s.dtype.is_numeric() or time_s.dtype == pl.Boolean:
        raise TypeError(f"time column {time!r} has dtype {time_s.dtype}; expected numeric")
    event_s = frame.get_column(event)
    if event_s.dtype != pl.Boolean and not event_s.dtype.is_numeric():
        raise TypeError(
            f"event column {event!r} has dtype {event_s.dtype}; expected 0/1 or Boolean"
        )

    t_all, t_missing = _numeric_values(time_s)
    e_all, e_missing = _numeric_values(event_s)
    missing = {time: t_missing, event: e_missing}
    if start is not None:
        start_s = frame.get_column(start)
        if not start_s.dtype.is_numeric() or start_s.dtype == pl.Boolean:
            raise TypeError(f"start column {start!r} has dtype {start_s.dtype}; expected numeric")
        s_all, missing[start] = _numeric_values(start_s)
    for name in (group, strata):
        if name is None:
            continue
        series = frame.get_column(name)
        extra = series.is_null()
        if series.dtype.is_float():
            extra = extra | series.is_nan()
        if extra.any():
            extra = extra.to_numpy()
            missing[name] = extra if missing.get(name) is None else missing[name] | extra
    missing = {name: mask for name, mask in missing.items() if mask is not None}
    keep: np.ndarray | slice = slice(None)
    n_dropped = 0
    warnings: list[str] = []
    if missing:
        drop = np.zeros(n_rows, dtype=bool)
        for mask in missing.values():
            drop |= mask
        keep = ~drop
        n_dropped = int(drop.sum())
        detail = ", ".join(f"{name}: {int(m.sum())}" for name, m in missing.items() if m.any())
        warnings.append(f"{n_dropped} of {n_rows} rows dropped for missing values ({detail})")
        if n_dropped == n_rows:
            raise ValueError(f"all {n_rows} rows have a missing value ({warnings[0]})")

    t = np.asarray(t_all[keep], dtype=np.float64)
    t0 = None
    if start is None:
        bad = (~np.isfinite(t) | (t < 0)) if t_all.dtype.kind == "f" else (t < 0)
        if bad.any():
            raise ValueError(
                f"time column {time!r}: {int(bad.sum())} rows are negative or infinite "
                f"(first: {_first_bad(t, bad)})"
            )
    else:
        t0 = np.ascontiguousarray(s_all[keep], dtype=np.float64)
        for name, values in ((start, t0), (time, t)):
            bad = ~np.isfinite(values)
            if bad.any():
                raise ValueError(f"column {name!r}: {int(bad.sum())} rows are infinite")
        bad = t <= t0
        if bad.any():
            first = int(np.flatnonzero(bad)[0])
            raise ValueError(
                f"stop column {time!r} <= start column {start!r} in {int(bad.sum())} rows "
                f"(first: start {t0[first]!r}, stop {t[first]!r}); intervals must have stop > start"
            )
    e_kept = e_all[keep]
    bad = (e_kept != 0) & (e_kept != 1)
    if bad.any():
        values = ", ".join(repr(v.item()) for v in np.unique(e_kept[bad])[:5])
        raise ValueError(
            f"event column {event!r}: {int(bad.sum())} rows are not 0/1 (values: {values}); "
            "code the event as 1 = event, 0 = censored"
        )
    e = e_kept.astype(np.float64)

    w = None
    if weights is not None:
        w_s = frame.get_column(weights)
        if not w_s.dtype.is_numeric() or w_s.dtype == pl.Boolean:
            raise TypeError(f"weights column {weights!r} has dtype {w_s.dtype}; expected numeric")
        w = w_s.cast(pl.Float64).to_numpy()[keep]
        bad = ~np.isfinite(w)
        if bad.any():
            raise ValueError(
                f"weights column {weights!r}: {int(bad.sum())} rows are missing, NaN or infinite"
            )
        bad = w < 0
        if bad.any():
            raise ValueError(
                f"weights column {weights!r}: {int(bad.sum())} rows are negative "
                f"(first: {_first_bad(w, bad)})"
            )

    n_kept = t.size
    if group is None:
        g_code, g_levels = np.zeros(n_kept, dtype=np.int64), ("all",)
    else:
        g_code, g_levels = _factor(frame.get_column(group), keep, _pandas_categories(data, group))
    if strata is None:
        s_code, s_levels = np.zeros(n_kept, dtype=np.int64), ("all",)
    else:
        s_code, s_levels = _factor(frame.get_column(strata), keep, _pandas_categories(data, strata))
    return SurvivalData(
        time=np.ascontiguousarray(t, dtype=np.float64),
        event=np.ascontiguousarray(e, dtype=np.float64),
        weights=None if w is None else np.ascontiguousarray(w),
        group_code=g_code,
        group_levels=g_levels,
        strata_code=s_code,
        strata_levels=s_levels,
        n_dropped=n_dropped,
        warnings=tuple(warnings),
        start=t0,
    )


def check_groups(
    codes: np.ndarray, levels: tuple[str, ...], column: str | None
) -> tuple[np.ndarray, list[str]]:
    """Rows per level, and R-like warnings for empty and single-row levels."""
    counts = np.bincount(codes, minlength=len(levels))
    warnings = []
    empty = [levels[i] for i in np.flatnonzero(counts == 0)]
    if empty:
        warnings.append(
            f"group column {column!r}: level(s) with no rows ignored: {', '.join(empty)}"
        )
    single = [levels[i] for i in np.flatnonzero(counts == 1)]
    if single:
        warnings.append(f"group column {column!r}: level(s) with a single row: {', '.join(single)}")
    return counts, warnings
