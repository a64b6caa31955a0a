"""Multiple imputation and Rubin's rules: pooling against R mice::pool on the same 5 completed
sets (ref/sim3arm_a__mi.json, R/12_mi_evalue.R), invariants, and the imputation itself."""

from __future__ import annotations

from functools import cache

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from regsurv.causal import Imputations, mi_cox, mi_iptw_cox, multiple_imputation, pool_cox
from regsurv.causal.imputation import nelson_aalen_at_times
from regsurv.causal.rubin import rubin_pool
from regsurv.survival.cox import cox_ph
from regsurv.testing import assert_close, load_reference, reference_data_path

REF = load_reference("sim3arm_a__mi")
LEVELS = load_reference("sim3arm_a__propensity")["factor_levels_first_is_reference"]
COX_COVARIATES = ["arm", "age", "sex", "insurance", "grade", "sizegrp", "margins"]
PS_COVARIATES = ["insurance", "sex", "race", "cdcc", "grade", "yeargrp", "age"]
IMPUTED = [
    "arm",
    "insurance",
    "sex",
    "race",
    "cdcc",
    "grade",
    "yeargrp",
    "age",
    "sizegrp",
    "margins",
]
OUTCOME = {"time": "os_months", "event": "vital_status"}
POOLED_FIELDS = ["estimate", "ubar", "b", "t", "dfcom", "df", "riv", "lambda", "fmi"]
SUMMARY_FIELDS = {
    "std_error": "std.error",
    "statistic": "statistic",
    "p_value": "p.value",
    "conf_low": "2.5 %",
    "conf_high": "97.5 %",
    "df": "df",
}


def _read(name: str) -> pl.DataFrame:
    frame = pl.read_csv(reference_data_path(name), null_values="NA")
    return frame.with_columns(
        pl.col(k).cast(pl.Enum(v)) for k, v in LEVELS.items() if k in frame.columns
    )


@cache
def completed_sets() -> tuple[pl.DataFrame, ...]:
    return tuple(_read(f"sim3arm_a_mi_{k}") for k in range(1, REF["m"] + 1))


def _check_pooled(result, ref):
    pooled, summary = ref["pooled"], ref["summary"]
    assert len(result.terms) == len(pooled["term"])
    frame = result.to_frame()
    for field in POOLED_FIELDS:  # Cox fits from Newton-Raphson on both sides: optimizer tier
        assert_close(frame[field], pooled[field], tier="optimizer", err_msg=field)
    for field, r_name in SUMMARY_FIELDS.items():
        assert_close(frame[field], summary[r_name], tier="optimizer", err_msg=field)
    assert result.m == pooled["m"][0]


def test_pooled_cox_equals_mice_pool():
    result = mi_cox(completed_sets(), **OUTCOME, covariates=COX_COVARIATES, ties="breslow")
    _check_pooled(result, REF["cox_pooled"])
    assert result.dfcom == 800  # mice: nevent - p = 813 - 13
    for fit, ref in zip(result.per_set, REF["per_set"], strict=True):
        assert_close(fit.estimate, list(ref["coef"].values()), tier="optimizer")


def test_pooled_iptw_cox_equals_mice_pool():
    # PS model, stabilized weights normalized to n and the robust weighted Cox refitted per set;
    # R's multinom (reltol 1e-14) sits ~1e-8 from the exact MLE: b, a difference of nearly
    # equal estimates, agrees to ~2e-7 relative, inside the optimizer tier
    result = mi_iptw_cox(
        completed_sets(), **OUTCOME, treatment="arm", covariates=PS_COVARIATES, ties="breslow"
    )
    _check_pooled(result, REF["iptw_pooled"])
    assert result.dfcom == 811
    assert "IPTW Cox fits (ATE, stabilized, normalized to n)" in result.method
    assert all(fit.robust for fit in result.per_set)


def test_complete_case_beside_mi_drops_the_incomplete_rows():
    cc = cox_ph(
        _read("sim3arm_a_mi_incomplete"), **OUTCOME, covariates=COX_COVARIATES, ties="breslow"
    )
    ref = REF["complete_case"]
    assert cc.n_obs == ref["n"] and cc.n_dropped == 1124 - ref["n"]
    assert_close(cc.estimate, ref["coefficients"]["coef"], tier="optimizer")


@settings(max_examples=30, deadline=None)
@given(st.integers(2, 8), st.lists(st.floats(-3, 3), min_size=1, max_size=4), st.floats(10, 1e4))
def test_pooling_identical_sets_gives_the_single_set_answer(m, estimate, dfcom):
    q = np.array(estimate)
    u = np.full(q.size, 0.04)
    result = rubin_pool(np.tile(q, (m, 1)), np.tile(u, (m, 1)), dfcom=dfcom)
    assert_close(result.estimate, q, tier="exact")
    for between in (result.b, result.riv, result.lambda_):  # zero up to rounding of the mean
        assert_close(between, np.zeros(q.size), tier="exact")
    assert_close(result.t, u, tier="exact")
    assert_close(result.std_error, np.sqrt(u), tier="exact")


def test_pool_cox_of_one_fit_repeated_keeps_its_estimate_and_se():
    fit = cox_ph(completed_sets()[0], **OUTCOME, covariates=COX_COVARIATES, ties="breslow")
    pooled = pool_cox([fit, fit, fit])
    assert_close(pooled.estimate, fit.estimate, tier="exact")
    assert_close(pooled.std_error, fit.std_error, tier="exact")
    assert_close(pooled.b, np.zeros(len(fit.terms)), tier="exact")


def test_rubin_by_hand_without_dfcom():
    q = np.array([[1.0], [2.0], [3.0]])
    u = np.array([[0.5], [0.5], [0.5]])
    result = rubin_pool(q, u)  # dfcom = inf: df = (m - 1) / lambda^2
    b, t = 1.0, 0.5 + 4 / 3
    assert_close(result.b, b, tier="exact")
    assert_close(result.t, t, tier="exact")
    assert_close(result.df, 2 / ((4 / 3) / t) ** 2, tier="exact")


@pytest.mark.parametrize("m", [0, 1])
def test_fewer_than_two_sets_is_a_one_line_error(m):
    with pytest.raises(ValueError, match=f"at least 2 completed data sets, got m = {m}"):
        rubin_pool(np.zeros((m, 2)), np.ones((m, 2)))
    with pytest.raises(ValueError, match=f"m >= 2 completed data sets, got m = {m}"):
        multiple_imputation(_read("sim3arm_a_mi_incomplete"), columns=IMPUTED, **OUTCOME, m=m)
    with pytest.raises(ValueError, match=f"at least 2 completed data sets, got m = {m}"):
        mi_cox(completed_sets()[:m], **OUTCOME, covariates=["arm"])


def test_nelson_aalen_at_each_rows_time():
    data = pl.DataFrame({"t": [1.0, 1, 2, 3, 3, 4], "e": [1, 0, 1, 1, 0, 0]})
    assert_close(
        nelson_aalen_at_times(data, time="t", event="e"),
        [
            1 / 6,
            1 / 6,
            1 / 6 + 1 / 4,
            1 / 6 + 1 / 4 + 1 / 3,
            1 / 6 + 1 / 4 + 1 / 3,
            1 / 6 + 1 / 4 + 1 / 3,
        ],
        tier="exact",
    )


@pytest.fixture(scope="module")
def imputed() -> tuple[pl.DataFrame, Imputations]:
    data = _read("sim3arm_a_mi_incomplete")
    return data, multiple_imputation(
        data, columns=IMPUTED, **OUTCOME, m=2, max_iter=2, random_state=7
    )


@pytest.mark.slow
def test_imputation_fills_only_the_missing_values_with_valid_levels(imputed):
    data, imp = imputed
    assert imp.m == 2 and len(imp.completed) == 2
    assert imp.imputed == ("insurance", "grade", "margins")
    assert imp.n_missing == {c: data[c].null_count() for c in imp.imputed}
    for frame in imp.completed:
        assert frame.null_count().sum_horizontal().item() == 0
        assert frame.schema == data.schema  # Enum levels kept
        for column in imp.imputed:
            observed = data[column].is_not_null()
            assert frame[column].filter(observed).equals(data[column].filter(observed))
        assert frame.drop(imp.imputed).equals(data.drop(imp.imputed))
    assert not imp.completed[0].equals(imp.completed[1])  # independent chains
    assert imp.to_frame()["n_missing"].to_list() == list(imp.n_missing.values())
    assert imp.to_dict()["n_complete_rows"] == data.drop_nulls(subset=IMPUTED).height


@pytest.mark.slow
def test_imputation_is_reproducible_for_a_random_state(imputed):
    """The same sets again (with a progress callback: it does not change them)."""
    data, imp = imputed
    calls = []
    again = multiple_imputation(
        data, columns=IMPUTED, **OUTCOME, m=2, max_iter=2, random_state=7,
        on_progress=lambda done, total: calls.append((done, total)),
    )  # fmt: skip
    assert all(a.equals(b) for a, b in zip(imp.completed, again.completed, strict=True))
    assert calls == [(1, 2), (2, 2)]  # one call per finished chain, in order
    pooled = mi_cox(imp, **OUTCOME, covariates=COX_COVARIATES)
    assert pooled.m == 2 and np.all(np.isfinite(pooled.std_error))


def test_a_column_missing_in_every_row_is_a_one_line_error():
    data = _read("sim3arm_a_mi_incomplete").with_columns(grade=pl.lit(None, dtype=pl.String))
    with pytest.raises(ValueError, match=r"column 'grade' is missing in every row \(1124\)"):
        multiple_imputation(data, columns=IMPUTED, **OUTCOME)


def test_missing_outcome_or_an_incomplete_predictor_is_an_error():
    data = _read("sim3arm_a_mi_incomplete")
    gap = data.with_columns(
        pl.when(pl.col("id") == 1).then(None).otherwise(pl.col("os_months")).alias("os_months")
    )
    with pytest.raises(ValueError, match="column 'os_months' has 1 missing values"):
        multiple_imputation(gap, columns=IMPUTED, **OUTCOME)
    with pytest.raises(ValueError, match="predictor 'grade' has 87 missing values"):
        multiple_imputation(data, columns=["insurance"], predictors=["grade"], **OUTCOME)
