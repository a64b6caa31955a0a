"""The generator's true parameters, for tests that check what a method recovers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from regsurv._display import HtmlDisplay
from regsurv.cohort import reference_levels
from regsurv.synth._generate import model
from regsurv.synth._parameters import GROUPS, class_counts, load_parameters
from regsurv.synth._study import exposure_references
from regsurv.synth._survival import cumulative_hazard


@dataclass(frozen=True, slots=True, eq=False)
class TrueParameters(HtmlDisplay):
    """The survival model and population sizes of the synthetic PUF.

    Hazard h(t | x) = h0(t) exp(sum_k beta_k x_k) with t in years, h0 piecewise constant
    (`baseline_hazard[k]` per year on [knots[k], knots[k+1]), the last rate beyond), and beta =
    `estimate` (log hazard ratios of Table 3, terms named as `regsurv.survival.cox_ph` names them,
    against the `reference` levels). `class_counts` / `group_sizes` are exact at `rows`.
    """

    terms: tuple[str, ...]
    estimate: np.ndarray
    reference: dict[str, str]
    knots: np.ndarray
    baseline_hazard: np.ndarray
    rows: int
    class_counts: dict[str, int]
    group_sizes: dict[str, int]
    treatment_mix: dict[str, dict[str, float]]
    method: str = "piecewise-exponential proportional hazards, administrative censoring"

    @property
    def hazard_ratio(self) -> np.ndarray:
        return np.exp(self.estimate)

    def log_hazard_ratios(self) -> dict[str, float]:
        return dict(zip(self.terms, self.estimate.tolist(), strict=True))

    def baseline_survival(self, times: np.ndarray | float) -> np.ndarray:
        """S0(t) = exp(-H0(t)) for the reference patient."""
        return np.exp(-cumulative_hazard(np.atleast_1d(times), self.knots, self.baseline_hazard))

    def to_frame(self) -> pl.DataFrame:
        """One row per term: term, estimate (log HR), hazard_ratio."""
        return pl.DataFrame(
            {
                "term": list(self.terms),
                "estimate": self.estimate,
                "hazard_ratio": self.hazard_ratio,
            }
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "rows": self.rows,
            "terms": list(self.terms),
            "estimate": self.estimate.tolist(),
            "hazard_ratio": self.hazard_ratio.tolist(),
            "reference": dict(self.reference),
            "knots": self.knots.tolist(),
            "baseline_hazard": self.baseline_hazard.tolist(),
            "class_counts": dict(self.class_counts),
            "group_sizes": dict(self.group_sizes),
            "treatment_mix": {g: dict(m) for g, m in self.treatment_mix.items()},
        }

    def __repr__(self) -> str:
        return (
            f"TrueParameters({len(self.terms)} log hazard ratios, "
            f"{self.baseline_hazard.size}-piece baseline, {self.rows:,} rows, "
            f"groups {tuple(self.group_sizes.values())})"
        )


# The hazard model's covariates; their reference levels are the study's and the recodes' own.
HAZARD_COVARIATES = (
    "treatment",
    "age_group",
    "sex",
    "charlson_deyo",
    "facility_type",
    "tumor_size",
    "grade",
    "histology",
    "margins",
)
REFERENCE = {name: (exposure_references() | reference_levels())[name] for name in HAZARD_COVARIATES}


def true_parameters(rows: int = 82_987) -> TrueParameters:
    """The true parameters of `synthetic_puf(rows, ...)` (any seed)."""
    m = model()
    params = load_parameters()
    counts = class_counts(rows)
    terms = tuple(m.log_hr)
    return TrueParameters(
        terms=terms,
        estimate=np.asarray([m.log_hr[t] for t in terms]),
        reference=dict(REFERENCE),
        knots=m.knots.copy(),
        baseline_hazard=m.rates.copy(),
        rows=rows,
        class_counts=counts,
        group_sizes={
            group: counts[name]
            for group, name in zip(
                GROUPS,
                ("cohort_sp_alone", "cohort_metastasectomy", "cohort_non_surgical_adjuvant"),
                strict=True,
            )
        },
        treatment_mix={g: dict(params["cohort"]["treatment"][g]) for g in GROUPS},
    )
