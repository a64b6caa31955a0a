"""regsurv.survival."""

from regsurv.survival.km import SurvivalCurve, SurvivalCurves, kaplan_meier  # noqa: E402
from regsurv.survival.logrank import (  # noqa: E402
    LogrankResult,
    PairwiseLogrankResult,
    logrank_test,
    pairwise_logrank_test,
)
from regsurv.survival.cox import CoxResult, CoxTestTable, cox_ph  # noqa: E402
