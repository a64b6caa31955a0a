"""Restricted mean survival time (RMST) up to tau, per group, with differences and ratios.

The RMST of a group is the area under its Kaplan–Meier curve on [0, tau],
``sum_i S(t_i) (min(t_{i+1}, tau) - t_i)`` with S = 1 before the first time (R
``summary(survfit(...), rmean = tau)$table[, "rmean"]``). The curves come from `kaplan_meier`
(weighted counts with case weights, as survfit).

Two standard errors are reported for every group:

* ``std_error``: survival's ``survmean`` formula, ``sqrt(sum_j A_j^2 d_j / (n_j (n_j - d_j)))``
  with ``A_j`` the area under S from t_j to tau (weighted n and d with case weights);
* ``robust_std_error``: the infinitesimal jackknife, ``sqrt(sum_k r_k^2)`` with ``r_k`` row k's
  influence on S integrated over [0, tau] (R: survfit's ``influence.surv`` times the widths,
  ``tests/reference/r/R/11_rmst_residuals.R``). Written out in closed form below (one pass over
  the rows) because no library computes it and it must equal R's.

Inference (``robust=None``) uses the robust SE when some weight is not an integer (IPTW), the
survmean SE otherwise, as `kaplan_meier` chooses its variance. Contrasts compare every group
with the reference group (the first level): difference ``m_k - m_0`` with SE
``sqrt(se_k^2 + se_0^2)`` and ratio ``m_k / m_0`` on the log scale with SE
``sqrt(se_k^2 / m_k^2 + se_0^2 / m_0^2)`` (delta method, as survRM2), normal z, p and CI.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl
from scipy import stats

from regsurv._display import HtmlDisplay
from regsurv.survival._survdata import prepare_survival_data
from regsurv.survival.km import SurvivalCurve, kaplan_meier

__all__ = ["RMSTResult", "rmst"]

GROUP_COLUMNS = ("group", "n_obs", "n_events", "estimate", "std_error", "robust_std_error")
CONTRAST_COLUMNS = (
    "contrast",
    "measure",
    "estimate",
    "std_error",
    "statistic",
    "p_value",
    "conf_low",
    "conf_high",
)


def _json(values: Any) -> list[Any]:
    return [None if isinstance(v, float) and v != v else v for v in np.asarray(values).tolist()]


@dataclass(frozen=True, slots=True, eq=False)
class RMSTResult(HtmlDisplay):
    """RMST per group up to ``tau`` and contrasts with the reference group (`rmst` builds it)."""

    groups: tuple[str, ...]
    tau: float
    tau_rule: str  # how tau was chosen, in words
    estimate: np.ndarray  # RMST per group
    std_error: np.ndarray  # survival's survmean SE
    robust_std_error: np.ndarray  # infinitesimal-jackknife SE
    robust: bool  # which SE the contrasts use
    n_obs: np.ndarray
    n_events: np.ndarray  # events (weighted) up to and including tau
    contrast: tuple[str, ...]  # "<group> - <reference>" then "<group> / <reference>"
    contrast_measure: tuple[str, ...]  # "difference" or "ratio"
    contrast_estimate: np.ndarray
    contrast_std_error: np.ndarray  # of the difference; of the log ratio
    contrast_statistic: np.ndarray
    contrast_p_value: np.ndarray
    contrast_conf_low: np.ndarray
    contrast_conf_high: np.ndarray
    conf_level: float
    weighted: bool
    method: str
    n_dropped: int
    warnings: tuple[str, ...] = ()

    def to_frame(self) -> pl.DataFrame:
        """One row per group: group, n_obs, n_events, estimate, std_error, robust_std_error."""
        return pl.DataFrame(
            {
                "group": list(self.groups),
                "n_obs": self.n_obs,
                "n_events": self.n_events,
                "estimate": self.estimate,
                "std_error": self.std_error,
                "robust_std_error": self.robust_std_error,
            },
            schema={"group": pl.String, "n_obs": pl.Int64}
            | {c: pl.Float64 for c in GROUP_COLUMNS[2:]},
        )

    def contrasts(self) -> pl.DataFrame:
        """Differences then ratios against the reference group: contrast, measure, estimate,
        std_error (of the log ratio for ratios), statistic, p_value, conf_low, conf_high."""
        return pl.DataFrame(
            {
                "contrast": list(self.contrast),
                "measure": list(self.contrast_measure),
                "estimate": self.contrast_estimate,
                "std_error": self.contrast_std_error,
                "statistic": self.contrast_statistic,
                "p_value": self.contrast_p_value,
                "conf_low": self.contrast_conf_low,
                "conf_high": self.contrast_conf_high,
            },
            schema={"contrast": pl.String, "measure": pl.String}
            | {c: pl.Float64 for c in CONTRAST_COLUMNS[2:]},
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: tau and its rule, the group table and the contrasts (NaN -> None)."""
        return {
            "method": self.method,
            "tau": self.tau,
            "tau_rule": self.tau_rule,
            "robust": self.robust,
            "weighted": self.weighted,
            "conf_level": self.conf_level,
            "n_dropped": self.n_dropped,
            "groups": {k: _json(v) for k, v in self.to_frame().to_dict(as_series=False).items()},
            "contrasts": {
                k: _json(v) for k, v in self.contrasts().to_dict(as_series=False).items()
            },
            "warnings": list(self.warnings),
        }

    def __repr__(self) -> str:
        return (
            f"RMSTResult(tau={self.tau:g}, groups={len(self.groups)}, "
            f"rmst={np.round(self.estimate, 4).tolist()}, robust={self.robust})"
        )


def _areas(curve: SurvivalCurve, tau: float) -> tuple[np.ndarray, np.ndarray]:
    """Width of each step of the curve inside [0, tau] and the area from each time to tau."""
    t = curve.time
    upper = np.minimum(np.append(t[1:], tau), tau)
    width = np.where(t < tau, upper - t, 0.0)
    area_after = np.cumsum((curve.estimate * width)[::-1])[::-1]  # A_j = int_{t_j}^tau S
    return width, area_after


def _group_rmst(
    curve: SurvivalCurve,
    tau: float,
    time: np.ndarray,
    event: np.ndarray,
    weights: np.ndarray,
) -> tuple[float, float, float, float]:
    """RMST, survmean SE, IJ SE and events up to tau of one group (rows of that group given)."""
    t, n, d, surv = curve.time, curve.n_risk, curve.n_event, curve.estimate
    width, area_after = _areas(curve, tau)
    first = min(t[0], tau) if t.size else tau  # S = 1 on [0, t_1)
    estimate = float(first + area_after[0]) if t.size else float(tau)
    at_or_before = t <= tau
    with np.errstate(divide="ignore", invalid="ignore"):
        hh = np.where((n - d) == 0, 0.0, d / (n * (n - d)))
        var_survmean = float(np.sum(np.where(at_or_before, area_after**2 * hh, 0.0)))
        # influence of row k: w_k [P_m + (C_m - e_k J_m) Q_m], m = the row's time index (see the
        # docstring of survival._km.robust_var_log for A_k(i)); P_m = sum_{i<m} C_i S_i width_i,
        # Q_m = sum_{i>=m} S_i width_i = area_after_m.
        hazard = np.where(d > 0, d / n, 0.0)
        one_minus = 1.0 - hazard
        C = np.cumsum(np.where(d > 0, hazard / (n * one_minus), 0.0))
        J = np.where(d > 0, 1.0 / (n * one_minus), 0.0)
        contrib = np.where(width > 0, C * surv * width, 0.0)
        P = np.cumsum(contrib) - contrib
        m = np.searchsorted(t, time)
        influence = weights * (P[m] + (C[m] - event * J[m]) * area_after[m])
    influence = np.where(np.isfinite(influence), influence, 0.0)  # rows after S reached 0
    n_events = float(np.sum(d[at_or_before]))
    return estimate, np.sqrt(var_survmean), float(np.sqrt(np.sum(influence**2))), n_events


def _contrast(
    estimate: float, se: float, z: float, log_scale: bool
) -> tuple[float, float, float, float, float, float]:
    """Estimate, SE, z, p and CI of a difference (or of a ratio from its log and SE)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        centre = np.log(estimate) if log_scale else estimate
        statistic = centre / se if se > 0 else np.nan
        low, high = centre - z * se, centre + z * se
    p_value = float(2.0 * stats.norm.sf(abs(statistic))) if statistic == statistic else np.nan
    if log_scale:
        low, high = np.exp(low), np.exp(high)
    return estimate, se, float(statistic), p_value, float(low), float(high)


def rmst(
    data: Any,
    *,
    time: str,
    event: str,
    group: str | None = None,
    weights: str | None = None,
    tau: float | None = None,
    robust: bool | None = None,
    conf_level: float = 0.95,
    extend: bool = False,
) -> RMSTResult:
    """Restricted mean survival time per level of ``group`` up to ``tau``, with contrasts.

    ``tau=None`` takes the smallest of the groups' last follow-up times (event or censoring),
    so every curve is observed up to tau; the rule and the value are in ``tau_rule``. A ``tau``
    beyond a group's last follow-up time is an error (the curve is not estimated there) unless
    ``extend`` (R's survmean: the last value carried to tau; for bootstrap replicates).
    ``weights``: case weights (IPTW), giving the weighted curves and the IJ SE that accounts for
    them; ``robust=None`` uses the IJ SE when some weight is not an integer.
    """
    if not 0.0 < conf_level < 1.0:
        raise ValueError(f"conf_level must be in (0, 1), got {conf_level!r}")
    curves = kaplan_meier(data, time=time, event=event, group=group, weights=weights)
    prepared = prepare_survival_data(data, time=time, event=event, group=group, weights=weights)
    labels = tuple(curves.keys())
    code_of = {label: k for k, label in enumerate(prepared.group_levels)}
    last = {label: float(curves[label].time.max()) for label in labels}
    shortest = min(labels, key=lambda label: last[label])
    if tau is None:
        tau = last[shortest]
        where = f" in group {shortest!r}" if group is not None else ""
        tau_rule = f"smallest last follow-up time of the groups ({tau:g}{where})"
    else:
        tau = float(tau)
        if not np.isfinite(tau) or tau <= 0:
            raise ValueError(f"tau must be a positive number, got {tau!r}")
        if tau > last[shortest] and not extend:
            where = f"group {shortest!r}" if group is not None else "the data"
            raise ValueError(
                f"tau = {tau:g} is beyond the follow-up of {where} (last time "
                f"{last[shortest]:g}); choose tau <= {last[shortest]:g}"
            )
        tau_rule = "given" if tau <= last[shortest] else "given (curves carried flat to tau)"
    if robust is None:
        w = prepared.weights
        robust = w is not None and bool(np.any(w != np.floor(w)))

    weights_all = np.ones(prepared.time.size) if prepared.weights is None else prepared.weights
    rows = []
    messages = list(curves.warnings)
    for label in labels:
        in_group = prepared.group_code == code_of[label]
        values = _group_rmst(
            curves[label],
            tau,
            prepared.time[in_group],
            prepared.event[in_group],
            weights_all[in_group],
        )
        if values[3] == 0:
            where = f"group {label!r}" if group is not None else "the data"
            messages.append(
                f"{where} has no events up to tau = {tau:g}: its RMST is tau with zero variance"
            )
        rows.append((curves[label].n_obs, *values))
    n_obs = np.array([r[0] for r in rows], dtype=np.int64)
    estimate = np.array([r[1] for r in rows])
    se = np.array([r[2] for r in rows])
    se_ij = np.array([r[3] for r in rows])
    n_events = np.array([r[4] for r in rows])

    use = se_ij if robust else se
    z = float(stats.norm.ppf(0.5 + conf_level / 2.0))
    names, measures, contrast_values = [], [], []
    for measure in ("difference", "ratio"):
        for k in range(1, len(labels)):
            if measure == "difference":
                value = estimate[k] - estimate[0]
                spread = float(np.hypot(use[k], use[0]))
                names.append(f"{labels[k]} - {labels[0]}")
            else:
                value = estimate[k] / estimate[0]
                spread = float(np.hypot(use[k] / estimate[k], use[0] / estimate[0]))
                names.append(f"{labels[k]} / {labels[0]}")
            measures.append(measure)
            contrast_values.append(_contrast(value, spread, z, measure == "ratio"))
    columns = np.array(contrast_values, dtype=float).reshape(-1, 6).T
    weighted = prepared.weights is not None
    se_name = "infinitesimal-jackknife SE" if robust else "survmean SE"
    method = f"RMST up to tau = {tau:g} ({'weighted ' if weighted else ''}Kaplan-Meier, {se_name})"
    return RMSTResult(
        groups=labels,
        tau=tau,
        tau_rule=tau_rule,
        estimate=estimate,
        std_error=se,
        robust_std_error=se_ij,
        robust=robust,
        n_obs=n_obs,
        n_events=n_events,
        contrast=tuple(names),
        contrast_measure=tuple(measures),
        contrast_estimate=columns[0],
        contrast_std_error=columns[1],
        contrast_statistic=columns[2],
        contrast_p_value=columns[3],
        contrast_conf_low=columns[4],
        contrast_conf_high=columns[5],
        conf_level=conf_level,
        weighted=weighted,
        method=method,
        n_dropped=curves.n_dropped,
        warnings=tuple(dict.fromkeys(messages)),
    )
