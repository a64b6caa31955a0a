"""Inverse probability of treatment weights for K >= 2 groups.

With ``p_i(k)`` the propensity of row i for its observed group k, ``n_k`` the group size:

* ATE: ``w_i = 1 / p_i(k)``;
* ATO (overlap weights, Li & Li 2019, Ann Appl Stat 13:2389, generalised overlap):
  ``w_i = h_i / p_i(k)`` with ``h_i = 1 / sum_l 1 / p_i(l)``;
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

from regsurv.causal.propensity import level_codes, treatment_classes

__all__ = ["Weights", "iptw_weights"]

ESTIMANDS = ("ATE", "ATO")


@dataclass(frozen=True, slots=True, eq=False)
class Weights:
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


def iptw_weights(
    ps: Any,
    treatment: Any,
    *,
    classes: Sequence[str] | None = None,
    estimand: str = "ATE",
    stabilized: bool = True,
    normalize: bool = True,
    trim: float | tuple[float, float] | None = None,
) -> Weights:
    """Inverse probability of treatment weights from an (n, K) matrix of propensity scores.

    ``ps`` columns follow ``classes`` (default: the levels of an ``Enum`` treatment, else the
    sorted distinct values, as `PropensityModel.classes_`), e.g. ``predict_proba`` output.
    ``trim=q`` winsorises at the q and 1-q quantiles, ``trim=(lo, hi)`` at those quantiles.
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
    p_obs = P[np.arange(n), codes]
    if np.any(p_obs <= 0):
        raise ValueError(
            f"ps of the observed group is 0 in {int(np.sum(p_obs <= 0))} rows; the weight is "
            "infinite (positivity violated)"
        )

    w = 1.0 / p_obs
    if estimand == "ATO":
        with np.errstate(divide="ignore"):
            w = w / np.sum(1.0 / P, axis=1)
    if stabilized:
        marginal = np.bincount(codes, minlength=len(classes)) / n
        w = w * marginal[codes]

    messages: list[str] = []
    trim_q: tuple[float, float] | None = None
    n_trimmed = 0
    if trim is not None:
        trim_q = (float(trim), 1.0 - float(trim)) if np.isscalar(trim) else tuple(map(float, trim))
        lo, hi = trim_q
        if not 0.0 <= lo < hi <= 1.0:
            raise ValueError(f"trim quantiles must satisfy 0 <= low < high <= 1, got {trim!r}")
        low, high = np.quantile(w, [lo, hi])
        n_trimmed = int(np.sum((w < low) | (w > high)))
        w = np.clip(w, low, high)
    if normalize:
        w = w * (n / w.sum())
    ess = _kish(w)
    if ess < 0.1 * n:
        messages.append(f"effective sample size {ess:.1f} is below 10% of n = {n}")

    parts = [estimand, "stabilized" if stabilized else "unstabilized"]
    if trim_q:
        parts.append(f"trimmed at quantiles {trim_q[0]:g}/{trim_q[1]:g}")
    if normalize:
        parts.append("normalized to n")
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
    )
