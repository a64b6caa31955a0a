"""IPTW survival analysis: weighted Kaplan–Meier, weighted log-rank and IPTW Cox in one bundle.

Every number comes from the survival engines (`regsurv.survival`), called with the IPT weights
as case weights:

* `kaplan_meier(..., group=treatment, weights=w, robust=True)`: weighted KM per group with the
  infinitesimal-jackknife (robust) variance, R ``survfit(..., weights = w)``;
* `logrank_test(..., group=treatment, weights=w)`: the design-based weighted k-group log-rank
  test, R ``survey::svylogrank``;
* `cox_ph(..., covariates=[treatment], weights=w, robust=True)`: hazard ratios against the first
  treatment level with the robust sandwich SE, R ``coxph(..., weights = w, robust = TRUE)``
  (Efron ties by default; ``ties="breslow"`` reproduces SAS PHREG's default).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from regsurv._display import HtmlDisplay
from regsurv._frames import to_polars
from regsurv.causal.weights import Weights
from regsurv.survival.cox import CoxResult, cox_ph
from regsurv.survival.km import SurvivalCurves, kaplan_meier
from regsurv.survival.logrank import LogrankResult, logrank_test

__all__ = ["IPTWSurvival", "iptw_survival"]

_WEIGHT_COLUMN = "__iptw_weight__"


@dataclass(frozen=True, slots=True, eq=False)
class IPTWSurvival(HtmlDisplay):
    """Weighted KM curves by group, weighted log-rank test and IPTW Cox model."""

    curves: SurvivalCurves
    logrank: LogrankResult | None
    cox: CoxResult
    treatment: str
    classes: tuple[str, ...]
    weights_method: str
    n_obs: int
    n_events: float
    method: str
    warnings: tuple[str, ...] = ()

    def to_frame(self) -> pl.DataFrame:
        """Hazard ratios of each group against the reference group (robust SE and CI)."""
        return self.cox.to_frame()

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "treatment": self.treatment,
            "classes": list(self.classes),
            "weights_method": self.weights_method,
            "n_obs": self.n_obs,
            "n_events": float(self.n_events),
            "curves": self.curves.to_dict(),
            "logrank": self.logrank.to_dict() if self.logrank is not None else None,
            "cox": self.cox.to_dict(),
            "warnings": list(self.warnings),
        }

    def __repr__(self) -> str:
        hrs = ", ".join(
            f"{t.split(':', 1)[-1]} {hr:.3g}"
            for t, hr in zip(self.cox.terms, self.cox.hazard_ratio, strict=True)
            if t.startswith(f"{self.treatment}:")
        )
        return f"IPTWSurvival(n={self.n_obs}, events={self.n_events:g}, HR: {hrs})"


def _with_weights(frame: pl.DataFrame, weights: Any) -> tuple[pl.DataFrame, str, str]:
    """The frame with the weights as a column; returns (frame, column, description)."""
    if isinstance(weights, str):
        if weights not in frame.columns:
            raise ValueError(f"weights column {weights!r} not found ({frame.height} rows)")
        return frame, weights, f"column {weights!r}"
    description = weights.method if isinstance(weights, Weights) else "array"
    values = np.asarray(weights, dtype=float)
    if values.shape != (frame.height,):
        raise ValueError(f"weights have shape {values.shape}; expected ({frame.height},)")
    return frame.with_columns(pl.Series(_WEIGHT_COLUMN, values)), _WEIGHT_COLUMN, description


def iptw_survival(
    data: Any,
    *,
    time: str,
    event: str,
    treatment: str,
    weights: Any,
    ties: str = "efron",
    conf_type: str = "log-log",
    conf_level: float = 0.95,
    adjust: Sequence[str] = (),
    logrank: bool = True,
) -> IPTWSurvival:
    """Weighted KM (robust CI), weighted log-rank and IPTW Cox (robust SE) by ``treatment``.

    ``weights``: a column name, an array or a `Weights` (one per row, e.g. `iptw_weights`).
    ``adjust``: covariates added to the Cox model besides the treatment (e.g. ones left out of
    the propensity model); the Cox engine drops rows with a missing value and counts them.
    ``logrank=False`` skips the weighted log-rank test (``logrank`` is then None).
    """
    frame = to_polars(data)
    frame, column, description = _with_weights(frame, weights)
    curves = kaplan_meier(
        frame,
        time=time,
        event=event,
        group=treatment,
        weights=column,
        robust=True,
        conf_level=conf_level,
        conf_type=conf_type,
    )
    cox = cox_ph(
        frame,
        time=time,
        event=event,
        covariates=[treatment, *adjust],
        weights=column,
        ties=ties,
        robust=True,
        conf_level=conf_level,
    )
    test = None
    if logrank:
        test = logrank_test(frame, time=time, event=event, group=treatment, weights=column)
    messages = [*cox.warnings]
    for curve in curves.values():
        messages.extend(f"{curve.group}: {m}" for m in curve.warnings)
    return IPTWSurvival(
        curves=curves,
        logrank=test,
        cox=cox,
        treatment=treatment,
        classes=tuple(curves.keys()),
        weights_method=description,
        n_obs=cox.n_obs,
        n_events=cox.n_events,
        method=f"IPTW survival: weighted KM ({conf_type}, robust), weighted log-rank, "
        f"Cox ({ties}, robust SE)",
        warnings=tuple(messages),
    )
