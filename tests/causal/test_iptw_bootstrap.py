"""bootstrap_iptw_cox: replicates refit the PS model and weights; deterministic per random_state."""

from __future__ import annotations

import numpy as np
import pytest

from causal._iptw_data import PS_COVARIATES, sim3arm
from regsurv.causal.bootstrap import bootstrap_iptw_cox
from regsurv.causal.propensity import PropensityModel
from regsurv.causal.weights import iptw_weights
from regsurv.survival.cox import cox_ph
from regsurv.testing import assert_close, load_reference

COX = load_reference("sim3arm_a__iptw_survival")["analyses"]["iptw_cox__efron"]["result"]
ARGS = {
    "time": "os_months",
    "event": "vital_status",
    "treatment": "arm",
    "covariates": PS_COVARIATES,
}


@pytest.fixture(scope="module")
def boot():
    return bootstrap_iptw_cox(sim3arm(), n_boot=12, random_state=2022, n_jobs=1, **ARGS)


def test_full_sample_estimate_is_the_r_iptw_cox(boot):
    assert boot.terms == ("arm:Metastasectomy", "arm:Non-surgical adjuvant")
    assert_close(boot.estimate, COX["coefficients"]["coef"], tier="optimizer")


def test_replicate_refits_propensity_model_and_weights(boot):
    # replicate 0 by hand: same spawned stream, same resampled rows, PS model refitted
    data = sim3arm()
    seed = np.random.SeedSequence(2022).spawn(12)[0]
    sample = data[np.random.default_rng(seed).integers(0, data.height, data.height)]
    ps = PropensityModel(PS_COVARIATES).fit(sample, treatment="arm").predict_proba(sample)
    w = iptw_weights(ps, sample["arm"])
    cox = cox_ph(
        sample.with_columns(w=w.values), time="os_months", event="vital_status",
        covariates=["arm"], weights="w",
    )  # fmt: skip
    assert_close(boot.replicates[0], cox.estimate, tier="invariance")


def test_percentile_interval_and_summary(boot):
    assert boot.replicates.shape == (12, 2) and boot.n_failed == 0
    low, high = np.quantile(boot.replicates, [0.025, 0.975], axis=0)
    assert_close(boot.conf_low, low, tier="exact")
    assert_close(boot.conf_high, high, tier="exact")
    assert_close(boot.std_error, boot.replicates.std(axis=0, ddof=1), tier="exact")
    assert np.all(boot.conf_low < boot.estimate) and np.all(boot.estimate < boot.conf_high)
    frame = boot.to_frame()
    assert frame.columns[:5] == ["term", "estimate", "std_error", "conf_low", "conf_high"]
    assert boot.to_dict()["n_boot"] == 12
    assert repr(boot).startswith("BootstrapResult(n_boot=12")


@pytest.mark.slow
def test_same_random_state_same_result_any_n_jobs(boot):
    again = bootstrap_iptw_cox(sim3arm(), n_boot=12, random_state=2022, n_jobs=2, **ARGS)
    assert_close(again.replicates, boot.replicates, tier="exact")
    other = bootstrap_iptw_cox(sim3arm(), n_boot=12, random_state=7, n_jobs=1, **ARGS)
    assert not np.allclose(other.replicates, boot.replicates)


def test_bad_n_boot():
    with pytest.raises(ValueError, match="n_boot must be at least 2"):
        bootstrap_iptw_cox(sim3arm(), n_boot=1, **ARGS)
