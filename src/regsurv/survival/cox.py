"""Cox proportional hazards regression, numerically matching R's ``survival::coxph``.

Efron (default) or Breslow ties, strata, case weights, robust (infinitesimal-jackknife) and
cluster variance, likelihood-ratio / Wald / score / robust score tests, concordance, type-3 tests
(``CoxResult.type3``) and the proportional-hazards test of ``cox.zph`` (``CoxResult.zph``);
right-censored ``time=`` or counting-process ``start=``/``stop=`` rows (``Surv(start, stop,
event)``, R's agreg.fit: delayed entry, time-varying covariates, several rows per ``id``).
Kernels live in ``_cox.py`` (fit), ``_zph.py`` and ``_cox_concordance.py``.
"""

from __future__ import annotations

import warnings as _warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl
from scipy import sparse, stats

from regsurv._display import HtmlDisplay
from regsurv._frames import to_polars
from regsurv.survival import _cox
from regsurv.survival._cox_concordance import concordance_counts
from regsurv.survival._design import DesignTerm, design_matrix, design_terms

TIES = ("efron", "breslow")


@dataclass(frozen=True, slots=True, eq=False)
class _CoxModel:
    """What type3(), zph() and the concordance need (complete rows, input order)."""

    ties: str
    design: tuple[DesignTerm, ...]
    time_values: np.ndarray
    event_values: np.ndarray
    weight_values: np.ndarray
    stratum_values: np.ndarray
    cluster_values: np.ndarray | None
    data: _cox.CoxData
    fit: _cox.CoxFit
    start_values: np.ndarray | None = None  # counting-process entry times (None: right-censored)
    stratum_labels: dict[int, str] | None = None  # stratum code -> "col=value" (R's strata names)


@dataclass(frozen=True, slots=True, eq=False)
class CoxTestTable(HtmlDisplay):
    """Per-term chi-square tests (type-3 Wald/LR, or cox.zph with a GLOBAL row)."""

    terms: tuple[str, ...]
    statistic: np.ndarray
    df: np.ndarray
    p_value: np.ndarray
    method: str

    def to_frame(self) -> pl.DataFrame:
        return pl.DataFrame(
            {
                "term": list(self.terms),
                "statistic": self.statistic,
                "df": self.df.astype(np.int64),
                "p_value": self.p_value,
            }
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            **{k: _json(v) for k, v in self.to_frame().to_dict(as_series=False).items()},
        }

    def __repr__(self) -> str:
        return f"CoxTestTable(method={self.method!r}, terms={len(self.terms)})"


@dataclass(frozen=True, slots=True, eq=False)
class CoxResult(HtmlDisplay):
    """A fitted Cox model (``coxph``). Coefficients are log hazard ratios, NaN when aliased.

    ``var`` is the variance used for inference (the robust sandwich when ``robust``),
    ``naive_var`` the model-based I⁻¹; ``std_error`` is always model-based and
    ``robust_std_error`` NaN unless robust. ``loglik_null``/``loglik`` are the log partial
    likelihoods at β = 0 and at the estimate. ``tests`` maps likelihood_ratio, wald, score (and
    robust_score when robust) to statistic/df/p_value, as coxph's (Wald uses ``var``).
    ``n_events`` counts event rows (unweighted, as coxph's nevent); ``n_dropped`` rows with a
    missing value. ``concordance`` (computed on first access) has concordant, discordant,
    tied_x, tied_y, tied_xy, concordance, std_error (R's definitions).
    """

    terms: tuple[str, ...]
    estimate: np.ndarray
    std_error: np.ndarray
    robust_std_error: np.ndarray
    var: np.ndarray
    naive_var: np.ndarray
    conf_level: float
    robust: bool
    ties: str
    loglik_null: float
    loglik: float
    tests: dict[str, dict[str, float]]
    n_obs: int
    n_events: float
    n_dropped: int
    iterations: int
    converged: bool
    warnings: tuple[str, ...]
    method: str = "cox_ph"
    _model: _CoxModel | None = field(default=None, repr=False)
    _concordance: dict[str, float] = field(default_factory=dict, repr=False)

    @property
    def concordance(self) -> dict[str, float]:
        """R's concordance counts, index and SE (computed on first access, then cached)."""
        if not self._concordance and self._model is not None:
            m = self._model
            # row by row in one order, so identical covariate rows get identical η (ties),
            # which a BLAS matrix-vector product does not promise
            eta = (m.data.x * m.fit.beta_scaled).sum(axis=1)
            self._concordance.update(
                concordance_counts(
                    m.time_values,
                    m.event_values,
                    eta,
                    m.weight_values,
                    m.stratum_values,
                    m.cluster_values,
                    m.start_values,
                )
            )
        return dict(self._concordance)

    @property
    def design(self) -> tuple[DesignTerm, ...]:
        """The model's terms: covariate column, kind, levels (reference first) and reference."""
        return () if self._model is None else self._model.design

    @property
    def hazard_ratio(self) -> np.ndarray:
        return np.exp(self.estimate)

    def _inference_se(self) -> np.ndarray:
        return self.robust_std_error if self.robust else self.std_error

    def to_frame(self) -> pl.DataFrame:
        """One row per coefficient; z, p and the HR CI use the robust SE when robust."""
        se = self._inference_se()
        z_crit = stats.norm.ppf(0.5 + self.conf_level / 2)
        with np.errstate(invalid="ignore"):
            z = self.estimate / se
        return pl.DataFrame(
            {
                "term": list(self.terms),
                "estimate": self.estimate,
                "std_error": self.std_error,
                "robust_std_error": self.robust_std_error,
                "hr": np.exp(self.estimate),
                "hr_conf_low": np.exp(self.estimate - z_crit * se),
                "hr_conf_high": np.exp(self.estimate + z_crit * se),
                "statistic": z,
                "p_value": 2 * stats.norm.sf(np.abs(z)),
            }
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe summary (coefficients table, tests, counts, variance matrices)."""
        return {
            "method": self.method,
            "ties": self.ties,
            "robust": self.robust,
            "conf_level": self.conf_level,
            "coefficients": {
                k: _json(v) for k, v in self.to_frame().to_dict(as_series=False).items()
            },
            "var": _json(self.var),
            "naive_var": _json(self.naive_var),
            "loglik_null": _json(self.loglik_null),
            "loglik": _json(self.loglik),
            "tests": {k: {kk: _json(vv) for kk, vv in v.items()} for k, v in self.tests.items()},
            "concordance": {k: _json(v) for k, v in self.concordance.items()},
            "n_obs": self.n_obs,
            "n_events": _json(self.n_events),
            "n_dropped": self.n_dropped,
            "iterations": self.iterations,
            "converged": self.converged,
            "warnings": list(self.warnings),
        }

    def __repr__(self) -> str:
        return (
            f"CoxResult(ties={self.ties!r}, terms={len(self.terms)}, n_obs={self.n_obs}, "
            f"n_events={self.n_events:g}, loglik={self.loglik:.6g}, robust={self.robust})"
        )

    def type3(self, test: str = "wald") -> CoxTestTable:
        """One test per covariate (all dummies of a factor jointly).

        ``"wald"``: W = b_Tᵀ V_TT⁻¹ b_T with V the (robust if robust) variance (SAS PHREG type 3).
        ``"lr"``: R's ``drop1(fit, test = "Chisq")``: 2(ℓ_full − ℓ_without T), refitted on the
        same rows.
        """
        model = self._require_model()
        names, stat, dfs = [], [], []
        offset = 0
        for term in model.design:
            k = len(term.names)
            idx = np.arange(offset, offset + k)
            offset += k
            names.append(term.column)
            if test == "wald":
                b = self.estimate[idx]
                ok = ~np.isnan(b)
                v = self.var[np.ix_(idx[ok], idx[ok])]
                stat.append(float(b[ok] @ np.linalg.solve(v, b[ok])) if ok.any() else np.nan)
                dfs.append(int(ok.sum()))
            elif test == "lr":
                cols = np.setdiff1d(np.arange(model.data.x.shape[1]), idx)
                reduced = _refit_without(model, cols)
                stat.append(2 * (self.loglik - reduced.loglik_final))
                dfs.append(int((~np.isnan(self.estimate[idx])).sum()))
            else:
                raise ValueError(f"test must be 'wald' or 'lr', got {test!r}")
        stat_a, df_a = np.array(stat, dtype=float), np.array(dfs)
        return CoxTestTable(
            tuple(names), stat_a, df_a, stats.chi2.sf(stat_a, df_a), f"type3_{test}"
        )

    def zph(self, transform: str = "km", *, terms: bool = True) -> CoxTestTable:
        """Proportional-hazards test of R survival 3.x ``cox.zph`` (score test), terms + GLOBAL."""
        from regsurv.survival._zph import zph_test

        model = self._require_model()
        return zph_test(self, model, transform=transform, terms=terms)

    @property
    def means(self) -> np.ndarray:
        """R's ``fit$means``: the centring of ``predict(type="lp")`` and ``basehaz(centered)``
        (weighted column means; unweighted for (start, stop] rows; 0 for 0/±1 columns)."""
        from regsurv.survival._cox_predict import r_means

        return r_means(self._require_model())

    def residuals(self, type: str = "martingale") -> pl.DataFrame:
        """R's ``residuals(fit, type)``, one row per fitted row in input order (complete rows).

        ``martingale`` δ_i − r_i Λ_i (Efron: a death's own tie group counts Σ (1 − k/d) h_k);
        ``deviance`` sign(M) √(−2 (M + δ log(δ − M))); ``score`` the unweighted score
        residuals U_i (one column per term); ``dfbeta`` (w_i U_i) V and ``dfbetas`` dfbeta /
        SE, V the model-based variance; ``schoenfeld`` x_i − x̄(t_i) per event (rows ordered
        by stratum, time, input row, with a ``time`` column) and ``scaledsch`` = schoenfeld
        · V · number of events + β.
        """
        from regsurv.survival._cox_predict import residuals

        return residuals(self, self._require_model(), type)

    def baseline_hazard(self, *, centered: bool = True) -> pl.DataFrame:
        """Cumulative baseline hazard (R ``basehaz``): columns time, hazard (and strata), at
        x = ``means`` (centered) or x = 0, one row per distinct time; Efron increments
        Σ_k (W/d) / (S0 − (k/d) S0_deaths) for an Efron fit, W / S0 for Breslow."""
        from regsurv.survival._cox_predict import baseline_hazard

        return baseline_hazard(self, self._require_model(), centered=centered)

    def predict(
        self, type: str = "lp", *, reference: str = "sample", newdata: Any = None
    ) -> np.ndarray:
        """R's ``predict(fit, type, reference)``: ``lp`` (x − means)β (``reference="zero"``:
        xβ), ``risk`` exp(lp), ``expected`` δ − martingale residual (fitted rows only).
        ``newdata`` (a frame with the covariate columns) for lp / risk."""
        from regsurv.survival._cox_predict import predict

        frame = None if newdata is None else to_polars(newdata)
        return predict(self, self._require_model(), type, reference, frame)

    def predict_survival(
        self, newdata: Any, *, conf_type: str = "log-log", conf_level: float | None = None
    ) -> PredictedSurvival:
        """Survival curves for new covariate values with pointwise CIs (R ``survfit(fit,
        newdata)``, Tsiatis variance with the fit's ``var``); S = exp(−Λ). Unstratified fits."""
        from regsurv.survival._cox_predict import predicted_survival

        frame = to_polars(newdata)
        level = self.conf_level if conf_level is None else conf_level
        curves = predicted_survival(self, self._require_model(), frame, conf_type, level)
        return PredictedSurvival(**curves, conf_level=level, conf_type=conf_type)

    def adjusted_survival(self, treatment: str) -> AdjustedSurvival:
        """Direct-adjusted (g-formula) survival by level of ``treatment``: the mean over the
        fitted rows of their predicted curves with the treatment set to each level."""
        from regsurv.survival._cox_predict import adjusted_survival

        time, levels, curves = adjusted_survival(self, self._require_model(), treatment)
        return AdjustedSurvival(time, levels, curves, treatment)

    def _require_model(self) -> _CoxModel:
        if self._model is None:
            raise ValueError("this CoxResult has no fitted model attached (no events?)")
        return self._model


@dataclass(frozen=True, slots=True, eq=False)
class PredictedSurvival(HtmlDisplay):
    """Predicted survival curves of a Cox model, one column per newdata row (arrays are
    (times, rows)); as `SurvivalCurve`, ``std_error`` is the SE of S and ``std_error_log`` the
    SE of the cumulative hazard (R's ``survfit.coxph`` std.err)."""

    time: np.ndarray
    estimate: np.ndarray
    std_error_log: np.ndarray
    conf_low: np.ndarray
    conf_high: np.ndarray
    cumhaz: np.ndarray
    conf_level: float
    conf_type: str
    method: str = "survfit_coxph"

    @property
    def std_error(self) -> np.ndarray:
        """SE of S(t) itself: std_error_log * estimate."""
        return self.std_error_log * self.estimate

    def to_frame(self) -> pl.DataFrame:
        """Long format: row (of newdata, from 0), time, estimate, std_error, std_error_log,
        conf_low, conf_high, cumhaz."""
        n_times, n_rows = self.estimate.shape
        return pl.DataFrame(
            {
                "row": np.repeat(np.arange(n_rows), n_times),
                "time": np.tile(self.time, n_rows),
                **{
                    name: getattr(self, name).T.ravel()
                    for name in (
                        "estimate",
                        "std_error",
                        "std_error_log",
                        "conf_low",
                        "conf_high",
                        "cumhaz",
                    )
                },
            }
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "conf_level": self.conf_level,
            "conf_type": self.conf_type,
            "curves": {k: _json(v) for k, v in self.to_frame().to_dict(as_series=False).items()},
        }

    def __repr__(self) -> str:
        return f"PredictedSurvival(rows={self.estimate.shape[1]}, times={self.time.size})"


@dataclass(frozen=True, slots=True, eq=False)
class AdjustedSurvival(HtmlDisplay):
    """Direct-adjusted (g-formula) survival curves: ``estimate[:, k]`` for ``groups[k]``."""

    time: np.ndarray
    groups: tuple[str, ...]
    estimate: np.ndarray
    treatment: str
    method: str = "direct_adjusted_cox"

    def to_frame(self) -> pl.DataFrame:
        """Long format: group, time, estimate."""
        n_times = self.time.size
        return pl.DataFrame(
            {
                "group": [g for g in self.groups for _ in range(n_times)],
                "time": np.tile(self.time, len(self.groups)),
                "estimate": self.estimate.T.ravel(),
            }
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "treatment": self.treatment,
            "time": _json(self.time),
            "curves": {g: _json(self.estimate[:, k]) for k, g in enumerate(self.groups)},
        }

    def __repr__(self) -> str:
        return f"AdjustedSurvival(treatment={self.treatment!r}, groups={list(self.groups)})"


def _json(value: Any) -> Any:
    """numpy/float values to JSON-safe Python (NaN/inf as strings, as the R fixtures)."""
    if isinstance(value, np.ndarray):
        return [_json(v) for v in value.tolist()]
    if isinstance(value, list):
        return [_json(v) for v in value]
    if isinstance(value, float | np.floating):
        v = float(value)
        if np.isnan(v):
            return "NaN"
        if np.isinf(v):
            return "Inf" if v > 0 else "-Inf"
        return v
    if isinstance(value, np.integer):
        return int(value)
    return value


def _chi2_test(statistic: float, df: int) -> dict[str, float]:
    return {"statistic": statistic, "df": df, "p_value": float(stats.chi2.sf(statistic, df))}


def _refit_without(model: _CoxModel, columns: np.ndarray) -> _cox.CoxFit:
    """Refit on the same rows with only ``columns`` of the design (drop1)."""
    data = _cox.prepare(
        model.time_values, model.event_values, model.data.x[:, columns], model.weight_values,
        model.stratum_values, model.ties, start=model.start_values, overwrite_x=True,
    )  # fmt: skip
    return _cox.newton_raphson(data)


def _codes(frame: pl.DataFrame, columns: Sequence[str]) -> np.ndarray:
    """Integer codes of the distinct value combinations of ``columns`` (0 when none)."""
    if not columns:
        return np.zeros(frame.height, dtype=np.int64)
    codes = np.zeros(frame.height, dtype=np.int64)
    for column in columns:
        col = frame.get_column(column).cast(pl.String).rank("dense").to_numpy().astype(np.int64)
        codes = codes * (int(col.max()) + 1) + col
    return codes


def _check_columns(frame: pl.DataFrame, role: str, columns: Sequence[str]) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{role} column(s) not found in data: {', '.join(map(repr, missing))}")


def _numeric_column(frame: pl.DataFrame, role: str, column: str) -> np.ndarray:
    series = frame.get_column(column)
    if not series.dtype.is_numeric():
        raise TypeError(f"{role} column {column!r} must be numeric, got {series.dtype}")
    return series.cast(pl.Float64).to_numpy()


def _counting_times(frame: pl.DataFrame, start: str, stop: str) -> tuple[np.ndarray, np.ndarray]:
    """(start, stop] arrays: finite, stop > start (Surv(start, stop) would give NA)."""
    n = frame.height
    t0 = _numeric_column(frame, "start", start)
    t1 = _numeric_column(frame, "stop", stop)
    for role, column, values in (("start", start, t0), ("stop", stop, t1)):
        bad = ~np.isfinite(values)
        if bad.any():
            raise ValueError(
                f"{role} column {column!r} has {int(bad.sum())} of {n} rows not finite"
            )
    bad = t1 <= t0
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"stop column {stop!r} <= start column {start!r} in {int(bad.sum())} of {n} rows "
            f"(first: start {t0[first]!r}, stop {t1[first]!r}); intervals must have stop > start"
        )
    return t0, t1


def _check_no_overlap(ids: np.ndarray, t0: np.ndarray, t1: np.ndarray, column: str) -> None:
    """Intervals (start, stop] of one id must not overlap (R's survcheck "overlap")."""
    order = np.lexsort((t0, ids))
    same = ids[order][1:] == ids[order][:-1]
    overlap = same & (t0[order][1:] < t1[order][:-1])
    if overlap.any():
        raise ValueError(
            f"id column {column!r}: {int(overlap.sum())} rows start before the previous interval "
            "of the same id ends (overlapping (start, stop] intervals)"
        )


def _validated_arrays(
    frame: pl.DataFrame, time: str | None, event: str, weights: str | None
) -> tuple[np.ndarray | None, np.ndarray, np.ndarray]:
    n = frame.height
    t = None
    if time is not None:
        t = _numeric_column(frame, "time", time)
        bad = ~np.isfinite(t) | (t < 0)
        if bad.any():
            raise ValueError(
                f"time column {time!r} has {int(bad.sum())} of {n} rows negative or not finite "
                f"(first: {t[bad][0]!r}); survival times must be >= 0"
            )
    event_s = frame.get_column(event)
    if event_s.dtype == pl.Boolean:
        e = event_s.to_numpy().astype(float)
    elif event_s.dtype.is_numeric():
        e = event_s.cast(pl.Float64).to_numpy()
        bad = (e != 0) & (e != 1)
        if bad.any():
            raise ValueError(
                f"event column {event!r} has {int(bad.sum())} of {n} rows not 0/1 "
                f"(first: {e[bad][0]!r}); code events as 1 = event, 0 = censored"
            )
    else:
        raise TypeError(f"event column {event!r} must be 0/1 or Boolean, got {event_s.dtype}")
    if weights is None:
        w = np.ones(n)
    else:
        w_s = frame.get_column(weights)
        if not w_s.dtype.is_numeric():
            raise TypeError(f"weights column {weights!r} must be numeric, got {w_s.dtype}")
        w = w_s.cast(pl.Float64).to_numpy()
        bad = ~np.isfinite(w) | (w < 0)
        if bad.any():
            raise ValueError(
                f"weights column {weights!r} has {int(bad.sum())} of {n} rows that are NaN, "
                f"infinite or negative (first: {w[bad][0]!r}); case weights must be >= 0"
            )
    return t, e, w


def cox_ph(
    data: Any,
    *,
    time: str | None = None,
    event: str,
    covariates: Sequence[str],
    reference: Mapping[str, str] | None = None,
    strata: str | Sequence[str] | None = None,
    weights: str | None = None,
    cluster: str | None = None,
    ties: str = "efron",
    robust: bool | None = None,
    conf_level: float = 0.95,
    start: str | None = None,
    stop: str | None = None,
    id: str | None = None,
) -> CoxResult:
    """Fit a Cox proportional hazards model, as ``survival::coxph`` (Newton–Raphson, R's control).

    String/Categorical/Enum covariates are dummy-coded against a reference level (first Enum
    level or first sorted value; ``reference={"col": "level"}``); terms are ``"col:level"``.
    Rows with a null in any used column are dropped and counted in ``n_dropped`` (na.omit).
    Case weights must be finite and >= 0; rows of weight 0 (e.g. unmatched rows) add nothing
    to the likelihood, so they are dropped with a warning naming their count (same fit as
    without them; not counted in ``n_dropped`` or ``n_obs``).
    ``robust=None`` gives the robust (infinitesimal-jackknife) variance when a cluster is given
    or the case weights are not integers (IPTW); V = I⁻¹ (Σ_c (Σ_{i∈c} w_i U_i)^{⊗2}) I⁻¹.

    Counting-process input ``start=``, ``stop=`` (``coxph(Surv(start, stop, event) ~ ...)``):
    each row is at risk on (start, stop], its event at stop. ``id=`` names the subject of
    each row: its intervals must not overlap, and (as coxph) the variance is robust, clustered
    by id, when an id has more than one event or ``robust=True`` without a ``cluster``.
    """
    if start is not None or stop is not None:
        if time is not None and stop is not None:
            raise ValueError("give either time= or stop= (the end of each interval), not both")
        if start is None:
            raise ValueError("stop= needs start= (counting-process rows (start, stop])")
        time = stop if stop is not None else time
    if time is None:
        raise ValueError("cox_ph needs time= (or start= and stop= for (start, stop] rows)")
    if ties not in TIES:
        raise ValueError(f"ties must be one of {TIES}, got {ties!r} ('exact' is not implemented)")
    if not 0 < conf_level < 1:
        raise ValueError(f"conf_level must be in (0, 1), got {conf_level!r}")
    if isinstance(covariates, str):
        covariates = [covariates]
    covariates = list(covariates)
    strata_cols = [strata] if isinstance(strata, str) else list(strata or [])
    frame = to_polars(data)
    _check_columns(frame, "stop" if start is not None else "time", [time])
    if start is not None:
        _check_columns(frame, "start", [start])
    if id is not None:
        _check_columns(frame, "id", [id])
    _check_columns(frame, "event", [event])
    _check_columns(frame, "covariate", covariates)
    _check_columns(frame, "strata", strata_cols)
    if weights is not None:
        _check_columns(frame, "weights", [weights])
    if cluster is not None:
        _check_columns(frame, "cluster", [cluster])
    used = list(
        dict.fromkeys(
            [*([start] if start else []), time, event, *covariates, *strata_cols]
            + ([weights] if weights else [])
            + ([cluster] if cluster else [])
            + ([id] if id else [])
        )
    )
    missing_expr = pl.any_horizontal(
        [
            pl.col(c).is_null() | pl.col(c).is_nan()
            if frame.schema[c].is_float() and c != weights
            else pl.col(c).is_null()
            for c in used
        ]
    )
    n_input = frame.height
    frame = frame.filter(~missing_expr)
    n_dropped = n_input - frame.height
    if frame.height == 0:
        raise ValueError(f"no complete rows: all {n_input} rows have a missing value in {used}")
    notes: list[str] = []
    if weights is not None and frame.schema[weights].is_numeric():
        frame, zero_note = _drop_zero_weights(frame, weights)
        if zero_note:
            notes.append(zero_note)
            _warnings.warn(zero_note, UserWarning, stacklevel=2)
    t0 = None
    if start is None:
        t, e, w = _validated_arrays(frame, time, event, weights)
    else:
        t0, t = _counting_times(frame, start, time)
        _, e, w = _validated_arrays(frame, None, event, weights)
    design = tuple(design_terms(frame, covariates, reference))
    x = design_matrix(frame, design)
    names = tuple(name for term in design for name in term.names)
    stratum = _codes(frame, strata_cols)
    cluster_codes = _codes(frame, [cluster]) if cluster else None
    id_codes = _codes(frame, [id]) if id else None
    if id_codes is not None and t0 is not None:
        _check_no_overlap(id_codes, t0, t, id)
    if robust is None:
        repeated_events = id_codes is not None and bool(np.any(np.bincount(id_codes[e > 0]) > 1))
        robust = cluster is not None or bool(np.any(w != np.round(w))) or repeated_events
    if robust and cluster_codes is None:
        cluster_codes = id_codes

    data_ = _cox.prepare(t, e, x, w, stratum, ties, start=t0, overwrite_x=True)
    n_events = float(e.sum())
    p = x.shape[1]
    warnings: list[str] = list(notes)
    if n_events == 0:
        warnings.append("no events: the coefficients are not estimable")
        nan = np.full(p, np.nan)
        zeros = np.zeros((p, p))
        return CoxResult(
            names, nan, nan, nan, zeros, zeros, conf_level, robust, ties, 0.0, 0.0,
            {k: {"statistic": 0.0, "df": 0, "p_value": 1.0}
             for k in ("likelihood_ratio", "wald", "score")},
            frame.height, 0.0, n_dropped, 0, True, tuple(warnings),
            _concordance={"concordant": 0.0, "discordant": 0.0, "tied_x": 0.0, "tied_y": 0.0,
                          "tied_xy": 0.0, "concordance": np.nan, "std_error": np.nan},
        )  # fmt: skip
    fit = _cox.newton_raphson(data_)
    keep = fit.keep
    beta = np.where(keep, fit.beta, np.nan)
    naive_var = fit.var
    se = np.where(keep, np.sqrt(np.diag(naive_var)), np.nan)
    if not fit.converged:
        warnings.append("Ran out of iterations and did not converge")
    else:
        infs = np.abs(fit.score_final @ naive_var)
        flagged = np.flatnonzero((infs > 1e-9) & (infs > np.sqrt(1e-9) * np.abs(fit.beta)) & keep)
        if flagged.size:
            listed = ",".join(str(i + 1) for i in flagged)
            warnings.append(
                f"Loglik converged before variable {listed}; coefficient may be infinite."
            )

    df = int(keep.sum())
    tests = {
        "likelihood_ratio": _chi2_test(2 * (fit.loglik_final - fit.loglik_initial), df),
        "score": _chi2_test(fit.score_test, df),
    }
    if robust:
        (_, meat), (u0, g0) = (
            _score_moments(data_, state, cluster_codes)
            for state in (fit.state, _cox.evaluate(data_, np.zeros(p)))
        )
        var = naive_var @ meat @ naive_var
        keep0 = _cox.cholesky_keep(g0)
        tests["robust_score"] = _chi2_test(float(u0 @ _cox.solve_kept(g0, u0, keep0)), df)
        robust_se = np.where(keep, np.sqrt(np.diag(var)), np.nan)
    else:
        var = naive_var
        robust_se = np.full(p, np.nan)
    b = beta[keep]
    v = var[np.ix_(keep, keep)]
    wkeep = _cox.cholesky_keep(v)
    tests["wald"] = _chi2_test(float(b @ _cox.solve_kept(v, b, wkeep)), df)
    tests = {
        k: tests[k] for k in ("likelihood_ratio", "wald", "score", "robust_score") if k in tests
    }

    labels = None
    if strata_cols:
        codes, first = np.unique(stratum, return_index=True)
        values = frame[first].select(strata_cols).cast(pl.String).rows()
        labels = {
            int(c): ", ".join(f"{col}={v}" for col, v in zip(strata_cols, row, strict=True))
            for c, row in zip(codes, values, strict=True)
        }
    model = _CoxModel(ties, design, t, e, w, stratum, cluster_codes, data_, fit, t0, labels)
    return CoxResult(
        names, beta, se, robust_se, var, naive_var, conf_level, robust, ties,
        fit.loglik_initial, fit.loglik_final, tests, frame.height, n_events, n_dropped,
        fit.iterations, fit.converged, tuple(warnings), _model=model,
    )  # fmt: skip


def _score_moments(
    data: Any, state: Any, cluster_codes: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """Σ U and Σ U U' of the weighted score residuals on the original scale of X, summed
    within clusters first when there are clusters (robust variance and robust score test)."""
    if cluster_codes is None and data.entry_group is None:  # no n × p residuals needed
        total, gram = _cox.score_residual_moments(data, state)
        return total / data.scale, gram / np.outer(data.scale, data.scale)
    weighted = _cox.score_residuals(data, state)
    weighted /= data.scale
    if cluster_codes is not None:
        weighted = _sum_by(weighted, cluster_codes)
    return weighted.sum(axis=0), weighted.T @ weighted


def _drop_zero_weights(frame: pl.DataFrame, weights: str) -> tuple[pl.DataFrame, str]:
    """Rows with case weight exactly 0 removed, and the note naming their count ("" if none).

    A zero-weight row adds nothing to the partial likelihood, its score or information, so
    the fit equals the fit without it; dropping it also keeps it out of ``n_obs``, the design
    (levels seen only there) and the robust variance."""
    zero = frame.get_column(weights).cast(pl.Float64) == 0
    n_zero = int(zero.sum())
    if n_zero == 0:
        return frame, ""
    if n_zero == frame.height:
        raise ValueError(f"weights column {weights!r}: all {n_zero} complete rows have weight 0")
    note = (
        f"weights column {weights!r}: {n_zero} of {frame.height} rows with weight 0 dropped "
        "(they do not enter the fit)"
    )
    return frame.filter(~zero), note


def _sum_by(values: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Row sums of ``values`` within each distinct value of ``groups``."""
    _, inverse = np.unique(groups, return_inverse=True)
    n = len(groups)
    indicator = sparse.csr_matrix(
        (np.ones(n), (inverse, np.arange(n))), shape=(inverse.max() + 1, n)
    )
    return np.asarray(indicator @ values)
