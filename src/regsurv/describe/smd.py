"""Standardized mean differences: the one SMD implementation of regsurv.

Used by `regsurv.describe.summary_table` and by `regsurv.causal.balance_table`.

For a 0/1 indicator or a continuous variable ``x``, groups ``g`` and optional weights ``w``:

* per group k (and the pooled sample of all rows, the group included):
  mean ``m_k``, variance ``v_k`` — ``p(1 − p)`` for an indicator (no n − 1; ``binary_variance=
  "sample"`` gives R's ``var()`` instead), the sample variance (n − 1) for a continuous x;
  weighted mean ``mw_k = Σwx / Σw`` and weighted variance ``vw_k`` — ``pw(1 − pw)`` for an
  indicator, ``Σw / ((Σw)² − Σw²) · Σw(x − mw)²`` (reliability weights, = cobalt/MatchIt) for a
  continuous x. Without weights the weighted moments equal the unweighted ones.
* SMD of group a against group b (or the pooled sample): ``(mw_a − mw_b) / sqrt((v_a + v_b)/2)``
  with ``denominator="pooled_unweighted"`` (cobalt: before-weighting variances, so weighting can
  only move the numerator) or ``sqrt((vw_a + vw_b)/2)`` with ``denominator="pooled_weighted"``
  (Austin & Stuart 2015). ``weighted=False`` uses the unweighted means and variances ("before").
* Rules combining the comparisons of K > 2 groups into one number per variable:
  ``"max_pairwise"`` (cobalt: the largest |SMD| over all pairs), ``"average_pairwise"``
  (R tableone: the mean |SMD| over all pairs), ``"vs_pooled"`` (the largest |SMD| of a group
  against the pooled sample).

Pairs follow the group order: for groups (A, B, C) the comparisons are B − A, C − A, C − B
(later minus earlier); against the pooled sample they are A − pooled, B − pooled, C − pooled.
Values are signed; the rules return absolute values.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

Denominator = Literal["pooled_unweighted", "pooled_weighted"]
Rule = Literal["max_pairwise", "average_pairwise", "vs_pooled"]
BinaryVariance = Literal["bernoulli", "sample"]
POOLED = "pooled"  # the label of the pooled sample in `SmdComparisons.group0`

_DENOMINATORS = ("pooled_unweighted", "pooled_weighted")
_RULES = ("max_pairwise", "average_pairwise", "vs_pooled")


@dataclass(frozen=True, slots=True, eq=False)
class GroupMoments:
    """Per-group moments of one variable; arrays have one entry per group, then the pooled sample.

    ``groups`` holds the K group labels; index K of every array is the pooled sample (all rows).
    Rows with a missing x (NaN) are left out (``n_missing`` counts them per group).
    """

    groups: tuple[Any, ...]
    binary: bool
    binary_variance: str
    n: np.ndarray
    n_missing: np.ndarray
    sum_weights: np.ndarray
    mean: np.ndarray
    variance: np.ndarray
    weighted_mean: np.ndarray
    weighted_variance: np.ndarray

    def index(self, group: Any) -> int:
        """Position of ``group`` in the arrays; ``None`` is the pooled sample."""
        if group is None:
            return len(self.groups)
        try:
            return self.groups.index(group)
        except ValueError:
            raise ValueError(f"group {group!r} is not one of {list(self.groups)}") from None

    def __repr__(self) -> str:
        kind = "binary" if self.binary else "continuous"
        return f"GroupMoments({kind}, groups={list(self.groups)}, n={self.n.tolist()})"


@dataclass(frozen=True, slots=True, eq=False)
class SmdComparisons:
    """Signed SMDs of ``group1`` minus ``group0`` (``group0 == POOLED`` for the pooled sample)."""

    group1: tuple[Any, ...]
    group0: tuple[Any, ...]
    estimate: np.ndarray
    weighted: bool
    denominator: str

    def __repr__(self) -> str:
        return f"SmdComparisons({len(self.estimate)} comparisons, denominator={self.denominator})"


def _is_binary(x: np.ndarray) -> bool:
    finite = x[~np.isnan(x)]
    return bool(np.all((finite == 0.0) | (finite == 1.0)))


_MAX_DENSE_SPAN = 1 << 20  # integer labels spread wider than this are sorted instead


def _distinct(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(values, return_inverse=True)``; integers over a dense range by counting
    (O(n), no sort: the sort dominated the balance table at 1M rows)."""
    if values.dtype.kind in "iu" and values.size:
        low, high = int(values.min()), int(values.max())
        if high - low < _MAX_DENSE_SPAN:
            offset = (values - low).astype(np.intp, copy=False)
            present = np.bincount(offset, minlength=high - low + 1) > 0
            rank = np.cumsum(present) - 1
            return np.flatnonzero(present) + low, rank[offset]
    return np.unique(values, return_inverse=True)


def _group_codes(group: np.ndarray, groups: Sequence[Any] | None) -> tuple[tuple, np.ndarray]:
    """Group labels and per-row codes (−1: not one of ``groups``), via the distinct values."""
    try:
        distinct, inverse = _distinct(group)
    except TypeError:  # labels that do not sort together (e.g. None among strings)
        if groups is None:
            raise ValueError("group labels must be comparable; pass groups=") from None
        lookup = {label: k for k, label in enumerate(groups)}
        codes = np.fromiter((lookup.get(g, -1) for g in group), dtype=np.int64, count=group.size)
        return tuple(groups), codes
    labels = tuple(distinct.tolist()) if groups is None else tuple(groups)
    lookup = {label: k for k, label in enumerate(labels)}
    table = np.array([lookup.get(v, -1) for v in distinct.tolist()], dtype=np.int64)
    return labels, table[inverse.ravel()] if table.size else np.full(group.size, -1)


def _checked_weights(weights: Any, shape: tuple[int, ...]) -> np.ndarray:
    w = np.asarray(weights, dtype=float)
    if w.shape != shape:
        raise ValueError(f"weights must have one value per row ({shape[0]}), got {w.shape}")
    bad = ~np.isfinite(w) | (w < 0)
    if bad.any():
        raise ValueError(
            f"weights must be finite and >= 0; {int(bad.sum())} of {w.size} rows are not"
        )
    return w


@dataclass(frozen=True, slots=True, eq=False)
class Grouping:
    """Rows coded by group once, for the moments of many variables over the same groups and
    weights: pass it as ``group`` to `group_moments` or `level_moments` (made by `grouping`).

    ``code``: each row's position in ``groups`` (−1: in none, left out); ``weights``: the checked
    weights (None = unweighted); ``n``, ``sum_weights``, ``sum_weights2``: per group, over the
    rows in a group (reused by every variable without missing values).
    """

    groups: tuple[Any, ...]
    code: np.ndarray
    weights: np.ndarray | None
    n: np.ndarray
    sum_weights: np.ndarray
    sum_weights2: np.ndarray

    def __repr__(self) -> str:
        kind = "unweighted" if self.weights is None else "weighted"
        return f"Grouping({len(self.groups)} groups, {self.code.size} rows, {kind})"


def grouping(group: Any, *, weights: Any = None, groups: Sequence[Any] | None = None) -> Grouping:
    """Code ``group`` (one label per row) against ``groups`` (None = sorted distinct labels) and
    check ``weights`` once; see `Grouping`."""
    group = np.asarray(group)
    if group.ndim != 1:
        raise ValueError(f"group must be 1-d, got shape {group.shape}")
    w = None if weights is None else _checked_weights(weights, group.shape)
    labels, code = _group_codes(group, groups)
    K = len(labels)
    in_group = code[code >= 0]
    n = np.bincount(in_group, minlength=K).astype(float)
    if w is None:
        return Grouping(labels, code, None, n, n, n)
    wg = w[code >= 0]
    return Grouping(
        labels,
        code,
        w,
        n,
        np.bincount(in_group, weights=wg, minlength=K),
        np.bincount(in_group, weights=wg * wg, minlength=K),
    )


def _resolve_grouping(group: Any, weights: Any, groups: Sequence[Any] | None) -> Grouping:
    if isinstance(group, Grouping):
        if weights is not None or groups is not None:
            raise ValueError("with a Grouping, pass weights and groups to grouping() instead")
        return group
    return grouping(group, weights=weights, groups=groups)


def group_moments(
    x: Any,
    group: Any,
    *,
    weights: Any = None,
    binary: bool | None = None,
    binary_variance: BinaryVariance = "bernoulli",
    groups: Sequence[Any] | None = None,
) -> GroupMoments:
    """Moments of ``x`` per group and for the pooled sample (formulas in the module docstring).

    ``x``: numbers (NaN = missing, left out); ``group``: one label per row, or a `Grouping`
    (then ``weights`` and ``groups`` come from it); ``weights``: one non-negative number per row
    (None = all 1); ``binary``: treat x as a 0/1 indicator (None = detect: every non-missing value
    is 0 or 1); ``groups``: the group labels in display order (None = sorted distinct labels).
    Rows whose group is not in ``groups`` are left out.
    """
    x = np.asarray(x, dtype=float)
    group_shape = group.code.shape if isinstance(group, Grouping) else np.shape(group)
    if x.shape != group_shape or x.ndim != 1:
        raise ValueError(
            f"x and group must be 1-d of equal length, got {x.shape} and {group_shape}"
        )
    if binary_variance not in ("bernoulli", "sample"):
        raise ValueError(
            f"binary_variance must be 'bernoulli' or 'sample', got {binary_variance!r}"
        )
    g = _resolve_grouping(group, weights, groups)
    code, K = g.code, len(g.groups)
    in_group = code >= 0
    missing = np.isnan(x) & in_group
    if missing.any() or not in_group.all():
        keep = in_group & ~missing
        xs, cs = x[keep], code[keep]
        ws = None if g.weights is None else g.weights[keep]
        sums = None if missing.any() else (g.n, g.sum_weights, g.sum_weights2)
    else:
        xs, cs, ws = x, code, g.weights
        sums = (g.n, g.sum_weights, g.sum_weights2)
    if binary is None:
        binary = _is_binary(xs)
    moments = _moments(xs, cs, ws, K, sums, binary=binary, binary_variance=binary_variance)
    n_missing = np.bincount(code[missing], minlength=K).astype(float)
    return GroupMoments(
        g.groups,
        bool(binary),
        binary_variance,
        n_missing=np.append(n_missing, n_missing.sum()),
        **moments,
    )


def indicator_moments(
    count: Any,
    total: Any,
    *,
    weighted_count: Any = None,
    weighted_total: Any = None,
    groups: Sequence[Any] | None = None,
) -> GroupMoments:
    """Moments of a 0/1 indicator from per-group counts (no pass over the rows).

    ``count[k]``: rows with x = 1 in group k, ``total[k]``: rows with x observed;
    ``weighted_*``: the same as sums of weights (None = unweighted). Identical to
    `group_moments` with ``binary_variance="bernoulli"``; the pooled sample sums the groups.
    """
    c = np.asarray(count, dtype=float)
    n = np.asarray(total, dtype=float)
    wc = c if weighted_count is None else np.asarray(weighted_count, dtype=float)
    wn = n if weighted_total is None else np.asarray(weighted_total, dtype=float)
    c, n, wc, wn = (np.append(a, a.sum()) for a in (c, n, wc, wn))
    with np.errstate(divide="ignore", invalid="ignore"):
        mean, wmean = c / n, wc / wn
    labels = tuple(range(n.size - 1)) if groups is None else tuple(groups)
    if len(labels) != n.size - 1:
        raise ValueError(f"groups has {len(labels)} labels for {n.size - 1} counts")
    return GroupMoments(
        labels,
        True,
        "bernoulli",
        n=n,
        n_missing=np.zeros_like(n),
        sum_weights=wn,
        mean=mean,
        variance=mean * (1 - mean),
        weighted_mean=wmean,
        weighted_variance=wmean * (1 - wmean),
    )


def level_moments(
    level: Any,
    group: Any,
    *,
    n_levels: int,
    weights: Any = None,
    groups: Sequence[Any] | None = None,
) -> list[GroupMoments]:
    """Moments of the 0/1 indicator of every level of one categorical, from counts in one pass.

    ``level``: integer level codes 0..n_levels−1 (−1 = missing, left out); ``group``,
    ``weights`` and ``groups`` as in `group_moments`. Item j equals ``group_moments(x_j, ...)``
    for the indicator ``x_j = (level == j)`` (NaN where level < 0), bit for bit per group: each
    sum adds the same terms in the same row order.
    """
    level = np.asarray(level)
    if level.dtype.kind not in "iu" or level.ndim != 1:
        raise ValueError(f"level must be 1-d integer codes, got {level.dtype} {level.shape}")
    g = _resolve_grouping(group, weights, groups)
    if g.code.shape != level.shape:
        raise ValueError(
            f"level and group must have equal length, got {level.shape} and {g.code.shape}"
        )
    K, L = len(g.groups), int(n_levels)
    in_group = g.code >= 0
    missing = in_group & (level < 0)
    if missing.any() or not in_group.all():
        observed = in_group & ~missing
        lv, gv = level[observed], g.code[observed]
        wv = None if g.weights is None else g.weights[observed]
    else:
        lv, gv, wv = level, g.code, g.weights
    if missing.any():
        n = np.bincount(gv, minlength=K).astype(float)
        sw = n if wv is None else np.bincount(gv, weights=wv, minlength=K)
    else:
        n, sw = g.n, g.sum_weights
    cell = gv * L + lv
    ones = np.bincount(cell, minlength=K * L).reshape(K, L).astype(float)
    weighted_ones = ones if wv is None else np.bincount(cell, weights=wv, minlength=K * L)
    weighted_ones = weighted_ones.reshape(K, L)
    # the pooled sample adds the groups (exact for the counts)
    n, sw = np.append(n, n.sum()), np.append(sw, sw.sum())
    ones = np.vstack([ones, ones.sum(axis=0)])
    weighted_ones = np.vstack([weighted_ones, weighted_ones.sum(axis=0)])
    n_missing = np.bincount(g.code[missing], minlength=K).astype(float)
    n_missing = np.append(n_missing, n_missing.sum())
    out = []
    with np.errstate(divide="ignore", invalid="ignore"):
        for j in range(L):
            mean, wmean = ones[:, j] / n, weighted_ones[:, j] / sw
            out.append(
                GroupMoments(
                    g.groups,
                    True,
                    "bernoulli",
                    n=n,
                    n_missing=n_missing,
                    sum_weights=sw,
                    mean=mean,
                    variance=mean * (1.0 - mean),
                    weighted_mean=wmean,
                    weighted_variance=wmean * (1.0 - wmean),
                )
            )
    return out


_EPS = float(np.finfo(float).eps)


def _constant_groups(
    x: np.ndarray, code: np.ndarray, n: np.ndarray, mean: np.ndarray, ss: np.ndarray
) -> np.ndarray:
    """Value of each group whose x are all equal (NaN elsewhere).

    Only groups whose sum of squares is within the rounding of a sum-based mean of equal values
    (ss <= n · (4(n + 1) ε |mean|)²; NaN included) are checked exactly, so the common case
    costs no pass over the rows.
    """
    value = np.full(n.size, np.nan)
    with np.errstate(invalid="ignore", over="ignore"):
        suspect = (n > 0) & ~(ss > n * (4.0 * (n + 1.0) * _EPS * np.abs(mean)) ** 2)
    for k in np.flatnonzero(suspect):
        members = x if n.size == 1 else x[code == k]
        if members.min() == members.max():
            value[k] = members.min()
    return value


def _moments(
    x: np.ndarray,
    code: np.ndarray,
    w: np.ndarray | None,
    K: int,
    sums: tuple[np.ndarray, np.ndarray, np.ndarray] | None,
    *,
    binary: bool,
    binary_variance: str,
) -> dict[str, np.ndarray]:
    """Per-group moments by ``np.bincount`` (K groups, then the pooled sample); arrays in and out.

    Per group each sum runs over the rows in row order (two-pass: mean, then squared
    deviations). The pooled sample combines the groups (Chan et al. 1979):
    ``SS = Σ_k SS_k + Σ_k n_k (m_k − m)²``, likewise with weights, which saves the passes over
    all rows. A group whose values are all equal gets that value as its mean and variance 0
    (as R's two-pass ``mean``), whatever the rounding of the sum.
    """
    if sums is None:
        n = np.bincount(code, minlength=K).astype(float)
        sw = n if w is None else np.bincount(code, weights=w, minlength=K)
        sw2 = n if w is None else np.bincount(code, weights=w * w, minlength=K)
    else:
        n, sw, sw2 = sums
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.bincount(code, weights=x, minlength=K) / n
        ss = np.bincount(code, weights=(x - mean[code]) ** 2, minlength=K)
        constant = _constant_groups(x, code, n, mean, ss)
        is_constant = ~np.isnan(constant)
        mean, ss = np.where(is_constant, constant, mean), np.where(is_constant, 0.0, ss)
        if w is None:
            wmean, wss = mean, ss
        else:
            wmean = np.where(
                is_constant & (sw > 0),
                constant,
                np.bincount(code, weights=w * x, minlength=K) / sw,
            )
            wss = np.bincount(code, weights=w * (x - wmean[code]) ** 2, minlength=K)
        # the pooled sample from the groups
        seen, weighted_seen = n > 0, sw > 0
        n_all, sw_all, sw2_all = n.sum(), sw.sum(), sw2.sum()
        mean_all = np.sum(np.where(seen, n * mean, 0.0)) / n_all
        wmean_all = np.sum(np.where(weighted_seen, sw * wmean, 0.0)) / sw_all
        ss_all = np.sum(np.where(seen, ss + n * (mean - mean_all) ** 2, 0.0))
        wss_all = np.sum(np.where(weighted_seen, wss + sw * (wmean - wmean_all) ** 2, 0.0))
        pooled_constant = _constant_groups(
            x, code, np.array([n_all]), np.array([mean_all]), np.array([ss_all])
        )[0]
        if not np.isnan(pooled_constant):
            mean_all, ss_all = pooled_constant, 0.0
            if sw_all > 0:
                wmean_all, wss_all = pooled_constant, 0.0
        n, sw, sw2 = np.append(n, n_all), np.append(sw, sw_all), np.append(sw2, sw2_all)
        mean, wmean = np.append(mean, mean_all), np.append(wmean, wmean_all)
        ss, wss = np.append(ss, ss_all), np.append(wss, wss_all)
        if binary and binary_variance == "bernoulli":
            var = mean * (1.0 - mean)
            wvar = wmean * (1.0 - wmean)
        else:
            var = np.where(n > 1, ss / (n - 1.0), np.nan)
            effective = sw * sw - sw2  # 0 with a single positive weight: variance undefined
            wvar = np.where(effective > 0, sw / effective * wss, np.nan)
    return {
        "n": n,
        "sum_weights": sw,
        "mean": mean,
        "variance": var,
        "weighted_mean": wmean,
        "weighted_variance": wvar,
    }


def smd(
    moments: GroupMoments,
    group1: Any,
    group0: Any = None,
    *,
    weighted: bool = True,
    denominator: Denominator = "pooled_unweighted",
) -> float:
    """Signed SMD of ``group1`` minus ``group0`` (None = the pooled sample).

    ``weighted=False``: unweighted means and variances ("before weighting"); ``weighted=True``:
    weighted means over the ``denominator`` variances. An undefined SMD (an empty group, or both
    variances 0 with different means) is NaN; equal means with zero variances give 0.
    """
    if denominator not in _DENOMINATORS:
        raise ValueError(f"denominator must be one of {_DENOMINATORS}, got {denominator!r}")
    a, b = moments.index(group1), moments.index(group0)
    return float(_smd_values(moments, np.array([a]), np.array([b]), weighted, denominator)[0])


def _smd_values(
    m: GroupMoments, a: np.ndarray, b: np.ndarray, weighted: bool, denominator: str
) -> np.ndarray:
    means = m.weighted_mean if weighted else m.mean
    use_weighted_var = weighted and denominator == "pooled_weighted"
    var = m.weighted_variance if use_weighted_var else m.variance
    diff = means[a] - means[b]
    scale = np.sqrt((var[a] + var[b]) / 2.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = diff / scale
    return np.where((diff == 0.0) & (scale == 0.0), 0.0, out)


def compare_groups(
    moments: GroupMoments,
    *,
    comparisons: Literal["pairwise", "vs_pooled"] = "pairwise",
    weighted: bool = True,
    denominator: Denominator = "pooled_unweighted",
) -> SmdComparisons:
    """All pairwise SMDs (later group minus earlier) or each group minus the pooled sample."""
    if denominator not in _DENOMINATORS:
        raise ValueError(f"denominator must be one of {_DENOMINATORS}, got {denominator!r}")
    K = len(moments.groups)
    if comparisons == "pairwise":
        b, a = np.triu_indices(K, k=1)
        g0 = tuple(moments.groups[i] for i in b)
    elif comparisons == "vs_pooled":
        a, b = np.arange(K), np.full(K, K)
        g0 = (POOLED,) * K
    else:
        raise ValueError(f"comparisons must be 'pairwise' or 'vs_pooled', got {comparisons!r}")
    values = _smd_values(moments, a, b, weighted, denominator)
    return SmdComparisons(
        tuple(moments.groups[i] for i in a), g0, values, bool(weighted), str(denominator)
    )


def combine_smd(values: Any, rule: Rule) -> float:
    """One number from several signed SMDs: max |SMD| or mean |SMD|; NaN if any is NaN or none."""
    if rule not in _RULES:
        raise ValueError(f"rule must be one of {_RULES}, got {rule!r}")
    v = np.abs(np.asarray(values, dtype=float))
    if v.size == 0 or np.isnan(v).any():
        return float("nan")
    return float(v.mean() if rule == "average_pairwise" else v.max())


def summarize_smd(
    moments: GroupMoments,
    *,
    rule: Rule = "max_pairwise",
    weighted: bool = True,
    denominator: Denominator = "pooled_unweighted",
) -> float:
    """The SMD of one variable across K groups by ``rule`` (see the module docstring)."""
    if rule not in _RULES:
        raise ValueError(f"rule must be one of {_RULES}, got {rule!r}")
    kind = "vs_pooled" if rule == "vs_pooled" else "pairwise"
    comp = compare_groups(moments, comparisons=kind, weighted=weighted, denominator=denominator)
    return combine_smd(comp.estimate, rule)


__all__ = [
    "POOLED",
    "GroupMoments",
    "Grouping",
    "SmdComparisons",
    "combine_smd",
    "compare_groups",
    "group_moments",
    "grouping",
    "indicator_moments",
    "level_moments",
    "smd",
    "summarize_smd",
]
