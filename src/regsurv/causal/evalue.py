"""E-values for hazard ratios (VanderWeele & Ding 2017, Ann Intern Med 167:268).

The E-value is the minimum strength of association, on the risk-ratio scale, that an unmeasured
confounder would need with both the treatment and the outcome to explain away the estimate:
``E(RR) = RR + sqrt(RR (RR - 1))`` for RR >= 1, and ``E(1 / RR)`` for RR < 1. The E-value of the
confidence interval uses the limit closer to 1 and is 1 when the interval includes 1.

A hazard ratio is first put on the risk-ratio scale:

* rare outcome (event proportion <= 15 % by the end of follow-up): ``RR = HR``;
* common outcome (> 15 %): ``RR = (1 - 0.5^sqrt(HR)) / (1 - 0.5^sqrt(1 / HR))``
  (VanderWeele 2020, Biometrics 76:746, the square-root conversion; R ``EValue::evalues.HR``).

The choice follows the observed event proportion against ``threshold`` unless ``outcome`` forces
it; the result states which was used and why. The closed forms are written here (two lines);
no library is needed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from regsurv._display import HtmlDisplay

__all__ = ["COMMON_OUTCOME_THRESHOLD", "EValues", "cox_evalues", "evalue"]

COMMON_OUTCOME_THRESHOLD = 0.15  # VanderWeele & Ding 2017: an outcome is rare below 15 %
OUTCOMES = ("rare", "common")


def _evalue_of_rr(rr: np.ndarray) -> np.ndarray:
    """``RR + sqrt(RR (RR - 1))`` after flipping protective ratios (RR < 1 -> 1 / RR)."""
    flipped = np.where(rr < 1.0, 1.0 / rr, rr)
    return flipped + np.sqrt(flipped * (flipped - 1.0))


def hr_to_rr(hazard_ratio: np.ndarray, outcome: str) -> np.ndarray:
    """Hazard ratio on the risk-ratio scale: itself (rare) or the square-root conversion."""
    hr = np.asarray(hazard_ratio, dtype=float)
    if outcome == "rare":
        return hr
    return (1.0 - 0.5 ** np.sqrt(hr)) / (1.0 - 0.5 ** np.sqrt(1.0 / hr))


@dataclass(frozen=True, slots=True, eq=False)
class EValues(HtmlDisplay):
    """E-values of hazard ratios and their confidence limits, one per term (`evalue` builds it)."""

    terms: tuple[str, ...]
    hazard_ratio: np.ndarray
    conf_low: np.ndarray  # CI of the hazard ratio (NaN when not given)
    conf_high: np.ndarray
    risk_ratio: np.ndarray  # the hazard ratio on the risk-ratio scale
    rr_conf_low: np.ndarray
    rr_conf_high: np.ndarray
    estimate: np.ndarray  # E-value of the point estimate
    evalue_conf: np.ndarray  # E-value of the CI limit closer to 1 (1 when the CI includes 1)
    outcome: str  # "rare" or "common"
    event_proportion: float | None
    threshold: float
    method: str
    warnings: tuple[str, ...] = ()

    def to_frame(self) -> pl.DataFrame:
        """One row per term: term, hazard_ratio, conf_low, conf_high, risk_ratio, rr_conf_low,
        rr_conf_high, evalue (point), evalue_conf."""
        return pl.DataFrame(
            {
                "term": list(self.terms),
                "hazard_ratio": self.hazard_ratio,
                "conf_low": self.conf_low,
                "conf_high": self.conf_high,
                "risk_ratio": self.risk_ratio,
                "rr_conf_low": self.rr_conf_low,
                "rr_conf_high": self.rr_conf_high,
                "evalue": self.estimate,
                "evalue_conf": self.evalue_conf,
            },
            schema={"term": pl.String} | {c: pl.Float64 for c in _FLOAT_COLUMNS},
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: method, outcome scale and why, and the table (NaN -> None)."""
        table = self.to_frame().to_dict(as_series=False)
        return {
            "method": self.method,
            "outcome": self.outcome,
            "event_proportion": self.event_proportion,
            "threshold": self.threshold,
            "table": {
                k: [None if isinstance(v, float) and v != v else v for v in values]
                for k, values in table.items()
            },
            "warnings": list(self.warnings),
        }

    def __repr__(self) -> str:
        return (
            f"EValues(outcome={self.outcome!r}, terms={len(self.terms)}, "
            f"evalue={np.round(self.estimate, 3).tolist()})"
        )


_FLOAT_COLUMNS = (
    "hazard_ratio",
    "conf_low",
    "conf_high",
    "risk_ratio",
    "rr_conf_low",
    "rr_conf_high",
    "evalue",
    "evalue_conf",
)


def _choose_outcome(
    outcome: str | None, event_proportion: float | None, threshold: float
) -> tuple[str, str]:
    """The outcome scale and the sentence that says why."""
    if outcome is not None:
        if outcome not in OUTCOMES:
            raise ValueError(f"outcome must be one of {OUTCOMES} or None, got {outcome!r}")
        return outcome, f"{outcome} outcome (as requested)"
    if event_proportion is None:
        raise ValueError(
            "give event_proportion (the observed proportion with the event) or outcome="
            "'rare'/'common' to choose the hazard-ratio conversion"
        )
    if not 0.0 <= event_proportion <= 1.0:
        raise ValueError(f"event_proportion must be in [0, 1], got {event_proportion!r}")
    if not 0.0 < threshold < 1.0:
        raise ValueError(f"threshold must be in (0, 1), got {threshold!r}")
    chosen = "common" if event_proportion > threshold else "rare"
    relation = ">" if chosen == "common" else "<="
    return chosen, (
        f"{chosen} outcome (event proportion {event_proportion:.1%} {relation} {threshold:.0%})"
    )


def evalue(
    hazard_ratio: float | Sequence[float] | np.ndarray,
    conf_low: float | Sequence[float] | np.ndarray | None = None,
    conf_high: float | Sequence[float] | np.ndarray | None = None,
    *,
    terms: Sequence[str] | None = None,
    event_proportion: float | None = None,
    outcome: str | None = None,
    threshold: float = COMMON_OUTCOME_THRESHOLD,
) -> EValues:
    """E-values of one or more hazard ratios and their confidence limits.

    ``outcome="rare"``/``"common"`` forces the conversion; otherwise it is "common" when
    ``event_proportion`` exceeds ``threshold`` (15 %). Non-positive or non-finite hazard ratios,
    or confidence limits that do not bracket the estimate, raise ``ValueError``.
    """
    hr = np.atleast_1d(np.asarray(hazard_ratio, dtype=float))
    names = tuple(terms) if terms is not None else tuple(f"hr{i + 1}" for i in range(hr.size))
    if len(names) != hr.size:
        raise ValueError(f"terms has {len(names)} names for {hr.size} hazard ratios")
    bad = ~np.isfinite(hr) | (hr <= 0)
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(
            f"hazard ratio of {names[i]!r} must be positive and finite, got {float(hr[i])!r}"
        )
    if (conf_low is None) != (conf_high is None):
        raise ValueError("give both conf_low and conf_high, or neither")
    if conf_low is None:
        low = high = np.full(hr.size, np.nan)
    else:
        low = np.broadcast_to(np.asarray(conf_low, dtype=float), hr.shape).copy()
        high = np.broadcast_to(np.asarray(conf_high, dtype=float), hr.shape).copy()
        bad = ~np.isfinite(low) | ~np.isfinite(high) | (low <= 0) | (low > hr) | (high < hr)
        if bad.any():
            i = int(np.argmax(bad))
            raise ValueError(
                f"confidence limits of {names[i]!r} must be positive and finite with "
                f"conf_low <= HR <= conf_high, got [{float(low[i])!r}, {float(high[i])!r}] "
                f"for HR {float(hr[i])!r}"
            )
    chosen, why = _choose_outcome(outcome, event_proportion, threshold)
    rr, rr_low, rr_high = (hr_to_rr(x, chosen) for x in (hr, low, high))
    point = _evalue_of_rr(rr)
    crosses = (rr_low <= 1.0) & (rr_high >= 1.0)
    nearer = np.where(rr < 1.0, rr_high, rr_low)
    with np.errstate(invalid="ignore"):
        conf = np.where(crosses, 1.0, _evalue_of_rr(nearer))
    conf = np.where(np.isnan(low), np.nan, conf)
    messages = [
        f"the CI of {n!r} includes 1: its E-value is 1"
        for n, c in zip(names, crosses & ~np.isnan(low), strict=True)
        if c
    ]
    conversion = "RR = HR" if chosen == "rare" else "RR = (1 - 0.5^sqrt(HR)) / (1 - 0.5^sqrt(1/HR))"
    return EValues(
        terms=names,
        hazard_ratio=hr,
        conf_low=low,
        conf_high=high,
        risk_ratio=rr,
        rr_conf_low=rr_low,
        rr_conf_high=rr_high,
        estimate=point,
        evalue_conf=conf,
        outcome=chosen,
        event_proportion=None if event_proportion is None else float(event_proportion),
        threshold=threshold,
        method=f"E-value (VanderWeele & Ding 2017); {why}: {conversion}",
        warnings=tuple(messages),
    )


def cox_evalues(
    result: Any,
    *,
    terms: Sequence[str] | None = None,
    event_proportion: float | None = None,
    outcome: str | None = None,
    threshold: float = COMMON_OUTCOME_THRESHOLD,
) -> EValues:
    """E-values of the hazard ratios of a fitted Cox model (`regsurv.survival.cox_ph` result).

    ``terms`` picks coefficients (default: all); the CI is the model's (robust when robust).
    ``event_proportion`` defaults to the fit's events over its rows (``n_events / n_obs``;
    pass the unweighted proportion for a weighted fit whose weights do not sum to n).
    """
    table = result.to_frame()
    if terms is not None:
        unknown = [t for t in terms if t not in table["term"].to_list()]
        if unknown:
            raise ValueError(
                f"term {unknown[0]!r} is not in the model; its terms are {list(result.terms)}"
            )
        table = table.filter(pl.col("term").is_in(list(terms)))
    if event_proportion is None and outcome is None:
        event_proportion = float(result.n_events) / float(result.n_obs)
    return evalue(
        table["hr"].to_numpy(),
        table["hr_conf_low"].to_numpy(),
        table["hr_conf_high"].to_numpy(),
        terms=table["term"].to_list(),
        event_proportion=event_proportion,
        outcome=outcome,
        threshold=threshold,
    )
