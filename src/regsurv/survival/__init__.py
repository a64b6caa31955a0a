"""regsurv.survival."""

from regsurv.survival.cox import CoxResult, CoxTestTable, cox_ph
from regsurv.survival.km import SurvivalCurve, SurvivalCurves, kaplan_meier
from regsurv.survival.logrank import (
    LogrankResult,
    PairwiseLogrankResult,
    logrank_test,
    pairwise_logrank_test,
)
from regsurv.survival.rmst import RMSTResult, rmst

__all__ = [
    "CoxResult",
    "CoxTestTable",
    "LogrankResult",
    "PairwiseLogrankResult",
    "RMSTResult",
    "SurvivalCurve",
    "SurvivalCurves",
    "cox_ph",
    "kaplan_meier",
    "logrank_test",
    "pairwise_logrank_test",
    "rmst",
]
