"""Inverse probability of treatment weights for K >= 2 groups.

With ``p_i(k)`` the propensity of row i for its observed group k, ``n_k`` the group size:

* ATE: ``w_i = 1 / p_i(k)``;
* ATO (overlap weights, Li & Li 2019, Ann Appl Stat 13:2389, generalised overlap):
  ``w_i = h_i / p_i(k)`` with ``h_i = 1 / sum_l 1 / p_i(l)``;
* ATT / ATC with a named ``target`` group t (WeightIt's ``focal``): ``w_i = p_i(t) / p_i(k)``,
  1 in the target group; the population is the target group (the treated for ATT, the controls
  for ATC; with two groups the default target is the second class for ATT, the first for ATC);
* ps_trim (before everything else): rows outside a propensity-score region get weight 0 and
  are left out of the stabilising proportions and the normalisation:
  ``"crump"`` (two groups; Crump, Hotz, Imbens & Mitnik 2009, Biometrika 96:187): the optimal
  rule keeps ``alpha <= e <= 1 - alpha``, i.e. ``g <= gamma`` with ``g = 1 / (e (1 - e))``,
  ``gamma = 1 / (alpha (1 - alpha)) = 2 E[g | g <= gamma]``, and alpha = 0 when
  ``max g <= 2 E[g]``; ``"common_support"`` (any number of groups): for every class l, p(l)
  within the overlap of the groups' ranges ``[max_k min_{i in k} p_i(l), min_k max_{i in k}
  p_i(l)]`` (Lopez & Gutman 2017, Stat Sci 32:432); or a number alpha: every class
  probability >= alpha (two groups: Crump's rule of thumb 0.1 keeps ``0.1 <= e <= 0.9``);
* stabilized: multiplied by the marginal proportion ``n_k / n`` of the observed group
  (Robins, Hernán & Brumback 2000), for either estimand (a constant per group);
* trim: weights winsorised at the given quantiles of all weights (numpy's linear quantile = R
  type 7) — done before normalisation;
* normalize: rescaled to sum to n, ``w * n / sum(w)`` (SAS ``WEIGHT w / NORMALIZE`` in PROC
  PHREG and LOGISTIC, the idiom the paper describes).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from regsurv._display import HtmlDisplay
from regsurv.causal.propensity import level_codes, treatment_classes

__all__ = ["Weights", "iptw_weights"]

ESTIMANDS = ("ATE", "ATO", "ATT", "ATC")
PS_TRIM_RULES = ("crump", "common_support")


@dataclass(frozen=True, slots=True, eq=False)
class Weights(HtmlDisplay):
    """IPT weights, one per row, with the choices that made them (`iptw_weights` builds it)."""

    values: np.ndarray
    codes: np.ndarray  # group of each row: index into ``classes``
    classes: tuple[str, ...]
    estimand: str
    stabilized: bool
    normalized: bool
    trim: tuple[float, float] | None
    n_trimmed: int
    n_obs: int
    method: str
    warnings: tuple[str, ...] = ()
    target: str | None = None  # target group of ATT / ATC
    ps_trim: str | None = None  # "crump", "common_support" or "alpha"
    ps_trim_bounds: tuple[float, float] | None = None  # alpha, 1 - alpha (two groups)
    n_ps_trimmed: int = 0  # rows outside the PS region (weight 0)
    in_region: np.ndarray | None = None  # rows inside the PS region (None: no ps_trim)

    @property
    def kept(self) -> np.ndarray:
        """Rows inside the propensity-score region (all rows without ``ps_trim``)."""
        return np.ones(self.n_obs, dtype=bool) if self.in_region is None else self.in_region

    @property
    def group(self) -> np.ndarray:
        """Group label of each row."""
        return np.array(self.classes, dtype=object)[self.codes]

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        return self.values if dtype is None else self.values.astype(dtype)

    def __len__(self) -> int:
        return self.n_obs

    @property
    def ess(self) -> float:
        """Kish effective sample size ``(sum w)^2 / sum w^2`` of all rows."""
        return _kish(self.values)

    def summary(self) -> pl.DataFrame:
        """Per group and overall: n, sum, mean, sd (n-1), min, max, Kish ESS."""
        parts = [(cls, self.values[self.codes == k]) for k, cls in enumerate(self.classes)]
        parts.append(("Overall", self.values))
        rows = []
        for cls, w in parts:
            rows.append(
                {
                    "group": cls,
                    "n": int(w.size),
                    "sum": float(w.sum()),
                    "mean": float(w.mean()) if w.size else np.nan,
                    "sd": float(w.std(ddof=1)) if w.size > 1 else np.nan,
                    "min": float(w.min()) if w.size else np.nan,
                    "max": float(w.max()) if w.size else np.nan,
                    "ess_kish": _kish(w),
                }
            )
        return pl.DataFrame(rows)

    def to_frame(self) -> pl.DataFrame:
        """One row per observation: group, weight."""
        return pl.DataFrame({"group": self.group.astype(str), "weight": self.values})

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "estimand": self.estimand,
            "stabilized": self.stabilized,
            "normalized": self.normalized,
            "trim": list(self.trim) if self.trim else None,
            "n_trimmed": self.n_trimmed,
            "target": self.target,
            "ps_trim": self.ps_trim,
            "ps_trim_bounds": list(self.ps_trim_bounds) if self.ps_trim_bounds else None,
            "n_ps_trimmed": self.n_ps_trimmed,
            "n_obs": self.n_obs,
            "classes": list(self.classes),
            "summary": self.summary().to_dicts(),
            "warnings": list(self.warnings),
        }

    def __repr__(self) -> str:
        return (
            f"Weights({self.method}, n={self.n_obs}, sum={self.values.sum():.6g}, "
            f"range=[{self.values.min():.4g}, {self.values.max():.4g}], ess={self.ess:.1f})"
        )


def _kish(w: np.ndarray) -> float:
    return float(w.sum() ** 2 / np.sum(w**2)) if w.size else np.nan


def _group_series(treatment: Any) -> pl.Series:
    """The treatment as a polars Series; missing values are an error."""
    if isinstance(treatment, pl.Series):
        series = treatment
    else:
        arr = np.asarray(treatment)
        if arr.dtype == object:
            n_missing = sum(v is None or v != v for v in arr.tolist())
            if n_missing:
                raise ValueError(f"treatment has {n_missing} missing values in {arr.size} rows")
            arr = arr.astype(str)
        series = pl.Series("treatment", arr)
    if series.null_count():
        raise ValueError(
            f"treatment {series.name!r} has {series.null_count()} missing values "
            f"in {series.len()} rows"
        )
    return series


def crump_alpha(ps: np.ndarray) -> float:
    """Crump et al. (2009) optimal trimming threshold alpha for a two-group propensity score.

    With g = 1 / (e (1 - e)) sorted and m_k the mean of its k smallest values, the largest k with
    g_k <= 2 m_k gives gamma = 2 m_k (the root of gamma = 2 E[g | g <= gamma]) and
    alpha = 1/2 - sqrt(1/4 - 1/gamma); alpha = 0 when max g <= 2 E[g].
    """
    e = np.asarray(ps, dtype=float)
    with np.errstate(divide="ignore"):
        g = np.sort(1.0 / (e * (1.0 - e)))
    if not np.isfinite(g[-1]) or g[-1] > 2.0 * g.mean():
        running_mean = np.cumsum(g) / np.arange(1, g.size + 1)
        k = int(np.flatnonzero(g <= 2.0 * running_mean)[-1])
        gamma = 2.0 * running_mean[k]
        return float(0.5 - np.sqrt(0.25 - 1.0 / gamma))
    return 0.0


def _ps_region(
    P: np.ndarray, codes: np.ndarray, n_classes: int, rule: str | float
) -> tuple[np.ndarray, str, tuple[float, float] | None]:
    """Rows inside the propensity-score region, the rule's name and its bounds (two groups)."""
    if isinstance(rule, str):
        if rule not in PS_TRIM_RULES:
            raise ValueError(
                f"ps_trim must be one of {PS_TRIM_RULES} or a number in (0, 1/K), got {rule!r}"
            )
        if rule == "crump":
            if n_classes != 2:
                raise ValueError(
                    f"ps_trim='crump' is the two-group rule; the treatment has {n_classes} "
                    "groups (use ps_trim='common_support' or a number)"
                )
            alpha = crump_alpha(P[:, 1])
            e = P[:, 1]
            return (e >= alpha) & (e <= 1.0 - alpha), "crump", (alpha, 1.0 - alpha)
        present = [k for k in range(n_classes) if np.any(codes == k)]
        low = np.max([P[codes == k].min(axis=0) for k in present], axis=0)
        high = np.min([P[codes == k].max(axis=0) for k in present], axis=0)
        inside = np.all((low <= P) & (high >= P), axis=1)
        bounds = (float(low[1]), float(high[1])) if n_classes == 2 else None
        return inside, "common_support", bounds
    alpha = float(rule)
    if not 0.0 < alpha < 1.0 / n_classes:
        raise ValueError(
            f"ps_trim threshold must be in (0, 1/{n_classes}) for {n_classes} groups, got {rule!r}"
        )
    bounds = (alpha, 1.0 - alpha) if n_classes == 2 else None
    return np.all(alpha <= P, axis=1), "alpha", bounds


def _target_index(estimand: str, target: str | None, classes: tuple[str, ...]) -> int | None:
    if estimand not in ("ATT", "ATC"):
        if target is not None:
            raise ValueError(f"target is for estimand 'ATT' or 'ATC', not {estimand!r}")
        return None
    if target is None:
        if len(classes) != 2:
            raise ValueError(
                f"estimand {estimand!r} with {len(classes)} groups needs target= one of "
                f"{list(classes)}"
            )
        return 1 if estimand == "ATT" else 0
    if str(target) not in classes:
        raise ValueError(f"target {target!r} is not a treatment group; groups: {list(classes)}")
    return classes.index(str(target))


def iptw_weights(
    ps: Any,
    treatment: Any,
    *,
    classes: Sequence[str] | None = None,
    estimand: str = "ATE",
    target: str | None = None,
    stabilized: bool = True,
    normalize: bool = True,
    trim: float | tuple[float, float] | None = None,
    ps_trim: str | float | None = None,
) -> Weights:
    """Inverse probability of treatment weights from an (n, K) matrix of propensity scores.

    ``ps`` columns follow ``classes`` (default: the levels of an ``Enum`` treatment, else the
    sorted distinct values, as `PropensityModel.classes_`), e.g. ``predict_proba`` output.
    ``estimand``: "ATE", "ATO", "ATT" or "ATC" (``target`` names the target group; see the
    module docstring). ``trim=q`` winsorises the weights at the q and 1-q quantiles,
    ``trim=(lo, hi)`` at those quantiles; ``ps_trim`` drops rows outside a propensity-score
    region ("crump", "common_support" or a threshold alpha), giving them weight 0.
    """
    if estimand not in ESTIMANDS:
        raise ValueError(f"estimand must be one of {ESTIMANDS}, got {estimand!r}")
    series = _group_series(treatment)
    classes = treatment_classes(series) if classes is None else tuple(str(c) for c in classes)
    P = np.asarray(ps, dtype=float)
    if P.ndim == 1 and len(classes) == 2:  # binary: P(second class)
        P = np.column_stack((1.0 - P, P))
    n = series.len()
    if P.shape != (n, len(classes)):
        raise ValueError(
            f"ps has shape {P.shape}; expected ({n}, {len(classes)}) for {n} rows and "
            f"classes {list(classes)}"
        )
    codes, unknown, count = level_codes(series, classes)
    if unknown is not None:
        raise ValueError(
            f"treatment value {unknown!r} ({count} rows) is not in classes {list(classes)}"
        )
    bad = ~np.isfinite(P) | (P < 0) | (P > 1)
    if np.any(bad):
        raise ValueError(f"ps has {int(bad.any(axis=1).sum())} rows with values outside [0, 1]")
    off = np.abs(P.sum(axis=1) - 1.0) > 1e-6
    if np.any(off):
        raise ValueError(f"rows of ps must sum to 1; {int(off.sum())} rows do not")
    target_index = _target_index(estimand, target, classes)
    messages: list[str] = []
    kept = np.ones(n, dtype=bool)
    ps_rule = ps_bounds = None
    if ps_trim is not None:
        kept, ps_rule, ps_bounds = _ps_region(P, codes, len(classes), ps_trim)
        if not kept.any():
            raise ValueError(f"ps_trim={ps_trim!r} leaves no rows of {n}")
        emptied = [
            c for k, c in enumerate(classes) if np.any(codes == k) and not kept[codes == k].any()
        ]
        if emptied:
            raise ValueError(f"ps_trim={ps_trim!r} leaves group {emptied[0]!r} with no rows")
        messages.append(
            f"{int((~kept).sum())} of {n} rows outside the propensity-score region "
            f"({ps_rule}) get weight 0"
        )
    p_obs = P[np.arange(n), codes]
    if np.any(p_obs[kept] <= 0):
        raise ValueError(
            f"ps of the observed group is 0 in {int(np.sum(p_obs[kept] <= 0))} rows; the weight is "
            "infinite (positivity violated)"
        )

    with np.errstate(divide="ignore"):
        w = np.where(kept, 1.0 / np.where(kept, p_obs, 1.0), 0.0)
    if estimand == "ATO":
        with np.errstate(divide="ignore"):
            w = w / np.sum(1.0 / P, axis=1)
    elif target_index is not None:
        w = w * P[:, target_index]
    if stabilized:
        marginal = np.bincount(codes[kept], minlength=len(classes)) / kept.sum()
        w = w * marginal[codes]

    trim_q: tuple[float, float] | None = None
    n_trimmed = 0
    if trim is not None:
        trim_q = (float(trim), 1.0 - float(trim)) if np.isscalar(trim) else tuple(map(float, trim))
        lo, hi = trim_q
        if not 0.0 <= lo < hi <= 1.0:
            raise ValueError(f"trim quantiles must satisfy 0 <= low < high <= 1, got {trim!r}")
        low, high = np.quantile(w[kept], [lo, hi])
        n_trimmed = int(np.sum(((w < low) | (w > high)) & kept))
        w = np.where(kept, np.clip(w, low, high), 0.0)
    n_kept = int(kept.sum())
    if normalize:
        w = w * (n_kept / w.sum())
    ess = _kish(w)
    if ess < 0.1 * n_kept:
        messages.append(f"effective sample size {ess:.1f} is below 10% of n = {n_kept}")

    name = estimand if target_index is None else f"{estimand} (target {classes[target_index]!r})"
    parts = [name, "stabilized" if stabilized else "unstabilized"]
    if ps_rule is not None:
        rule = {"crump": "Crump et al. 2009 optimal rule", "common_support": "common support"}
        label = rule[ps_rule] if ps_rule in rule else f"threshold {float(ps_trim):g}"
        bounds = f" [{ps_bounds[0]:.4g}, {ps_bounds[1]:.4g}]" if ps_bounds else ""
        parts.append(f"PS-trimmed by {label}{bounds} ({n - n_kept} rows weight 0)")
    if trim_q:
        parts.append(f"trimmed at quantiles {trim_q[0]:g}/{trim_q[1]:g}")
    if normalize:
        parts.append("normalized to n" if ps_rule is None else "normalized to the kept rows")
    return Weights(
        values=w,
        codes=codes,
        classes=classes,
        estimand=estimand,
        stabilized=stabilized,
        normalized=normalize,
        trim=trim_q,
        n_trimmed=n_trimmed,
        n_obs=n,
        method=", ".join(parts),
        warnings=tuple(messages),
        target=None if target_index is None else classes[target_index],
        ps_trim=ps_rule,
        ps_trim_bounds=ps_bounds,
        n_ps_trimmed=n - n_kept,
        in_region=None if ps_rule is None else kept,
    )
