"""Descriptive tables (the paper's Table 1 and Table 2) and the trend test.

`summary_table` gives, per variable and group (plus an overall column):

* categorical: n and column % (share of the group's non-missing rows) and row % (share of the
  level's non-missing rows across the groups); missing values are their own row, left out of the
  percentages and the test (the paper's convention);
* continuous: mean (SD), median [Q1, Q3] and range, SD with n − 1 (reliability weights when
  weighted); R's default quantiles (type 7) unweighted, weighted empirical quantiles with averaging
  (SAS PCTLDEF=5, R type 2) weighted;
* one test per variable, named in ``test``: Pearson chi-square (Yates only for 2×2, as R's
  ``chisq.test``) or Fisher's exact test (2×2 exact; larger tables by Monte Carlo with a fixed
  seed), chosen by ``categorical_test``; one-way ANOVA (equal variances, the paper), Welch or
  Kruskal–Wallis by ``continuous_test``; no tests for weighted tables;
* SMDs from `regsurv.describe.smd` (a level's indicator, combined over the groups by
  ``smd_rule``; the variable's SMD is the largest over its levels).

A test that cannot be computed (one level, fewer than two groups with members, all values
missing, a continuous variable stored as text, no variation) is reported with the reason in
``note`` and a null p-value; it never raises.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import polars as pl

from regsurv._display import HtmlDisplay
from regsurv._frames import to_polars
from regsurv.describe import _tests
from regsurv.describe.smd import GroupMoments, group_moments, indicator_moments, summarize_smd

OVERALL = "Overall"
MISSING = "Missing"

PercentKind = Literal["column", "row", "both"]
MissingMode = Literal["show", "hide"]
ContinuousTest = Literal["anova", "welch", "kruskal"]
CategoricalTest = Literal["auto", "chisq", "fisher"]
Kind = Literal["categorical", "continuous"]

_ROW_SCHEMA: dict[str, Any] = {
    "variable": pl.String,
    "label": pl.String,
    "kind": pl.String,
    "level": pl.String,
    "is_missing": pl.Boolean,
    "group": pl.String,
    "n": pl.Float64,
    "percent": pl.Float64,
    "row_percent": pl.Float64,
    "mean": pl.Float64,
    "sd": pl.Float64,
    "median": pl.Float64,
    "q1": pl.Float64,
    "q3": pl.Float64,
    "min": pl.Float64,
    "max": pl.Float64,
    "smd": pl.Float64,
}
_TEST_SCHEMA: dict[str, Any] = {
    "variable": pl.String,
    "label": pl.String,
    "kind": pl.String,
    "test": pl.String,
    "statistic": pl.Float64,
    "df": pl.Float64,
    "df_denominator": pl.Float64,
    "p_value": pl.Float64,
    "smd_variable": pl.Float64,
    "n_obs": pl.Float64,
    "n_missing": pl.Float64,
    "note": pl.String,
}


@dataclass(frozen=True, slots=True, eq=False)
class SummaryTable(HtmlDisplay):
    """A descriptive table: cell rows (`rows`) and one test/SMD row per variable (`tests`).

    ``n`` is a count (a sum of weights when ``weighted``); percentages are 0–100.
    ``percent`` says which percentages the table is meant to show ("column", "row", "both");
    both are always computed. The overall column is labelled ``"Overall"``.
    """

    group: str
    groups: tuple[str, ...]
    group_sizes: np.ndarray
    variables: tuple[str, ...]
    weighted: bool
    percent: str
    missing: str
    categorical_test: str
    continuous_test: str
    smd_rule: str
    smd_denominator: str
    rows: pl.DataFrame
    tests: pl.DataFrame
    notes: tuple[str, ...]
    warnings: tuple[str, ...]

    def to_frame(self) -> pl.DataFrame:
        """Tidy long table: one row per variable × level × group, test columns repeated."""
        per_variable = self.tests.drop("label", "kind")
        return self.rows.join(per_variable, on="variable", how="left", maintain_order="left")

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe content (NaN becomes None)."""
        return _json_safe(
            {
                "group": self.group,
                "groups": list(self.groups),
                "group_sizes": self.group_sizes.tolist(),
                "variables": list(self.variables),
                "weighted": self.weighted,
                "percent": self.percent,
                "missing": self.missing,
                "categorical_test": self.categorical_test,
                "continuous_test": self.continuous_test,
                "smd_rule": self.smd_rule,
                "smd_denominator": self.smd_denominator,
                "rows": self.rows.to_dict(as_series=False),
                "tests": self.tests.to_dict(as_series=False),
                "notes": list(self.notes),
                "warnings": list(self.warnings),
            }
        )

    def __repr__(self) -> str:
        w = ", weighted" if self.weighted else ""
        sizes = zip(self.groups, self.group_sizes, strict=True)
        columns = ", ".join(f"{g} (n={s:g})" for g, s in sizes)
        return f"SummaryTable({len(self.variables)} variables by {self.group!r}: {columns}{w})"


@dataclass(frozen=True, slots=True, eq=False)
class TrendTestResult(HtmlDisplay):
    """Cochran–Armitage chi-square test for trend of a binary outcome over ordered levels."""

    variable: str
    outcome: str
    levels: tuple[str, ...]
    scores: np.ndarray
    n_events: np.ndarray
    n_obs: np.ndarray
    proportion: np.ndarray
    statistic: float
    z: float
    df: float
    p_value: float
    method: str
    warnings: tuple[str, ...]

    def to_frame(self) -> pl.DataFrame:
        """One row per level: score, events, total, proportion, row % and the test."""
        k = len(self.levels)
        return pl.DataFrame(
            {
                "variable": [self.variable] * k,
                "level": list(self.levels),
                "score": self.scores,
                "n_events": self.n_events,
                "n_obs": self.n_obs,
                "proportion": self.proportion,
                "row_percent": 100.0 * self.proportion,
                "statistic": [self.statistic] * k,
                "z": [self.z] * k,
                "df": [self.df] * k,
                "p_value": [self.p_value] * k,
                "method": [self.method] * k,
            }
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe content (NaN becomes None)."""
        return _json_safe(
            {
                "variable": self.variable,
                "outcome": self.outcome,
                "levels": list(self.levels),
                "scores": self.scores.tolist(),
                "n_events": self.n_events.tolist(),
                "n_obs": self.n_obs.tolist(),
                "proportion": self.proportion.tolist(),
                "statistic": self.statistic,
                "z": self.z,
                "df": self.df,
                "p_value": self.p_value,
                "method": self.method,
                "warnings": list(self.warnings),
            }
        )

    def __repr__(self) -> str:
        return (
            f"TrendTestResult({self.outcome!r} by {self.variable!r}: chi-square = "
            f"{self.statistic:.4g}, df = 1, p = {self.p_value:.4g})"
        )


def _json_safe(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, float | np.floating):
        return None if not math.isfinite(value) else float(value)
    if isinstance(value, np.integer):
        return int(value)
    return value


# --- encoding ---------------------------------------------------------------------------------


def _format_value(value: Any) -> str:
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _encode(
    series: pl.Series, levels: Sequence[Any] | None = None
) -> tuple[np.ndarray, list[str], list[str]]:
    """Codes 0..L−1 in display order (−1 = missing), level labels, unlisted observed values.

    Order: ``levels`` if given (observed values not in it are appended), else the Enum's or
    Categorical's categories, False/True ("No"/"Yes") for a Boolean, else sorted values.
    """
    dtype = series.dtype
    if levels is not None:
        labels = [_format_value(v) for v in levels]
    elif isinstance(dtype, pl.Enum):
        labels = dtype.categories.to_list()
    elif dtype == pl.Boolean:
        labels = ["No", "Yes"]
    else:
        observed = series.drop_nulls().unique()
        if dtype.is_float():
            observed = observed.filter(~observed.is_nan())
        labels = [_format_value(v) for v in observed.sort().to_list()]
    text = _as_text(series)
    seen = text.drop_nulls().unique(maintain_order=True).to_list()
    extra = [v for v in seen if v not in set(labels)]
    labels = labels + sorted(extra)
    mapping = {label: code for code, label in enumerate(labels)}
    codes = text.replace_strict(mapping, default=-1, return_dtype=pl.Int64).fill_null(-1)
    return codes.to_numpy(), labels, extra if levels is not None else []


def _as_text(series: pl.Series) -> pl.Series:
    if series.dtype == pl.Boolean:
        return series.replace_strict({True: "Yes", False: "No"}, return_dtype=pl.String)
    if series.dtype.is_float():
        values = series.fill_nan(None)
        whole = values.drop_nulls()
        if (whole == whole.round()).all() and (whole.abs() < 2.0**53).all():  # 1.0 -> "1"
            return values.cast(pl.Int64, strict=False).cast(pl.String)
        return values.cast(pl.String)
    return series.cast(pl.String)


def _check_columns(frame: pl.DataFrame, columns: Sequence[str], role: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(
            f"{role} column {missing[0]!r} is not in the data ({frame.height} rows; "
            f"columns: {', '.join(frame.columns[:20])})"
        )


def _weights(frame: pl.DataFrame, weights: str | None) -> np.ndarray | None:
    if weights is None:
        return None
    column = frame[weights]
    if not column.dtype.is_numeric():
        raise TypeError(
            f"weights column {weights!r} must be numeric, got {column.dtype} ({frame.height} rows)"
        )
    w = column.cast(pl.Float64).to_numpy()
    bad = ~np.isfinite(w) | (w < 0)
    if bad.any():
        raise ValueError(
            f"weights column {weights!r} has {int(bad.sum())} of {w.size} rows missing, "
            "infinite or negative"
        )
    return w


# --- summary table ----------------------------------------------------------------------------


def summary_table(
    data: Any,
    *,
    group: str,
    variables: Sequence[str],
    weights: str | None = None,
    percent: PercentKind = "column",
    tests: bool = True,
    smd: bool = True,
    missing: MissingMode = "show",
    continuous_test: ContinuousTest = "anova",
    categorical_test: CategoricalTest = "auto",
    correct: bool = True,
    labels: Mapping[str, str] | None = None,
    levels: Mapping[str, Sequence[Any]] | None = None,
    kinds: Mapping[str, Kind] | None = None,
    smd_rule: Literal["max_pairwise", "average_pairwise", "vs_pooled"] = "max_pairwise",
    smd_denominator: Literal["pooled_unweighted", "pooled_weighted"] = "pooled_unweighted",
    fisher_simulations: int = 100_000,
    random_state: int = 20220107,
) -> SummaryTable:
    """Table 1: counts and percentages or mean/SD/median by ``group``, tests and SMDs.

    ``variables``: columns in display order; ``kinds``: "categorical" or "continuous" per
    variable (default: numeric non-Boolean columns are continuous); ``labels``: display labels;
    ``levels``: level order per variable (default: the Enum order, else sorted); ``weights``: a
    weight column (weighted n, %, mean, SD and SMD; no tests). ``categorical_test="auto"``:
    chi-square unless > 20% of expected counts are < 5, then Fisher's exact test. ``correct``:
    Yates' continuity correction of 2×2 chi-square tests (R ``chisq.test(correct = TRUE)``, the
    default); ``False`` gives the uncorrected Pearson statistic (SAS PROC FREQ's "Chi-Square").
    """
    frame = to_polars(data)
    _check_columns(frame, [group], "group")
    _check_columns(frame, list(variables), "variable")
    if weights is not None:
        _check_columns(frame, [weights], "weights")
    for name, value, allowed in [
        ("percent", percent, ("column", "row", "both")),
        ("missing", missing, ("show", "hide")),
        ("continuous_test", continuous_test, ("anova", "welch", "kruskal")),
        ("categorical_test", categorical_test, ("auto", "chisq", "fisher")),
    ]:
        if value not in allowed:
            raise ValueError(f"{name} must be one of {allowed}, got {value!r}")
    repeated = sorted({v for v in variables if list(variables).count(v) > 1})
    if repeated:
        raise ValueError(f"variables are listed more than once: {repeated}")
    labels = dict(labels or {})
    levels = dict(levels or {})
    kinds = dict(kinds or {})
    warnings: list[str] = []

    gcode, group_labels, extra = _encode(frame[group], levels.get(group))
    if extra:
        warnings.append(f"group {group!r}: values {extra} not in the given levels were added")
    n_no_group = int(np.sum(gcode < 0))
    if n_no_group:
        warnings.append(f"{n_no_group} rows with a missing {group!r} were left out")
    keep = gcode >= 0
    frame = frame.filter(pl.Series(keep))
    gcode = gcode[keep]
    w = _weights(frame, weights)
    K = len(group_labels)
    sizes = np.bincount(gcode, weights=w, minlength=K).astype(float)
    nonempty = [g for g, s in zip(group_labels, sizes, strict=True) if s > 0]
    empty = [g for g, s in zip(group_labels, sizes, strict=True) if s == 0]
    if empty:
        warnings.append(f"groups with no members: {empty}")
    context = _Context(
        group_labels,
        gcode,
        w,
        nonempty,
        tests and w is None,
        smd,
        missing,
        smd_rule,
        smd_denominator,
        weights is not None,
    )

    rows: list[dict[str, Any]] = []
    test_rows: list[dict[str, Any]] = []
    for variable in variables:
        label = labels.get(variable, variable)
        series = frame[variable]
        kind = kinds.get(variable) or (
            "continuous"
            if series.dtype.is_numeric() and series.dtype != pl.Boolean
            else "categorical"
        )
        if kind == "continuous":
            r, t = _continuous(context, variable, label, series, continuous_test)
        elif kind == "categorical":
            r, t, extra = _categorical(
                context,
                variable,
                label,
                series,
                levels.get(variable),
                categorical_test,
                correct,
                fisher_simulations,
                random_state,
            )
            if extra:
                warnings.append(f"{variable!r}: values {extra} not in the given levels were added")
        else:
            raise ValueError(f"kind of {variable!r} must be 'categorical' or 'continuous'")
        rows.extend(r)
        test_rows.append(t)

    notes = [
        "Percentages are of the non-missing values; missing values are "
        + (
            "shown as their own row and left out of the percentages and the tests."
            if missing == "show"
            else "not shown and left out of the percentages and the tests."
        ),
        "Continuous variables: mean (SD), median [Q1, Q3], range; "
        + {
            "anova": "one-way ANOVA (equal variances).",
            "welch": "Welch's one-way ANOVA.",
            "kruskal": "Kruskal-Wallis test.",
        }[continuous_test],
        "Categorical variables: "
        + {
            "auto": "Pearson chi-square test, Fisher's exact test when more than 20% of the "
            "expected counts are below 5.",
            "chisq": "Pearson chi-square test"
            + (
                " (Yates' correction only for 2x2 tables)."
                if correct
                else " (no Yates' correction)."
            ),
            "fisher": "Fisher's exact test.",
        }[categorical_test],
        f"SMD: {smd_rule.replace('_', ' ')} of the level indicators; denominator "
        f"{smd_denominator.replace('_', ' ')} variances.",
    ]
    if w is not None:
        notes.append(
            "Weighted table: n is the sum of weights; SD uses reliability weights; quantiles "
            "are weighted empirical quantiles with averaging (SAS PCTLDEF=5); no tests "
            "(design-based tests are not implemented)."
        )
    return SummaryTable(
        group=group,
        groups=tuple(group_labels),
        group_sizes=sizes,
        variables=tuple(variables),
        weighted=w is not None,
        percent=percent,
        missing=missing,
        categorical_test=categorical_test,
        continuous_test=continuous_test,
        smd_rule=smd_rule,
        smd_denominator=smd_denominator,
        rows=pl.DataFrame(rows, schema=_ROW_SCHEMA),
        tests=pl.DataFrame(test_rows, schema=_TEST_SCHEMA),
        notes=tuple(notes),
        warnings=tuple(warnings),
    )


@dataclass(frozen=True, slots=True)
class _Context:
    groups: list[str]
    gcode: np.ndarray
    weights: np.ndarray | None
    nonempty: list[str]
    tests: bool
    smd: bool
    missing: str
    smd_rule: str
    smd_denominator: str
    weighted: bool


def _row(variable: str, label: str, kind: str, level: str | None, group: str, **values: Any):
    row = dict.fromkeys(_ROW_SCHEMA)
    row.update(variable=variable, label=label, kind=kind, level=level, group=group)
    row["is_missing"] = bool(values.pop("missing_row", False))
    row.update(values)
    return row


def _missing_rows(
    ctx: _Context, variable: str, label: str, kind: str, n_missing: np.ndarray
) -> list[dict[str, Any]]:
    """The "Missing" row of a variable per group and overall (row % over the missing), when
    missing values are shown and there are any."""
    total = n_missing.sum()
    if ctx.missing != "show" or total <= 0:
        return []
    counts = [*n_missing, total]
    return [
        _row(
            variable,
            label,
            kind,
            MISSING,
            g,
            missing_row=True,
            n=float(n),
            row_percent=100.0 * n / total,
        )
        for g, n in zip([*ctx.groups, OVERALL], counts, strict=True)
    ]


def _smd_of(ctx: _Context, x: np.ndarray) -> float:
    """SMD of a continuous x over the groups with members (NaN = missing)."""
    if not ctx.smd or len(ctx.nonempty) < 2:
        return math.nan
    nonempty = [ctx.groups.index(g) for g in ctx.nonempty]
    moments = group_moments(x, ctx.gcode, weights=ctx.weights, binary=False, groups=nonempty)
    return _summarize(ctx, moments)


def _summarize(ctx: _Context, moments: GroupMoments) -> float:
    return summarize_smd(
        moments,
        rule=ctx.smd_rule,  # type: ignore[arg-type]
        weighted=ctx.weighted,
        denominator=ctx.smd_denominator,  # type: ignore[arg-type]
    )


def _test_row(variable: str, label: str, kind: str, **values: Any) -> dict[str, Any]:
    row = dict.fromkeys(_TEST_SCHEMA)
    row.update(variable=variable, label=label, kind=kind)
    row.update(values)
    return row


def _categorical(
    ctx: _Context,
    variable: str,
    label: str,
    series: pl.Series,
    levels: Sequence[Any] | None,
    categorical_test: str,
    correct: bool,
    fisher_simulations: int,
    random_state: int,
) -> tuple[list[dict[str, Any]], dict[str, Any], list[str]]:
    codes, level_labels, extra = _encode(series, levels)
    K, L = len(ctx.groups), len(level_labels)
    present = codes >= 0
    cells = codes[present] * K + ctx.gcode[present]
    unweighted = np.bincount(cells, minlength=L * K).reshape(L, K).astype(float)
    counts = (
        unweighted
        if ctx.weights is None
        else np.bincount(cells, weights=ctx.weights[present], minlength=L * K).reshape(L, K)
    )
    n_missing = np.bincount(
        ctx.gcode[~present],
        weights=None if ctx.weights is None else ctx.weights[~present],
        minlength=K,
    ).astype(float)
    col_totals, row_totals = counts.sum(axis=0), counts.sum(axis=1)
    grand = counts.sum()
    rows = []
    smds = []
    used = [ctx.groups.index(g) for g in ctx.nonempty]
    for i, level in enumerate(level_labels):
        level_smd = math.nan
        if ctx.smd and len(used) >= 2:
            moments = indicator_moments(
                unweighted[i, used],
                unweighted[:, used].sum(axis=0),
                weighted_count=counts[i, used],
                weighted_total=col_totals[used],
            )
            level_smd = _summarize(ctx, moments)
        smds.append(level_smd)
        for j, g in enumerate([*ctx.groups, OVERALL]):
            n = row_totals[i] if g == OVERALL else counts[i, j]
            denom = grand if g == OVERALL else col_totals[j]
            rows.append(
                _row(
                    variable,
                    label,
                    "categorical",
                    level,
                    g,
                    n=float(n),
                    percent=100.0 * n / denom if denom > 0 else None,
                    row_percent=(100.0 * n / row_totals[i] if row_totals[i] > 0 else None),
                    smd=None if math.isnan(level_smd) else level_smd,
                )
            )
    total_missing = n_missing.sum()
    rows.extend(_missing_rows(ctx, variable, label, "categorical", n_missing))
    finite = [v for v in smds if not math.isnan(v)]
    test = _test_row(
        variable,
        label,
        "categorical",
        smd_variable=max((abs(v) for v in finite), default=None),
        n_obs=float(grand),
        n_missing=float(total_missing),
    )
    if ctx.tests:
        test.update(
            _categorical_test(
                counts,
                level_labels,
                ctx,
                categorical_test,
                correct,
                fisher_simulations,
                random_state,
            )
        )
    elif ctx.weighted:
        test["note"] = "test not computed: weighted table"
    return rows, test, extra


def _categorical_test(
    counts: np.ndarray,
    level_labels: list[str],
    ctx: _Context,
    categorical_test: str,
    correct: bool,
    fisher_simulations: int,
    random_state: int,
) -> dict[str, Any]:
    if counts.sum() == 0:
        return {"note": "test not computed: all values are missing"}
    used_rows = counts.sum(axis=1) > 0
    used_cols = counts.sum(axis=0) > 0
    notes = []
    unused_levels = [lv for lv, u in zip(level_labels, used_rows, strict=True) if not u]
    if unused_levels:
        notes.append(f"levels with no observations left out of the test: {unused_levels}")
    unused_groups = [g for g, u in zip(ctx.groups, used_cols, strict=True) if not u]
    if unused_groups:
        notes.append(f"groups with no observed values left out of the test: {unused_groups}")
    table = counts[used_rows][:, used_cols]
    if table.shape[0] < 2:
        return {"note": "test not computed: only one level observed"}
    if table.shape[1] < 2:
        return {"note": "test not computed: fewer than two groups with observed values"}
    use_fisher = categorical_test == "fisher" or (
        categorical_test == "auto" and _tests.small_expected(table)
    )
    if use_fisher and table.shape == (2, 2):
        r = _tests.fisher_2x2(table)
        out = {"test": r["method"], "p_value": r["p_value"]}
    elif use_fisher:
        r = _tests.fisher_rxc_monte_carlo(
            table, n_simulations=fisher_simulations, random_state=random_state
        )
        out = {"test": r["method"], "p_value": r["p_value"]}
        notes.append(f"Monte Carlo p-value, seed {random_state}")
    else:
        r = _tests.chisq_test(table, correct=correct)
        out = {
            "test": r["method"],
            "statistic": r["statistic"],
            "df": r["df"],
            "p_value": r["p_value"],
        }
        notes.extend(r["warnings"])
    out["note"] = "; ".join(notes) or None
    return out


def _weighted_quantiles(x: np.ndarray, w: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """Weighted empirical quantiles with averaging (SAS PCTLDEF=5, R type 2).

    The smallest x whose cumulative weight reaches p·Σw; where it reaches it exactly, the mean
    of that x and the next. With integer weights this is type 2 of the replicated rows.
    """
    order = np.argsort(x, kind="stable")
    xs, cw = x[order], np.cumsum(w[order])
    target = probs * cw[-1]
    tol = 1e-12 * cw[-1]
    idx = np.minimum(np.searchsorted(cw, target - tol, side="left"), xs.size - 1)
    nxt = np.minimum(idx + 1, xs.size - 1)
    exact = np.abs(cw[idx] - target) <= tol
    return np.where(exact, (xs[idx] + xs[nxt]) / 2, xs[idx])


def _continuous(
    ctx: _Context, variable: str, label: str, series: pl.Series, continuous_test: str
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    if not series.dtype.is_numeric() or series.dtype == pl.Boolean:
        kind = "text" if series.dtype in (pl.String, pl.Categorical) else str(series.dtype)
        note = (
            f"not computed: continuous variable {variable!r} is stored as {kind} "
            f"({series.dtype}), not numbers; convert it first"
        )
        return [], _test_row(variable, label, "continuous", note=note)
    x = series.cast(pl.Float64).fill_nan(None).to_numpy()
    present = ~np.isnan(x)
    K = len(ctx.groups)
    n_missing = np.bincount(
        ctx.gcode[~present],
        weights=None if ctx.weights is None else ctx.weights[~present],
        minlength=K,
    ).astype(float)
    moments = group_moments(
        x, ctx.gcode, weights=ctx.weights, binary=False, groups=range(len(ctx.groups))
    )
    rows = []
    for j, g in enumerate([*ctx.groups, OVERALL]):
        in_group = present if g == OVERALL else present & (ctx.gcode == j)
        values = x[in_group]
        stats: dict[str, Any] = {"n": float(moments.sum_weights[j])}
        if values.size:
            if ctx.weights is None:
                q = np.quantile(values, [0.5, 0.25, 0.75])
            else:
                q = _weighted_quantiles(values, ctx.weights[in_group], np.array([0.5, 0.25, 0.75]))
            sd = math.sqrt(moments.weighted_variance[j]) if moments.n[j] > 1 else None
            stats.update(
                mean=float(moments.weighted_mean[j]),
                sd=sd,
                median=float(q[0]),
                q1=float(q[1]),
                q3=float(q[2]),
                min=float(values.min()),
                max=float(values.max()),
            )
        rows.append(_row(variable, label, "continuous", None, g, **stats))
    smd_value = _smd_of(ctx, x)
    for row in rows:
        row["smd"] = None if math.isnan(smd_value) else smd_value
    total_missing = n_missing.sum()
    rows.extend(_missing_rows(ctx, variable, label, "continuous", n_missing))
    test = _test_row(
        variable,
        label,
        "continuous",
        smd_variable=None if math.isnan(smd_value) else abs(smd_value),
        n_obs=float(moments.sum_weights[K]),
        n_missing=float(total_missing),
    )
    if ctx.tests:
        test.update(_continuous_test(x, present, ctx, continuous_test))
    elif ctx.weighted:
        test["note"] = "test not computed: weighted table"
    return rows, test


def _continuous_test(
    x: np.ndarray, present: np.ndarray, ctx: _Context, continuous_test: str
) -> dict[str, Any]:
    if not present.any():
        return {"note": "test not computed: all values are missing"}
    samples = [x[present & (ctx.gcode == j)] for j in range(len(ctx.groups))]
    used = [s for s in samples if s.size > 0]
    notes = []
    unused = [g for g, s in zip(ctx.groups, samples, strict=True) if s.size == 0]
    if unused:
        notes.append(f"groups with no observed values left out of the test: {unused}")
    if len(used) < 2:
        return {"note": "test not computed: fewer than two groups with observed values"}
    pooled = np.concatenate(used)
    if np.all(pooled == pooled[0]):
        return {"note": "test not computed: all values are equal"}
    if continuous_test == "anova" and all(np.all(s == s[0]) for s in used):
        return {"note": "test not computed: no variation within the groups"}
    if continuous_test == "welch" and any(s.size < 2 or np.all(s == s[0]) for s in used):
        return {"note": "test not computed: Welch's test needs two distinct values in every group"}
    if continuous_test != "kruskal" and sum(s.size for s in used) <= len(used):
        return {"note": "test not computed: no residual degrees of freedom"}
    kernel = {
        "anova": _tests.oneway_anova,
        "welch": _tests.welch_anova,
        "kruskal": _tests.kruskal_wallis,
    }[continuous_test]
    r = kernel(used)
    return {
        "test": r["method"],
        "statistic": r["statistic"],
        "df": r["df"],
        "df_denominator": r.get("df_denominator"),
        "p_value": r["p_value"],
        "note": "; ".join(notes) or None,
    }


# --- trend test -------------------------------------------------------------------------------


def trend_test(
    data: Any,
    *,
    variable: str,
    outcome: str,
    scores: Sequence[float] | None = None,
    positive: Any = None,
    levels: Sequence[Any] | None = None,
) -> TrendTestResult:
    """Cochran–Armitage chi-square test for trend of a binary ``outcome`` over ordered levels.

    ``variable``: the ordered column (order: ``levels``, else the Enum order, else sorted);
    ``scores``: one per level (default 1, 2, …); ``outcome``: a Boolean or 0/1 column, or any
    column with ``positive`` naming the value counted as the event. Rows missing either column
    are left out (counted in ``warnings``). Same statistic as R ``prop.trend.test``.
    """
    frame = to_polars(data)
    _check_columns(frame, [variable, outcome], "trend_test")
    warnings: list[str] = []
    y = frame[outcome]
    if positive is not None:
        event = (_as_text(y) == _format_value(positive)).fill_null(False).to_numpy()
        if not event.any():
            warnings.append(f"no row of {outcome!r} equals {positive!r}")
    elif y.dtype == pl.Boolean or (
        y.dtype.is_numeric() and set(y.drop_nulls().unique().to_list()) <= {0, 1}
    ):
        event = y.cast(pl.Float64).fill_null(0.0).to_numpy() == 1.0
    else:
        values = y.drop_nulls().unique().sort().to_list()[:5]
        raise ValueError(
            f"outcome column {outcome!r} is not binary (values {values}, {frame.height} rows); "
            "pass positive= to name the event value"
        )
    codes, labels, extra = _encode(frame[variable], levels)
    if extra:
        warnings.append(f"values {extra} of {variable!r} not in the given levels were added")
    ok = (codes >= 0) & y.is_not_null().to_numpy()
    if (~ok).sum():
        warnings.append(
            f"{int((~ok).sum())} rows with a missing {variable!r} or {outcome!r} left out"
        )
    L = len(labels)
    totals = np.bincount(codes[ok], minlength=L).astype(float)
    events = np.bincount(codes[ok], weights=event[ok].astype(float), minlength=L)
    s = np.arange(1.0, L + 1) if scores is None else np.asarray(scores, dtype=float)
    if s.shape != (L,):
        raise ValueError(
            f"scores must have one value per level of {variable!r} ({labels}), got {len(s)}"
        )
    used = totals > 0
    if (~used).any():
        empty = [lv for lv, u in zip(labels, used, strict=True) if not u]
        warnings.append(f"levels with no rows left out: {empty}")
    r = _tests.cochran_armitage(events[used], totals[used], s[used])
    if not math.isfinite(r["z"]):
        warnings.append("test not computed: the outcome or the scores do not vary")
    with np.errstate(invalid="ignore", divide="ignore"):
        proportion = events / totals
    return TrendTestResult(
        variable=variable,
        outcome=outcome,
        levels=tuple(labels),
        scores=s,
        n_events=events,
        n_obs=totals,
        proportion=proportion,
        statistic=float(r["statistic"]),
        z=float(r["z"]),
        df=1.0,
        p_value=float(r["p_value"]),
        method=r["method"],
        warnings=tuple(warnings),
    )
