"""regsurv.survival."""

from regsurv.survival.km import SurvivalCurve, SurvivalCurves, kaplan_meier
from regsurv.survival.logrank import (
    LogrankResult,
    PairwiseLogrankResult,
    logrank_test,
    pairwise_logrank_test,
)
from regsurv.survival.cox import CoxResult, CoxTestTable, cox_ph  # noqa: E402

__all__ = [
    "LogrankResult",
    "PairwiseLogrankResult",
    "SurvivalCurve",
    "SurvivalCurves",
    "kaplan_meier",
    "logrank_test",
    "pairwise_logrank_test",
]
