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


def _group_codes(group: np.ndarray, groups: Sequence[Any] | None) -> tuple[tuple, np.ndarray]:
    """Group labels and per-row codes (−1: not one of ``groups``), via the distinct values."""
    try:
        distinct, inverse = np.unique(group, return_inverse=True)
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

    ``x``: numbers (NaN = missing, left out); ``group``: one label per row; ``weights``: one
    non-negative number per row (None = all 1); ``binary``: treat x as a 0/1 indicator (None =
    detect: every non-missing value is 0 or 1); ``groups``: the group labels in display order
    (None = sorted distinct labels). Rows whose group is not in ``groups`` are left out.
    """
    x = np.asarray(x, dtype=float)
    group = np.asarray(group)
    if x.shape != group.shape or x.ndim != 1:
        raise ValueError(
            f"x and group must be 1-d of equal length, got {x.shape} and {group.shape}"
        )
    if weights is None:
        w = np.ones_like(x)
    else:
        w = np.asarray(weights, dtype=float)
        if w.shape != x.shape:
            raise ValueError(f"weights must have one value per row ({x.shape[0]}), got {w.shape}")
        bad = ~np.isfinite(w) | (w < 0)
        if bad.any():
            raise ValueError(
                f"weights must be finite and >= 0; {int(bad.sum())} of {w.size} rows are not"
            )
    if binary_variance not in ("bernoulli", "sample"):
        raise ValueError(
            f"binary_variance must be 'bernoulli' or 'sample', got {binary_variance!r}"
        )
    labels, code = _group_codes(group, groups)
    if binary is None:
        binary = _is_binary(x[code >= 0])
    K = len(labels)
    in_group = code >= 0
    missing = np.isnan(x) & in_group
    keep = in_group & ~missing
    xs, cs, ws = x[keep], code[keep], w[keep]
    per_group = _moments(xs, cs, ws, K, binary=binary, binary_variance=binary_variance)
    pooled = _moments(xs, np.zeros_like(cs), ws, 1, binary=binary, binary_variance=binary_variance)
    n_missing = np.bincount(code[missing], minlength=K).astype(float)
    return GroupMoments(
        labels,
        bool(binary),
        binary_variance,
        n_missing=np.append(n_missing, n_missing.sum()),
        **{key: np.append(per_group[key], pooled[key]) for key in per_group},
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


def _moments(
    x: np.ndarray, code: np.ndarray, w: np.ndarray, size: int, *, binary: bool, binary_variance: str
) -> dict[str, np.ndarray]:
    """Vectorised per-code moments (arrays in, arrays out)."""
    n = np.bincount(code, minlength=size).astype(float)
    sw = np.bincount(code, weights=w, minlength=size)
    sw2 = np.bincount(code, weights=w * w, minlength=size)
    low = np.full(size, np.inf)
    high = np.full(size, -np.inf)
    np.minimum.at(low, code, x)
    np.maximum.at(high, code, x)
    constant = low == high  # all values equal: exact mean, zero variance (as R's two-pass mean)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.where(constant, low, np.bincount(code, weights=x, minlength=size) / n)
        wmean = np.where(
            constant & (sw > 0), low, np.bincount(code, weights=w * x, minlength=size) / sw
        )
        ss = np.bincount(code, weights=(x - mean[code]) ** 2, minlength=size)
        wss = np.bincount(code, weights=w * (x - wmean[code]) ** 2, minlength=size)
        sample_var = np.where(n > 1, ss / (n - 1.0), np.nan)
        effective = sw * sw - sw2  # 0 with a single positive weight: variance undefined
        reliability_var = np.where(effective > 0, sw / effective * wss, np.nan)
        if binary and binary_variance == "bernoulli":
            var = mean * (1.0 - mean)
            wvar = wmean * (1.0 - wmean)
        else:
            var, wvar = sample_var, reliability_var
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
    "SmdComparisons",
    "combine_smd",
    "compare_groups",
    "group_moments",
    "indicator_moments",
    "smd",
    "summarize_smd",
]
