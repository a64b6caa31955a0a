"""CoxResult residuals, baseline hazard, predictions and predicted / direct-adjusted survival
curves against R (lung__cox_predict.json, sim3arm_a__rmst.json; R/11_rmst_residuals.R)."""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest

from regsurv.survival import cox_ph
from regsurv.testing import assert_close, load_reference, reference_data_path
from survival.test_cox_reference import _dataset

FITS = {
    "age_sex_ecog__efron": {"covariates": ["age", "sex", "ph.ecog"]},
    "age_sex_ecog__breslow": {"covariates": ["age", "sex", "ph.ecog"], "ties": "breslow"},
    "weighted_robust": {"covariates": ["age", "sex", "ph.ecog"], "weights": "w_frac",
                        "robust": True},
    "strata_sex": {"covariates": ["age", "ph.ecog"], "strata": "sex"},
}  # fmt: skip


def _lung_cc() -> pl.DataFrame:
    lung = pl.read_csv(reference_data_path("lung"), null_values="NA")
    return lung.with_columns(
        (pl.col("status") == 2).cast(pl.Int8).alias("status"),  # Surv(): 2 = dead
        (0.5 + (pl.col("rowid") % 5) / 4).alias("w_frac"),
    ).filter(pl.col("ph.ecog").is_not_null())


def _analyses() -> dict:
    return load_reference("lung__cox_predict")["analyses"]


def _fit(key: str):
    return cox_ph(_lung_cc(), time="time", event="status", **FITS[key])


def _matrix(value) -> np.ndarray:
    values = np.array(value["values"] if isinstance(value, dict) else value, dtype=float)
    return values[:, None] if values.ndim == 1 else values


@pytest.mark.parametrize("key", list(FITS))
@pytest.mark.parametrize(
    "kind", ["martingale", "deviance", "score", "dfbeta", "dfbetas", "schoenfeld", "scaledsch"]
)
def test_residuals_match_r(key: str, kind: str) -> None:
    fit = _fit(key)
    expected = _analyses()[key]["residuals"]["result"]
    ours = fit.residuals(kind)
    if kind == "schoenfeld":
        assert_close(ours["time"], expected[kind]["event_time"], tier="exact")
        reference = _matrix(expected[kind]["values"])
    else:
        reference = _matrix(expected[kind])
    ours = ours.drop("time") if "time" in ours.columns else ours
    if kind in ("score", "dfbeta", "dfbetas", "schoenfeld", "scaledsch"):
        assert ours.columns == list(fit.terms)
    # values at the fitted β, which coxph reaches only to its convergence tolerance (README)
    assert_close(ours.to_numpy(), reference, tier="optimizer", err_msg=kind)


@pytest.mark.parametrize("key", ["age_sex_ecog__efron", "age_sex_ecog__breslow"])
def test_basehaz_and_predict_match_r(key: str) -> None:
    fit = _fit(key)
    expected = _analyses()[key]["predict"]["result"]
    assert_close(fit.means, [expected["means"][t] for t in fit.terms], tier="exact")
    for centered, name in ((False, "basehaz_uncentered"), (True, "basehaz_centered")):
        table = fit.baseline_hazard(centered=centered)
        assert_close(table["time"], expected[name]["time"], tier="exact")
        assert_close(table["hazard"], expected[name]["hazard"], tier="optimizer", err_msg=name)
    assert_close(fit.predict("lp"), expected["lp_sample"], tier="optimizer")
    assert_close(fit.predict("lp", reference="zero"), expected["lp_zero"], tier="optimizer")
    assert_close(fit.predict("risk"), expected["risk_sample"], tier="optimizer")
    assert_close(fit.predict("expected"), expected["expected"], tier="optimizer")
    new = _lung_cc().head(5)
    assert_close(fit.predict("lp", newdata=new), fit.predict("lp")[:5], tier="invariance")
    for conf_type in ("log", "log-log"):
        block = expected["survfit_newdata_" + conf_type.replace("-", "")]
        curves = fit.predict_survival(pl.DataFrame(block["newdata"]), conf_type=conf_type)
        assert_close(curves.time, block["time"], tier="exact")
        for ours, theirs in [("estimate", "surv"), ("std_error_log", "std_err"),
                             ("conf_low", "lower"), ("conf_high", "upper"),
                             ("cumhaz", "cumhaz")]:  # fmt: skip
            assert_close(getattr(curves, ours), _matrix(block[theirs]), tier="optimizer",
                         err_msg=f"{conf_type} {ours}")  # fmt: skip
        frame = curves.to_frame()
        assert frame.height == curves.time.size * 2
        json.dumps(curves.to_dict())


def test_stratified_basehaz_matches_r() -> None:
    fit = _fit("strata_sex")
    expected = _analyses()["strata_sex"]["basehaz"]["result"]
    table = fit.baseline_hazard(centered=False)
    assert_close(table["time"], expected["time"], tier="exact")
    assert_close(table["hazard"], expected["hazard"], tier="optimizer")
    assert table["strata"].to_list() == expected["strata"]
    with pytest.raises(ValueError, match="not implemented for a stratified Cox model"):
        fit.predict_survival(_lung_cc().head(2))


def test_direct_adjusted_curves_match_r() -> None:
    d = _dataset("sim3arm_a__rmst", "d")
    expected = load_reference("sim3arm_a__rmst")["analyses"]["adjusted_curves_gformula"]
    assert "arm + age + sex + insurance + grade + yeargrp" in expected["call"]
    fit = cox_ph(d, time="os_months", event="vital_status",
                 covariates=["arm", "age", "sex", "insurance", "grade", "yeargrp"])  # fmt: skip
    adjusted = fit.adjusted_survival("arm")
    assert list(adjusted.groups) == list(expected["result"])
    for k, group in enumerate(adjusted.groups):
        assert_close(adjusted.time, expected["result"][group]["time"], tier="exact")
        assert_close(adjusted.estimate[:, k], expected["result"][group]["surv"],
                     tier="optimizer", err_msg=group)  # fmt: skip
    assert adjusted.to_frame().height == adjusted.time.size * 3
    json.dumps(adjusted.to_dict())


def test_bad_arguments_are_one_line_errors() -> None:
    fit = _fit("age_sex_ecog__efron")
    with pytest.raises(ValueError, match="type must be one of"):
        fit.residuals("pearson")
    with pytest.raises(ValueError, match="type must be 'lp', 'risk' or 'expected'"):
        fit.predict("survival")
    with pytest.raises(ValueError, match="is not a covariate of the model"):
        fit.adjusted_survival("arm")
