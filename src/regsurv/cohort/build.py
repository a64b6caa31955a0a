"""The cohort in one call: data-quality steps and criteria, then the analysis variables."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import polars as pl

from regsurv.cohort.criteria import CohortFlow, Criterion, apply_criteria, as_lazy, compile_criteria
from regsurv.cohort.derive import _cohort_spec, derive_analysis_variables
from regsurv.cohort.quality import (
    DUPLICATE_STEP,
    INVALID_STEP,
    drop_empty_quality_steps,
    invalid_value_message,
    invalid_values,
    quality_criteria,
    study_fields,
)
from regsurv.errors import InputError


def cohort_criteria(
    spec: Any, columns: Sequence[str], *, duplicate_ids: Sequence[str] = ()
) -> tuple[Criterion, ...]:
    """The data-quality steps (`regsurv.cohort.quality`) followed by the study's criteria."""
    cohort = _cohort_spec(spec)
    quality = quality_criteria(cohort, columns, duplicate_ids=duplicate_ids)
    return (*quality, *compile_criteria(cohort))


def build_cohort(
    lf: pl.LazyFrame | pl.DataFrame,
    spec: Any,
    *,
    duplicate_ids: Sequence[str] = (),
    strict: bool = False,
) -> tuple[pl.LazyFrame, CohortFlow]:
    """Apply the data-quality steps and the criteria of `spec` (a `CohortSpec` or `StudySpec`)
    and derive the analysis columns of the included rows. Returns the analytic cohort (lazy)
    and the flow counts (a data-quality step appears only when it excludes someone).

    `duplicate_ids`: ids of exact repeated records (`regsurv.io.check_integrity`), counted
    once. `strict`: repeated records or invalid values in fields the study uses raise
    `regsurv.errors.InputError` instead of being excluded.
    """
    cohort = _cohort_spec(spec)
    lf = as_lazy(lf)
    columns = lf.collect_schema().names()
    kept, flow = apply_criteria(lf, cohort_criteria(cohort, columns, duplicate_ids=duplicate_ids))
    flow = checked_flow(flow, lf, cohort, duplicate_ids=duplicate_ids, strict=strict)
    return derive_analysis_variables(kept, cohort), flow


def checked_flow(
    flow: CohortFlow,
    lf: pl.LazyFrame,
    spec: Any,
    *,
    duplicate_ids: Sequence[str] = (),
    strict: bool = False,
) -> CohortFlow:
    """The flow without its empty data-quality steps; with `strict`, repeated records or
    invalid values are refused (`regsurv.errors.InputError`)."""
    flow = drop_empty_quality_steps(flow)
    if strict:
        excluded = {s.id: s.n_excluded for s in flow.steps}
        if excluded.get(DUPLICATE_STEP):
            n = excluded[DUPLICATE_STEP]
            shown = ", ".join(repr(i) for i in list(duplicate_ids)[:5])
            raise InputError(
                f"PUF_CASE_ID: {n:,} row{'' if n == 1 else 's'} repeat another record exactly "
                f"(ids {shown}); --strict refuses repeated records"
            )
        if excluded.get(INVALID_STEP):
            n = excluded[INVALID_STEP]
            fields = study_fields(_cohort_spec(spec), lf.collect_schema().names())
            counts = invalid_values(lf, fields)
            raise InputError(
                f"{n:,} row{'' if n == 1 else 's'} with invalid values in fields the study "
                f"uses: {invalid_value_message(counts)}; --strict refuses them"
            )
    return flow


def group_counts(cohort: pl.DataFrame, column: str) -> dict[str, int]:
    """Rows per level of the group column, in level order (unknown group last, if any)."""
    counts = dict(cohort.group_by(column).len().iter_rows())
    levels = tuple(cohort[column].dtype.categories)
    out = {level: int(counts.get(level, 0)) for level in levels}
    if counts.get(None):
        out["Unknown"] = int(counts[None])
    return out
