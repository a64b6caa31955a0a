"""Rubin's rules over m completed data sets, as R ``mice::pool`` (mice 3.15), and the pooled
multivariable Cox and IPTW Cox analyses.

For each coefficient, with estimates ``q_j`` and squared standard errors ``u_j`` of the m fits:
``estimate = mean(q)``, ``ubar = mean(u)``, ``b = var(q)`` (n - 1), ``t = ubar + (1 + 1/m) b``,
``riv = (1 + 1/m) b / ubar``, ``lambda = (1 + 1/m) b / t``, Barnard–Rubin (1999) degrees of
freedom ``df = dfold dfobs / (dfold + dfobs)`` with ``dfold = (m - 1) / lambda^2`` (lambda floored
at 1e-4, as mice) and ``dfobs = (dfcom + 1) / (dfcom + 3) dfcom (1 - lambda)``,
``fmi = (riv + 2 / (df + 3)) / (riv + 1)``; ``std_error = sqrt(t)``, t statistic, p from the t
distribution with df, CI ``estimate ± t_{df} std_error``. For a Cox fit mice takes
``dfcom = nevent - p`` (``nobs.coxph`` is the number of events). Written out here because the
formulas are a few lines and must equal mice's; statsmodels' ``MICEResults`` pools without the
Barnard–Rubin small-sample degrees of freedom.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl
from scipy import stats

from regsurv._display import HtmlDisplay
from regsurv._frames import json_columns, to_polars
from regsurv.causal.propensity import PropensityModel
from regsurv.causal.weights import iptw_weights
from regsurv.survival.cox import CoxResult, cox_ph

__all__ = ["PooledResult", "mi_cox", "mi_iptw_cox", "pool_cox", "rubin_pool"]

LAMBDA_FLOOR = 1e-4  # mice's barnard.rubin: lambda[lambda < 1e-04] <- 1e-04
POOLED_COLUMNS = (
    "term",
    "estimate",
    "ubar",
    "b",
    "t",
    "dfcom",
    "df",
    "riv",
    "lambda",
    "fmi",
    "std_error",
    "statistic",
    "p_value",
    "conf_low",
    "conf_high",
)


@dataclass(frozen=True, slots=True, eq=False)
class PooledResult(HtmlDisplay):
    """Rubin's-rules pooled coefficients (every field of ``mice::pool``; `rubin_pool` builds it).

    ``estimate`` etc. are on the coefficient scale (log hazard ratios for Cox fits).
    """

    terms: tuple[str, ...]
    m: int
    estimate: np.ndarray
    ubar: np.ndarray  # within-imputation variance
    b: np.ndarray  # between-imputation variance
    t: np.ndarray  # total variance
    dfcom: float
    df: np.ndarray  # Barnard-Rubin degrees of freedom
    riv: np.ndarray  # relative increase in variance
    lambda_: np.ndarray  # proportion of the variance due to missingness
    fmi: np.ndarray  # fraction of missing information
    std_error: np.ndarray
    statistic: np.ndarray
    p_value: np.ndarray
    conf_low: np.ndarray
    conf_high: np.ndarray
    conf_level: float
    method: str
    per_set: tuple[Any, ...] = ()  # the m fitted results, when pooled from fits
    warnings: tuple[str, ...] = ()

    @property
    def hazard_ratio(self) -> np.ndarray:
        return np.exp(self.estimate)

    def hazard_ratios(self) -> pl.DataFrame:
        """One row per term: ``term, hr, hr_conf_low, hr_conf_high`` (exp of the pooled
        log-HR and its CI limits)."""
        return pl.DataFrame(
            {
                "term": list(self.terms),
                "hr": np.exp(self.estimate),
                "hr_conf_low": np.exp(self.conf_low),
                "hr_conf_high": np.exp(self.conf_high),
            },
            schema={"term": pl.String}
            | dict.fromkeys(("hr", "hr_conf_low", "hr_conf_high"), pl.Float64),
        )

    def to_frame(self) -> pl.DataFrame:
        """One row per term: the columns of ``POOLED_COLUMNS`` (mice's names; ``lambda``)."""
        values: dict[str, Any] = {"term": list(self.terms)}
        values |= {c: getattr(self, "lambda_" if c == "lambda" else c) for c in POOLED_COLUMNS[1:]}
        values["dfcom"] = np.full(len(self.terms), self.dfcom)
        return pl.DataFrame(
            values, schema={"term": pl.String} | {c: pl.Float64 for c in POOLED_COLUMNS[1:]}
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "m": self.m,
            "conf_level": self.conf_level,
            "dfcom": self.dfcom,
            "coefficients": json_columns(self.to_frame()),
            "warnings": list(self.warnings),
        }

    def __repr__(self) -> str:
        return (
            f"PooledResult(m={self.m}, terms={len(self.terms)}, "
            f"estimate={np.round(self.estimate, 4).tolist()})"
        )


def rubin_pool(
    estimates: Any,
    variances: Any,
    *,
    dfcom: float = np.inf,
    terms: Sequence[str] | None = None,
    conf_level: float = 0.95,
    method: str = "Rubin's rules",
    per_set: Sequence[Any] = (),
) -> PooledResult:
    """Pool m sets of estimates ``(m, p)`` and their variances ``(m, p)`` by Rubin's rules.

    ``dfcom``: complete-data degrees of freedom (``inf``: the large-sample ``dfold``).
    """
    q = np.atleast_2d(np.asarray(estimates, dtype=float))
    u = np.atleast_2d(np.asarray(variances, dtype=float))
    m, p = q.shape
    if m < 2:
        raise ValueError(f"Rubin's rules need at least 2 completed data sets, got m = {m}")
    if u.shape != q.shape:
        raise ValueError(f"variances have shape {u.shape}; estimates have {q.shape}")
    if not 0.0 < conf_level < 1.0:
        raise ValueError(f"conf_level must be in (0, 1), got {conf_level!r}")
    if not dfcom > 0:
        raise ValueError(f"dfcom must be positive, got {dfcom!r}")
    names = tuple(terms) if terms is not None else tuple(f"x{j + 1}" for j in range(p))
    qbar = q.mean(axis=0)
    ubar = u.mean(axis=0)
    b = q.var(axis=0, ddof=1)
    t = ubar + (1.0 + 1.0 / m) * b
    with np.errstate(divide="ignore", invalid="ignore"):
        riv = (1.0 + 1.0 / m) * b / ubar
        lam = (1.0 + 1.0 / m) * b / t
        dfold = (m - 1) / np.maximum(lam, LAMBDA_FLOOR) ** 2
        if np.isinf(dfcom):
            df = dfold
        else:
            dfobs = (dfcom + 1.0) / (dfcom + 3.0) * dfcom * (1.0 - np.maximum(lam, LAMBDA_FLOOR))
            df = dfold * dfobs / (dfold + dfobs)
        fmi = (riv + 2.0 / (df + 3.0)) / (riv + 1.0)
        se = np.sqrt(t)
        statistic = qbar / se
    p_value = 2.0 * stats.t.sf(np.abs(statistic), df)
    crit = stats.t.ppf(0.5 + conf_level / 2.0, df)
    return PooledResult(
        terms=names,
        m=m,
        estimate=qbar,
        ubar=ubar,
        b=b,
        t=t,
        dfcom=float(dfcom),
        df=df,
        riv=riv,
        lambda_=lam,
        fmi=fmi,
        std_error=se,
        statistic=statistic,
        p_value=p_value,
        conf_low=qbar - crit * se,
        conf_high=qbar + crit * se,
        conf_level=conf_level,
        method=f"{method} over m = {m} completed data sets (Barnard-Rubin df, dfcom = {dfcom:g})",
        per_set=tuple(per_set),
    )


def pool_cox(
    fits: Sequence[CoxResult], *, dfcom: float | None = None, conf_level: float = 0.95
) -> PooledResult:
    """Pool Cox fits of the m completed sets (``mice::pool`` of coxph fits).

    The variance of each fit is its ``var`` (robust when the fit is robust, as ``vcov``);
    ``dfcom`` defaults to mice's ``nevent - p`` of the first fit.
    """
    if len(fits) < 2:
        raise ValueError(f"Rubin's rules need at least 2 completed data sets, got m = {len(fits)}")
    terms = fits[0].terms
    for k, fit in enumerate(fits[1:], start=2):
        if fit.terms != terms:
            raise ValueError(
                f"fit {k} has terms {list(fit.terms)}; fit 1 has {list(terms)} "
                "(a level is missing in one completed set)"
            )
    if dfcom is None:
        dfcom = float(fits[0].n_events) - len(terms)
    kind = "robust " if fits[0].robust else ""
    return rubin_pool(
        [f.estimate for f in fits],
        [np.diag(f.var) for f in fits],
        dfcom=dfcom,
        terms=terms,
        conf_level=conf_level,
        method=f"Rubin's rules pooling of Cox fits ({kind}variance, ties = {fits[0].ties})",
        per_set=fits,
    )


def _completed_frames(completed: Sequence[Any]) -> list[pl.DataFrame]:
    frames = [to_polars(frame) for frame in getattr(completed, "completed", completed)]
    if len(frames) < 2:
        raise ValueError(
            f"Rubin's rules need at least 2 completed data sets, got m = {len(frames)}"
        )
    return frames


def mi_cox(
    completed: Sequence[Any],
    *,
    time: str,
    event: str,
    covariates: Sequence[str],
    reference: Mapping[str, str] | None = None,
    strata: str | Sequence[str] | None = None,
    ties: str = "efron",
    conf_level: float = 0.95,
) -> PooledResult:
    """Multivariable Cox model fitted in each completed data set and pooled by Rubin's rules.

    ``completed``: the m completed frames (or an `Imputations`). Arguments as `cox_ph`.
    """
    fits = [
        cox_ph(
            frame,
            time=time,
            event=event,
            covariates=covariates,
            reference=reference,
            strata=strata,
            ties=ties,
            conf_level=conf_level,
        )
        for frame in _completed_frames(completed)
    ]
    return pool_cox(fits, conf_level=conf_level)


def mi_iptw_cox(
    completed: Sequence[Any],
    *,
    time: str,
    event: str,
    treatment: str,
    covariates: Sequence[str],
    reference: Mapping[str, str] | None = None,
    estimand: str = "ATE",
    target: str | None = None,
    stabilized: bool = True,
    normalize: bool = True,
    trim: float | tuple[float, float] | None = None,
    ps_trim: str | float | None = None,
    ties: str = "efron",
    conf_level: float = 0.95,
) -> PooledResult:
    """IPTW Cox of ``treatment`` in each completed set (PS model, weights and weighted Cox with
    robust variance refitted within each set), pooled by Rubin's rules.

    ``covariates`` are the propensity model's; ``estimand``, ``target``, ``stabilized``,
    ``normalize``, ``trim`` and ``ps_trim`` as `iptw_weights`.
    """
    weight_column = "__mi_iptw_weight__"
    fits = []
    for frame in _completed_frames(completed):
        model = PropensityModel(covariates, reference=reference).fit(frame, treatment=treatment)
        weights = iptw_weights(
            model.predict_proba(frame),
            frame[treatment],
            classes=list(model.classes_),
            estimand=estimand,
            target=target,
            stabilized=stabilized,
            normalize=normalize,
            trim=trim,
            ps_trim=ps_trim,
        )
        fits.append(
            cox_ph(
                frame.with_columns(pl.Series(weight_column, weights.values)),
                time=time,
                event=event,
                covariates=[treatment],
                weights=weight_column,
                ties=ties,
                robust=True,
                conf_level=conf_level,
            )
        )
    pooled = pool_cox(fits, conf_level=conf_level)
    return PooledResult(
        **{
            name: getattr(pooled, name)
            for name in PooledResult.__dataclass_fields__
            if name != "method"
        },
        method=pooled.method.replace("Cox fits", f"IPTW Cox fits ({weights.method})"),
    )
