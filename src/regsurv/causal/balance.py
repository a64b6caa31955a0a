"""Covariate balance before and after weighting: standardized mean differences per level.

Every level of a categorical covariate is a 0/1 indicator (the reference level included, as
cobalt and R tableone show it); a numeric covariate enters as it is (a 0/1 column is an
indicator). The SMDs come from `regsurv.describe.smd`, the one implementation: pairwise
comparisons are later minus earlier treatment level, ``vs_pooled`` compares each group with the
whole sample. ``rule`` folds the K(K-1)/2 pairwise (or K vs-pooled) values into one number per
row: ``"max_pairwise"`` (cobalt), ``"average_pairwise"`` (R tableone), ``"vs_pooled"``.
After weighting, ``denominator="pooled_weighted"`` divides by the weighted variances (Austin &
Stuart 2015, Stat Med 34:3661; R reference `smd_after`), ``"pooled_unweighted"`` by the
before-weighting ones (cobalt).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from regsurv._display import HtmlDisplay
from regsurv._frames import to_polars
from regsurv.causal.propensity import treatment_classes, treatment_codes
from regsurv.causal.weights import Weights
from regsurv.describe.smd import (
    POOLED,
    Grouping,
    GroupMoments,
    combine_smd,
    compare_groups,
    group_moments,
    grouping,
    level_moments,
)

__all__ = ["BalanceTable", "balance_table"]

RULES = ("max_pairwise", "average_pairwise", "vs_pooled")
DENOMINATORS = ("pooled_weighted", "pooled_unweighted")


@dataclass(frozen=True, slots=True, eq=False)
class BalanceTable(HtmlDisplay):
    """SMDs per covariate row (variable, level) and comparison, before and after weighting.

    ``smd_before``/``smd_after`` are (rows, comparisons) signed arrays (``smd_after`` is None
    without weights); ``estimate_before``/``estimate_after`` fold them by ``rule`` (absolute).
    """

    variable: np.ndarray
    level: np.ndarray
    binary: np.ndarray
    group1: tuple[str, ...]
    group0: tuple[str, ...]
    smd_before: np.ndarray
    smd_after: np.ndarray | None
    estimate_before: np.ndarray
    estimate_after: np.ndarray | None
    classes: tuple[str, ...]
    rule: str
    denominator: str
    threshold: float
    n_obs: int
    method: str
    warnings: tuple[str, ...] = ()

    @property
    def weighted(self) -> bool:
        return self.smd_after is not None

    @property
    def max_abs_smd(self) -> float:
        """The largest folded |SMD| after weighting (before, when unweighted)."""
        values = self.estimate_after if self.weighted else self.estimate_before
        return float(np.nanmax(values)) if values.size else float("nan")

    def to_frame(self, *, comparisons: bool = False) -> pl.DataFrame:
        """One row per covariate level (folded by ``rule``), or per comparison if asked."""
        kind = np.where(self.binary, "binary", "continuous")
        if not comparisons:
            after = self.estimate_after if self.weighted else np.full(self.variable.size, np.nan)
            return pl.DataFrame(
                {
                    "variable": self.variable.astype(str),
                    "level": list(self.level),
                    "type": kind,
                    "smd_before": self.estimate_before,
                    "smd_after": after,
                    "rule": [self.rule] * self.variable.size,
                    "denominator": [self.denominator] * self.variable.size,
                },
                schema_overrides={"level": pl.String},
            )
        n_rows, n_comp = self.smd_before.shape
        after = self.smd_after if self.weighted else np.full((n_rows, n_comp), np.nan)
        return pl.DataFrame(
            {
                "variable": np.repeat(self.variable.astype(str), n_comp),
                "level": list(np.repeat(self.level, n_comp)),
                "type": np.repeat(kind, n_comp),
                "group1": np.tile(np.array(self.group1, dtype=str), n_rows),
                "group0": np.tile(np.array(self.group0, dtype=str), n_rows),
                "smd_before": self.smd_before.ravel(),
                "smd_after": after.ravel(),
            },
            schema_overrides={"level": pl.String},
        )

    def imbalanced(self, threshold: float | None = None) -> pl.DataFrame:
        """Rows whose folded |SMD| (after weighting, if weighted) is >= ``threshold``."""
        limit = self.threshold if threshold is None else threshold
        column = "smd_after" if self.weighted else "smd_before"
        return self.to_frame().filter(pl.col(column) >= limit)

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "rule": self.rule,
            "denominator": self.denominator,
            "threshold": self.threshold,
            "n_obs": self.n_obs,
            "classes": list(self.classes),
            "max_abs_smd": _json_float(self.max_abs_smd),
            "rows": [
                {k: _json_float(v) if isinstance(v, float) else v for k, v in row.items()}
                for row in self.to_frame().to_dicts()
            ],
            "warnings": list(self.warnings),
        }

    def __repr__(self) -> str:
        state = "after weighting" if self.weighted else "unweighted"
        return (
            f"BalanceTable({self.variable.size} rows, {len(self.classes)} groups, "
            f"rule={self.rule}, "
            f"max |SMD| {state} = {self.max_abs_smd:.4f}, "
            f"{self.imbalanced().height} >= {self.threshold:g})"
        )


def _json_float(value: float) -> float | None:
    return None if value is None or not np.isfinite(value) else float(value)


def _weights_array(frame: pl.DataFrame, weights: Any) -> np.ndarray | None:
    if weights is None:
        return None
    if isinstance(weights, Weights):
        values = weights.values
    elif isinstance(weights, str):
        if weights not in frame.columns:
            raise ValueError(f"weights column {weights!r} not found ({frame.height} rows)")
        values = frame[weights].cast(pl.Float64).to_numpy()
    else:
        values = np.asarray(weights, dtype=float)
    if values.shape != (frame.height,):
        raise ValueError(f"weights have shape {values.shape}; expected ({frame.height},)")
    bad = ~np.isfinite(values) | (values < 0)
    if np.any(bad):
        raise ValueError(f"weights must be finite and >= 0; {int(bad.sum())} rows are not")
    return values


def _covariate_moments(
    frame: pl.DataFrame, column: str, rows: Grouping
) -> list[tuple[str | None, GroupMoments]]:
    """(level, moments) pairs: the 0/1 indicator of every level of a categorical (all levels
    from one pass of counts), or the numeric column itself (a 0/1 column is an indicator)."""
    series = frame[column]
    dtype = series.dtype
    if dtype.is_numeric():
        x = series.cast(pl.Float64).fill_null(np.nan).to_numpy()
        return [(None, group_moments(x, rows))]
    if isinstance(dtype, pl.Enum):
        levels = dtype.categories.to_list()
    elif dtype in (pl.String, pl.Categorical, pl.Boolean):
        levels = sorted(series.drop_nulls().cast(pl.String).unique().to_list())
    else:
        raise TypeError(f"covariate {column!r} has type {dtype}; use numeric, String or Enum")
    coded = series if isinstance(dtype, pl.Enum) else series.cast(pl.String).cast(pl.Enum(levels))
    codes = coded.to_physical().cast(pl.Int64).fill_null(-1).to_numpy()
    moments = level_moments(codes, rows, n_levels=len(levels))
    return [(str(level), m) for level, m in zip(levels, moments, strict=True)]


def balance_table(
    data: Any,
    *,
    treatment: str,
    covariates: Sequence[str],
    weights: Any = None,
    rule: str = "max_pairwise",
    denominator: str = "pooled_weighted",
    threshold: float = 0.1,
) -> BalanceTable:
    """Standardized mean differences of ``covariates`` across the levels of ``treatment``.

    ``weights``: None, a column name, an array or a `Weights`. Missing covariate values are left
    out of that covariate's moments (counted in ``warnings``).
    """
    if rule not in RULES:
        raise ValueError(f"rule must be one of {RULES}, got {rule!r}")
    if denominator not in DENOMINATORS:
        raise ValueError(f"denominator must be one of {DENOMINATORS}, got {denominator!r}")
    frame = to_polars(data)
    for col in [treatment, *covariates]:
        if col not in frame.columns:
            raise ValueError(f"column {col!r} not found in the data ({frame.height} rows)")
    if frame[treatment].null_count():
        raise ValueError(
            f"treatment {treatment!r} has {frame[treatment].null_count()} missing values in "
            f"{frame.height} rows"
        )
    w = _weights_array(frame, weights)
    classes = treatment_classes(frame[treatment])
    group = treatment_codes(frame[treatment], classes)
    rows = grouping(group, weights=w, groups=range(len(classes)))  # coded once for all columns

    def names(labels: tuple[Any, ...]) -> tuple[str, ...]:
        return tuple(POOLED if g == POOLED else classes[g] for g in labels)

    comparisons = "vs_pooled" if rule == "vs_pooled" else "pairwise"

    variables, levels, binary, before, after, messages = [], [], [], [], [], []
    group1 = group0 = ()
    for column in covariates:
        n_missing = frame[column].null_count()
        if n_missing:
            messages.append(f"covariate {column!r}: {n_missing} missing values left out")
        for level, moments in _covariate_moments(frame, column, rows):
            raw = compare_groups(moments, comparisons=comparisons, weighted=False)
            variables.append(column)
            levels.append(level)
            binary.append(moments.binary)
            before.append(raw.estimate)
            group1, group0 = names(raw.group1), names(raw.group0)
            if w is not None:
                adj = compare_groups(
                    moments, comparisons=comparisons, weighted=True, denominator=denominator
                )
                after.append(adj.estimate)

    smd_before = np.array(before).reshape(len(variables), -1)
    smd_after = np.array(after).reshape(len(variables), -1) if w is not None else None

    def fold(values: np.ndarray) -> np.ndarray:
        return np.array([combine_smd(row, rule) for row in values])

    method = f"SMD, {rule}, " + ("unweighted" if w is None else f"weighted, {denominator}")
    return BalanceTable(
        variable=np.array(variables, dtype=object),
        level=np.array(levels, dtype=object),
        binary=np.array(binary, dtype=bool),
        group1=group1,
        group0=group0,
        smd_before=smd_before,
        smd_after=smd_after,
        estimate_before=fold(smd_before),
        estimate_after=fold(smd_after) if smd_after is not None else None,
        classes=tuple(classes),
        rule=rule,
        denominator=denominator,
        threshold=float(threshold),
        n_obs=frame.height,
        method=method,
        warnings=tuple(messages),
    )
