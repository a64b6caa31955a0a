"""Log-rank tests: R ``survdiff`` (unweighted) and ``survey::svylogrank`` (weighted)."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations
from typing import Any

import numpy as np
import polars as pl
from scipy.stats import chi2, norm

from regsurv._display import HtmlDisplay
from regsurv._frames import to_polars
from regsurv.survival._logrank import (
    group_cells,
    logrank_chisq,
    quadratic_form,
    survdiff_kernel,
    svylogrank_kernel,
)
from regsurv.survival._survdata import check_groups, prepare_survival_data

ADJUST_METHODS = ("holm", "bonferroni", "BH", "fdr", "BY", "none")
# R p.adjust names -> statsmodels multipletests names
_MULTIPLETESTS = {
    "holm": "holm",
    "bonferroni": "bonferroni",
    "BH": "fdr_bh",
    "fdr": "fdr_bh",
    "BY": "fdr_by",
}


def _json_float(v: float) -> float | str | None:
    if v != v:
        return None  # R's NA
    if v in (float("inf"), float("-inf")):
        return "Inf" if v > 0 else "-Inf"
    return v


def _jsonable(values: Any) -> Any:
    """JSON-safe scalar or list: NaN -> None, infinities -> "Inf" / "-Inf"."""
    arr = np.asarray(values, dtype=float)
    if arr.ndim == 0:
        return _json_float(float(arr))
    return [_json_float(v) for v in arr.ravel().tolist()]


@dataclass(frozen=True, slots=True, eq=False)
class LogrankResult(HtmlDisplay):
    """K-group log-rank test: per-group n, observed, expected, the variance matrix of O - E.

    Unweighted: R ``survdiff`` (``variance`` is survdiff's ``var``). Weighted: the design-based
    test of ``survey::svylogrank``; ``score`` is each group's weighted score total (O - E with
    Efron-tie expected counts), ``variance`` its design-based covariance, and ``score_std_error``,
    ``score_z``, ``score_p_value`` svylogrank's per-group table (reference group included).
    """

    groups: tuple[str, ...]
    n: np.ndarray
    observed: np.ndarray
    expected: np.ndarray
    variance: np.ndarray
    statistic: float
    df: int
    p_value: float
    rho: float
    weighted: bool
    method: str
    group: str
    strata: str | None
    n_obs: int
    n_events: float
    n_dropped: int
    score: np.ndarray
    score_std_error: np.ndarray
    score_z: np.ndarray
    score_p_value: np.ndarray
    warnings: tuple[str, ...] = ()

    def to_frame(self) -> pl.DataFrame:
        """One row per group: group, n, observed, expected, o_minus_e, variance (diagonal),
        and the test (statistic, df, p_value) repeated on every row."""
        k = len(self.groups)
        return pl.DataFrame(
            {
                "group": list(self.groups),
                "n": self.n.astype(np.int64),
                "observed": self.observed,
                "expected": self.expected,
                "o_minus_e": self.score,
                "variance": np.diag(self.variance),
                "statistic": [self.statistic] * k,
                "df": [self.df] * k,
                "p_value": [self.p_value] * k,
            },
            schema_overrides={"statistic": pl.Float64, "p_value": pl.Float64, "df": pl.Int64},
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dictionary of every field."""
        return {
            "method": self.method,
            "group": self.group,
            "strata": self.strata,
            "groups": list(self.groups),
            "n": [int(v) for v in self.n],
            "observed": _jsonable(self.observed),
            "expected": _jsonable(self.expected),
            "variance": [_jsonable(row) for row in self.variance],
            "statistic": _jsonable(self.statistic),
            "df": self.df,
            "p_value": _jsonable(self.p_value),
            "rho": self.rho,
            "weighted": self.weighted,
            "n_obs": self.n_obs,
            "n_events": self.n_events,
            "n_dropped": self.n_dropped,
            "score": _jsonable(self.score),
            "score_std_error": _jsonable(self.score_std_error),
            "score_z": _jsonable(self.score_z),
            "score_p_value": _jsonable(self.score_p_value),
            "warnings": list(self.warnings),
        }

    def __repr__(self) -> str:
        return (
            f"LogrankResult(groups={len(self.groups)}, statistic={self.statistic:.4g}, "
            f"df={self.df}, p_value={self.p_value:.4g}, method={self.method!r})"
        )


def logrank_test(
    data: Any,
    *,
    time: str,
    event: str,
    group: str,
    strata: str | None = None,
    weights: str | None = None,
    rho: float = 0,
) -> LogrankResult:
    """K-group log-rank test (rho = 0) or Peto–Peto / Harrington–Fleming G-rho test (rho = 1).

    Unweighted, this is R ``survdiff(Surv(time, event) ~ group + strata(strata), rho = rho)``:
    weights S(t-)^rho from the pooled KM of each stratum; O, E and V summed over strata;
    statistic (O - E)' V^- (O - E) over the groups with E > 0 (first dropped); df = (groups
    with E > 0) - 1 (print.survdiff). With ``weights`` (IPTW): the design-based test of
    ``survey::svylogrank(Surv(time, event) ~ group, svydesign(ids = ~1, weights = ~w))``:
    score of the weighted Cox model at beta = 0 (Efron ties) with a robust, with-replacement
    variance; df = groups - 1; ``expected`` = observed - score. With ``rho`` > 0 and weights,
    the weight function is S(t-)^rho of the weighted pooled KM (survey's choice); with
    ``strata`` and weights, risk sets and that KM are taken within each stratum (both
    weighted variants are not in the R fixtures). Rows with missing values are dropped and
    counted (n_dropped). Memory is O(distinct (stratum, time) cells x groups).
    """
    if rho < 0:
        raise ValueError(f"rho must be >= 0, got {rho!r}")
    prepared = prepare_survival_data(
        data, time=time, event=event, group=group, strata=strata, weights=weights
    )
    warnings = list(prepared.warnings)
    counts, group_warnings = check_groups(prepared.group_code, prepared.group_levels, group)
    warnings.extend(group_warnings)
    present = np.flatnonzero(counts > 0)
    if present.size < 2:
        raise ValueError(
            f"group column {group!r}: the log-rank test needs at least 2 groups with rows, "
            f"found {present.size}"
        )
    remap = np.full(counts.size, -1, dtype=np.int64)
    remap[present] = np.arange(present.size)
    code = remap[prepared.group_code]
    levels = tuple(prepared.group_levels[i] for i in present)
    k = len(levels)
    n = counts[present]
    cells = group_cells(
        prepared.strata_code,
        prepared.time,
        prepared.event,
        code,
        prepared.weights,
        len(prepared.strata_levels),
        k,
    )
    n_events = float(cells.deaths.sum())
    test_name = "log-rank" if rho == 0 else f"Harrington-Fleming G-rho (rho={rho:g})"
    if rho == 1:
        test_name = "Peto-Peto (rho=1)"
    stratified = "" if strata is None else f", stratified by {strata}"

    if prepared.weights is None:
        observed, expected, variance = survdiff_kernel(cells, rho)
        score = observed - expected
        statistic, df = logrank_chisq(observed, expected, variance)
        method = f"{test_name} test (R survdiff){stratified}"
    else:
        score, variance, observed = svylogrank_kernel(
            cells, prepared.event, code, prepared.weights, rho
        )
        expected = observed - score
        df = k - 1
        statistic = quadratic_form(score[1:], variance[1:, 1:])
        method = f"design-based weighted {test_name} test (survey::svylogrank){stratified}"

    with np.errstate(divide="ignore", invalid="ignore"):
        score_se = np.sqrt(np.diag(variance))
        score_z = score / score_se
    score_p = 2.0 * norm.sf(np.abs(score_z))
    if np.isnan(statistic):
        warnings.append(
            "the variance matrix of O - E is singular: no test statistic (R: solve fails)"
        )
    if n_events == 0:
        warnings.append("no events in any group: the log-rank test is undefined (p is NaN)")
    p_value = float(chi2.sf(statistic, df)) if df > 0 else float("nan")
    return LogrankResult(
        groups=levels,
        n=n.astype(np.int64),
        observed=observed,
        expected=expected,
        variance=variance,
        statistic=float(statistic),
        df=int(df),
        p_value=p_value,
        rho=float(rho),
        weighted=prepared.weights is not None,
        method=method,
        group=group,
        strata=strata,
        n_obs=int(prepared.time.size),
        n_events=n_events,
        n_dropped=prepared.n_dropped,
        score=score,
        score_std_error=score_se,
        score_z=score_z,
        score_p_value=score_p,
        warnings=tuple(dict.fromkeys(warnings)),
    )


def adjust_p_values(p_values: np.ndarray, method: str) -> np.ndarray:
    """R ``p.adjust``: "holm", "bonferroni", "BH" (= "fdr"), "BY" or "none", by statsmodels.

    Holm (1979) step-down, Bonferroni, Benjamini & Hochberg (1995) and Benjamini & Yekutieli
    (2001) step-up through ``statsmodels.stats.multitest.multipletests``; NaN stays NaN and is
    not counted among the tests (R's ``n = length(p[!is.na(p)])``).
    """
    if method not in ADJUST_METHODS:
        raise ValueError(f"adjust must be one of {ADJUST_METHODS}, got {method!r}")
    p = np.asarray(p_values, dtype=float)
    out = p.copy()
    ok = ~np.isnan(p)
    if method == "none" or not ok.any():
        return out
    from statsmodels.stats.multitest import multipletests

    out[ok] = multipletests(p[ok], method=_MULTIPLETESTS[method])[1]
    return out


@dataclass(frozen=True, slots=True, eq=False)
class PairwiseLogrankResult(HtmlDisplay):
    """Log-rank tests for every pair of groups, with adjusted p-values."""

    group1: tuple[str, ...]
    group2: tuple[str, ...]
    statistic: np.ndarray
    df: np.ndarray
    p_value: np.ndarray
    p_adjusted: np.ndarray
    adjust: str
    method: str
    tests: tuple[LogrankResult, ...]
    warnings: tuple[str, ...] = ()

    def to_frame(self) -> pl.DataFrame:
        """group1, group2, statistic, df, p_value, p_adjusted (one row per pair)."""
        return pl.DataFrame(
            {
                "group1": list(self.group1),
                "group2": list(self.group2),
                "statistic": self.statistic,
                "df": self.df.astype(np.int64),
                "p_value": self.p_value,
                "p_adjusted": self.p_adjusted,
            }
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dictionary."""
        return {
            "method": self.method,
            "adjust": self.adjust,
            "group1": list(self.group1),
            "group2": list(self.group2),
            "statistic": _jsonable(self.statistic),
            "df": [int(v) for v in self.df],
            "p_value": _jsonable(self.p_value),
            "p_adjusted": _jsonable(self.p_adjusted),
            "warnings": list(self.warnings),
        }

    def __repr__(self) -> str:
        return f"PairwiseLogrankResult(pairs={len(self.group1)}, adjust={self.adjust!r})"


def pairwise_logrank_test(
    data: Any,
    *,
    time: str,
    event: str,
    group: str,
    strata: str | None = None,
    weights: str | None = None,
    rho: float = 0,
    adjust: str = "holm",
) -> PairwiseLogrankResult:
    """`logrank_test` on the rows of each pair of groups, p-values adjusted (R p.adjust).

    Pairs follow the level order (1 vs 2, 1 vs 3, 2 vs 3, ...). With weights each pair is a
    design-based test on that pair's rows alone.
    """
    if adjust not in ADJUST_METHODS:
        raise ValueError(f"adjust must be one of {ADJUST_METHODS}, got {adjust!r}")
    overall = logrank_test(
        data, time=time, event=event, group=group, strata=strata, weights=weights, rho=rho
    )
    frame = to_polars(data)
    labels = _labels(frame.get_column(group))
    tests = []
    for a, b in combinations(overall.groups, 2):
        in_pair = labels.is_in([a, b]).fill_null(False)
        subset = frame.filter(in_pair).with_columns(
            labels.filter(in_pair).cast(pl.Enum([a, b])).alias(group)
        )
        tests.append(
            logrank_test(
                subset, time=time, event=event, group=group, strata=strata, weights=weights, rho=rho
            )
        )
    p = np.array([t.p_value for t in tests])
    warnings = list(overall.warnings)
    for t in tests:
        warnings.extend(w for w in t.warnings if "no rows ignored" not in w)
    return PairwiseLogrankResult(
        group1=tuple(t.groups[0] for t in tests),
        group2=tuple(t.groups[1] for t in tests),
        statistic=np.array([t.statistic for t in tests]),
        df=np.array([t.df for t in tests]),
        p_value=p,
        p_adjusted=adjust_p_values(p, adjust),
        adjust=adjust,
        method=f"pairwise {overall.method}, {adjust} adjustment",
        tests=tuple(tests),
        warnings=tuple(dict.fromkeys(warnings)),
    )


def _labels(series: pl.Series) -> pl.Series:
    """Group labels as strings, as `logrank_test` labels them (Booleans "false"/"true")."""
    if series.dtype.is_float():
        finite = series.drop_nulls().drop_nans()
        if (finite == finite.round(0)).all():
            series = series.cast(pl.Int64)
    return series.cast(pl.String)
