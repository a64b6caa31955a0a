"""Data-quality steps at the top of the inclusion flow: repeated records and invalid values.

Two steps come before the study's criteria, each shown only when it excludes someone, so that
every input row still lands in exactly one bucket of the flow:

* ``duplicate_record``: a row that repeats another record exactly (same ``PUF_CASE_ID``, every
  field equal; found by `regsurv.io.integrity.check_integrity`) is counted once;
* ``invalid_value``: a row holding, in a field the study uses (`study_fields`), a code outside
  the PUF dictionary or a number outside the dictionary's range (sentinels such as AGE 999 are
  not invalid: they mean unknown). Such a row is never recoded silently nor blamed on a
  clinical criterion; with ``strict=True`` it is an error instead (`invalid_value_message`).
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from regsurv.cohort._dictionary import FieldInfo, get_dictionary
from regsurv.cohort.criteria import ID_COLUMN, CohortFlow, Criterion
from regsurv.cohort.derive import TNM_COLUMNS
from regsurv.cohort.recodes import RECODE_NAMES, get_recode
from regsurv.cohort.spec import CohortSpec

DUPLICATE_STEP = "duplicate_record"
INVALID_STEP = "invalid_value"
QUALITY_STEPS = (DUPLICATE_STEP, INVALID_STEP)
DERIVED_FIELDS = (
    "DX_LASTCONTACT_DEATH_MONTHS",
    "PUF_VITAL_STATUS",
    "AGE",
    "YEAR_OF_DIAGNOSIS",
    "CROWFLY",
    *(field for field, _axis in TNM_COLUMNS.values()),
)
N_ROWS_SHOWN = 5


def study_fields(spec: CohortSpec, columns: Sequence[str]) -> tuple[str, ...]:
    """The PUF fields the study reads: criteria, definitions, flags, bands (radiation fields
    when `radiation_qualifies` is used), survival, analysis
    variables (each recode's source column among `columns`), in first-use order."""
    present = set(columns)
    names = [ID_COLUMN, *spec.fields(), *DERIVED_FIELDS]
    for name in RECODE_NAMES:
        recode = get_recode(name, spec.options)
        names.append(next((f for f in recode.field if f in present), recode.field[0]))
    return tuple(n for n in dict.fromkeys(names) if n in present)


def invalid_mask(info: FieldInfo) -> pl.Expr:
    """True where the (typed) column holds a value that is neither valid nor a sentinel."""
    col = info.column()
    if info.numeric:
        out = pl.lit(False)
        if info.min is not None:
            out = out | (col < info.min)
        if info.max is not None:
            out = out | (col > info.max)
        return col.is_not_null() & out & ~col.is_in(info.sentinel_values())
    if info.open_codes:
        if info.pattern is None:
            return pl.lit(False)
        valid = col.is_in(list(info.codes)) | col.str.contains(info.pattern)
    elif info.codes:
        valid = col.is_in(list(info.codes))
    else:
        return pl.lit(False)
    return col.is_not_null() & ~valid


def _checked(fields: Sequence[str]) -> list[FieldInfo]:
    dictionary = get_dictionary().fields
    return [dictionary[f] for f in fields if f in dictionary and f != ID_COLUMN]


def quality_criteria(
    spec: CohortSpec, columns: Sequence[str], *, duplicate_ids: Sequence[str] = ()
) -> tuple[Criterion, ...]:
    """The two data-quality steps (see the module docstring) for data with `columns`."""
    out = []
    if duplicate_ids:
        ids = pl.col(ID_COLUMN)
        keep = ~ids.is_in(list(duplicate_ids)) | ids.is_first_distinct()
        out.append(
            Criterion(
                DUPLICATE_STEP,
                "Repeated copy of a record (same PUF_CASE_ID and fields), counted once",
                keep,
                (ID_COLUMN,),
            )
        )
    infos = _checked(study_fields(spec, columns))
    if infos:
        invalid = pl.any_horizontal([invalid_mask(info) for info in infos])
        out.append(
            Criterion(
                INVALID_STEP,
                "Invalid value in a field the study uses (code outside the PUF dictionary or "
                "number outside its range)",
                ~invalid.fill_null(False),
                tuple(info.name for info in infos),
            )
        )
    return tuple(out)


def _range_text(info: FieldInfo) -> str:
    if info.min is not None and info.max is not None:
        return f"outside [{info.min:g}, {info.max:g}]"
    return f"below {info.min:g}" if info.min is not None else f"above {info.max:g}"


def invalid_values(lf: pl.LazyFrame, fields: Sequence[str]) -> dict[str, tuple[int, list[int]]]:
    """Per field: (rows with an invalid value, the first 1-based row numbers); fields with none
    are left out. One lazy pass over `fields`."""
    infos = _checked(fields)
    if not infos:
        return {}
    aggs = []
    for info in infos:
        mask = invalid_mask(info).fill_null(False)
        aggs += [
            mask.sum().alias(f"{info.name}|n"),
            (mask.arg_true().head(N_ROWS_SHOWN) + 1).implode().alias(f"{info.name}|rows"),
        ]
    stats = lf.select(aggs).collect().row(0, named=True)
    return {
        info.name: (stats[f"{info.name}|n"], list(stats[f"{info.name}|rows"]))
        for info in infos
        if stats[f"{info.name}|n"]
    }


def invalid_value_message(counts: dict[str, tuple[int, list[int]]]) -> str:
    """``AGE: 1 row outside [0, 90] (row 3); SEX: 2 rows with a code outside the dictionary
    (rows 4, 9)``."""
    dictionary = get_dictionary().fields
    parts = []
    for name, (n, rows) in counts.items():
        info = dictionary[name]
        what = _range_text(info) if info.numeric else "with a code outside the dictionary"
        shown = ", ".join(str(r) for r in rows)
        more = f" and {n - len(rows):,} more" if n > len(rows) else ""
        parts.append(
            f"{name}: {n:,} row{'' if n == 1 else 's'} {what} "
            f"(row{'' if n == 1 else 's'} {shown}{more})"
        )
    return "; ".join(parts)


def drop_empty_quality_steps(flow: CohortFlow) -> CohortFlow:
    """The flow without data-quality steps that excluded no row (clean data: no extra box)."""
    steps = tuple(s for s in flow.steps if s.id not in QUALITY_STEPS or s.n_excluded)
    return CohortFlow(n_start=flow.n_start, steps=steps)
