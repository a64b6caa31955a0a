"""Harrell's concordance of a Cox linear predictor, R's ``concordance`` counts for ``coxph``.

A pair (i, j) in the same stratum is comparable when i has an event at t_i and j is still
alive after t_i (t_j > t_i, or censored at t_i). It is concordant when η_i > η_j (higher risk,
earlier event), discordant when η_i < η_j, tied.x when η_i = η_j. Pairs of events at the same
time are tied.y (tied.xy when η is tied too). Weights multiply: pair weight w_i w_j.
concordance = (concordant + tied.x / 2) / (concordant + discordant + tied.x).
Counting uses a Fenwick tree over η ranks, updated one distinct event time at a time.
"""

from __future__ import annotations

import numpy as np


def _fenwick_add(tree: np.ndarray, index: np.ndarray, values: np.ndarray) -> None:
    index = index + 1
    size = len(tree)
    while index.size:
        np.add.at(tree, index, values)
        index = index + (index & -index)
        inside = index < size
        index, values = index[inside], values[inside]


def _fenwick_prefix(tree: np.ndarray, index: np.ndarray) -> np.ndarray:
    """Σ of values at ranks < index."""
    total = np.zeros(len(index))
    index = index.copy()
    while True:
        active = index > 0
        if not active.any():
            return total
        total[active] += tree[index[active]]
        index[active] -= index[active] & -index[active]


def concordance_counts(
    time: np.ndarray, event: np.ndarray, eta: np.ndarray, weight: np.ndarray, stratum: np.ndarray
) -> dict[str, float]:
    """Weighted concordant / discordant / tied counts and the concordance index."""
    n = len(time)
    # rank of η within stratum (equal η share a rank); strata occupy disjoint rank ranges
    eta_order = np.lexsort((eta, stratum))
    s_sorted, e_sorted = stratum[eta_order], eta[eta_order]
    new_rank = np.r_[True, (s_sorted[1:] != s_sorted[:-1]) | (e_sorted[1:] != e_sorted[:-1])]
    rank = np.empty(n, dtype=np.int64)
    rank[eta_order] = np.cumsum(new_rank) - 1
    new_stratum = np.r_[True, s_sorted[1:] != s_sorted[:-1]]
    first_rank = np.maximum.accumulate(np.where(new_stratum, rank[eta_order], 0))
    stratum_lo = np.empty(n, dtype=np.int64)
    stratum_lo[eta_order] = first_rank
    last_rank = np.empty(n, dtype=np.int64)
    ends = np.r_[np.flatnonzero(new_stratum)[1:], n] - 1
    last_of = np.repeat(rank[eta_order][ends], np.diff(np.r_[np.flatnonzero(new_stratum), n]))
    last_rank[eta_order] = last_of

    # process (stratum, time) groups in decreasing time within each stratum
    order = np.lexsort((-time, stratum))
    t_o, s_o, ev_o = time[order], stratum[order], event[order] > 0
    new_group = np.r_[True, (t_o[1:] != t_o[:-1]) | (s_o[1:] != s_o[:-1])]
    starts = np.flatnonzero(new_group)
    stops = np.r_[starts[1:], n]
    tree = np.zeros(int(rank.max()) + 2)
    concordant = discordant = tied_x = tied_y = tied_xy = 0.0
    for start, stop in zip(starts, stops, strict=True):
        rows = order[start:stop]
        dead = ev_o[start:stop]
        censored_rows = rows[~dead]
        if censored_rows.size:
            _fenwick_add(tree, rank[censored_rows], weight[censored_rows])
        dead_rows = rows[dead]
        if dead_rows.size == 0:
            continue
        r, wd = rank[dead_rows], weight[dead_rows]
        below = _fenwick_prefix(tree, r) - _fenwick_prefix(tree, stratum_lo[dead_rows])
        upto = _fenwick_prefix(tree, r + 1) - _fenwick_prefix(tree, stratum_lo[dead_rows])
        total = _fenwick_prefix(tree, last_rank[dead_rows] + 1) - _fenwick_prefix(
            tree, stratum_lo[dead_rows]
        )
        concordant += float(wd @ below)
        tied_x += float(wd @ (upto - below))
        discordant += float(wd @ (total - upto))
        pairs_all = (wd.sum() ** 2 - (wd**2).sum()) / 2
        if dead_rows.size > 1:
            _, inverse = np.unique(r, return_inverse=True)
            sw = np.bincount(inverse, weights=wd)
            sw2 = np.bincount(inverse, weights=wd**2)
            pairs_xy = float(((sw**2 - sw2) / 2).sum())
        else:
            pairs_xy = 0.0
        tied_xy += pairs_xy
        tied_y += pairs_all - pairs_xy
        _fenwick_add(tree, r, wd)
    denom = concordant + discordant + tied_x
    return {
        "concordant": concordant,
        "discordant": discordant,
        "tied_x": tied_x,
        "tied_y": tied_y,
        "tied_xy": tied_xy,
        "concordance": (concordant + tied_x / 2) / denom if denom > 0 else float("nan"),
    }
