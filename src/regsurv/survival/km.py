"""Kaplan–Meier survival curves, R-exact (``survival::survfit``), weighted or not."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from regsurv._display import HtmlDisplay
from regsurv.survival._km import (
    aggregate_cells,
    conf_band,
    first_below_half,
    km_curve,
    quantile_times,
    reverse_cumsum,
    robust_var_log,
)
from regsurv.survival._survdata import check_groups, prepare_survival_data

CONF_TYPES = ("log-log", "log", "plain")
CURVE_COLUMNS = (
    "group",
    "time",
    "n_risk",
    "n_event",
    "n_censor",
    "estimate",
    "std_error",
    "std_error_log",
    "conf_low",
    "conf_high",
)
MEDIAN_SCHEMA = {
    "group": pl.String,
    "n_obs": pl.Int64,
    "n_events": pl.Float64,
    "median": pl.Float64,
    "conf_low": pl.Float64,
    "conf_high": pl.Float64,
}
QUANTILE_SCHEMA = {
    "group": pl.String,
    "prob": pl.Float64,
    "quantile": pl.Float64,
    "conf_low": pl.Float64,
    "conf_high": pl.Float64,
}


def _floats(values: Any) -> list[float | str | None]:
    """JSON-safe list: NaN -> None (R's NA), infinities as the strings "Inf" / "-Inf"."""
    array = np.asarray(values, dtype=float)
    if np.isfinite(array).all():
        return array.tolist()
    out: list[float | str | None] = []
    for v in array.tolist():
        if v != v:
            out.append(None)
        elif v in (float("inf"), float("-inf")):
            out.append("Inf" if v > 0 else "-Inf")
        else:
            out.append(v)
    return out


@dataclass(frozen=True, slots=True, eq=False)
class SurvivalCurve(HtmlDisplay):
    """Kaplan–Meier estimate of one group, one row per distinct time (event or censoring).

    Two scales, one name each, everywhere (fields, frames, ``at``): ``std_error`` is the SE of
    S(t) itself (``summary.survfit``'s std.err), ``std_error_log`` the SE of the cumulative
    hazard -log S (the ``std.err`` component of R's Greenwood fit object; for a robust,
    infinitesimal-jackknife fit SE(S) / S, the same scale). The confidence limits follow from
    ``std_error_log``; ``std_error = std_error_log * estimate``.
    Built by `kaplan_meier`, not by hand.
    """

    group: str
    time: np.ndarray
    n_risk: np.ndarray
    n_event: np.ndarray
    n_censor: np.ndarray
    estimate: np.ndarray
    std_error_log: np.ndarray
    conf_low: np.ndarray
    conf_high: np.ndarray
    conf_level: float
    conf_type: str
    variance: str  # "greenwood" or "robust"
    n_obs: int
    n_events: float
    warnings: tuple[str, ...] = ()

    @property
    def std_error(self) -> np.ndarray:
        """SE of S(t) itself (``summary.survfit``'s std.err): std_error_log * estimate."""
        with np.errstate(invalid="ignore"):
            return self.std_error_log * self.estimate

    def median_values(self) -> tuple[float, float, float]:
        """(median, conf_low, conf_high) by R's rule (print.survfit; Brookmeyer–Crowley)."""
        return (
            first_below_half(self.estimate, self.time),
            first_below_half(self.conf_low, self.time),
            first_below_half(self.conf_high, self.time),
        )

    def median(self) -> pl.DataFrame:
        """Median survival with its CI (R print.survfit), one row: group, n_obs, n_events,
        median, conf_low, conf_high. NaN = R's NA."""
        row = (self.group, self.n_obs, self.n_events, *self.median_values())
        return pl.DataFrame([row], schema=MEDIAN_SCHEMA, orient="row")

    def quantile(self, probs: Sequence[float] | np.ndarray = (0.25, 0.5, 0.75)) -> pl.DataFrame:
        """Times by which a fraction ``probs`` has had the event, with CI (R ``quantile(fit)``).

        Columns: group, prob, quantile, conf_low, conf_high. R's quantile.survfit rule differs
        from the median table only on a flat exactly at 1 - p that lasts to the last time
        (midpoint with the last time). NaN = R's NA.
        """
        p = np.atleast_1d(np.asarray(probs, dtype=float))
        if np.any((p < 0) | (p > 1)) or np.any(np.isnan(p)):
            raise ValueError(f"probs must be in [0, 1], got {p.tolist()}")
        x = np.concatenate(([0.0], self.time))
        with np.errstate(invalid="ignore"):
            curves = {
                "quantile": 1.0 - self.estimate,
                "conf_low": 1.0 - self.conf_low,
                "conf_high": 1.0 - self.conf_high,
            }
        columns = {"group": [self.group] * p.size, "prob": p} | {
            name: quantile_times(x, np.concatenate(([0.0], y)), p) for name, y in curves.items()
        }
        return pl.DataFrame(columns, schema=QUANTILE_SCHEMA)

    def at(self, times: Sequence[float] | np.ndarray, *, extend: bool = False) -> pl.DataFrame:
        """Survival at given times, as R ``summary(fit, times = times, extend = extend)``.

        The columns of `to_frame`, one row per requested time. The step function is read at
        each time; n_risk is the number at risk at that time; n_event / n_censor count
        (previous requested time, time]. Times after the last observed time are dropped
        unless ``extend`` (then n_risk is 0).
        """
        req = np.unique(np.asarray(times, dtype=float))
        req = req[req >= min(self.time.min(initial=0.0), 0.0)]
        if not extend:
            req = req[req <= self.time.max(initial=-np.inf)]
        idx = np.searchsorted(self.time, req, side="right")  # rows with time <= t
        nxt = np.searchsorted(self.time, req, side="left")  # first row with time >= t

        def pick(values: np.ndarray, before: float) -> np.ndarray:
            return np.concatenate(([before], values))[idx]

        surv = pick(self.estimate, 1.0)
        se_log = pick(self.std_error_log, 0.0)
        low, high = conf_band(surv, se_log, self.conf_level, self.conf_type)
        with np.errstate(invalid="ignore"):
            se_surv = se_log * surv
        cum_event = pick(np.cumsum(self.n_event), 0.0)
        cum_censor = pick(np.cumsum(self.n_censor), 0.0)
        return self._frame(
            time=req,
            n_risk=np.concatenate((self.n_risk, [0.0]))[nxt],
            n_event=np.diff(cum_event, prepend=0.0),
            n_censor=np.diff(cum_censor, prepend=0.0),
            estimate=surv,
            std_error=se_surv,
            std_error_log=se_log,
            conf_low=low,
            conf_high=high,
        )

    def to_frame(self) -> pl.DataFrame:
        """One row per distinct time: the columns of ``CURVE_COLUMNS``."""
        return self._frame(**{c: getattr(self, c) for c in CURVE_COLUMNS[1:]})

    def _frame(self, **columns: np.ndarray) -> pl.DataFrame:
        n = columns["time"].size
        return pl.DataFrame(
            {"group": [self.group] * n, **{c: columns[c] for c in CURVE_COLUMNS[1:]}},
            schema={c: (pl.String if c == "group" else pl.Float64) for c in CURVE_COLUMNS},
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dictionary of every field. Its ``std_error`` key holds ``std_error_log``
        (the SE of -log S), as results.json has always had it (a report contract)."""
        columns = [c for c in CURVE_COLUMNS[1:] if c != "std_error_log"]
        return {
            "group": self.group,
            **{c: _floats(getattr(self, c)) for c in columns},
            "std_error": _floats(self.std_error_log),
            "conf_level": self.conf_level,
            "conf_type": self.conf_type,
            "variance": self.variance,
            "n_obs": self.n_obs,
            "n_events": self.n_events,
            "warnings": list(self.warnings),
        }

    def __repr__(self) -> str:
        med = self.median_values()[0]
        return (
            f"SurvivalCurve(group={self.group!r}, n_obs={self.n_obs}, "
            f"n_events={self.n_events:g}, median={med:g}, times={self.time.size})"
        )


@dataclass(frozen=True, slots=True, eq=False)
class SurvivalCurves(HtmlDisplay):
    """Kaplan–Meier curves, one per group level (``curves``: level label -> curve)."""

    curves: dict[str, SurvivalCurve]
    group: str | None
    conf_level: float
    conf_type: str
    variance: str
    weighted: bool
    method: str
    n_obs: int
    n_events: float
    n_dropped: int
    warnings: tuple[str, ...] = ()

    def __getitem__(self, label: str) -> SurvivalCurve:
        return self.curves[label]

    def __iter__(self) -> Iterator[str]:
        return iter(self.curves)

    def __len__(self) -> int:
        return len(self.curves)

    def keys(self):
        return self.curves.keys()

    def values(self):
        return self.curves.values()

    def items(self):
        return self.curves.items()

    def to_frame(self) -> pl.DataFrame:
        """All curves stacked: group, time, n_risk, n_event, n_censor, estimate, std_error
        (SE of S), std_error_log (SE of -log S), conf_low, conf_high (one row per distinct time
        of each group, as R's survfit)."""
        return pl.concat([c.to_frame() for c in self.curves.values()], how="vertical")

    def median(self) -> pl.DataFrame:
        """Median survival with CI per group (R print.survfit / summary(fit)$table).

        Columns: group, n_obs, n_events, median, conf_low, conf_high; NaN where R gives NA
        (the reason is in ``warnings``).
        """
        return self._stack([c.median() for c in self.curves.values()], MEDIAN_SCHEMA)

    def quantile(self, probs: Sequence[float] | np.ndarray = (0.25, 0.5, 0.75)) -> pl.DataFrame:
        """Survival-time quantiles with CI per group (R ``quantile(fit, probs)``).

        Columns: group, prob, quantile, conf_low, conf_high (NaN where R gives NA).
        """
        return self._stack([c.quantile(probs) for c in self.curves.values()], QUANTILE_SCHEMA)

    def at(self, times: Sequence[float] | np.ndarray, *, extend: bool = False) -> pl.DataFrame:
        """Survival, CI and numbers at risk at given times per group (R summary(fit, times=)).

        The columns of `to_frame` (``std_error`` the SE of S, ``std_error_log`` of -log S).
        See `SurvivalCurve.at`.
        """
        frames = [c.at(times, extend=extend) for c in self.curves.values()]
        return self._stack(frames, dict.fromkeys(CURVE_COLUMNS, pl.Float64) | {"group": pl.String})

    @staticmethod
    def _stack(frames: list[pl.DataFrame], schema: dict[str, Any]) -> pl.DataFrame:
        return pl.concat(frames, how="vertical") if frames else pl.DataFrame(schema=schema)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dictionary (curves and medians included)."""
        return {
            "method": self.method,
            "group": self.group,
            "conf_level": self.conf_level,
            "conf_type": self.conf_type,
            "variance": self.variance,
            "weighted": self.weighted,
            "n_obs": self.n_obs,
            "n_events": self.n_events,
            "n_dropped": self.n_dropped,
            "warnings": list(self.warnings),
            "curves": {label: c.to_dict() for label, c in self.curves.items()},
            "median": {
                label: dict(
                    zip(
                        ("median", "conf_low", "conf_high"), _floats(c.median_values()), strict=True
                    )
                )
                for label, c in self.curves.items()
            },
        }

    def __repr__(self) -> str:
        return (
            f"SurvivalCurves(groups={len(self.curves)}, n_obs={self.n_obs}, "
            f"n_events={self.n_events:g}, conf_type={self.conf_type!r}, variance={self.variance!r})"
        )


def kaplan_meier(
    data: Any,
    *,
    time: str | None = None,
    event: str,
    group: str | None = None,
    weights: str | None = None,
    robust: bool | None = None,
    conf_level: float = 0.95,
    conf_type: str = "log-log",
    start: str | None = None,
    stop: str | None = None,
) -> SurvivalCurves:
    """Kaplan–Meier curves, one per level of ``group``, matching R ``survfit``.

    Events and censorings at the same time: events first, the censored are at risk at t.
    ``std_error_log`` is Greenwood's SE of -log S, sqrt(sum d / (n (n - d))), with case-weighted
    n and d when ``weights`` is given. ``robust=None`` follows R: the infinitesimal-jackknife
    variance when any weight is not an integer, Greenwood otherwise; ``robust=True/False``
    forces it. ``conf_type``: "log-log" (default; SAS's and ours; S^exp(±z se / log S)),
    "log" (R's default; S exp(±z se), upper capped at 1) or "plain" (S ± z S se).

    Parameters
    ----------
    data : polars or pandas DataFrame.
    time, event : column names; time >= 0, event 0/1 or Boolean (1 = event).
    group : optional grouping column (Enum order, pandas categories, else sorted levels).
    weights : optional case-weight column (>= 0; IPTW weights).
    start, stop : counting-process rows (start, stop] instead of ``time`` (R's
        ``survfit(Surv(start, stop, event) ~ group)``): delayed entry / time-varying groups;
        the number at risk at t is the (weighted) count of rows with start < t <= stop.
        Greenwood variance only (the robust variance of such curves is not implemented:
        ``robust=True`` is an error, non-integer weights give a warning).
    """
    time = _end_column(time, start, stop)
    if conf_type not in CONF_TYPES:
        raise ValueError(f"conf_type must be one of {CONF_TYPES}, got {conf_type!r}")
    if not 0.0 < conf_level < 1.0:
        raise ValueError(f"conf_level must be in (0, 1), got {conf_level!r}")
    prepared = prepare_survival_data(
        data, time=time, event=event, group=group, weights=weights, start=start
    )
    levels = prepared.group_levels
    code = prepared.group_code
    w = prepared.weights
    warnings = list(prepared.warnings)
    counts, group_warnings = check_groups(code, levels, group)
    if group is not None:
        warnings.extend(group_warnings)

    if robust is None:
        robust = w is not None and bool(np.any(w != np.floor(w)))
        if robust and start is not None:
            robust = False
            warnings.append(
                "non-integer weights on (start, stop] rows: Greenwood variance with the weighted "
                "counts (the robust variance of such curves is not implemented)"
            )
    variance = "robust" if robust else "greenwood"
    if robust and start is not None:
        raise ValueError(
            "robust=True: the robust variance of a (start, stop] Kaplan-Meier curve is not "
            "implemented; use robust=False (Greenwood)"
        )
    entry = None if start is None else _entries_by_group(code, prepared.start, w, len(levels))

    cells = aggregate_cells(code, prepared.time, prepared.event, w, len(levels), robust)
    curves: dict[str, SurvivalCurve] = {}
    for g, label in enumerate(levels):
        lo, hi = cells.starts[g], cells.starts[g + 1]
        if lo == hi:
            continue
        sl = slice(lo, hi)
        w_total, w_event, n_deaths = cells.w_total[sl], cells.w_event[sl], cells.n_deaths[sl]
        n_risk = reverse_cumsum(w_total)
        if entry is not None:  # minus the rows entering at or after t (start >= t)
            starts, cum_weight = entry[g]
            n_risk = n_risk - (
                cum_weight[-1] - cum_weight[np.searchsorted(starts, cells.time[sl], side="left")]
            )
        surv, var_log, has_event = km_curve(n_risk, n_deaths, w_event)
        if robust:
            var_log = robust_var_log(
                n_risk, w_event, has_event, surv, cells.w2_total[sl], cells.w2_event[sl]
            )
        se_log = np.sqrt(var_log)
        low, high = conf_band(surv, se_log, conf_level, conf_type)
        curve_warnings = []
        n_events = float(w_event.sum())
        label_text = "" if group is None else f" in group {label!r}"
        if n_events == 0:
            curve_warnings.append(f"no events{label_text}: S(t) = 1 throughout")
        curve = SurvivalCurve(
            group=label,
            time=cells.time[sl],
            n_risk=n_risk,
            n_event=w_event,
            n_censor=w_total - w_event,
            estimate=surv,
            std_error_log=se_log,
            conf_low=low,
            conf_high=high,
            conf_level=conf_level,
            conf_type=conf_type,
            variance=variance,
            n_obs=int(counts[g]),
            n_events=n_events,
            warnings=(),
        )
        med, med_low, med_high = curve.median_values()
        if np.isnan(med):
            curve_warnings.append(f"median not reached{label_text}: S(t) stays above 0.5")
        if np.isnan(med_low) and not np.isnan(med):
            curve_warnings.append(
                f"lower confidence limit of the median undefined{label_text}: "
                "the lower band never falls below 0.5"
            )
        if np.isnan(med_high):
            curve_warnings.append(
                f"upper confidence limit of the median undefined{label_text}: "
                "the upper band stays above 0.5"
            )
        if curve_warnings:
            curve = _replace_warnings(curve, tuple(curve_warnings))
            warnings.extend(curve_warnings)
        curves[label] = curve

    n_events_total = float(cells.w_event.sum())
    if n_events_total == 0:
        warnings.append("all observations are censored: no events")
    method = (
        f"Kaplan-Meier ({'weighted, ' if w is not None else ''}{variance} variance, {conf_type} CI)"
    )
    return SurvivalCurves(
        curves=curves,
        group=group,
        conf_level=conf_level,
        conf_type=conf_type,
        variance=variance,
        weighted=w is not None,
        method=method,
        n_obs=int(code.size),
        n_events=n_events_total,
        n_dropped=prepared.n_dropped,
        warnings=tuple(dict.fromkeys(warnings)),
    )


def _end_column(time: str | None, start: str | None, stop: str | None) -> str:
    """The column holding each row's end time: ``time``, or ``stop`` with ``start``."""
    if time is not None and stop is not None:
        raise ValueError("give either time= or stop= (the end of each interval), not both")
    if stop is not None and start is None:
        raise ValueError("stop= needs start= (counting-process rows (start, stop])")
    end = stop if stop is not None else time
    if end is None:
        raise ValueError("give time= (or start= and stop= for (start, stop] rows)")
    return end


def _entries_by_group(
    code: np.ndarray, start: np.ndarray, weights: np.ndarray | None, n_groups: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per group, the sorted entry times and the cumulative weight before each (0 first)."""
    order = np.lexsort((start, code))
    bounds = np.searchsorted(code[order], np.arange(n_groups + 1))
    w = np.ones(code.size) if weights is None else weights
    out = []
    for g in range(n_groups):
        rows = order[bounds[g] : bounds[g + 1]]
        out.append((start[rows], np.concatenate(([0.0], np.cumsum(w[rows])))))
    return out


def _replace_warnings(curve: SurvivalCurve, warnings: tuple[str, ...]) -> SurvivalCurve:
    values = {name: getattr(curve, name) for name in SurvivalCurve.__dataclass_fields__}
    values["warnings"] = warnings
    return SurvivalCurve(**values)
