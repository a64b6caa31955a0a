"""Log-rank kernels: arrays in, arrays out.

``survdiff_kernel`` is R ``survival::survdiff`` (G-rho family, Harrington–Fleming weights
S(t-)^rho from the pooled Kaplan–Meier of each stratum). ``svylogrank_kernel`` is the
design-based weighted test of ``survey::svylogrank`` (method "small"): the score of a Cox model
at beta = 0 with case weights and Efron ties, its per-row influence, and the with-replacement
variance of the weighted total, n / (n - 1) sum (z_i - zbar)(z_i - zbar)'.

Rows are aggregated once into cells (stratum, distinct time) x group with ``np.bincount``.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from regsurv.survival._km import cell_index, rank_times


@dataclass(frozen=True, slots=True)
class GroupCells:
    """Counts per (stratum, time) cell and group; cells sorted by stratum then time."""

    stratum_starts: np.ndarray  # first cell of each stratum (length n_strata + 1)
    at_risk_end: np.ndarray  # (cells, groups): weight of rows whose time is this cell's time
    deaths: np.ndarray  # (cells, groups): weighted events
    n_deaths: np.ndarray  # (cells,): unweighted event count
    row_cell: np.ndarray  # cell of each row


def group_cells(
    stratum: np.ndarray,
    time: np.ndarray,
    event: np.ndarray,
    group: np.ndarray,
    weights: np.ndarray | None,
    n_strata: int,
    n_groups: int,
) -> GroupCells:
    """Aggregate rows into (stratum, time) cells with per-group sums."""
    utime, time_rank = rank_times(time)
    present, row_cell = cell_index(stratum * utime.size + time_rank, n_strata * utime.size)
    m = present.size
    flat = row_cell * n_groups + group
    w = np.ones_like(time) if weights is None else weights
    at_risk_end = np.bincount(flat, weights=w, minlength=m * n_groups).reshape(m, n_groups)
    deaths = np.bincount(flat, weights=w * event, minlength=m * n_groups).reshape(m, n_groups)
    n_deaths = np.bincount(row_cell, weights=event, minlength=m)
    starts = np.searchsorted(present // utime.size, np.arange(n_strata + 1))
    return GroupCells(starts, at_risk_end, deaths, n_deaths, row_cell)


def _at_risk(cells: GroupCells) -> np.ndarray:
    """Weighted number at risk per cell and group (time >= t within the stratum)."""
    risk = np.empty_like(cells.at_risk_end)
    for lo, hi in itertools.pairwise(cells.stratum_starts):
        risk[lo:hi] = np.cumsum(cells.at_risk_end[lo:hi][::-1], axis=0)[::-1]
    return risk


def _left_km(n_risk: np.ndarray, n_event: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Pooled Kaplan–Meier just before each cell's time, S(t-), within each stratum."""
    out = np.empty_like(n_risk)
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(n_risk > 0, (n_risk - n_event) / n_risk, 1.0)
    for lo, hi in itertools.pairwise(starts):
        surv = np.cumprod(factor[lo:hi])
        out[lo:hi] = np.concatenate(([1.0], surv[:-1]))
    return out


def survdiff_kernel(cells: GroupCells, rho: float):
    """Observed, expected (per group, summed over strata) and variance matrix, as survdiff."""
    risk = _at_risk(cells)
    n_risk = risk.sum(axis=1)
    deaths = cells.deaths
    total = deaths.sum(axis=1)
    wt = np.ones_like(n_risk) if rho == 0 else _left_km(n_risk, total, cells.stratum_starts) ** rho
    is_death = total > 0
    risk, n_risk, deaths, total, wt = (
        risk[is_death],
        n_risk[is_death],
        deaths[is_death],
        total[is_death],
        wt[is_death],
    )
    share = risk / n_risk[:, None]
    observed = (wt[:, None] * deaths).sum(axis=0)
    expected = (wt * total) @ share
    with np.errstate(divide="ignore", invalid="ignore"):
        kt = np.where(n_risk > 1, wt * wt * total * (n_risk - total) / (n_risk - 1), 0.0)
    variance = np.diag(kt @ share) - (share * kt[:, None]).T @ share
    return observed, expected, variance


def logrank_chisq(observed: np.ndarray, expected: np.ndarray, variance: np.ndarray):
    """survdiff's statistic: groups with expected > 0, first of them dropped, solve(V, O - E)."""
    keep = np.flatnonzero(expected > 0)
    df = keep.size - 1
    if keep.size < 2:
        return 0.0, df
    idx = keep[1:]
    diff = (observed - expected)[idx]
    return quadratic_form(diff, variance[np.ix_(idx, idx)]), df


def quadratic_form(score: np.ndarray, variance: np.ndarray) -> float:
    """score' V^-1 score; NaN when V is singular (condition number > 1e12; R's solve fails)."""
    if not np.all(np.isfinite(variance)) or np.linalg.cond(variance) > 1e12:
        return float("nan")
    return float(score @ np.linalg.solve(variance, score))


def svylogrank_kernel(
    cells: GroupCells,
    event: np.ndarray,
    group: np.ndarray,
    weights: np.ndarray,
    rho: float,
):
    """Design-based weighted log-rank scores, as ``survey::svylogrank`` (Efron ties, beta = 0).

    With full dummy coding x_ip = [group_i = p] and, at each death time j with D_j deaths,
    Efron means E_jp = (1/D) sum_{r<D} (n_pj - r/D d_pj) / (N_j - r/D d_j) and hazard
    increments dL_j = sum_{r<D} (d_j / D) / (N_j - r/D d_j) (n, N weighted at risk; d
    weighted deaths), row i's score is
    U_ip = event_i (x_ip - E_{t_i p}) - sum_{t_j <= t_i} (x_ip - E_jp) dL_j
    (times the weight function S(t-)^rho). Returns the weighted totals T = sum w_i U_i,
    their variance n/(n-1) sum (w_i U_i - mean)(...)', and the weighted observed counts.
    """
    risk = _at_risk(cells)
    n_risk = risk.sum(axis=1)
    deaths = cells.deaths
    total = deaths.sum(axis=1)
    n_groups = deaths.shape[1]
    m = n_risk.size
    count = cells.n_deaths.astype(np.int64)
    wt = np.ones(m) if rho == 0 else _left_km(n_risk, total, cells.stratum_starts) ** rho

    # Efron sub-steps r = 0..D-1 of every death cell: with c = d/D per sub-step,
    # S1 = sum_r 1 / (N - (r/D) d) and S2 = sum_r (r/D) / (N - (r/D) d) (np.add.reduceat)
    death_cells = np.flatnonzero(count > 0)
    reps = count[death_cells]
    seg_start = np.cumsum(reps) - reps
    frac = (np.arange(reps.sum()) - np.repeat(seg_start, reps)) / np.repeat(reps, reps)
    inv = 1.0 / (np.repeat(n_risk[death_cells], reps) - frac * np.repeat(total[death_cells], reps))
    s1 = np.add.reduceat(inv, seg_start) if reps.size else np.zeros(0)
    s2 = np.add.reduceat(frac * inv, seg_start) if reps.size else np.zeros(0)
    d_lambda = np.zeros(m)
    d_lambda[death_cells] = total[death_cells] / reps * s1
    means = np.zeros((m, n_groups))
    means[death_cells] = (
        risk[death_cells] * s1[:, None] - deaths[death_cells] * s2[:, None]
    ) / reps[:, None]

    # cumulative sums within each stratum of wt * dL and wt * E * dL
    cum_lambda = np.empty(m)
    cum_mean = np.empty((m, n_groups))
    for lo, hi in itertools.pairwise(cells.stratum_starts):
        cum_lambda[lo:hi] = np.cumsum(wt[lo:hi] * d_lambda[lo:hi])
        cum_mean[lo:hi] = np.cumsum((wt * d_lambda)[lo:hi, None] * means[lo:hi], axis=0)

    # U_i depends on the row only through (cell, group, event): aggregate w and w^2 per class
    n = cells.row_cell.size
    key = (cells.row_cell * n_groups + group) * 2 + event.astype(np.int64)
    n_class = m * n_groups * 2
    sum_w = np.bincount(key, weights=weights, minlength=n_class)
    sum_w2 = np.bincount(key, weights=weights * weights, minlength=n_class)
    used = np.flatnonzero(sum_w2 > 0)
    cls_cell, rest = np.divmod(used, n_groups * 2)
    cls_group, cls_event = np.divmod(rest, 2)
    x = np.zeros((used.size, n_groups))
    x[np.arange(used.size), cls_group] = 1.0
    scores = (cls_event * wt[cls_cell])[:, None] * (x - means[cls_cell])
    scores += cum_mean[cls_cell] - x * cum_lambda[cls_cell, None]
    totals = sum_w[used] @ scores
    # design-based variance n/(n-1) sum_i (z_i - zbar)(z_i - zbar)' with z_i = w_i U_i, i.e.
    # n/(n-1) (sum_classes (sum w^2) U U' - n zbar zbar'); zbar = T/n is small next to z_i
    zbar = totals / n
    second = (scores * sum_w2[used, None]).T @ scores
    variance = (second - n * np.outer(zbar, zbar)) * (n / (n - 1))
    observed = np.bincount(
        cls_group, weights=sum_w[used] * cls_event * wt[cls_cell], minlength=n_groups
    )
    return totals, variance, observed
