"""Proportional-hazards test of R survival 3.x ``cox.zph`` (score test, Therneau 2020).

At the fitted β, add the time-varying covariates x·g(t) with coefficient 0 and score-test them:
g(t) = transform of the event time, centred by its mean over the events; u = Σ_events g(t)
(w x − Σ_k m x̄_k) per event time; the information of the expanded model has blocks
I, Σ g I_t, Σ g² I_t (I_t the per-time information). Per term T: u_Tᵀ J⁻¹ u_T with
J = the information restricted to (all β, the g-columns of T); GLOBAL uses all g-columns.
``transform="km"``: g(t) = 1 − KM(t−) of the pooled, unweighted data; ``"identity"``: g(t) = t.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from scipy import stats

from regsurv.survival import _cox

if TYPE_CHECKING:
    from regsurv.survival.cox import CoxResult, CoxTestTable, _CoxModel


def _left_km_complement(
    time: np.ndarray, event: np.ndarray, at: np.ndarray, start: np.ndarray | None = None
) -> np.ndarray:
    """1 − S(t−) of the pooled unweighted Kaplan–Meier curve at the times ``at`` (the
    counting-process curve, at risk when start < t <= time, when ``start`` is given)."""
    times, inverse = np.unique(time, return_inverse=True)
    deaths = np.bincount(inverse, weights=event)
    n_risk = len(time) - np.r_[0, np.cumsum(np.bincount(inverse))[:-1]]
    if start is not None:  # minus the rows not yet entered (start >= t)
        n_risk = n_risk - (len(start) - np.searchsorted(np.sort(start), times, side="left"))
    surv = np.cumprod(1 - deaths / n_risk)
    before = np.searchsorted(times, at, side="left")  # number of distinct times < at
    return 1.0 - np.r_[1.0, surv][before]


def zph_test(
    result: CoxResult, model: _CoxModel, *, transform: str = "km", terms: bool = True
) -> CoxTestTable:
    from regsurv.survival.cox import CoxTestTable

    data, state = model.data, model.fit.state
    time_sorted = model.time_values[data.order]
    event_time = time_sorted[data.group_start[data.event_groups]]
    if transform == "km":
        g = _left_km_complement(
            model.time_values, model.event_values, event_time, model.start_values
        )
        g_rows = _left_km_complement(
            model.time_values,
            model.event_values,
            model.time_values[model.event_values > 0],
            model.start_values,
        )
    elif transform == "identity":
        g = event_time
        g_rows = model.time_values[model.event_values > 0]
    else:
        raise ValueError(f"transform must be 'km' or 'identity', got {transform!r}")
    g = g - g_rows.mean()

    dr = data.death_rows
    wx = data.x[data.order[dr]] * data.weight[dr, None]
    group_score = np.add.reduceat(wx, data.death_starts, axis=0) - data.group_death_weight[
        :, None
    ] * _cox.mean_covariate(data, state)
    u = g @ group_score
    i11 = _cox.information(data, state)
    i12 = _cox.information(data, state, g)
    i22 = _cox.information(data, state, g * g)
    keep = model.fit.keep
    k = np.flatnonzero(keep)
    nk = len(k)
    imat = np.block(
        [[i11[np.ix_(k, k)], i12[np.ix_(k, k)]], [i12[np.ix_(k, k)], i22[np.ix_(k, k)]]]
    )
    u_k = u[k]

    groups: list[tuple[str, np.ndarray]] = []
    offset = 0
    position = {j: i for i, j in enumerate(k)}
    for term in model.design:
        cols = [offset + i for i in range(len(term.names))]
        offset += len(term.names)
        kept_cols = [position[c] for c in cols if c in position]
        if terms:
            if kept_cols:
                groups.append((term.column, np.array(kept_cols)))
        else:
            groups.extend(
                (name, np.array([position[c]]))
                for name, c in zip(term.names, cols, strict=True)
                if c in position
            )
    names, stat, dfs = [], [], []
    for name, jj in [*groups, ("GLOBAL", np.arange(nk))]:
        idx = np.r_[np.arange(nk), nk + jj]
        vec = np.r_[np.zeros(nk), u_k[jj]]
        stat.append(float(vec @ np.linalg.solve(imat[np.ix_(idx, idx)], vec)))
        names.append(name)
        dfs.append(len(jj))
    stat_a, df_a = np.array(stat), np.array(dfs)
    return CoxTestTable(tuple(names), stat_a, df_a, stats.chi2.sf(stat_a, df_a), f"zph_{transform}")
