"""Analysis variables of the cohort (docs/contracts.md, cohort section), derived lazily.

The study's own variables come from its `[cohort]` section: Boolean flags (conditions compiled
by `regsurv.cohort._conditions`), exposure groups built from the flags and bands (levels from
conditions). A flag is null when a field it reads is blank or invalid, and so is every group
built from it. The other columns (survival, age, year, recodes, TNM) are the same for every
study.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from regsurv.cohort._conditions import ConditionCompiler, group_expr
from regsurv.cohort._dictionary import get_dictionary
from regsurv.cohort.criteria import as_lazy
from regsurv.cohort.recodes import RECODE_NAMES, get_recode, tnm_expr
from regsurv.cohort.spec import CohortSpec, start_days_column

TNM_COLUMNS = {
    "clinical_t": ("TNM_CLIN_T", "T"),
    "clinical_n": ("TNM_CLIN_N", "N"),
    "clinical_m": ("TNM_CLIN_M", "M"),
    "pathologic_t": ("TNM_PATH_T", "T"),
    "pathologic_n": ("TNM_PATH_N", "N"),
    "pathologic_m": ("TNM_PATH_M", "M"),
}
SURVIVAL_COLUMNS = ("PUF_CASE_ID", "os_months", "os_years", "death")
RECODED_COLUMNS = (*RECODE_NAMES, "nodes_clinically_positive", *TNM_COLUMNS, "distance_miles")
#: Analysis columns every study has (besides its own flags, groups and bands).
BUILTIN_COLUMNS = (*SURVIVAL_COLUMNS, "age", "year_of_diagnosis", *RECODED_COLUMNS)


def analysis_columns(spec: Any) -> tuple[str, ...]:
    """The cohort's columns: survival, the study's flags and groups, age and year, its bands,
    then the recodes, TNM categories and distance."""
    cohort = _cohort_spec(spec)
    return (
        *SURVIVAL_COLUMNS,
        *cohort.flags,
        *(start_days_column(flag) for flag in cohort.start_days),
        *cohort.groups,
        "age",
        "year_of_diagnosis",
        *cohort.bands,
        *RECODED_COLUMNS,
    )


def _cohort_spec(spec: Any) -> CohortSpec:
    """Accept a `CohortSpec` or anything with a `.cohort` (the `StudySpec`)."""
    if isinstance(spec, CohortSpec):
        return spec
    cohort = getattr(spec, "cohort", None)
    if isinstance(cohort, CohortSpec):
        return cohort
    raise TypeError(f"expected a CohortSpec or StudySpec, got {type(spec).__name__}")


def _require(lf: pl.LazyFrame, fields: list[str], what: str) -> set[str]:
    columns = set(lf.collect_schema().names())
    missing = [f for f in fields if f not in columns]
    if missing:
        n = lf.select(pl.len()).collect().item()
        raise ValueError(f"{what} needs field {missing[0]!r}, which the data lacks ({n:,} rows)")
    return columns


def check_schema(spec: Any, columns: set[str], what: str = "the data") -> None:
    """Every PUF field the study reads is a column of the data: a one-line ValueError naming
    the key path of the first condition (or analysis variable) that reads a missing field."""
    from regsurv.cohort.spec import iter_fields

    cohort = _cohort_spec(spec)
    for where, condition in cohort.conditions():
        for name in iter_fields(condition, cohort.definitions):
            if name not in columns:
                raise ValueError(f"{where}: field {name!r} is not a column of {what}")
    for flag, name in cohort.start_days.items():
        if name not in columns:
            raise ValueError(f"cohort.start_days.{flag}: field {name!r} is not a column of {what}")
    needed = {
        "overall survival": ["DX_LASTCONTACT_DEATH_MONTHS", "PUF_VITAL_STATUS", "PUF_CASE_ID"],
        "age and year": ["AGE", "YEAR_OF_DIAGNOSIS"],
        "distance_miles": ["CROWFLY"],
        **{name: [field] for name, (field, _) in TNM_COLUMNS.items()},
    }
    for variable, fields in needed.items():
        for name in fields:
            if name not in columns:
                raise ValueError(
                    f"{variable} needs field {name!r}, which is not a column of {what}"
                )
    for name in RECODE_NAMES:
        recode = get_recode(name, cohort.options)
        if not any(f in columns for f in recode.field):
            raise ValueError(
                f"{name} needs one of the fields {', '.join(recode.field)}, which {what} lacks"
            )


def derive_survival(lf: pl.LazyFrame) -> pl.LazyFrame:
    """`os_months` (DX_LASTCONTACT_DEATH_MONTHS; 9999 -> null), `os_years` = months / 12 and
    `death` (Int8: 1 = PUF_VITAL_STATUS "0" dead, 0 = "1" alive, else null)."""
    lf = as_lazy(lf)
    _require(lf, ["DX_LASTCONTACT_DEATH_MONTHS", "PUF_VITAL_STATUS"], "overall survival")
    months = get_dictionary().field("DX_LASTCONTACT_DEATH_MONTHS").usable().cast(pl.Float64)
    status = pl.col("PUF_VITAL_STATUS")
    return lf.with_columns(
        months.alias("os_months"),
        (months / 12.0).alias("os_years"),
        pl.when(status == "0")
        .then(pl.lit(1, pl.Int8))
        .when(status == "1")
        .then(pl.lit(0, pl.Int8))
        .otherwise(pl.lit(None, pl.Int8))
        .alias("death"),
    )


def derive_flags(lf: pl.LazyFrame, spec: Any) -> pl.LazyFrame:
    """The study's Boolean flags (`[cohort.flags]`): null when a field they read is unknown."""
    from regsurv.cohort.spec import iter_fields

    cohort = _cohort_spec(spec)
    compiler = ConditionCompiler(cohort.definitions, cohort.options, get_dictionary())
    lf = as_lazy(lf)
    for flag, condition in cohort.flags.items():
        fields = list(dict.fromkeys(iter_fields(condition, cohort.definitions)))
        _require(lf, fields, f"flag {flag}")
    return lf.with_columns(compiler.compile(c).alias(flag) for flag, c in cohort.flags.items())


def derive_start_days(lf: pl.LazyFrame, spec: Any) -> pl.LazyFrame:
    """`FLAG_start_days` of `[cohort.start_days]` (Float64): the field's days from diagnosis
    where the flag is true, else null (a day recorded for an untreated patient is ignored).
    Blank, 8888 and 9999 (the dictionary's sentinels) are null; a negative day is kept as it
    is, so that the time-varying analyses count it (they leave such patients out)."""
    cohort = _cohort_spec(spec)
    lf = as_lazy(lf)
    dictionary = get_dictionary()
    columns = []
    for flag, name in cohort.start_days.items():
        _require(lf, [name], f"cohort.start_days.{flag}")
        info = dictionary.field(name)
        days = info.column()
        days = pl.when(days.is_in(info.sentinel_values())).then(None).otherwise(days)
        treated = pl.col(flag).fill_null(False)
        start = pl.when(treated).then(days.cast(pl.Float64)).otherwise(pl.lit(None, pl.Float64))
        columns.append(start.alias(start_days_column(flag)))
    return lf.with_columns(columns) if columns else lf


def derive_groups(lf: pl.LazyFrame, spec: Any) -> pl.LazyFrame:
    """The study's exposure groups (`[cohort.groups]`) from its flag columns."""
    cohort = _cohort_spec(spec)
    return as_lazy(lf).with_columns(group_expr(n, g, pl.col) for n, g in cohort.groups.items())


def derive_age_year(lf: pl.LazyFrame) -> pl.LazyFrame:
    """`age` (999 -> null) and `year_of_diagnosis`."""
    lf = as_lazy(lf)
    _require(lf, ["AGE", "YEAR_OF_DIAGNOSIS"], "age and year")
    dictionary = get_dictionary()
    return lf.with_columns(
        dictionary.field("AGE").usable().cast(pl.Int64).alias("age"),
        dictionary.field("YEAR_OF_DIAGNOSIS").usable().cast(pl.Int64).alias("year_of_diagnosis"),
    )


def derive_bands(lf: pl.LazyFrame, spec: Any) -> pl.LazyFrame:
    """The study's bands (`[cohort.bands]`): the first level whose condition holds, else null."""
    from regsurv.cohort.spec import iter_fields

    cohort = _cohort_spec(spec)
    compiler = ConditionCompiler(cohort.definitions, cohort.options, get_dictionary())
    lf = as_lazy(lf)
    columns = []
    for name, band in cohort.bands.items():
        value = None
        for level in band.levels:
            _require(lf, list(iter_fields(level.where, cohort.definitions)), f"band {name}")
            cond = compiler.compile(level.where)
            value = (pl if value is None else value).when(cond).then(pl.lit(level.label))
        enum = pl.Enum(list(band.labels))
        columns.append(value.otherwise(pl.lit(None, pl.String)).cast(enum).alias(name))
    return lf.with_columns(columns) if columns else lf


def derive_recodes(lf: pl.LazyFrame, spec: Any) -> pl.LazyFrame:
    """The table-driven recodes (`regsurv/cohort/data/*.toml`), TNM categories, clinical node
    positivity (cN >= 1) and `distance_miles` (CROWFLY)."""
    cohort = _cohort_spec(spec)
    lf = as_lazy(lf)
    columns = set(lf.collect_schema().names())
    recodes = [get_recode(name, cohort.options) for name in RECODE_NAMES]
    for recode in recodes:
        _require(lf, [recode.source(columns)], recode.name)
    for name, (field, _) in TNM_COLUMNS.items():
        _require(lf, [field], name)
    _require(lf, ["CROWFLY"], "distance_miles")
    clinical_n = tnm_expr("TNM_CLIN_N", "N", "_cn").cast(pl.String).cast(pl.Int64)
    return lf.with_columns(
        *(rc.expr(columns) for rc in recodes),
        *(tnm_expr(field, axis, name) for name, (field, axis) in TNM_COLUMNS.items()),
        (clinical_n >= 1).alias("nodes_clinically_positive"),
        get_dictionary().field("CROWFLY").usable().cast(pl.Float64).alias("distance_miles"),
    )


def derive_analysis_variables(lf: pl.LazyFrame | pl.DataFrame, spec: Any) -> pl.LazyFrame:
    """Exactly the analysis columns (`analysis_columns(spec)`) for every row of `lf`, lazily."""
    lf = as_lazy(lf)
    _require(lf, ["PUF_CASE_ID"], "the analysis variables")
    lf = derive_survival(lf)
    lf = derive_flags(lf, spec)
    lf = derive_start_days(lf, spec)
    lf = derive_groups(lf, spec)
    lf = derive_age_year(lf)
    lf = derive_bands(lf, spec)
    lf = derive_recodes(lf, spec)
    return lf.select(analysis_columns(spec))
