"""The cohort collected in one pass over the data: flow counts and included rows together.

`build_cohort` returns a lazy cohort, and collecting it after the flow counts reads the file
twice (the counts need every row, the cohort the included ones) and evaluates every criterion
twice. `collect_cohort` gives the same cohort and flow from one streaming pass: each
criterion's test is evaluated once per row (a Boolean column), the first failing step of each
row is counted batch by batch as the stream passes (a streamable batch function, before the
filter; no pushdown may move the filter above it), the included rows are kept (only the
columns the analysis variables need), then the analysis variables are derived on those rows.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import polars as pl

from regsurv.cohort.build import checked_flow, cohort_criteria
from regsurv.cohort.criteria import (
    EXCLUDED_AT,
    CohortFlow,
    Criterion,
    _check_fields,
    as_lazy,
    exclusion_step,
    flow_of_counts,
)
from regsurv.cohort.derive import _cohort_spec, derive_analysis_variables

_KEEP = "__kept"
#: Rows per streaming batch of the pass: bounds what the batches in flight hold (10M-row PUF,
#: 41 fields: 1.9 GiB peak for the whole study, 14 s; polars' default batches 2.8 GiB, 13 s).
STREAMING_ROWS = 10_000


def collect_criteria(
    lf: pl.LazyFrame | pl.DataFrame,
    criteria: Sequence[Criterion],
    *,
    columns: Sequence[str] | None = None,
) -> tuple[pl.DataFrame, CohortFlow]:
    """`apply_criteria` with its kept rows collected (of `columns`, default all), in one
    streaming pass: the same flow counts (rows by first failing step) and the same rows in
    file order (those where every test holds, `pl.all_horizontal`)."""
    criteria = tuple(criteria)
    lf = as_lazy(lf)
    _check_fields(lf, criteria)
    names = lf.collect_schema().names() if columns is None else list(columns)
    flags = [f"__test_{i}" for i in range(len(criteria))]
    tested = [replace(c, keep=pl.col(f)) for c, f in zip(criteria, flags, strict=True)]
    keep = pl.all_horizontal([pl.col(f) for f in flags]) if criteria else pl.lit(True)
    plan = lf.select(
        *names, *(c.keep.alias(f) for c, f in zip(criteria, flags, strict=True))
    ).select(*names, exclusion_step(tested), keep.alias(_KEEP))
    by_step: dict[str | None, int] = {}
    n_kept = [0]

    lock = threading.Lock()

    def count(batch: pl.DataFrame) -> pl.DataFrame:
        """Rows by first failing step, batch by batch, as the stream passes (then filtered).
        polars calls this from several threads at once: the sums are updated under a lock
        (without it, concurrent read-add-write updates lose batches)."""
        steps = batch.group_by(EXCLUDED_AT).len().iter_rows()
        kept = int(batch[_KEEP].sum())
        with lock:
            for step, n in steps:
                by_step[step] = by_step.get(step, 0) + n
            n_kept[0] += kept
        return batch

    counted = plan.map_batches(  # no filter or projection may move above the counting
        count,
        streamable=True,
        schema=plan.collect_schema(),
        predicate_pushdown=False,
        projection_pushdown=False,
        slice_pushdown=False,
    )
    with pl.Config(streaming_chunk_size=STREAMING_ROWS):
        frame = counted.filter(pl.col(_KEEP)).select(names).collect(engine="streaming")
    if n_kept[0] != frame.height:  # each batch counted once before the filter
        raise RuntimeError(
            f"cohort pass: {n_kept[0]:,} rows counted as kept, {frame.height:,} kept"
        )
    return frame, flow_of_counts(criteria, by_step)


def _needed_columns(lf: pl.LazyFrame, spec: Any, columns: Sequence[str] | None) -> list[str]:
    """`columns` when the analysis variables derived from them alone have the schema of those
    derived from every column (a field they need is among them), else every column."""
    names = lf.collect_schema().names()
    if columns is None:
        return names
    chosen = set(columns)
    wanted = [c for c in names if c in chosen]
    try:
        schema = derive_analysis_variables(lf.select(wanted), spec).collect_schema()
    except (pl.exceptions.ColumnNotFoundError, ValueError):
        return names
    return wanted if schema == derive_analysis_variables(lf, spec).collect_schema() else names


def collect_cohort(
    lf: pl.LazyFrame | pl.DataFrame,
    spec: Any,
    *,
    duplicate_ids: Sequence[str] = (),
    strict: bool = False,
    columns: Sequence[str] | None = None,
) -> tuple[pl.DataFrame, CohortFlow]:
    """`build_cohort(lf, spec, ...)` collected, in one pass over the data (see the module).

    `columns`: the fields the study reads (`regsurv.cohort.study_fields`); the included rows
    keep only those (every column when the analysis variables need another)."""
    cohort = _cohort_spec(spec)
    lf = as_lazy(lf)
    criteria = cohort_criteria(cohort, lf.collect_schema().names(), duplicate_ids=duplicate_ids)
    names = _needed_columns(lf, cohort, columns)
    kept, flow = collect_criteria(lf, criteria, columns=names)
    flow = checked_flow(flow, lf, cohort, duplicate_ids=duplicate_ids, strict=strict)
    return derive_analysis_variables(kept.lazy(), cohort).collect(), flow


__all__ = ["collect_cohort", "collect_criteria"]
