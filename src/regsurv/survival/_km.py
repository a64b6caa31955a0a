"""Kaplan–Meier kernels: arrays in, arrays out (R ``survival`` 3.x, ``survfitKM``).

All rows are aggregated once into cells (group, distinct time) with ``np.bincount``; each curve
is then a run of consecutive cells, so cumulative sums and products replace per-row loops.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import norm

MEDIAN_TOLERANCE = np.sqrt(np.finfo(float).eps)  # R's .Machine$double.eps^0.5 (survmean)


@dataclass(frozen=True, slots=True)
class Cells:
    """Per (group, distinct time) sums, cells sorted by group then time."""

    group: np.ndarray  # group code of each cell
    time: np.ndarray
    n_rows: np.ndarray  # rows ending in the cell
    n_deaths: np.ndarray  # unweighted event count
    w_total: np.ndarray  # weighted rows ending in the cell
    w_event: np.ndarray  # weighted events
    w2_total: np.ndarray | None  # sum of squared weights (robust variance only)
    w2_event: np.ndarray | None  # sum of squared weights of the events
    starts: np.ndarray  # first cell of each group (length n_groups + 1)


def rank_times(time: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct sorted times and each row's index among them (``np.unique(return_inverse)``).

    Integer-valued times on a modest range (months, days) are ranked in O(n) with a bincount.
    """
    if time.size:
        lo, hi = float(time.min()), float(time.max())
        if hi - lo < 4 * time.size + 1024:
            shifted = time - lo
            as_int = shifted.astype(np.int64)
            if np.array_equal(as_int, shifted):
                seen = np.bincount(as_int, minlength=int(hi - lo) + 1) > 0
                rank = np.cumsum(seen) - 1
                return np.flatnonzero(seen) + lo, rank[as_int]
    utime, inverse = np.unique(time, return_inverse=True)
    return utime, inverse


def cell_index(key: np.ndarray, n_cells: int) -> tuple[np.ndarray, np.ndarray]:
    """Occupied cells of an integer key (sorted) and each row's position among them."""
    if n_cells <= max(4 * key.size, 1 << 20):
        occupied = np.bincount(key, minlength=n_cells) > 0
        present = np.flatnonzero(occupied)
        return present, (np.cumsum(occupied) - 1)[key]
    present, inverse = np.unique(key, return_inverse=True)
    return present, inverse


def aggregate_cells(
    code: np.ndarray,
    time: np.ndarray,
    event: np.ndarray,
    weights: np.ndarray | None,
    n_groups: int,
    squares: bool = False,
) -> Cells:
    """Aggregate rows into (group, time) cells: one ranking of the times, then bincounts."""
    utime, time_rank = rank_times(time)
    n_times = utime.size
    present, row_cell = cell_index(code * n_times + time_rank, n_groups * n_times)
    m = present.size
    n_rows = np.bincount(row_cell, minlength=m)
    n_deaths = np.bincount(row_cell, weights=event, minlength=m)
    w2_total = w2_event = None
    if weights is None:
        w_total = n_rows.astype(np.float64)
        w_event = n_deaths
        if squares:
            w2_total, w2_event = w_total, w_event
    else:
        w_total = np.bincount(row_cell, weights=weights, minlength=m)
        w_event = np.bincount(row_cell, weights=weights * event, minlength=m)
        if squares:
            w2 = weights * weights
            w2_total = np.bincount(row_cell, weights=w2, minlength=m)
            w2_event = np.bincount(row_cell, weights=w2 * event, minlength=m)
    cell_group = present // n_times
    starts = np.searchsorted(cell_group, np.arange(n_groups + 1))
    return Cells(
        group=cell_group,
        time=utime[present % n_times],
        n_rows=n_rows,
        n_deaths=n_deaths,
        w_total=w_total,
        w_event=w_event,
        w2_total=w2_total,
        w2_event=w2_event,
        starts=starts,
    )


def reverse_cumsum(x: np.ndarray) -> np.ndarray:
    """Sum of x[i:], i.e. the number at risk from the counts ending at each time."""
    return np.cumsum(x[::-1])[::-1]


def km_curve(n_risk: np.ndarray, n_deaths: np.ndarray, w_event: np.ndarray):
    """Product-limit estimate and Greenwood variance of -log S (R ``std.err``**2).

    S(t) = prod (n - d) / n over times with at least one event of positive weight;
    var = sum d / (n (n - d)) (infinite once S reaches 0).
    """
    has_event = (n_deaths > 0) & (w_event > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(has_event, (n_risk - w_event) / n_risk, 1.0)
        increment = np.where(has_event, w_event / (n_risk * (n_risk - w_event)), 0.0)
    surv = np.cumprod(factor)
    var_log = np.cumsum(increment)
    return surv, var_log, has_event


def robust_var_log(
    n_risk: np.ndarray,
    w_event: np.ndarray,
    has_event: np.ndarray,
    surv: np.ndarray,
    w2_total: np.ndarray,
    w2_event: np.ndarray,
) -> np.ndarray:
    """Infinitesimal-jackknife variance of S, divided by S**2 (R ``survfitkm`` robust variance).

    The influence of row k (weight w_k) on S(t_i) is -S(t_i) w_k A_k(i) with
    A_k(i) = sum_{j <= i} (dN_k(t_j) - Y_k(t_j) h_j) / (n_j (1 - h_j)), h_j = d_j / n_j. With
    C_i = sum_{j <= i} h_j / (n_j (1 - h_j)): A_k(i) = -C_i while row k is still at risk after
    t_i, and A_k = -C_m + event_k / (n_m (1 - h_m)) once its own time t_m <= t_i. So
    sum_k w_k^2 A_k(i)^2 needs only the sums of w^2 (all rows, events) per cell of the curve.
    Returns it for each cell (0 where S = 0, as R).
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        hazard = np.where(has_event, w_event / n_risk, 0.0)
        one_minus = 1.0 - hazard
        step = np.where(has_event, hazard / (n_risk * one_minus), 0.0)
        jump = np.where(has_event, 1.0 / (n_risk * one_minus), 0.0)
        cum = np.cumsum(step)
        event_term = jump - cum
        done = (w2_total - w2_event) * cum * cum + w2_event * event_term * event_term
        later = reverse_cumsum(w2_total) - w2_total  # rows with time > t_i
        var = cum * cum * later + np.cumsum(done)
    return np.where(surv > 0, var, 0.0)


def conf_band(surv: np.ndarray, se_log: np.ndarray, conf_level: float, conf_type: str):
    """Pointwise CI from the SE of -log S, as R ``survfit_confint`` (NaN where R gives NA)."""
    z = norm.ppf(1.0 - (1.0 - conf_level) / 2.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        if conf_type == "log-log":
            xx = np.where((surv == 0) | (surv == 1), np.nan, surv)
            half = z * se_log / np.log(xx)
            loglog = np.log(-np.log(xx))
            return np.exp(-np.exp(loglog - half)), np.exp(-np.exp(loglog + half))
        if conf_type == "log":
            xx = np.where(surv == 0, np.nan, surv)
            half = z * se_log
            return np.exp(np.log(xx) - half), np.minimum(np.exp(np.log(xx) + half), 1.0)
        if conf_type == "plain":
            half = se_log * surv * z
            return np.maximum(surv - half, 0.0), np.minimum(surv + half, 1.0)
    raise ValueError(f"conf_type must be 'log-log', 'log' or 'plain', got {conf_type!r}")


def first_below_half(y: np.ndarray, x: np.ndarray) -> float:
    """R ``survmean``'s median rule (``minmin``) for a step curve y(x).

    First x with y < 0.5 (+ tolerance); if y equals 0.5 there and drops later, the midpoint
    between that x and the first x with a lower y. NaN (R's NA) when y never gets below 0.5.
    """
    keep = ~np.isnan(y) & (y < 0.5 + MEDIAN_TOLERANCE)
    if not keep.any():
        return float("nan")
    xk, yk = x[keep], y[keep]
    lower = yk < yk[0]
    if abs(yk[0] - 0.5) < MEDIAN_TOLERANCE and lower.any():
        return float((xk[0] + xk[np.argmax(lower)]) / 2.0)
    return float(xk[0])


def _first_at_or_above(x: np.ndarray, values: np.ndarray) -> np.ndarray:
    """R ``approx(x, 1:n, values, method = "constant", f = 1)$y`` as 0-based positions
    (-1 where R gives NA: outside the range of x). approx sorts the points by x first, which
    matters for a non-monotone confidence band (delayed entry); x has no ties here."""
    by_x = np.argsort(x, kind="stable")
    sorted_x = x[by_x]
    pos = np.minimum(np.searchsorted(sorted_x, values, side="left"), len(x) - 1)
    outside = (values < sorted_x[0]) | (values > sorted_x[-1]) | np.isnan(values)
    return np.where(outside, -1, by_x[pos])


def quantile_times(x: np.ndarray, y: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """R ``quantile.survfit``'s ``findq`` (survival 3.x) for a cumulative curve y = 1 - S.

    Where a horizontal line at p meets the step curve; on a flat exactly at p (within the
    tolerance) the midpoint of the flat, and on a flat at p that lasts to the end the midpoint
    with the last time. NaN where R gives NA.
    """
    tol = MEDIAN_TOLERANCE
    out = np.full(probs.size, np.nan)
    if np.all(np.isnan(y)) or np.nanmax(y) < probs.min():
        return out
    x_max = x[-1]
    _, first = np.unique(np.where(np.isnan(y), np.inf, y), return_index=True)
    keep = np.sort(first)  # duplicated(): keep the first of equal values (censoring rows)
    x, y = x[keep], y[keep]
    valid = np.flatnonzero(~np.isnan(y))
    if valid.size == 0:
        return out
    i1 = _first_at_or_above(y[valid] + tol, probs)
    i2 = _first_at_or_above(y[valid] - tol, probs)
    ok = (i1 >= 0) & (i2 >= 0)
    x1 = x[valid[np.maximum(i1, 0)]]
    x2 = x[valid[np.maximum(i2, 0)]]
    out = np.where(ok, (x1 + x2) / 2.0, np.nan)
    out = np.where((i1 >= 0) & (i2 < 0), np.nan, out)
    out[probs == 0] = x[0]
    if not np.isnan(y[-1]):
        last = np.abs(probs - y[-1]) < tol
        out = np.where(last & (i1 >= 0), (x1 + x_max) / 2.0, out)
        out = np.where(last & (i1 < 0), np.nan, out)
    return out
