"""Cox partial-likelihood kernels (arrays in, arrays out), after R survival's coxfit6/coxscore2.

Rows are sorted once by (stratum, time) and aggregated per distinct (stratum, time) "group".
For an event group with deaths D (count d, weight sum W_D), risk set R and r = w·exp(η), the
tie terms are k = 0..d-1 (Efron: multiplier m = W_D/d, a_k = k/d; Breslow: one term, m = W_D,
a = 0) with denominators D_k = S0_R − a_k S0_D, so that

    loglik = Σ_D w η − Σ_k m log D_k
    U      = Σ_D w x − Σ_k m x̄_k,              x̄_k = (S1_R − a_k S1_D) / D_k
    I      = Σ_k m [(S2_R − a_k S2_D)/D_k − x̄_k x̄_kᵀ].

S2 is never formed per group: Σ_g S2_R,g A_g = Xᵀ diag(r · cumA) X with cumA the cumulative
Σ m/D_k over event groups at or before each row's time, so an iteration costs one pass over X,
one X-weighted Gram product and O(groups · p²).

Counting-process (start, stop] rows (R's agreg.fit): a row is at risk at t when start < t <= stop,
and a group is an event time with every row whose stop falls before the next event time.
Every risk-set sum is taken by difference, Σ_{stop >= t} − Σ_{start >= t}: rows are binned once
at the last group time <= their start ("entry group"), and the binned sums are subtracted before
the reverse cumulative sum; the cumulative per-row sums (cumA above, the score residuals' H and
M) become cum(stop) − cum(start). One more sparse pass over X per iteration, no loop over times.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.linalg import blas

TOLER_CHOL = np.finfo(float).eps ** 0.75


@dataclass(frozen=True, slots=True, eq=False)
class CoxData:
    """Sorted, centred and scaled inputs with their group/tie structure."""

    x: np.ndarray  # (n, p), centred and scaled, in INPUT row order (never sorted)
    weight: np.ndarray  # (n,)
    event: np.ndarray  # (n,) bool
    order: np.ndarray  # sorted position -> input row
    group_of_row: np.ndarray  # (n,) group index
    group_start: np.ndarray  # (G,) first sorted row of each group
    group_stratum_end: np.ndarray  # (G,) index one past the last group of the group's stratum
    group_stratum_start: np.ndarray  # (G,) first group of the group's stratum
    event_groups: np.ndarray  # (E,) groups with at least one death
    death_rows: np.ndarray  # sorted rows that are deaths
    death_starts: np.ndarray  # (E,) start of each event group within death_rows
    term_group: np.ndarray  # (T,) position in event_groups of each tie term
    term_a: np.ndarray  # (T,)
    term_m: np.ndarray  # (T,)
    term_q: np.ndarray  # (T,) 1 / number of terms in the group (mean of x̄_k)
    group_death_weight: np.ndarray  # (E,)
    death_weighted_x: np.ndarray  # (p,) Σ_D w x
    center: np.ndarray  # (p,)
    scale: np.ndarray  # (p,)
    # counting process only (None for right-censored data):
    entry_group: np.ndarray | None = None  # (n,) sorted rows: last group with time <= start, or -1
    entry_rows: np.ndarray | None = None  # sorted rows with an entry group, by entry group
    entry_indptr: np.ndarray | None = None  # (G + 1,) segments of entry_rows per group


def _entry_groups(
    start_s: np.ndarray,
    time_s: np.ndarray,
    stratum_s: np.ndarray,
    group_start: np.ndarray,
    group_stratum_start: np.ndarray,
    group_of_row: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per sorted row, the last group of its stratum with time <= start (-1 when none), the
    rows that have one ordered by it, and their segment pointers per group."""
    group_time = time_s[group_start]
    if stratum_s.size == 0 or stratum_s[0] == stratum_s[-1]:
        cut = np.searchsorted(group_time, start_s, side="right")
    else:  # integer (stratum, time rank) keys keep the stratum-major order of the groups
        values, rank = np.unique(np.concatenate([group_time, start_s]), return_inverse=True)
        span = len(values) + 1
        key = stratum_s.astype(np.int64) * span + rank[len(group_time) :]
        group_key = stratum_s[group_start].astype(np.int64) * span + rank[: len(group_time)]
        cut = np.searchsorted(group_key, key, side="right")
    entry = cut - 1
    entry[entry < group_stratum_start[group_of_row]] = -1
    valid = np.flatnonzero(entry >= 0)
    rows = valid[np.argsort(entry[valid], kind="stable")]
    indptr = np.searchsorted(entry[rows], np.arange(len(group_start) + 1), side="left")
    return entry, rows, indptr


def prepare(
    time: np.ndarray,
    event: np.ndarray,
    x: np.ndarray,
    weight: np.ndarray,
    stratum: np.ndarray,
    ties: str,
    *,
    start: np.ndarray | None = None,
    overwrite_x: bool = False,
) -> CoxData:
    """Sort by (stratum, time), centre and scale X (as coxfit6), and build the tie structure.

    X itself is not sorted: every pass over it goes through ``order`` (sparse segment sums),
    which saves an n × p gather. ``overwrite_x`` centres and scales ``x`` in place. ``start``
    (entry times, < time) makes the rows (start, time] counting-process intervals.
    """
    if time.size and np.all(time == np.floor(time)) and time.max() < 65536:
        order = np.argsort(time.astype(np.uint16), kind="stable")  # radix sort: integer months
    else:
        order = np.argsort(time, kind="stable")
    if stratum.size and stratum.min() != stratum.max():
        order = order[np.argsort(stratum[order], kind="stable")]
    time_s, stratum_s = time[order], stratum[order]
    event_s = event[order].astype(bool)
    weight_s = weight[order].astype(float)
    n = len(time_s)
    total_w = weight_s.sum()
    x_s = x if overwrite_x else np.array(x, dtype=float)
    center, scale = _center_and_scale(x_s, weight.astype(float), total_w)

    new_group = np.ones(n, dtype=bool)
    new_group[1:] = (time_s[1:] != time_s[:-1]) | (stratum_s[1:] != stratum_s[:-1])
    if start is not None:
        # (start, stop] rows: one group per event time, holding every row whose stop lies in
        # [t_e, t_e+1) (they share all risk sets), so the sums run over event times, not over
        # every distinct stop (split points are rarely event times)
        run = np.cumsum(new_group) - 1
        run_has_death = np.bincount(run, weights=event_s, minlength=run[-1] + 1 if n else 0) > 0
        new_stratum_row = np.ones(n, dtype=bool)
        new_stratum_row[1:] = stratum_s[1:] != stratum_s[:-1]
        new_group = new_stratum_row | (new_group & run_has_death[run])
    group_start = np.flatnonzero(new_group)
    group_of_row = np.cumsum(new_group) - 1
    n_groups = len(group_start)
    new_stratum = np.ones(n_groups, dtype=bool)
    new_stratum[1:] = stratum_s[group_start[1:]] != stratum_s[group_start[:-1]]
    stratum_first = np.flatnonzero(new_stratum)
    stratum_id = np.cumsum(new_stratum) - 1
    stratum_last = np.append(stratum_first[1:], n_groups)
    group_stratum_start = stratum_first[stratum_id]
    group_stratum_end = stratum_last[stratum_id]

    deaths_per_group = np.bincount(group_of_row, weights=event_s, minlength=n_groups)
    event_groups = np.flatnonzero(deaths_per_group > 0)
    d = deaths_per_group[event_groups].astype(np.int64)
    death_rows = np.flatnonzero(event_s)
    death_starts = (np.cumsum(d) - d).astype(np.int64)
    group_death_weight = np.bincount(
        group_of_row[death_rows], weights=weight_s[death_rows], minlength=n_groups
    )[event_groups]
    if ties == "efron":
        term_group = np.repeat(np.arange(len(event_groups)), d)
        term_k = np.arange(d.sum()) - np.repeat(death_starts, d)
        d_term = d[term_group].astype(float)
        term_a = term_k / d_term
        term_m = group_death_weight[term_group] / d_term
        term_q = 1.0 / d_term
    elif ties == "breslow":
        term_group = np.arange(len(event_groups))
        term_a = np.zeros(len(event_groups))
        term_m = group_death_weight.copy()
        term_q = np.ones(len(event_groups))
    else:
        raise ValueError(f"ties must be 'efron' or 'breslow', got {ties!r}")
    # Σ_D w x in X's own (input) row order: one pass, no gather of the death rows
    death_weighted_x = np.where(event.astype(bool), weight.astype(float), 0.0) @ x_s
    entry = (None, None, None)
    if start is not None:
        entry = _entry_groups(
            start[order], time_s, stratum_s, group_start, group_stratum_start, group_of_row
        )
    return CoxData(
        x_s, weight_s, event_s, order, group_of_row, group_start, group_stratum_end,
        group_stratum_start, event_groups, death_rows, death_starts, term_group, term_a,
        term_m, term_q, group_death_weight, death_weighted_x, center,
        scale, *entry,
    )  # fmt: skip


#: Rows per block of the passes over X that would otherwise make an n × p temporary
#: (4096 x 30 doubles: ~1 MB, in cache).
BLOCK_ROWS = 4096


def _row_blocks(n: int) -> list[slice]:
    """Consecutive slices of `BLOCK_ROWS` rows covering rows ``0..n``."""
    return [slice(first, min(first + BLOCK_ROWS, n)) for first in range(0, n, BLOCK_ROWS)]


def _center_and_scale(
    x: np.ndarray, weight: np.ndarray, total_w: float
) -> tuple[np.ndarray, np.ndarray]:
    """Centre X on its weighted mean and scale by 1 / weighted mean |x - mean|, in place
    (coxfit6's scaling); the |x - mean| of each block of rows goes to one reused buffer."""
    n, p = x.shape
    if not n:
        return np.zeros(p), np.ones(p)
    center = (weight @ x) / total_w
    spread = np.zeros(p)
    buffer = np.empty((min(BLOCK_ROWS, n), p))
    for block in _row_blocks(n):
        rows = x[block]
        rows -= center
        spread += weight[block] @ np.abs(rows, out=buffer[: len(rows)])
    spread /= total_w
    scale = np.where(spread > 0, 1.0 / np.where(spread > 0, spread, 1.0), 1.0)
    x *= scale
    return center, scale


def _segment_sum(values: np.ndarray, starts: np.ndarray, n: int) -> np.ndarray:
    """Sums of consecutive segments of ``values`` beginning at ``starts``."""
    if len(starts) == 0:
        return np.zeros(0)
    return np.add.reduceat(values, starts) if n else np.zeros(len(starts))


def _segment_matmul(
    coef: np.ndarray, starts: np.ndarray, x: np.ndarray, rows: np.ndarray | None = None
) -> np.ndarray:
    """Σ over each segment of coef_i · x[rows_i] (one sparse pass over X, no n×p temporary)."""
    n = len(coef)
    if len(starts) == 0:
        return np.zeros((0, x.shape[1]))
    columns = np.arange(n) if rows is None else rows
    indptr = np.append(starts, n)
    matrix = sparse.csr_matrix((coef, columns, indptr), shape=(len(starts), x.shape[0]))
    return np.asarray(matrix @ x)


def _reverse_cumsum_by_stratum(values: np.ndarray, data: CoxData) -> np.ndarray:
    """Σ over groups h >= g in g's stratum of ``values[h]`` (groups along axis 0)."""
    rc = np.cumsum(values[::-1], axis=0)[::-1]
    rc = np.concatenate([rc, np.zeros((1, *values.shape[1:]))], axis=0)
    return rc[: len(values)] - rc[data.group_stratum_end]


def _cumsum_by_stratum(values: np.ndarray, data: CoxData) -> np.ndarray:
    """Σ over groups h <= g in g's stratum of ``values[h]``."""
    c = np.cumsum(values, axis=0)
    c = np.concatenate([np.zeros((1, *values.shape[1:])), c], axis=0)
    return c[1:] - c[data.group_stratum_start]


def cumulative_at_rows(values: np.ndarray, data: CoxData) -> np.ndarray:
    """Per sorted row, Σ of per-group ``values`` over the groups the row is at risk in
    (stratum groups up to its time, minus those up to its start for counting-process rows)."""
    cum = _cumsum_by_stratum(values, data)
    out = cum[data.group_of_row]
    if data.entry_group is not None:
        entered = data.entry_group >= 0
        out[entered] -= cum[data.entry_group[entered]]
    return out


@dataclass(frozen=True, slots=True, eq=False)
class CoxState:
    """Partial likelihood and its ingredients at one β (scaled coordinates)."""

    loglik: float
    risk: np.ndarray  # exp(η), sorted rows
    s1_risk: np.ndarray  # (E, p)
    s1_death: np.ndarray  # (E, p)
    denom: np.ndarray  # (T,) D_k


def evaluate(data: CoxData, beta: np.ndarray) -> CoxState:
    """Log partial likelihood and the risk-set sums S0, S1 at β."""
    eta = (data.x @ beta)[data.order]
    shift = float(eta.max()) if eta.size and eta.max() > 300 else 0.0
    risk = np.exp(eta - shift)
    wr = data.weight * risk
    eg = data.event_groups
    s0_group = _segment_sum(wr, data.group_start, len(wr))
    s1_group = _segment_matmul(wr, data.group_start, data.x, rows=data.order)
    if data.entry_group is not None:  # minus the rows entering at or after each time
        rows = data.entry_rows
        n_groups = len(data.group_start)
        s0_group = s0_group - np.bincount(
            data.entry_group[rows], weights=wr[rows], minlength=n_groups
        )
        entering = sparse.csr_matrix(
            (wr[rows], data.order[rows], data.entry_indptr), shape=(n_groups, data.x.shape[0])
        )
        s1_group = s1_group - np.asarray(entering @ data.x)
    s0_risk = _reverse_cumsum_by_stratum(s0_group, data)[eg]
    s1_risk = _reverse_cumsum_by_stratum(s1_group, data)[eg]
    dr = data.death_rows
    s0_death = _segment_sum(wr[dr], data.death_starts, len(dr))
    s1_death = _segment_matmul(wr[dr], data.death_starts, data.x, rows=data.order[dr])
    tg = data.term_group
    denom = s0_risk[tg] - data.term_a * s0_death[tg]
    with np.errstate(divide="ignore", invalid="ignore"):
        loglik = float(data.weight[dr] @ (eta[dr] - shift) - data.term_m @ np.log(denom))
    return CoxState(loglik, risk, s1_risk, s1_death, denom)


def _group_sums(data: CoxData, values: np.ndarray) -> np.ndarray:
    return np.bincount(data.term_group, weights=values, minlength=len(data.event_groups))


def mean_covariate(data: CoxData, state: CoxState) -> np.ndarray:
    """x̄̄_g = mean over the group's tie terms of x̄_k, (E, p)."""
    q1 = _group_sums(data, data.term_q / state.denom)
    q2 = _group_sums(data, data.term_q * data.term_a / state.denom)
    return state.s1_risk * q1[:, None] - state.s1_death * q2[:, None]


def score(data: CoxData, state: CoxState) -> np.ndarray:
    """Score vector U = Σ_D w x − Σ_g W_D,g x̄̄_g."""
    xbar = mean_covariate(data, state)
    return data.death_weighted_x - data.group_death_weight @ xbar


def information(
    data: CoxData, state: CoxState, group_multiplier: np.ndarray | None = None
) -> np.ndarray:
    """Information Σ_k c_g m [(S2_R − a S2_D)/D − x̄ x̄ᵀ], c_g = 1 or a per-group multiplier."""
    m, a, den = data.term_m, data.term_a, state.denom
    h = m / den
    A = _group_sums(data, h)
    B = _group_sums(data, h * a)
    C = _group_sums(data, h / den)
    E = _group_sums(data, h * a / den)
    F = _group_sums(data, h * a * a / den)
    if group_multiplier is not None:
        A, B, C, E, F = (v * group_multiplier for v in (A, B, C, E, F))
    n_groups = len(data.group_start)
    A_all = np.zeros(n_groups)
    A_all[data.event_groups] = A
    cum_a = cumulative_at_rows(A_all, data)
    row_coef = data.weight * state.risk * cum_a
    B_all = np.zeros(n_groups)
    B_all[data.event_groups] = B
    dr = data.death_rows
    row_coef[dr] -= data.weight[dr] * state.risk[dr] * B_all[data.group_of_row[dr]]
    row_coef_input = np.empty_like(row_coef)
    row_coef_input[data.order] = row_coef
    if group_multiplier is not None:
        s2 = (data.x * row_coef_input[:, None]).T @ data.x
    else:  # coefficients are >= 0 (cum A minus own-group B), so a symmetric rank-k update
        s2 = _weighted_gram(data.x, np.sqrt(np.maximum(row_coef_input, 0.0)))
    s1r, s1d = state.s1_risk, state.s1_death
    cross = s1r.T @ (s1d * E[:, None])
    outer = s1r.T @ (s1r * C[:, None]) - cross - cross.T + s1d.T @ (s1d * F[:, None])
    info = s2 - outer
    return (info + info.T) / 2


def _weighted_gram(x: np.ndarray, root_weight: np.ndarray) -> np.ndarray:
    """X' diag(r²) X by blocks of rows: BLAS ``dsyrk`` (half a GEMM's flops) on r·X_block,
    each block scaled into one reused buffer (no n × p temporary)."""
    n, p = x.shape
    gram = np.zeros((p, p))
    if not n or not p:  # e.g. the null model of a type-3 test
        return gram
    buffer = np.empty((min(BLOCK_ROWS, n), p))
    for block in _row_blocks(n):
        rows = x[block]
        scaled = buffer[: len(rows)]
        np.multiply(rows, root_weight[block, None], out=scaled)
        gram = blas.dsyrk(1.0, scaled.T, beta=1.0, c=gram, trans=0, lower=0, overwrite_c=1)
    return np.triu(gram) + np.triu(gram, 1).T


@dataclass(frozen=True, slots=True)
class _ScoreTerms:
    """U_i = α_i x_i + Σ_j v_ij Z_j[g_i] (rows in sorted order; see `score_residuals`)."""

    alpha: np.ndarray  # α_i × w_i
    coefs: tuple[np.ndarray, np.ndarray, np.ndarray]  # −w δ, w r, −w δ r
    tables: tuple[np.ndarray, np.ndarray, np.ndarray]  # x̄̄_g, M_g (cumulative), Ma_g (G × p)


def _score_terms(data: CoxData, state: CoxState) -> _ScoreTerms:
    m, a, den = data.term_m, data.term_a, state.denom
    h = m / den
    A = _group_sums(data, h)
    B = _group_sums(data, h * a)
    C = _group_sums(data, h / den)
    E = _group_sums(data, h * a / den)
    F = _group_sums(data, h * a * a / den)
    s1r, s1d = state.s1_risk, state.s1_death
    n_groups, p = len(data.group_start), data.x.shape[1]
    eg = data.event_groups
    h_all = np.zeros(n_groups)
    h_all[eg] = A
    m_all = np.zeros((n_groups, p))
    m_all[eg] = s1r * C[:, None] - s1d * E[:, None]  # Σ_k h_k x̄_k
    ha_all = np.zeros(n_groups)
    ha_all[eg] = B
    ma_all = np.zeros((n_groups, p))
    ma_all[eg] = s1r * E[:, None] - s1d * F[:, None]  # Σ_k a_k h_k x̄_k
    xbar_all = np.zeros((n_groups, p))
    xbar_all[eg] = mean_covariate(data, state)
    g = data.group_of_row
    cum_h = cumulative_at_rows(h_all, data)
    cum_m = _cumsum_by_stratum(m_all, data)
    r, w = state.risk, data.weight
    delta = data.event.astype(float)
    alpha = w * (delta - r * cum_h + delta * r * ha_all[g])
    return _ScoreTerms(alpha, (-w * delta, w * r, -w * delta * r), (xbar_all, cum_m, ma_all))


def score_residuals(data: CoxData, state: CoxState) -> np.ndarray:
    """Weighted score residuals w_i U_i (input row order), R's residuals(type="score") × w.

    U_i = α_i x_i − δ_i x̄̄_g + r_i M_g − δ_i r_i Ma_g with α_i = δ_i − r_i H_g + δ_i r_i Ha_g;
    H, M the cumulative Σ h_k, Σ h_k x̄_k over tie terms up to the row's time (h_k = m/D_k)
    and Ha, Ma the own-group Σ a_k h_k, Σ a_k h_k x̄_k (Efron's down-weighting of the deaths).
    The group part is gathered by blocks of rows, so only the n × p result is allocated.
    """
    terms = _score_terms(data, state)
    n, p = data.x.shape
    g, n_groups = data.group_of_row, len(data.group_start)
    alpha_input = np.empty_like(terms.alpha)
    alpha_input[data.order] = terms.alpha
    if data.entry_group is not None:  # M at the start is subtracted (counting process)
        entered = np.flatnonzero(data.entry_group >= 0)
        columns = np.concatenate([g, g + n_groups, g + 2 * n_groups])
        columns = np.concatenate([columns, data.entry_group[entered] + n_groups])
        values = np.concatenate([*terms.coefs, -terms.coefs[1][entered]])
        rows = np.concatenate([np.tile(data.order, 3), data.order[entered]])
        coupling = sparse.csr_matrix((values, (rows, columns)), shape=(n, 3 * n_groups))
        resid = np.asarray(coupling @ np.vstack(terms.tables))
        for block in _row_blocks(n):  # resid += α x (no n × p temporary)
            resid[block] += data.x[block] * alpha_input[block, None]
        return resid
    sorted_position = np.empty(n, dtype=np.int64)
    sorted_position[data.order] = np.arange(n)
    group = g[sorted_position]
    coefs = [c[sorted_position] for c in terms.coefs]
    resid = np.empty((n, p))
    for block in _row_blocks(n):
        gb = group[block]
        out = resid[block]
        table0, table1, table2 = terms.tables
        np.multiply(table0[gb], coefs[0][block, None], out=out)
        out += table1[gb] * coefs[1][block, None]
        out += table2[gb] * coefs[2][block, None]
        out += data.x[block] * alpha_input[block, None]
    return resid


def score_residual_moments(data: CoxData, state: CoxState) -> tuple[np.ndarray, np.ndarray]:
    """Σ_i w_i U_i and Σ_i (w_i U_i)(w_i U_i)' of the weighted score residuals without the
    n × p residuals (right-censored data; what the robust variance of uncorrelated rows needs).

    With U_i = α_i x_i + Σ_j v_ij Z_j[g_i]: Σ U U' = X' diag(α²) X + Σ_j (P_j' Z_j + Z_j' P_j)
    + Σ_jk Z_j' diag(c_jk) Z_k, P_j = Σ_{i in g} α_i v_ij x_i and c_jk = Σ_{i in g} v_ij v_ik
    per group g (sums of products, so they equal the residuals' own sums up to rounding).
    """
    if data.entry_group is not None:
        raise ValueError("score_residual_moments is for right-censored data (no start times)")
    terms = _score_terms(data, state)
    x, starts, n = data.x, data.group_start, len(terms.alpha)
    alpha_input = np.empty_like(terms.alpha)
    alpha_input[data.order] = terms.alpha
    gram = _weighted_gram(x, np.abs(alpha_input))
    total = alpha_input @ x
    for v, z in zip(terms.coefs, terms.tables, strict=True):
        p_j = _segment_matmul(terms.alpha * v, starts, x, rows=data.order)
        cross = p_j.T @ z
        gram += cross + cross.T
        total += _segment_sum(v, starts, n) @ z
    for j, (v_j, z_j) in enumerate(zip(terms.coefs, terms.tables, strict=True)):
        for k in range(j, 3):
            c = _segment_sum(v_j * terms.coefs[k], starts, n)
            block = z_j.T @ (terms.tables[k] * c[:, None])
            gram += block if k == j else block + block.T
    return total, gram


def cholesky_keep(matrix: np.ndarray, toler: float = TOLER_CHOL) -> np.ndarray:
    """Columns kept by survival's cholesky2 (a pivot below toler·max diagonal is aliased)."""
    mat = np.array(matrix, dtype=float)
    p = mat.shape[0]
    keep = np.zeros(p, dtype=bool)
    diag = np.diag(mat)
    finite_diag = diag[np.isfinite(diag)]
    eps = finite_diag.max() if finite_diag.size and finite_diag.max() > 0 else 0.0
    eps = toler if eps == 0 else eps * toler
    for i in range(p):
        pivot = mat[i, i]
        if not np.isfinite(pivot) or pivot < eps:
            continue
        keep[i] = True
        col = mat[i + 1 :, i] / pivot
        mat[i + 1 :, i + 1 :] -= np.outer(col, mat[i, i + 1 :])
    return keep


def solve_kept(matrix: np.ndarray, vector: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """Solve on the kept columns; aliased components are 0 (survival's chsolve2)."""
    out = np.zeros_like(vector, dtype=float)
    if keep.any():
        out[keep] = np.linalg.solve(matrix[np.ix_(keep, keep)], vector[keep])
    return out


def inverse_kept(matrix: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """Inverse on the kept columns, zero rows/columns for aliased ones (survival's chinv2)."""
    out = np.zeros_like(matrix, dtype=float)
    if keep.any():
        out[np.ix_(keep, keep)] = np.linalg.inv(matrix[np.ix_(keep, keep)])
    return out


@dataclass(frozen=True, slots=True, eq=False)
class CoxFit:
    """Newton–Raphson result on the original covariate scale."""

    beta: np.ndarray
    var: np.ndarray
    keep: np.ndarray
    loglik_initial: float
    loglik_final: float
    score_test: float
    score_final: np.ndarray
    iterations: int
    converged: bool
    state: CoxState
    beta_scaled: np.ndarray


def newton_raphson(data: CoxData, *, max_iter: int = 20, eps: float = 1e-9) -> CoxFit:
    """coxfit6's iteration: Newton steps from β = 0, step halving, stop on |1 − ℓ_old/ℓ| <= eps."""
    p = data.x.shape[1]
    beta = np.zeros(p)
    state = evaluate(data, beta)
    loglik0 = state.loglik
    u = score(data, state)
    imat = information(data, state)
    keep = cholesky_keep(imat)
    step = solve_kept(imat, u, keep)
    score_test = float(u @ step)
    best = loglik0
    new_beta = beta + step
    halving = 0
    converged = False
    iterations = 0
    if max_iter == 0 or not np.isfinite(loglik0):
        new_beta = beta
        converged = True
    else:
        for iterations in range(1, max_iter + 1):
            state = evaluate(data, new_beta)
            u = score(data, state)
            imat = information(data, state)
            keep = cholesky_keep(imat)
            finite = (
                np.isfinite(state.loglik) and np.all(np.isfinite(u)) and np.all(np.isfinite(imat))
            )
            if finite and abs(1 - best / state.loglik) <= eps:
                best = state.loglik
                converged = True
                break
            if iterations == max_iter:
                break
            if not finite or state.loglik < best:
                halving += 1
                new_beta = (new_beta + halving * beta) / (halving + 1.0)
            else:
                halving = 0
                best = state.loglik
                step = solve_kept(imat, u, keep)
                beta = new_beta
                new_beta = new_beta + step
        if not converged:
            new_beta = beta  # last good β (coxfit6 recomputes there)
            if max_iter > 1:
                state = evaluate(data, new_beta)
                u = score(data, state)
                imat = information(data, state)
                keep = cholesky_keep(imat)
                best = state.loglik
    var_scaled = inverse_kept(imat, keep)
    var = var_scaled * np.outer(data.scale, data.scale)
    return CoxFit(
        beta=new_beta * data.scale,
        var=var,
        keep=keep,
        loglik_initial=loglik0,
        loglik_final=best if converged else state.loglik,
        score_test=score_test,
        score_final=u / data.scale,
        iterations=iterations,
        converged=converged,
        state=state,
        beta_scaled=new_beta,
    )


@dataclass(frozen=True, slots=True, eq=False)
class HazardIncrements:
    """Per (stratum, time) group: the baseline-hazard increments of survfit.coxph (agsurv).

    With h_k = m_k / D_k over a group's tie terms (Efron; one term for Breslow):
    hazard = Σ h_k, varhaz = Σ h_k / D_k, xbar = Σ h_k x̄_k (0 where no death), at the
    internal centring of X (``CoxData.center``, scaled coordinates for xbar).
    """

    hazard: np.ndarray  # (G,)
    varhaz: np.ndarray  # (G,)
    xbar: np.ndarray  # (G, p)


def hazard_increments(data: CoxData, state: CoxState) -> HazardIncrements:
    m, a, den = data.term_m, data.term_a, state.denom
    h = m / den
    n_groups, p = len(data.group_start), data.x.shape[1]
    eg = data.event_groups
    hazard = np.zeros(n_groups)
    hazard[eg] = _group_sums(data, h)
    varhaz = np.zeros(n_groups)
    varhaz[eg] = _group_sums(data, h / den)
    xbar = np.zeros((n_groups, p))
    xbar[eg] = (
        state.s1_risk * _group_sums(data, h / den)[:, None]
        - state.s1_death * (_group_sums(data, h * a / den)[:, None])
    )
    return HazardIncrements(hazard, varhaz, xbar)


def martingale_residuals(data: CoxData, state: CoxState) -> np.ndarray:
    """δ_i − r_i Λ_i (input row order), Λ_i the cumulative hazard over the groups the row is at
    risk in, a death's own group counting Σ (1 − a_k) h_k (Efron), as coxmart / agmart3."""
    m, a, den = data.term_m, data.term_a, state.denom
    h = m / den
    n_groups = len(data.group_start)
    h_all = np.zeros(n_groups)
    h_all[data.event_groups] = _group_sums(data, h)
    ha_all = np.zeros(n_groups)
    ha_all[data.event_groups] = _group_sums(data, h * a)
    delta = data.event.astype(float)
    cum = cumulative_at_rows(h_all, data) - delta * ha_all[data.group_of_row]
    resid_sorted = delta - state.risk * cum
    out = np.empty_like(resid_sorted)
    out[data.order] = resid_sorted
    return out
