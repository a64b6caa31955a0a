"""Jupyter display: every public result and table object has ``_repr_html_`` (one mixin)."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import numpy as np
import polars as pl
import pytest

import regsurv
from regsurv._display import HtmlDisplay
from regsurv.causal import (
    PropensityModel,
    balance_table,
    evalue,
    iptw_weights,
    match_nearest,
)
from regsurv.cohort.criteria import Criterion, apply_criteria
from regsurv.describe import summary_table
from regsurv.survival import cox_ph, kaplan_meier, logrank_test, pairwise_logrank_test
from regsurv.survival.rmst import rmst

RNG = np.random.default_rng(11)
N = 120
DATA = pl.DataFrame(
    {
        "time": RNG.exponential(2.0, N),
        "event": RNG.integers(0, 2, N),
        "arm": RNG.choice(["a", "b", "c"], N),
        "treated": RNG.integers(0, 2, N).astype(bool),
        "x": RNG.normal(size=N),
        "sex": RNG.choice(["F", "M"], N),
    }
)


def _public_result_classes() -> list[type]:
    """Classes of regsurv modules with a public ``to_frame`` (plus the fitted-model estimator)."""
    found: dict[str, type] = {}
    for info in pkgutil.walk_packages(regsurv.__path__, "regsurv."):
        if any(part.startswith("_") for part in info.name.split(".")[1:]):
            continue
        if info.name.startswith(("regsurv.cli", "regsurv.testing")):
            continue
        module = importlib.import_module(info.name)
        for name, cls in inspect.getmembers(module, inspect.isclass):
            if name.startswith("_") or not cls.__module__.startswith("regsurv"):
                continue
            if callable(getattr(cls, "to_frame", None)):
                found[f"{cls.__module__}.{name}"] = cls
    found["regsurv.causal.propensity.PropensityModel"] = PropensityModel
    return [found[k] for k in sorted(found)]


CLASSES = _public_result_classes()


def test_the_scan_finds_the_result_classes() -> None:
    names = {cls.__name__ for cls in CLASSES}
    expected = {
        "SurvivalCurve", "SurvivalCurves", "CoxResult", "CoxTestTable", "LogrankResult",
        "PairwiseLogrankResult", "RMSTResult", "PropensityModel", "BalanceTable", "Weights",
        "Matching", "EValues", "SummaryTable", "CohortFlow", "PooledResult", "BootstrapResult",
    }  # fmt: skip
    assert expected <= names, expected - names


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_every_public_result_class_has_an_html_display(cls: type) -> None:
    assert callable(getattr(cls, "_repr_html_", None)), cls.__name__
    if cls.__module__ != "regsurv.report.document":  # report.Table renders its formatted table
        assert issubclass(cls, HtmlDisplay), cls.__name__


def _objects() -> dict[str, object]:
    km = kaplan_meier(DATA, time="time", event="event", group="arm")
    fit = cox_ph(DATA, time="time", event="event", covariates=["arm", "x"])
    model = PropensityModel(["x", "sex"]).fit(DATA, treatment="treated")
    ps = model.predict_proba(DATA)
    hr = fit.to_frame()
    _, flow = apply_criteria(DATA, [Criterion("positive", "x above -1", pl.col("x") > -1, ("x",))])
    return {
        "SurvivalCurves": km,
        "SurvivalCurve": km["a"],
        "CoxResult": fit,
        "CoxTestTable": fit.type3(),
        "LogrankResult": logrank_test(DATA, time="time", event="event", group="arm"),
        "PairwiseLogrankResult": pairwise_logrank_test(
            DATA, time="time", event="event", group="arm", adjust="BH"
        ),
        "RMSTResult": rmst(DATA, time="time", event="event", group="treated", tau=2.0),
        "PropensityModel": model,
        "BalanceTable": balance_table(DATA, treatment="treated", covariates=["x", "sex"]),
        "Weights": iptw_weights(ps, DATA["treated"], classes=model.classes_),
        "Matching": match_nearest(ps, DATA["treated"], caliper=None),
        "EValues": evalue(
            hr["hr"].to_numpy(),
            hr["hr_conf_low"].to_numpy(),
            hr["hr_conf_high"].to_numpy(),
            terms=hr["term"].to_list(),
            outcome="rare",
        ),
        "SummaryTable": summary_table(DATA, group="treated", variables=["x", "sex"]),
        "CohortFlow": flow,
    }


OBJECTS = _objects()


@pytest.mark.parametrize("name", sorted(OBJECTS))
def test_results_render_their_repr_over_their_table(name: str) -> None:
    obj = OBJECTS[name]
    page = obj._repr_html_()
    assert type(obj).__name__ == name
    assert page.startswith('<div class="regsurv-result">') and "<table" in page
    caption = repr(obj).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    assert caption.replace("'", "&#x27;") in page
    summary = getattr(obj, "summary", None)
    frame = summary() if callable(summary) else obj.to_frame()
    if isinstance(frame, pl.DataFrame) and frame.height:
        assert frame.columns[0] in page  # the frame shown is summary(), else to_frame()


def test_an_unfitted_model_shows_its_caption_only() -> None:
    page = PropensityModel(["x"])._repr_html_()
    assert "PropensityModel(covariates=" in page and "<table" not in page
