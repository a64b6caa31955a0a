"""Residuals, baseline hazard and predictions of a fitted Cox model, as R survival 3.x
(residuals.coxph, basehaz, predict.coxph, survfit.coxph; agsurv's Efron increments).

Everything is derived from what the fit keeps (centred, scaled X in input order; the risk-set
sums at the final β), so nothing is refitted and no copy of the data is stored.
With X centred at c internally, η_int = (x − c)β and the hazard increments of `hazard_increments`
are the baseline at x = c; R centres at its ``means`` m (weighted column means, 0 for columns
with values in {-1, 0, 1}; unweighted for (start, stop] data), so Λ_m = Λ_c exp((m − c)β).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from regsurv.survival import _cox
from regsurv.survival._design import design_matrix
from regsurv.survival._km import conf_band

if TYPE_CHECKING:
    from regsurv.survival.cox import CoxResult, _CoxModel

RESIDUAL_TYPES = (
    "martingale", "deviance", "score", "schoenfeld", "scaledsch", "dfbeta", "dfbetas",
)  # fmt: skip


def original_x(model: _CoxModel) -> np.ndarray:
    """The design matrix on its own scale (input order), rebuilt from the centred, scaled X."""
    data = model.data
    return data.x / data.scale + data.center


def r_means(model: _CoxModel) -> np.ndarray:
    """R's ``fit$means``: weighted (unweighted for (start, stop] rows) column means, 0 for a
    column whose values are all in {-1, 0, 1} (coxph's ``nocenter``)."""
    x = original_x(model)
    if model.start_values is None:
        means = (model.weight_values @ x) / model.weight_values.sum()
    else:
        means = x.mean(axis=0)
    rounded = np.round(x)
    zero_one = np.all((np.abs(x - rounded) <= 1e-9 * np.maximum(1.0, np.abs(x))) &
                      (np.abs(rounded) <= 1), axis=0)  # fmt: skip
    means[zero_one] = 0.0
    return means


def coefficients(result: CoxResult) -> np.ndarray:
    """β with aliased (NaN) coefficients as 0, as R's predict and basehaz use them."""
    return np.where(np.isnan(result.estimate), 0.0, result.estimate)


def internal_lp(model: _CoxModel) -> np.ndarray:
    """(x − c)β per fitted row (input order), summed row by row (identical rows tie exactly)."""
    return (model.data.x * model.fit.beta_scaled).sum(axis=1)


def residuals(result: CoxResult, model: _CoxModel, kind: str) -> pl.DataFrame:
    """R's ``residuals(fit, type = kind)`` (see `CoxResult.residuals`)."""
    if kind not in RESIDUAL_TYPES:
        raise ValueError(f"type must be one of {RESIDUAL_TYPES}, got {kind!r}")
    data, state = model.data, model.fit.state
    if kind in ("martingale", "deviance"):
        resid = _cox.martingale_residuals(data, state)
        if kind == "deviance":
            status = model.event_values
            with np.errstate(divide="ignore", invalid="ignore"):
                log_term = np.where(status > 0, status * np.log(status - resid), 0.0)
            resid = np.sign(resid) * np.sqrt(-2 * (resid + log_term))
        return pl.DataFrame({kind: resid})
    names = list(result.terms)
    if kind in ("score", "dfbeta", "dfbetas"):
        weighted = _cox.score_residuals(data, state) / data.scale  # w_i U_i
        if kind == "score":
            values = weighted / model.weight_values[:, None]
        else:
            values = weighted @ result.naive_var
            if kind == "dfbetas":
                with np.errstate(divide="ignore", invalid="ignore"):
                    values = values / np.sqrt(np.diag(result.naive_var))
        return pl.DataFrame(dict(zip(names, values.T, strict=True)))
    # Schoenfeld: x_i − x̄̄(t_i) per death, ordered by (stratum, time, input row) as R
    dr = data.death_rows
    xbar = _cox.mean_covariate(data, state)
    death_group = np.repeat(np.arange(len(data.event_groups)), np.diff(
        np.r_[data.death_starts, len(dr)]))  # fmt: skip
    values = (data.x[data.order[dr]] - xbar[death_group]) / data.scale
    if kind == "scaledsch":
        values = values @ result.naive_var * len(dr) + coefficients(result)
    times = model.time_values[data.order[dr]]
    return pl.DataFrame({"time": times, **dict(zip(names, values.T, strict=True))})


def _time_grid(model: _CoxModel) -> tuple[np.ndarray, np.ndarray]:
    """The distinct (stratum, time) points of R's curves and the group holding each: the
    groups themselves for right-censored data; every distinct stop time for (start, stop]
    rows, whose groups each span the stops from one event time to the next."""
    data = model.data
    if model.start_values is None:
        return data.group_start, np.arange(len(data.group_start))
    stop = model.time_values[data.order]
    stratum = model.stratum_values[data.order]
    first = np.ones(stop.size, dtype=bool)
    first[1:] = (stop[1:] != stop[:-1]) | (stratum[1:] != stratum[:-1])
    rows = np.flatnonzero(first)
    return rows, data.group_of_row[rows]


def _grid_times(model: _CoxModel, rows: np.ndarray) -> np.ndarray:
    return model.time_values[model.data.order[rows]]


def baseline_hazard(result: CoxResult, model: _CoxModel, *, centered: bool) -> pl.DataFrame:
    """R's ``basehaz(fit, centered)``: cumulative baseline hazard at x = means or at x = 0."""
    data = model.data
    increments = _cox.hazard_increments(data, model.fit.state)
    rows, groups = _time_grid(model)
    cumulative = _cox._cumsum_by_stratum(increments.hazard, data)[groups]
    beta = coefficients(result)
    at = r_means(model) if centered else np.zeros_like(beta)
    frame = {
        "time": _grid_times(model, rows),
        "hazard": cumulative * np.exp((at - data.center) @ beta),
    }
    if model.stratum_labels is not None:
        strata = model.stratum_values[data.order[rows]]
        frame["strata"] = [model.stratum_labels[int(c)] for c in strata]
    return pl.DataFrame(frame)


def predict(
    result: CoxResult, model: _CoxModel, kind: str, reference: str, newdata: pl.DataFrame | None
) -> np.ndarray:
    """R's ``predict(fit, type = kind, reference = reference)`` (see `CoxResult.predict`)."""
    if kind not in ("lp", "risk", "expected"):
        raise ValueError(f"type must be 'lp', 'risk' or 'expected', got {kind!r}")
    if reference not in ("sample", "zero"):
        raise ValueError(f"reference must be 'sample' or 'zero', got {reference!r}")
    beta = coefficients(result)
    if kind == "expected":
        if newdata is not None:
            raise ValueError("type='expected' is for the fitted rows (newdata needs their times)")
        return model.event_values - _cox.martingale_residuals(model.data, model.fit.state)
    if newdata is None:
        lp_internal = internal_lp(model)
    else:
        lp_internal = (design_matrix(newdata, model.design) - model.data.center) @ beta
    shift = np.zeros_like(beta) if reference == "zero" else r_means(model)
    lp = lp_internal + (model.data.center - shift) @ beta
    return lp if kind == "lp" else np.exp(lp)


def _require_unstratified(model: _CoxModel, what: str) -> None:
    strata = model.stratum_values
    if strata.size and strata.min() != strata.max():
        raise ValueError(f"{what} is not implemented for a stratified Cox model")


def predicted_survival(
    result: CoxResult,
    model: _CoxModel,
    newdata: pl.DataFrame,
    conf_type: str,
    conf_level: float,
) -> dict[str, np.ndarray]:
    """R's ``survfit(fit, newdata)`` curves (one column per newdata row).

    Λ(t; z) = exp((z − c)β) Σ_{t_g <= t} hazard_g, S = exp(−Λ), and the SE of Λ
    exp((z − c)β) sqrt(Σ varhaz_g + q(t)ᵀ V q(t)), q(t) = Σ_{t_g <= t} (xbar_g − (z − c) hazard_g)
    (survfitcoxph.fit; V = the fit's variance, robust when robust)."""  # fmt: skip
    _require_unstratified(model, "survfit(fit, newdata)")
    data = model.data
    increments = _cox.hazard_increments(data, model.fit.state)
    beta = coefficients(result)
    z = design_matrix(newdata, model.design) - data.center
    risk = np.exp(z @ beta)
    rows, groups = _time_grid(model)
    cum_hazard = np.cumsum(increments.hazard)[groups]
    cum_var = np.cumsum(increments.varhaz)[groups]
    cum_xbar = np.cumsum(increments.xbar / data.scale, axis=0)[groups]
    q = cum_xbar[:, None, :] - cum_hazard[:, None, None] * z[None, :, :]
    var = np.where(np.isnan(result.var), 0.0, result.var)
    quad = np.einsum("tij,jk,tik->ti", q, var, q)
    cumhaz = cum_hazard[:, None] * risk[None, :]
    std_error_log = np.sqrt(cum_var[:, None] + quad) * risk[None, :]
    surv = np.exp(-cumhaz)
    low, high = conf_band(surv, std_error_log, conf_level, conf_type)
    return {
        "time": _grid_times(model, rows),
        "estimate": surv,
        "std_error_log": std_error_log,
        "conf_low": low,
        "conf_high": high,
        "cumhaz": cumhaz,
    }


def adjusted_survival(
    result: CoxResult, model: _CoxModel, treatment: str
) -> tuple[np.ndarray, tuple[str, ...], np.ndarray]:
    """Direct-adjusted (g-formula) curves: for each level a of ``treatment``, the mean over the
    fitted rows of S(t | x_i with treatment set to a) = exp(−Λ_c(t) exp(η_i^a)), η^a the
    internal linear predictor with the treatment columns replaced by those of level a."""
    _require_unstratified(model, "adjusted_survival")
    if model.start_values is not None:
        raise ValueError(
            "adjusted_survival averages over subjects: fit the model on one row per subject "
            "(time=), not on (start, stop] intervals"
        )
    terms = {term.column: term for term in model.design}
    if treatment not in terms:
        raise ValueError(f"treatment {treatment!r} is not a covariate of the model")
    term = terms[treatment]
    offset = 0
    for t in model.design:
        if t.column == treatment:
            break
        offset += len(t.names)
    columns = np.arange(offset, offset + len(term.names))
    data = model.data
    beta = coefficients(result)
    if term.kind == "factor":
        levels = term.levels
        settings = np.vstack([np.zeros(len(columns)), np.eye(len(columns))])
    else:
        values = np.unique(original_x(model)[:, columns[0]])
        if not np.all(np.isin(values, (0.0, 1.0))):
            raise ValueError(f"treatment {treatment!r} must be a factor or a 0/1 column")
        levels = ("0", "1")
        settings = np.array([[0.0], [1.0]])
    own = (data.x[:, columns] / data.scale[columns]) @ beta[columns]
    base = internal_lp(model) - own
    rows, groups = _time_grid(model)
    cum_hazard = np.cumsum(_cox.hazard_increments(data, model.fit.state).hazard)[groups]
    curves = np.zeros((len(cum_hazard), len(levels)))
    block = 65536  # rows at a time: a (times x block) matrix, not (times x n)
    for k, setting in enumerate(settings):
        risk = np.exp(base + (setting - data.center[columns]) @ beta[columns])
        for first in range(0, len(risk), block):
            chunk = risk[first : first + block]
            curves[:, k] += np.exp(-np.outer(cum_hazard, chunk)).sum(axis=1)
    return _grid_times(model, rows), tuple(levels), curves / len(base)
