"""The cohort in one call: criteria, then the analysis variables of the included rows."""

from __future__ import annotations

from typing import Any

import polars as pl

from regsurv.cohort.criteria import CohortFlow, apply_criteria
from regsurv.cohort.derive import _cohort_spec, derive_analysis_variables


def build_cohort(lf: pl.LazyFrame | pl.DataFrame, spec: Any) -> tuple[pl.LazyFrame, CohortFlow]:
    """Apply the criteria of `spec` (a `CohortSpec` or `StudySpec`) and derive the analysis
    columns of the included rows. Returns the analytic cohort (lazy) and the flow counts."""
    cohort = _cohort_spec(spec)
    kept, flow = apply_criteria(lf, cohort)
    return derive_analysis_variables(kept, cohort), flow


def group_counts(cohort: pl.DataFrame, column: str) -> dict[str, int]:
    """Rows per level of the group column, in level order (unknown group last, if any)."""
    counts = dict(cohort.group_by(column).len().iter_rows())
    levels = tuple(cohort[column].dtype.categories)
    out = {level: int(counts.get(level, 0)) for level in levels}
    if counts.get(None):
        out["Unknown"] = int(counts[None])
    return out
