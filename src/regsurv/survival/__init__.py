"""regsurv.survival."""

from regsurv.survival.cox import (
    AdjustedSurvival,
    CoxResult,
    CoxTestTable,
    PredictedSurvival,
    cox_ph,
)
from regsurv.survival.km import SurvivalCurve, SurvivalCurves, kaplan_meier
from regsurv.survival.logrank import (
    LogrankResult,
    PairwiseLogrankResult,
    logrank_test,
    pairwise_logrank_test,
)
from regsurv.survival.rmst import RMSTResult, rmst
from regsurv.survival.time_varying import (
    LandmarkData,
    TreatmentCounts,
    TreatmentSplit,
    landmark,
    split_at_treatment,
)

__all__ = [
    "AdjustedSurvival",
    "CoxResult",
    "CoxTestTable",
    "LandmarkData",
    "LogrankResult",
    "PairwiseLogrankResult",
    "PredictedSurvival",
    "RMSTResult",
    "SurvivalCurve",
    "SurvivalCurves",
    "TreatmentCounts",
    "TreatmentSplit",
    "cox_ph",
    "kaplan_meier",
    "landmark",
    "logrank_test",
    "pairwise_logrank_test",
    "rmst",
    "split_at_treatment",
]
