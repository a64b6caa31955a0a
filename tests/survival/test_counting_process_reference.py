"""Counting-process (start, stop] Cox and Kaplan–Meier against R (heart and simtv_a fixtures,
tests/reference/r/R/10_time_varying.R): Efron, Breslow, cluster(id), strata, the naive
(immortal-time-biased) fit, and survfit(Surv(start, stop, event) ~ group)."""

from __future__ import annotations

import pytest

from regsurv.survival import cox_ph, kaplan_meier
from survival._tv_data import (
    assert_cox_matches,
    heart,
    heart_analyses,
    simtv,
    simtv_split_reference,
    tv_analyses,
)
from survival.test_km_reference import assert_km_matches

HEART_COVARIATES = ["age", "year", "surgery", "transplant"]
HEART_FITS = {
    "cox__efron": {"covariates": HEART_COVARIATES},
    "cox__breslow": {"covariates": HEART_COVARIATES, "ties": "breslow"},
    "cox_cluster": {"covariates": HEART_COVARIATES, "cluster": "id"},
    "cox_strata": {"covariates": ["age", "year", "transplant"], "strata": "surgery"},
}


@pytest.mark.parametrize("key", list(HEART_FITS))
def test_heart_cox_matches_r(key: str) -> None:
    fit = cox_ph(heart(), start="start", stop="stop", event="event", **HEART_FITS[key])
    assert_cox_matches(fit, heart_analyses()[key]["fit"])


@pytest.mark.parametrize("key", ["km_transplant", "km_all_log"])
def test_heart_km_matches_r(key: str) -> None:
    analysis = heart_analyses()[key]
    group = "transplant" if key == "km_transplant" else None
    conf_type = "log-log" if "log-log" in analysis["call"] else "log"
    result = kaplan_meier(
        heart(), start="start", stop="stop", event="event", group=group, conf_type=conf_type
    )
    assert_km_matches(result, analysis)


TV_COVARIATES = ["tx", "age", "sex", "stage"]
TV_FITS = {
    "tv_cox__efron": {"ties": "efron"},
    "tv_cox__breslow": {"ties": "breslow"},
    "tv_cox_cluster__efron": {"ties": "efron", "cluster": "id"},
    "tv_cox_cluster__breslow": {"ties": "breslow", "cluster": "id"},
}


@pytest.mark.parametrize("key", list(TV_FITS))
def test_simtv_time_varying_cox_matches_r(key: str) -> None:
    fit = cox_ph(
        simtv_split_reference(), start="tstart", stop="tstop", event="death",
        covariates=TV_COVARIATES, **TV_FITS[key],
    )  # fmt: skip
    assert_cox_matches(fit, tv_analyses()[key]["fit"])


def test_simtv_id_gives_the_cluster_variance_of_r() -> None:
    """id= alone: robust only when an id has more than one event (coxph's rule), so here the
    fit is model-based; robust=True with id= clusters by id, as cluster = id."""
    split = simtv_split_reference()
    plain = cox_ph(split, start="tstart", stop="tstop", event="death", covariates=TV_COVARIATES,
                   id="id")  # fmt: skip
    assert not plain.robust
    assert_cox_matches(plain, tv_analyses()["tv_cox__efron"]["fit"])
    clustered = cox_ph(split, start="tstart", stop="tstop", event="death",
                       covariates=TV_COVARIATES, id="id", robust=True)  # fmt: skip
    assert_cox_matches(clustered, tv_analyses()["tv_cox_cluster__efron"]["fit"])


def test_simtv_stratified_cox_matches_r() -> None:
    fit = cox_ph(
        simtv_split_reference(), start="tstart", stop="tstop", event="death",
        covariates=["tx", "age", "sex"], strata="stage",
    )  # fmt: skip
    assert_cox_matches(fit, tv_analyses()["tv_cox_strata"]["fit"])


@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_simtv_naive_cox_matches_r(ties: str) -> None:
    fit = cox_ph(simtv(), time="months", event="status",
                 covariates=["ever_tx", "age", "sex", "stage"], ties=ties)  # fmt: skip
    assert_cox_matches(fit, tv_analyses()[f"naive_cox__{ties}"]["fit"])


def test_simtv_counting_process_km_matches_r() -> None:
    result = kaplan_meier(
        simtv_split_reference(), start="tstart", stop="tstop", event="death", group="tx"
    )
    assert_km_matches(result, tv_analyses()["tv_km"])
