"""Parameter recovery: a Cox model on a large synthetic cohort recovers Table 3's log HRs."""

from __future__ import annotations

import numpy as np
import pytest

from regsurv.survival import cox_ph
from regsurv.synth import build_synthetic_cohort, synthetic_cohort_puf, true_parameters
from regsurv.synth.check import COX_COVARIATES


@pytest.mark.slow
def test_cox_recovers_the_true_log_hazard_ratios_within_3_se():
    truth = true_parameters()
    cohort, _ = build_synthetic_cohort(synthetic_cohort_puf(20_000, seed=2024))
    fit = cox_ph(
        cohort,
        time="os_years",
        event="death",
        covariates=list(COX_COVARIATES),
        reference=truth.reference,
    )
    assert fit.n_dropped > 0  # complete cases: facility blank under 40, unknown size / margins
    estimate = dict(zip(fit.terms, fit.estimate, strict=True))
    se = dict(zip(fit.terms, fit.std_error, strict=True))
    z = np.array([(estimate[t] - b) / se[t] for t, b in truth.log_hazard_ratios().items()])
    # 21 terms at 3 SE: a correct generator fails with probability about 21 * 0.0027 = 6 %
    # per seed; seed 2024 is one run of it, kept fixed so the test is deterministic.
    assert np.all(np.abs(z) <= 3), dict(zip(truth.terms, np.round(z, 2), strict=True))
    assert max(se.values()) < 0.15  # large enough to be a real test of recovery
