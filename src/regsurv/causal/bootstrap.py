"""Bootstrap confidence intervals for IPTW hazard ratios (and RMST differences) that re-estimate
the weights.

Each replicate draws n rows with replacement, refits the propensity model, recomputes the
weights with the same options, refits the weighted Cox model and, when asked, the weighted
RMST; this carries the uncertainty of the estimated propensity score that the robust sandwich SE
ignores (Austin 2016, Stat Med 35:5642). Two intervals (Efron & Tibshirani 1993):

* percentile: the alpha/2 and 1 - alpha/2 quantiles of the replicates (ch. 13);
* BCa (ch. 14): the quantiles at ``Phi(z0 + (z0 + z) / (1 - a (z0 + z)))`` for z = ±z_{alpha/2},
  with ``z0 = Phi^-1(#{theta*_b < theta_hat} / B)`` and the acceleration
  ``a = sum U^3 / (6 (sum U^2)^{3/2})`` from jackknife values U = theta_bar - theta_(g) of a
  delete-a-group jackknife over ``n_jackknife`` groups of rows (row i in group i mod G; the
  full delete-one jackknife when G = n).

Parallel work goes through joblib: ``with joblib.parallel_config(backend="dask"):`` runs the
replicates on a Dask distributed cluster (``distributed.Client`` first) with no code change.
Replicate b uses its own stream spawned from ``random_state`` (`numpy.random.SeedSequence`), so
the result does not depend on the backend, on ``n_jobs`` or on how replicates are chunked.
Written by hand rather than with ``scipy.stats.bootstrap`` because the statistic is a whole
refitted pipeline that must run through joblib, and scipy's BCa needs the full n-row jackknife.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl
from joblib import Parallel, delayed, effective_n_jobs
from scipy import stats

from regsurv._display import HtmlDisplay
from regsurv._frames import json_columns, to_polars
from regsurv.causal.propensity import PropensityModel, PropensityWarning
from regsurv.causal.weights import iptw_weights
from regsurv.survival.cox import cox_ph
from regsurv.survival.rmst import rmst

__all__ = ["BootstrapResult", "bootstrap_iptw_cox"]

_WEIGHT_COLUMN = "__iptw_weight__"
LOG_HR, RMST_DIFFERENCE = "log_hazard_ratio", "rmst_difference"


@dataclass(frozen=True, slots=True, eq=False)
class BootstrapResult(HtmlDisplay):
    """Full-sample IPTW estimates with bootstrap SEs, percentile and BCa CIs.

    Rows (``terms``) are the log hazard ratios of the treatment, then (with ``tau``) the RMST
    differences of each group minus the reference group; ``measure`` says which.
    """

    terms: tuple[str, ...]
    measure: tuple[str, ...]  # "log_hazard_ratio" or "rmst_difference" per term
    estimate: np.ndarray
    std_error: np.ndarray
    conf_low: np.ndarray  # percentile interval
    conf_high: np.ndarray
    bca_conf_low: np.ndarray  # bias-corrected and accelerated interval
    bca_conf_high: np.ndarray
    bias_correction: np.ndarray  # z0
    acceleration: np.ndarray  # a
    conf_level: float
    replicates: np.ndarray  # (n_boot, terms); NaN rows = failed replicates
    n_boot: int
    n_failed: int
    n_jackknife: int
    n_obs: int
    tau: float | None
    method: str
    warnings: tuple[str, ...] = ()

    def to_frame(self) -> pl.DataFrame:
        """One row per term: estimate, bootstrap SE, percentile CI, BCa CI, and the hazard-ratio
        scale for the log hazard ratios (NaN for RMST differences)."""
        is_hr = np.array([m == LOG_HR for m in self.measure], dtype=bool)

        def hr(values: np.ndarray) -> np.ndarray:
            return np.where(is_hr, np.exp(np.where(is_hr, values, 0.0)), np.nan)

        return pl.DataFrame(
            {
                "term": list(self.terms),
                "estimate": self.estimate,
                "std_error": self.std_error,
                "conf_low": self.conf_low,
                "conf_high": self.conf_high,
                "bca_conf_low": self.bca_conf_low,
                "bca_conf_high": self.bca_conf_high,
                "measure": list(self.measure),
                "hr": hr(self.estimate),
                "hr_conf_low": hr(self.conf_low),
                "hr_conf_high": hr(self.conf_high),
                "hr_bca_conf_low": hr(self.bca_conf_low),
                "hr_bca_conf_high": hr(self.bca_conf_high),
            }
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "conf_level": self.conf_level,
            "n_boot": self.n_boot,
            "n_failed": self.n_failed,
            "n_jackknife": self.n_jackknife,
            "n_obs": self.n_obs,
            "tau": self.tau,
            "coefficients": json_columns(self.to_frame()),
            "bias_correction": [float(v) for v in self.bias_correction],
            "acceleration": [float(v) for v in self.acceleration],
            "warnings": list(self.warnings),
        }

    def __repr__(self) -> str:
        is_hr = [m == LOG_HR for m in self.measure]
        return (
            f"BootstrapResult(n_boot={self.n_boot}, failed={self.n_failed}, "
            f"HR={np.round(np.exp(self.estimate[is_hr]), 4).tolist()})"
        )


def _statistics(frame: pl.DataFrame, options: dict[str, Any]) -> tuple[np.ndarray, list[str]]:
    """The pipeline on ``frame``: PS model, weights, weighted Cox (and RMST differences), and
    the names of the values."""
    model = PropensityModel(options["covariates"], reference=options["reference"])
    model.fit(frame, treatment=options["treatment"])
    weights = iptw_weights(
        model.predict_proba(frame),
        frame[options["treatment"]],
        classes=list(model.classes_),
        estimand=options["estimand"],
        target=options["target"],
        stabilized=options["stabilized"],
        normalize=options["normalize"],
        trim=options["trim"],
        ps_trim=options["ps_trim"],
    )
    weighted = frame.with_columns(pl.Series(_WEIGHT_COLUMN, weights.values))
    if weights.in_region is not None:  # PS-trimmed rows leave the outcome models
        weighted = weighted.filter(pl.Series(weights.in_region))
    cox = cox_ph(
        weighted,
        time=options["time"],
        event=options["event"],
        covariates=[options["treatment"]],
        weights=_WEIGHT_COLUMN,
        ties=options["ties"],
        robust=False,  # the bootstrap replaces the sandwich variance; skip its cost
    )
    if options["tau"] is None:
        return cox.estimate, list(cox.terms)
    restricted = rmst(
        weighted,
        time=options["time"],
        event=options["event"],
        group=options["treatment"],
        weights=_WEIGHT_COLUMN,
        tau=options["tau"],
        extend=True,  # a resample can lose a group's last follow-up time: carry S flat
    )
    n_diff = len(restricted.groups) - 1
    names = [f"rmst {c}" for c in restricted.contrast[:n_diff]]
    return np.concatenate((cox.estimate, restricted.contrast_estimate[:n_diff])), [
        *cox.terms,
        *names,
    ]


def _replicates(
    frame: pl.DataFrame,
    options: dict[str, Any],
    rows_of: Sequence[np.random.SeedSequence | np.ndarray],
    p: int,
) -> np.ndarray:
    """Statistics of the resamples (a seed: n rows drawn with replacement; an array: those rows).
    A replicate in which a group vanishes or a fit fails stays NaN."""
    out = np.full((len(rows_of), p), np.nan)
    n = frame.height
    for b, spec in enumerate(rows_of):
        rows = (
            spec if isinstance(spec, np.ndarray) else np.random.default_rng(spec).integers(0, n, n)
        )
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", PropensityWarning)
                values, _ = _statistics(frame[rows], options)
        except (ValueError, np.linalg.LinAlgError):
            continue
        if values.shape == (p,):
            out[b] = values
    return out


def _run(
    frame: pl.DataFrame,
    options: dict[str, Any],
    tasks: Sequence[Any],
    p: int,
    n_jobs: int,
    on_progress: Callable[[int, int], None] | None,
    done_before: int,
    total: int,
) -> np.ndarray:
    """Evaluate ``tasks`` in chunks through joblib (the active backend), reporting progress."""
    n_chunks = max(1, min(len(tasks), 4 * effective_n_jobs(n_jobs)))
    chunks = [c for c in np.array_split(np.arange(len(tasks)), n_chunks) if c.size]
    results = Parallel(n_jobs=n_jobs, return_as="generator")(
        delayed(_replicates)(frame, options, [tasks[i] for i in chunk], p) for chunk in chunks
    )
    parts = []
    done = done_before
    for part in results:
        parts.append(part)
        done += part.shape[0]
        if on_progress is not None:
            on_progress(done, total)
    return np.vstack(parts)


def _bca(
    replicates: np.ndarray, estimate: np.ndarray, jackknife: np.ndarray, conf_level: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """BCa limits, z0 and a per column (NaN where undefined, e.g. z0 infinite)."""
    alpha = 1.0 - conf_level
    with np.errstate(divide="ignore", invalid="ignore"):
        z0 = stats.norm.ppf(np.mean(replicates < estimate, axis=0))
        u = np.nanmean(jackknife, axis=0) - jackknife
        a = np.nansum(u**3, axis=0) / (6.0 * np.nansum(u**2, axis=0) ** 1.5)
        low, high = [], []
        for z in (stats.norm.ppf(alpha / 2), stats.norm.ppf(1 - alpha / 2)):
            level = stats.norm.cdf(z0 + (z0 + z) / (1.0 - a * (z0 + z)))
            limit = np.full(estimate.size, np.nan)
            ok = np.isfinite(level)
            for j in np.flatnonzero(ok):
                limit[j] = np.quantile(replicates[:, j], level[j])
            (low if z < 0 else high).append(limit)
    return low[0], high[0], z0, a


def bootstrap_iptw_cox(
    data: Any,
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
    tau: float | str | None = None,
    n_boot: int = 500,
    n_jackknife: int = 100,
    conf_level: float = 0.95,
    random_state: int | np.random.Generator | np.random.SeedSequence | None = None,
    n_jobs: int = -1,
    on_progress: Callable[[int, int], None] | None = None,
) -> BootstrapResult:
    """Percentile and BCa bootstrap CIs of the IPTW Cox log hazard ratios of ``treatment``
    (and, with ``tau``, of the IPTW RMST differences against the reference group).

    Rows must be complete in ``time``, ``event``, ``treatment`` and ``covariates``. The weight
    options are those of `iptw_weights`. ``tau``: a number, ``"default"`` (the full sample's
    smallest last follow-up time of the groups, then fixed for every replicate) or None (no
    RMST). Replicates in which a group is empty or a fit fails are counted in ``n_failed`` and
    left out. ``on_progress(done, total)`` is called as chunks of replicates (then of jackknife
    fits) finish; numerics never print.
    """
    if n_boot < 2:
        raise ValueError(f"n_boot must be at least 2, got {n_boot}")
    if n_jackknife < 2:
        raise ValueError(f"n_jackknife must be at least 2, got {n_jackknife}")
    if not 0.0 < conf_level < 1.0:
        raise ValueError(f"conf_level must be in (0, 1), got {conf_level!r}")
    frame = to_polars(data).select(list(dict.fromkeys([time, event, treatment, *covariates])))
    options = {
        "time": time,
        "event": event,
        "treatment": treatment,
        "covariates": list(covariates),
        "reference": reference,
        "estimand": estimand,
        "target": target,
        "stabilized": stabilized,
        "normalize": normalize,
        "trim": trim,
        "ps_trim": ps_trim,
        "ties": ties,
        "tau": None,
    }
    if tau is not None:
        if tau == "default":
            times = frame.group_by(treatment).agg(pl.col(time).max())[time]
            tau = float(times.min())
        options["tau"] = float(tau)
    estimate, terms = _statistics(frame, options)
    p = estimate.size
    if isinstance(random_state, np.random.Generator):
        seed_seq = np.random.SeedSequence(int(random_state.integers(2**63)))
    elif isinstance(random_state, np.random.SeedSequence):
        seed_seq = random_state
    else:
        seed_seq = np.random.SeedSequence(random_state)
    seeds = seed_seq.spawn(n_boot)
    n = frame.height
    groups = min(n_jackknife, n)
    leave_out = [np.flatnonzero(np.arange(n) % groups != g) for g in range(groups)]
    total = n_boot + groups
    reps = _run(frame, options, seeds, p, n_jobs, on_progress, 0, total)
    jackknife = _run(frame, options, leave_out, p, n_jobs, on_progress, n_boot, total)

    ok = ~np.isnan(reps).any(axis=1)
    n_failed = int((~ok).sum())
    alpha = 1.0 - conf_level
    good = reps[ok]
    nan = np.full(p, np.nan)
    if good.shape[0] >= 2:
        low, high = np.quantile(good, [alpha / 2, 1 - alpha / 2], axis=0)
        se = good.std(axis=0, ddof=1)
        bca_low, bca_high, z0, a = _bca(good, estimate, jackknife, conf_level)
    else:
        low = high = se = bca_low = bca_high = z0 = a = nan
    messages = []
    if n_failed:
        messages.append(f"{n_failed} of {n_boot} bootstrap replicates failed and were left out")
    n_jack_failed = int(np.isnan(jackknife).any(axis=1).sum())
    if n_jack_failed:
        messages.append(f"{n_jack_failed} of {groups} jackknife fits failed and were left out")
    if np.any(~np.isfinite(z0)):
        messages.append("BCa undefined where every replicate lies on one side of the estimate")

    measure = [RMST_DIFFERENCE if t.startswith("rmst ") else LOG_HR for t in terms]
    what = "log HR" + (f" and RMST difference (tau = {options['tau']:g})" if options["tau"] else "")
    weighting = [estimand + (f" (target {target!r})" if target is not None else "")]
    if ps_trim is not None:
        weighting.append(f"PS-trimmed by {ps_trim!r}")
    if trim is not None:
        weighting.append(f"weights winsorised at {trim!r}")
    return BootstrapResult(
        terms=tuple(terms),
        measure=tuple(measure),
        estimate=estimate,
        std_error=se,
        conf_low=low,
        conf_high=high,
        bca_conf_low=bca_low,
        bca_conf_high=bca_high,
        bias_correction=z0,
        acceleration=a,
        conf_level=conf_level,
        replicates=reps,
        n_boot=n_boot,
        n_failed=n_failed,
        n_jackknife=groups,
        n_obs=n,
        tau=options["tau"],
        method=(
            f"bootstrap percentile and BCa ({n_boot} replicates, {groups}-group jackknife "
            f"acceleration; PS model and weights re-estimated) of the IPTW {what}; "
            f"weights {', '.join(weighting)}"
        ),
        warnings=tuple(messages),
    )
