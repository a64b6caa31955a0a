"""Analysis variables of the cohort (docs/contracts.md, cohort section), derived lazily.

Treatment flags follow the paper: SP = definitive surgery of the primary; M = surgery of other
regional or distant sites (RX_SUMM_SURG_OTH_REGDIS 1-5); C = chemotherapy given (RX_SUMM_CHEMO
01-03); R = radiation to a soft-tissue volume with a dose above 45 Gy (the options of
`[cohort.options]` set the volume, threshold and dose rule). A flag is null when its fields are
blank or invalid, and so are the treatment groups built from it.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from regsurv.cohort._conditions import ConditionCompiler
from regsurv.cohort._dictionary import get_dictionary
from regsurv.cohort.criteria import as_lazy
from regsurv.cohort.recodes import RECODE_NAMES, get_recode, tnm_expr
from regsurv.cohort.spec import CohortSpec

TREATMENT8 = ("SP", "SP+C", "SP+R", "SP+C+R", "SP+M", "SP+M+C", "SP+M+R", "SP+M+C+R")
TREATMENT = ("SP alone", "Metastasectomy", "Non-surgical adjuvant therapies")
AGE_GROUPS = ("<=55", ">55")
YEAR_GROUPS = ("2004-2006", "2007-2009", "2010-2014")
TNM_COLUMNS = {
    "clinical_t": ("TNM_CLIN_T", "T"),
    "clinical_n": ("TNM_CLIN_N", "N"),
    "clinical_m": ("TNM_CLIN_M", "M"),
    "pathologic_t": ("TNM_PATH_T", "T"),
    "pathologic_n": ("TNM_PATH_N", "N"),
    "pathologic_m": ("TNM_PATH_M", "M"),
}
ANALYSIS_COLUMNS = (
    "PUF_CASE_ID",
    "os_months",
    "os_years",
    "death",
    "SP",
    "M",
    "R",
    "C",
    "treatment8",
    "treatment",
    "age",
    "age_group",
    "year_of_diagnosis",
    "year_group",
    "sex",
    "race",
    "insurance",
    "charlson_deyo",
    "facility_type",
    "facility_location",
    "histology",
    "grade",
    "tumor_size",
    "margins",
    "lymph_nodes_examined",
    "nodes_clinically_positive",
    "nodes_pathologically_positive",
    "lvi",
    *TNM_COLUMNS,
    "income_quartile",
    "education_quartile",
    "urban_rural",
    "distance_miles",
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


def derive_treatment_flags(lf: pl.LazyFrame, spec: Any) -> pl.LazyFrame:
    """Boolean SP, M, C from `[cohort.definitions]` and R from the radiation options."""
    cohort = _cohort_spec(spec)
    compiler = ConditionCompiler(cohort.definitions, cohort.options, get_dictionary())
    names = {
        "SP": "definitive_surgery",
        "M": "metastasectomy",
        "R": "radiation_qualifies",
        "C": "chemotherapy",
    }
    from regsurv.cohort.spec import UseRef, iter_fields

    lf = as_lazy(lf)
    for flag, definition in names.items():
        fields = list(dict.fromkeys(iter_fields(UseRef(use=definition), cohort.definitions)))
        _require(lf, fields, f"treatment flag {flag}")
    return lf.with_columns(compiler.use(d).alias(flag) for flag, d in names.items())


def derive_treatment_groups(lf: pl.LazyFrame) -> pl.LazyFrame:
    """`treatment8` (the 8 combinations of SP with M, C, R) and `treatment` (3 groups):
    SP alone; Metastasectomy = SP with M (any C, R); Non-surgical adjuvant = SP with C and/or R,
    no M. Rows without SP, or with an unknown flag, get null."""
    sp, m, c, r = (pl.col(n) for n in ("SP", "M", "C", "R"))
    known = sp & m.is_not_null() & c.is_not_null() & r.is_not_null()
    label = (
        pl.lit("SP")
        + pl.when(m).then(pl.lit("+M")).otherwise(pl.lit(""))
        + pl.when(c).then(pl.lit("+C")).otherwise(pl.lit(""))
        + pl.when(r).then(pl.lit("+R")).otherwise(pl.lit(""))
    )
    group = (
        pl.when(m)
        .then(pl.lit(TREATMENT[1]))
        .when(c | r)
        .then(pl.lit(TREATMENT[2]))
        .otherwise(pl.lit(TREATMENT[0]))
    )
    return as_lazy(lf).with_columns(
        pl.when(known).then(label).cast(pl.Enum(list(TREATMENT8))).alias("treatment8"),
        pl.when(known).then(group).cast(pl.Enum(list(TREATMENT))).alias("treatment"),
    )


def derive_age_year(lf: pl.LazyFrame) -> pl.LazyFrame:
    """`age` (999 -> null), `age_group` (<=55, >55), `year_of_diagnosis` and `year_group`."""
    lf = as_lazy(lf)
    _require(lf, ["AGE", "YEAR_OF_DIAGNOSIS"], "age and year")
    dictionary = get_dictionary()
    age = dictionary.field("AGE").usable().cast(pl.Int64)
    year = dictionary.field("YEAR_OF_DIAGNOSIS").usable().cast(pl.Int64)
    return lf.with_columns(
        age.alias("age"),
        pl.when(age <= 55)
        .then(pl.lit(AGE_GROUPS[0]))
        .when(age > 55)
        .then(pl.lit(AGE_GROUPS[1]))
        .cast(pl.Enum(list(AGE_GROUPS)))
        .alias("age_group"),
        year.alias("year_of_diagnosis"),
        pl.when(year.is_between(2004, 2006))
        .then(pl.lit(YEAR_GROUPS[0]))
        .when(year.is_between(2007, 2009))
        .then(pl.lit(YEAR_GROUPS[1]))
        .when(year.is_between(2010, 2014))
        .then(pl.lit(YEAR_GROUPS[2]))
        .cast(pl.Enum(list(YEAR_GROUPS)))
        .alias("year_group"),
    )


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
    """Exactly the analysis columns (`ANALYSIS_COLUMNS`) for every row of `lf`, lazily."""
    lf = as_lazy(lf)
    _require(lf, ["PUF_CASE_ID"], "the analysis variables")
    lf = derive_survival(lf)
    lf = derive_treatment_flags(lf, spec)
    lf = derive_treatment_groups(lf)
    lf = derive_age_year(lf)
    lf = derive_recodes(lf, spec)
    return lf.select(ANALYSIS_COLUMNS)
