"""regsurv.cohort: the study as data (criteria, flow, treatment groups, analysis variables).

- `CohortSpec` (the `[cohort]` section of a study file), `compile_criteria`.
- `apply_criteria(lf, criteria) -> (LazyFrame, CohortFlow)`; `assign_exclusion`, `excluded_ids`.
- `derive_analysis_variables(lf, spec)` and its pieces `derive_survival`, `derive_flags`,
  `derive_start_days`, `derive_groups`, `derive_age_year`, `derive_bands`, `derive_recodes`;
  `analysis_columns`.
- `build_cohort(lf, spec)`: data-quality steps (`cohort.quality`), criteria, derivation;
  `cohort_criteria`, `study_fields`, `group_counts`; `reference_levels`; `get_recode`.
"""

from regsurv.cohort.build import build_cohort, cohort_criteria, group_counts
from regsurv.cohort.criteria import (
    EXCLUDED_AT,
    CohortFlow,
    Criterion,
    FlowStep,
    apply_criteria,
    assign_exclusion,
    compile_criteria,
    excluded_ids,
)
from regsurv.cohort.derive import (
    BUILTIN_COLUMNS,
    analysis_columns,
    derive_age_year,
    derive_analysis_variables,
    derive_bands,
    derive_flags,
    derive_groups,
    derive_recodes,
    derive_start_days,
    derive_survival,
)
from regsurv.cohort.quality import (
    DUPLICATE_STEP,
    INVALID_STEP,
    invalid_value_message,
    invalid_values,
    study_fields,
)
from regsurv.cohort.recodes import RECODE_NAMES, Recode, get_recode, reference_levels
from regsurv.cohort.spec import BandSpec, CohortOptions, CohortSpec, CriterionSpec, GroupSpec

__all__ = [
    "BUILTIN_COLUMNS",
    "DUPLICATE_STEP",
    "EXCLUDED_AT",
    "INVALID_STEP",
    "RECODE_NAMES",
    "BandSpec",
    "CohortFlow",
    "CohortOptions",
    "CohortSpec",
    "Criterion",
    "CriterionSpec",
    "FlowStep",
    "GroupSpec",
    "Recode",
    "analysis_columns",
    "apply_criteria",
    "assign_exclusion",
    "build_cohort",
    "cohort_criteria",
    "compile_criteria",
    "derive_age_year",
    "derive_analysis_variables",
    "derive_bands",
    "derive_flags",
    "derive_groups",
    "derive_recodes",
    "derive_start_days",
    "derive_survival",
    "excluded_ids",
    "get_recode",
    "group_counts",
    "invalid_value_message",
    "invalid_values",
    "reference_levels",
    "study_fields",
]
