"""Inclusion criteria applied in order, with the flow of counts (house style §5, example 3).

Every input row lands in exactly one bucket: the first criterion it fails, or the cohort. A row
whose value is blank, outside the dictionary or a sentinel never satisfies a condition.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from regsurv._display import HtmlDisplay
from regsurv._frames import to_polars
from regsurv.cohort._conditions import ConditionCompiler, group_expr
from regsurv.cohort._dictionary import get_dictionary
from regsurv.cohort.spec import CohortSpec, iter_fields

EXCLUDED_AT = "excluded_at"
ID_COLUMN = "PUF_CASE_ID"


@dataclass(frozen=True, slots=True)
class Criterion:
    """A compiled criterion: `keep` is True for rows that stay (null counts as False)."""

    id: str
    label: str
    keep: pl.Expr
    fields: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class FlowStep:
    id: str
    label: str
    n_before: int
    n_excluded: int
    n_after: int


@dataclass(frozen=True, slots=True, eq=False)
class CohortFlow(HtmlDisplay):
    """Counts of the inclusion flow: the start, then one step per criterion."""

    n_start: int
    steps: tuple[FlowStep, ...]

    @property
    def n_final(self) -> int:
        return self.steps[-1].n_after if self.steps else self.n_start

    def to_frame(self) -> pl.DataFrame:
        """One row per step: step (1-based), id, label, n_before, n_excluded, n_after."""
        return pl.DataFrame(
            {
                "step": list(range(1, len(self.steps) + 1)),
                "id": [s.id for s in self.steps],
                "label": [s.label for s in self.steps],
                "n_before": [s.n_before for s in self.steps],
                "n_excluded": [s.n_excluded for s in self.steps],
                "n_after": [s.n_after for s in self.steps],
            },
            schema={
                "step": pl.Int64,
                "id": pl.String,
                "label": pl.String,
                "n_before": pl.Int64,
                "n_excluded": pl.Int64,
                "n_after": pl.Int64,
            },
        )

    def to_dict(self) -> dict:
        return {
            "n_start": self.n_start,
            "n_final": self.n_final,
            "steps": [
                {
                    "id": s.id,
                    "label": s.label,
                    "n_before": s.n_before,
                    "n_excluded": s.n_excluded,
                    "n_after": s.n_after,
                }
                for s in self.steps
            ],
        }

    def __repr__(self) -> str:
        return f"CohortFlow({self.n_start:,} -> {self.n_final:,} in {len(self.steps)} steps)"


def compile_criteria(spec: CohortSpec, dictionary=None) -> tuple[Criterion, ...]:
    """The active criteria of `spec` (steps whose `when` option is off are left out), then one
    step per group with ``unassigned = "exclude"``: rows that fall in none of its levels."""
    dictionary = dictionary or get_dictionary()
    compiler = ConditionCompiler(spec.definitions, spec.options, dictionary)
    out = []
    for c in spec.criteria:
        if c.when is not None and not getattr(spec.options, c.when):
            continue
        fields = tuple(dict.fromkeys(iter_fields(c.where, spec.definitions)))
        out.append(Criterion(c.id, c.label, compiler.compile(c.where).fill_null(False), fields))
    for name, group in spec.groups.items():
        if group.unassigned != "exclude":
            continue
        flags = {f: compiler.compile(spec.flags[f]) for f in group.flags}
        keep = group_expr(name, group, flags.__getitem__).is_not_null()
        fields = tuple(
            dict.fromkeys(f for c in flags.values() for f in iter_fields(c, spec.definitions))
        )
        label = group.exclusion_label or (
            f"No {group.label or name} group (a flag unknown, or no level matches)"
        )
        out.append(Criterion(f"{name}_assigned", label, keep, fields))
    return tuple(out)


def _as_criteria(criteria: CohortSpec | Sequence[Criterion]) -> tuple[Criterion, ...]:
    if isinstance(criteria, CohortSpec):
        return compile_criteria(criteria)
    return tuple(criteria)


def as_lazy(data) -> pl.LazyFrame:
    """A polars LazyFrame from a LazyFrame, a polars DataFrame or a pandas DataFrame."""
    return data if isinstance(data, pl.LazyFrame) else to_polars(data).lazy()


def _check_fields(lf: pl.LazyFrame, criteria: Sequence[Criterion]) -> None:
    columns = set(lf.collect_schema().names())
    for criterion in criteria:
        missing = [f for f in criterion.fields if f not in columns]
        if missing:
            n = lf.select(pl.len()).collect().item()
            raise ValueError(
                f"criterion {criterion.id!r} needs field {missing[0]!r}, which the data lacks "
                f"({n:,} rows)"
            )


def exclusion_step(criteria: Sequence[Criterion]) -> pl.Expr:
    """The id of the first criterion a row fails (null if it passes all), as `excluded_at`."""
    expr: pl.Expr | pl.When | pl.Then | None = None
    for criterion in criteria:
        fail = ~criterion.keep
        step = pl.lit(criterion.id, dtype=pl.String)
        expr = pl.when(fail).then(step) if expr is None else expr.when(fail).then(step)
    if expr is None:
        return pl.lit(None, dtype=pl.String).alias(EXCLUDED_AT)
    return expr.otherwise(pl.lit(None, dtype=pl.String)).alias(EXCLUDED_AT)


def assign_exclusion(
    lf: pl.LazyFrame | pl.DataFrame, criteria: CohortSpec | Sequence[Criterion]
) -> pl.LazyFrame:
    """All rows of `lf` with a column `excluded_at`: the failing step id, or null if included."""
    criteria = _as_criteria(criteria)
    lf = as_lazy(lf)
    _check_fields(lf, criteria)
    return lf.with_columns(exclusion_step(criteria))


def apply_criteria(
    lf: pl.LazyFrame | pl.DataFrame, criteria: CohortSpec | Sequence[Criterion]
) -> tuple[pl.LazyFrame, CohortFlow]:
    """Apply `criteria` in order; return the kept rows (still lazy) and the flow counts.

    The counts come from one pass over the data (a group-by of the first failing step).
    """
    criteria = _as_criteria(criteria)
    lf = as_lazy(lf)
    _check_fields(lf, criteria)
    counts = (
        lf.with_columns(exclusion_step(criteria))
        .group_by(EXCLUDED_AT)
        .agg(pl.len().alias("n"))
        .collect()
    )
    by_step = {row[EXCLUDED_AT]: row["n"] for row in counts.iter_rows(named=True)}
    keep = pl.all_horizontal([c.keep for c in criteria]) if criteria else pl.lit(True)
    return lf.filter(keep), flow_of_counts(criteria, by_step)


def flow_of_counts(criteria: Sequence[Criterion], by_step: dict[str | None, int]) -> CohortFlow:
    """The flow from the number of rows whose first failing step is each id (None: kept)."""
    n_start = int(sum(by_step.values()))
    steps, n = [], n_start
    for criterion in criteria:
        excluded = int(by_step.get(criterion.id, 0))
        steps.append(FlowStep(criterion.id, criterion.label, n, excluded, n - excluded))
        n -= excluded
    return CohortFlow(n_start=n_start, steps=tuple(steps))


def excluded_ids(
    lf: pl.LazyFrame | pl.DataFrame,
    criteria: CohortSpec | Sequence[Criterion],
    *,
    step: str | None = None,
    id_column: str = ID_COLUMN,
) -> pl.DataFrame:
    """Ids of the excluded rows with the step that excluded them (one step if `step` is given)."""
    criteria = _as_criteria(criteria)
    if step is not None and step not in {c.id for c in criteria}:
        raise ValueError(f"unknown step {step!r}; steps are {', '.join(c.id for c in criteria)}")
    out = assign_exclusion(lf, criteria).select(id_column, EXCLUDED_AT)
    out = out.filter(pl.col(EXCLUDED_AT).is_not_null())
    if step is not None:
        out = out.filter(pl.col(EXCLUDED_AT) == step)
    return out.collect()
