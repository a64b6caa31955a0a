"""Bootstrap confidence intervals for IPTW hazard ratios that re-estimate the weights.

Each replicate draws n rows with replacement, refits the propensity model, recomputes the
weights with the same options and refits the weighted Cox model; the CI is the percentile
interval of the replicate log hazard ratios (Efron & Tibshirani 1993, ch. 13), which carries the
uncertainty of the estimated propensity score that the robust sandwich SE ignores (Austin 2016,
Stat Med 35:5642). Replicates are independent streams spawned from ``random_state``
(`numpy.random.SeedSequence`), so the result does not depend on ``n_jobs``.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl
from joblib import Parallel, cpu_count, delayed

from regsurv._frames import to_polars
from regsurv.causal.propensity import PropensityModel, PropensityWarning
from regsurv.causal.weights import iptw_weights
from regsurv.survival.cox import cox_ph

__all__ = ["BootstrapResult", "bootstrap_iptw_cox"]

_WEIGHT_COLUMN = "__iptw_weight__"


@dataclass(frozen=True, slots=True, eq=False)
class BootstrapResult:
    """Full-sample IPTW log hazard ratios with bootstrap SEs and percentile CIs."""

    terms: tuple[str, ...]
    estimate: np.ndarray
    std_error: np.ndarray
    conf_low: np.ndarray
    conf_high: np.ndarray
    conf_level: float
    replicates: np.ndarray  # (n_boot, terms); NaN rows = failed replicates
    n_boot: int
    n_failed: int
    n_obs: int
    method: str
    warnings: tuple[str, ...] = ()

    def to_frame(self) -> pl.DataFrame:
        """One row per term: log-HR estimate, bootstrap SE, percentile CI, and on the HR scale."""
        return pl.DataFrame(
            {
                "term": list(self.terms),
                "estimate": self.estimate,
                "std_error": self.std_error,
                "conf_low": self.conf_low,
                "conf_high": self.conf_high,
                "hr": np.exp(self.estimate),
                "hr_conf_low": np.exp(self.conf_low),
                "hr_conf_high": np.exp(self.conf_high),
            }
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "conf_level": self.conf_level,
            "n_boot": self.n_boot,
            "n_failed": self.n_failed,
            "n_obs": self.n_obs,
            "coefficients": self.to_frame().to_dict(as_series=False),
            "warnings": list(self.warnings),
        }

    def __repr__(self) -> str:
        return (
            f"BootstrapResult(n_boot={self.n_boot}, failed={self.n_failed}, "
            f"HR={np.round(np.exp(self.estimate), 4).tolist()})"
        )


def _weights_for(frame: pl.DataFrame, options: dict[str, Any]) -> np.ndarray:
    """Refit the propensity model on ``frame`` and return its IPT weights."""
    model = PropensityModel(options["covariates"], reference=options["reference"])
    model.fit(frame, treatment=options["treatment"])
    return iptw_weights(
        model.predict_proba(frame),
        frame[options["treatment"]],
        classes=list(model.classes_),
        estimand=options["estimand"],
        stabilized=options["stabilized"],
        normalize=options["normalize"],
        trim=options["trim"],
    ).values


def _weighted_cox(frame: pl.DataFrame, w: np.ndarray, options: dict[str, Any], robust: bool):
    return cox_ph(
        frame.with_columns(pl.Series(_WEIGHT_COLUMN, w)),
        time=options["time"],
        event=options["event"],
        covariates=[options["treatment"]],
        weights=_WEIGHT_COLUMN,
        ties=options["ties"],
        robust=robust,
    )


def _replicates(
    frame: pl.DataFrame, options: dict[str, Any], seeds: Sequence[np.random.SeedSequence], p: int
) -> np.ndarray:
    out = np.full((len(seeds), p), np.nan)
    n = frame.height
    for b, seed in enumerate(seeds):
        rows = np.random.default_rng(seed).integers(0, n, n)
        sample = frame[rows]
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", PropensityWarning)
                w = _weights_for(sample, options)
            # robust=False: the bootstrap replaces the sandwich variance; skip its cost
            estimate = _weighted_cox(sample, w, options, robust=False).estimate
        except (ValueError, np.linalg.LinAlgError):
            continue  # a group vanished or the fit failed: counted as failed
        if estimate.shape == (p,):
            out[b] = estimate
    return out


def bootstrap_iptw_cox(
    data: Any,
    *,
    time: str,
    event: str,
    treatment: str,
    covariates: Sequence[str],
    reference: dict[str, str] | None = None,
    estimand: str = "ATE",
    stabilized: bool = True,
    normalize: bool = True,
    trim: float | tuple[float, float] | None = None,
    ties: str = "efron",
    n_boot: int = 500,
    conf_level: float = 0.95,
    random_state: int | np.random.Generator | np.random.SeedSequence | None = None,
    n_jobs: int = -1,
) -> BootstrapResult:
    """Percentile bootstrap CI of the IPTW Cox log hazard ratios of ``treatment``.

    Rows must be complete in ``time``, ``event``, ``treatment`` and ``covariates``. Replicates
    in which a treatment group is empty or a fit fails are counted in ``n_failed`` and left out.
    """
    if n_boot < 2:
        raise ValueError(f"n_boot must be at least 2, got {n_boot}")
    frame = to_polars(data).select(list(dict.fromkeys([time, event, treatment, *covariates])))
    options = {
        "time": time,
        "event": event,
        "treatment": treatment,
        "covariates": list(covariates),
        "reference": reference,
        "estimand": estimand,
        "stabilized": stabilized,
        "normalize": normalize,
        "trim": trim,
        "ties": ties,
    }
    full = _weighted_cox(frame, _weights_for(frame, options), options, robust=True)
    p = full.estimate.size
    if isinstance(random_state, np.random.Generator):
        seed_seq = np.random.SeedSequence(int(random_state.integers(2**63)))
    elif isinstance(random_state, np.random.SeedSequence):
        seed_seq = random_state
    else:
        seed_seq = np.random.SeedSequence(random_state)
    seeds = seed_seq.spawn(n_boot)
    workers = cpu_count() if n_jobs < 0 else max(1, n_jobs)
    n_chunks = max(1, min(n_boot, 4 * workers))
    chunks = [c for c in np.array_split(np.arange(n_boot), n_chunks) if c.size]
    parts = Parallel(n_jobs=n_jobs)(
        delayed(_replicates)(frame, options, [seeds[i] for i in chunk], p) for chunk in chunks
    )
    reps = np.vstack(parts)
    ok = ~np.isnan(reps).any(axis=1)
    n_failed = int((~ok).sum())
    alpha = 1.0 - conf_level
    good = reps[ok]
    if good.shape[0] >= 2:
        low, high = np.quantile(good, [alpha / 2, 1 - alpha / 2], axis=0)
        se = good.std(axis=0, ddof=1)
    else:
        low = high = se = np.full(p, np.nan)
    messages = []
    if n_failed:
        messages.append(f"{n_failed} of {n_boot} bootstrap replicates failed and were left out")
    return BootstrapResult(
        terms=full.terms,
        estimate=full.estimate,
        std_error=se,
        conf_low=low,
        conf_high=high,
        conf_level=conf_level,
        replicates=reps,
        n_boot=n_boot,
        n_failed=n_failed,
        n_obs=frame.height,
        method=f"bootstrap percentile ({n_boot} replicates; PS model and weights re-estimated)",
        warnings=tuple(messages),
    )
