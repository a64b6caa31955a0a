"""Matched analyses against R: balance (MatchIt summary SMDs), KM, log-rank, Cox clustered by pair.

R: ``md <- match.data(m)``; ``coxph(Surv(os_months, vital_status) ~ arm, md, robust = TRUE,
cluster = subclass)``; ``survfit(..., conf.type = "log-log")``; ``survdiff(...)`` (see
tests/reference/r/README.md, "Matching").
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from regsurv.causal.matching import match_nearest, matched_balance, matched_survival
from regsurv.causal.propensity import PropensityModel
from regsurv.testing import assert_close, load_reference, reference_data_path

SIM = load_reference("sim3arm_a__matchit")
ARMS = ["SP alone", "Metastasectomy", "Non-surgical adjuvant"]
COVARIATES = ["insurance", "sex", "race", "cdcc", "grade", "yeargrp", "agegrp", "nodes_examined"]
LEVELS = {  # R's SIM_LEVELS (first = reference)
    "insurance": ["private", "uninsured", "government"],
    "sex": ["Female", "Male"],
    "race": ["White", "Black", "Other"],
    "grade": ["Not determined", "Well", "Moderate", "Poor"],
    "yeargrp": ["2004-2006", "2007-2009", "2010-2013"],
    "agegrp": ["<=55", ">55"],
}
# pair key -> (control arm, treated arm); treated = the smaller arm, as in the R script
PAIRS = {
    "Metastasectomy_vs_SPalone": ("SP alone", "Metastasectomy"),
    "SPalone_vs_Nonsurgicaladjuvant": ("Non-surgical adjuvant", "SP alone"),
}


def _pair_data(key: str) -> tuple[pl.DataFrame, dict]:
    control, treated = PAIRS[key]
    ref = SIM["analyses"][key]["reference"]["result"]
    frame = pl.read_csv(reference_data_path("sim3arm_a")).filter(
        pl.col("arm").is_in([control, treated])
    )
    frame = frame.with_columns(
        pl.col("arm").cast(pl.Enum([control, treated])),
        *[pl.col(c).cast(pl.Enum(v)) for c, v in LEVELS.items()],
    )
    assert frame["id"].to_list() == ref["distance_per_row"]["id"]
    return frame, ref


def _match(key: str):
    frame, ref = _pair_data(key)
    dist = np.array(ref["distance_per_row"]["distance"])
    ps = 1.0 / (1.0 + np.exp(-dist))
    return frame, match_nearest(ps, frame["arm"], order="largest")


@pytest.mark.parametrize("key", sorted(PAIRS))
def test_matched_cox_with_pair_clusters_matches_r(key):
    frame, m = _match(key)
    res = matched_survival(
        frame, m, time="os_months", event="vital_status", treatment="arm", reference="SP alone"
    )
    cox = SIM["analyses"][key]["matched_cox_efron"]["result"]
    naive = SIM["analyses"][key]["matched_cox_efron_naive"]["result"]
    assert res.cox.n_obs == cox["n"] and res.cox.n_events == cox["nevent"]
    other = next(a for a in PAIRS[key] if a != "SP alone")  # R: arm levels as SIM_LEVELS
    assert res.cox.terms == (f"arm:{other}",)
    assert_close(res.cox.estimate, cox["coefficients"]["coef"], tier="optimizer")
    assert_close(res.cox.robust_std_error, cox["coefficients"]["robust_se"], tier="optimizer")
    assert_close(res.cox.std_error, naive["coefficients"]["se"], tier="optimizer")
    assert_close(res.cox.loglik, cox["loglik_final"], tier="optimizer")
    assert not res.weighted


@pytest.mark.parametrize("key", sorted(PAIRS))
def test_matched_km_and_logrank_match_r(key):
    frame, m = _match(key)
    res = matched_survival(
        frame, m, time="os_months", event="vital_status", treatment="arm", reference="SP alone"
    )
    lr = SIM["analyses"][key]["matched_logrank"]["result"]
    assert_close(res.logrank.statistic, lr["chisq"], tier="software")
    assert_close(res.logrank.observed, lr["observed"], tier="exact")
    km = SIM["analyses"][key]["matched_km_loglog"]["result"]["curves"]
    for arm in PAIRS[key]:
        table = km[f"arm={arm}"]["table"]
        curve = res.km[arm]
        assert_close(curve.time, table["time"], tier="exact")
        assert_close(curve.estimate, table["surv"], tier="software")
        assert_close(curve.std_error_log, table["std.err"], tier="software")
        assert_close(curve.conf_low, table["lower"], tier="software")


@pytest.mark.parametrize("key", sorted(PAIRS))
def test_matched_balance_matches_r_smd(key):
    frame, m = _match(key)
    bal = matched_balance(frame, m, treatment="arm", covariates=COVARIATES)
    ref = SIM["analyses"][key]["reference"]["result"]
    names = [
        f"{v}{lv if lv is not None else ''}" for v, lv in zip(bal.variable, bal.level, strict=True)
    ]
    for when, smd in (("before", bal.smd_before), ("after", bal.smd_after)):
        expected = ref[f"smd_extra_pooled_{when}"]
        rows = [names.index(v) for v in expected["variable"]]
        assert_close(smd[rows, 0], expected["smd_pooled_sd"], tier="software", err_msg=when)
    assert bal.rule == "max_pairwise"


def test_binary_propensity_model_gives_r_pairs():
    """End to end: our PS fit (PropensityModel with two classes) -> the same pairs as R."""
    key = "Metastasectomy_vs_SPalone"
    frame, ref = _pair_data(key)
    model = PropensityModel(COVARIATES).fit(frame, treatment="arm")
    assert list(model.classes_) == list(PAIRS[key])
    ps = model.predict_proba(frame)
    r_ps = 1.0 / (1.0 + np.exp(-np.array(ref["distance_per_row"]["distance"])))
    # PS scale: R's glm stops at a relative deviance change of 1e-8, so a logit near 0 is only
    # absolutely (3e-9), not relatively, close to the exact MLE.
    assert_close(ps[:, 1], r_ps, tier="optimizer")
    m = match_nearest(ps, frame["arm"], order="largest")
    ids = frame["id"].cast(pl.String).to_numpy()
    got = {ids[t]: ids[c] for t, c in m.sets}
    expected = {
        t: c
        for t, c in zip(ref["pairs"]["treated_id"], ref["pairs"]["control_id"], strict=True)
        if c is not None
    }
    assert got == expected


def test_matched_survival_rejects_other_data():
    frame, m = _match("Metastasectomy_vs_SPalone")
    flipped = frame.with_columns(pl.col("arm").shift(1).fill_null("SP alone"))
    with pytest.raises(ValueError, match="column 'arm' differs from the matching's groups in"):
        matched_survival(flipped, m, time="os_months", event="vital_status", treatment="arm")
    with pytest.raises(ValueError, match="data has 10 rows but the matching was built on 516"):
        matched_survival(frame.head(10), m, time="os_months", event="vital_status", treatment="arm")
