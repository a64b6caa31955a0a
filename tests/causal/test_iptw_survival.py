"""iptw_survival against R (sim3arm_a__iptw_survival.json): weighted KM, IPTW Cox, svylogrank."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from causal._iptw_data import PS_COVARIATES, sim3arm
from regsurv.causal.propensity import PropensityModel
from regsurv.causal.weighted import iptw_survival
from regsurv.causal.weights import iptw_weights
from regsurv.testing import assert_close, load_reference

REF = load_reference("sim3arm_a__iptw_survival")["analyses"]
PER_ROW = load_reference("sim3arm_a__propensity")["per_row"]
FINAL = np.array(PER_ROW["w_final_stabilized_normalized"])
UNSTAB = np.array(PER_ROW["w_iptw_normalized"])
ARMS = ("SP alone", "Metastasectomy", "Non-surgical adjuvant")
R_TERMS = ["armMetastasectomy", "armNon-surgical adjuvant"]


def _fit(weights=FINAL, **kwargs):
    return iptw_survival(
        sim3arm(), time="os_months", event="vital_status", treatment="arm", weights=weights,
        logrank=kwargs.pop("logrank", False), **kwargs,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("key", "conf_type"),
    [("wkm_by_arm__loglog__robust_default", "log-log"), ("wkm_by_arm__log__robust_default", "log")],
)
def test_weighted_km_matches_r(key, conf_type):
    result = _fit(conf_type=conf_type)
    assert result.classes == ARMS
    for arm in ARMS:
        table = REF[key]["result"]["curves"][f"arm={arm}"]["table"]
        curve = result.curves[arm]
        assert_close(curve.time, table["time"], tier="exact")
        assert_close(curve.n_risk, table["n.risk"], tier="software")
        assert_close(curve.n_event, table["n.event"], tier="software")
        assert_close(curve.estimate, table["surv"], tier="software")
        # R's robust std.err is the SE of S itself (README "Caution")
        assert_close(curve.std_error, table["std.err"], tier="software")
        assert_close(curve.conf_low, table["lower"], tier="software")
        assert_close(curve.conf_high, table["upper"], tier="software")


@pytest.mark.parametrize(
    ("key", "ties", "weights"),
    [
        ("iptw_cox__efron", "efron", FINAL),
        ("iptw_cox__breslow", "breslow", FINAL),
        ("iptw_cox_unstabilized__efron", "efron", UNSTAB),
    ],
)
def test_iptw_cox_matches_r(key, ties, weights):
    expected = REF[key]["result"]
    cox = _fit(weights=weights, ties=ties).cox
    assert list(cox.terms) == ["arm:Metastasectomy", "arm:Non-surgical adjuvant"]
    coefs = expected["coefficients"]
    assert coefs["term"] == R_TERMS
    assert_close(cox.estimate, coefs["coef"], tier="optimizer")
    assert_close(cox.std_error, coefs["se"], tier="optimizer")
    assert_close(cox.robust_std_error, coefs["robust_se"], tier="optimizer")
    assert_close(cox.var, expected["var"]["values"], tier="optimizer")
    assert_close(cox.loglik, expected["loglik_final"], tier="software")
    frame = cox.to_frame()
    assert_close(frame["hr_conf_low"].to_numpy(), coefs["lower95"], tier="optimizer")
    assert_close(frame["hr_conf_high"].to_numpy(), coefs["upper95"], tier="optimizer")
    assert cox.n_obs == expected["n"] and cox.n_events == expected["nevent"]


def test_iptw_cox_with_adjustment_covariates_matches_r():
    expected = REF["iptw_cox_plus_nonbalance_covariates__efron"]["result"]
    cox = _fit(adjust=["sizegrp", "histology", "margins"]).cox
    assert cox.n_obs == expected["n"] and cox.n_dropped == 1124 - expected["n"]
    assert_close(cox.estimate, expected["coefficients"]["coef"], tier="optimizer")
    assert_close(cox.robust_std_error, expected["coefficients"]["robust_se"], tier="optimizer")


def test_weighted_cox_zph_matches_r():
    expected = REF["iptw_cox__efron__zph_km"]["result"]["table"]
    zph = _fit().cox.zph("km")
    assert list(zph.terms) == expected["rownames"]
    assert_close(zph.statistic, [row[0] for row in expected["values"]], tier="optimizer")
    assert_close(zph.p_value, [row[2] for row in expected["values"]], tier="optimizer")


def test_svycoxph_se_is_robust_se_times_finite_sample_factor():
    sv = REF["svycoxph"]["result"]
    cox = _fit().cox
    n = cox.n_obs
    assert_close(cox.estimate, list(sv["coef"].values()), tier="optimizer")
    assert_close(cox.robust_std_error * np.sqrt(n / (n - 1)), list(sv["se"].values()),
                 tier="optimizer")  # fmt: skip


def test_weighted_logrank_matches_svylogrank():
    expected = REF["svylogrank"]["result"]
    test = _fit(logrank=True).logrank
    assert_close(test.statistic, expected["statistic"], tier="optimizer")
    assert int(test.df) == expected["df"]
    assert_close(test.p_value, expected["p"], tier="optimizer")
    assert test.weighted
    # svylogrank's per-group table has the non-reference groups (score, se, z, p)
    table = np.array(expected["per_group_score"]["values"])
    assert_close(test.score[1:], table[:, 0], tier="optimizer")
    assert_close(test.score_std_error[1:], table[:, 1], tier="optimizer")


def test_weights_object_column_and_scale_agree():
    data = sim3arm()
    ps = PropensityModel(PS_COVARIATES).fit(data, treatment="arm").predict_proba(data)
    w = iptw_weights(ps, data["arm"])
    from_object = _fit(weights=w)
    assert from_object.weights_method == "ATE, stabilized, normalized to n"
    from_column = iptw_survival(
        data.with_columns(w=pl.Series(FINAL)), time="os_months", event="vital_status",
        treatment="arm", weights="w", logrank=False,
    )  # fmt: skip
    scaled = _fit(weights=3.7 * FINAL)  # HR, robust SE and KM are invariant to the weight scale
    from_pandas = iptw_survival(
        data.to_pandas(), time="os_months", event="vital_status", treatment="arm",
        weights=FINAL, logrank=False,
    )  # fmt: skip
    assert from_pandas.classes == ARMS
    for other in (from_column, scaled, from_pandas):
        assert_close(other.cox.estimate, from_object.cox.estimate, tier="invariance")
        assert_close(other.cox.robust_std_error, from_object.cox.robust_std_error,
                     tier="invariance")  # fmt: skip
        assert_close(other.curves["Metastasectomy"].estimate,
                     from_object.curves["Metastasectomy"].estimate, tier="invariance")  # fmt: skip
    assert from_object.to_frame().height == 2
    assert "HR: Metastasectomy 0.478" in repr(from_object)
    assert from_object.to_dict()["cox"]["ties"] == "efron"


def test_bad_weights():
    with pytest.raises(ValueError, match=r"weights have shape \(3,\); expected \(1124,\)"):
        _fit(weights=np.ones(3))
    with pytest.raises(ValueError, match="weights column 'nope' not found"):
        _fit(weights="nope")
