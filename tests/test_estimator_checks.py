"""Shared estimator checks (as scikit-learn's `check_estimator`): every estimator and result-
returning function passes the same suite.

Checks, each over every case of `CASES`:

* row order: shuffling the input rows gives the same result (to the `invariance` tier);
* pandas: a pandas frame (Categorical columns for Enums) gives the result of the polars frame;
* idempotent: a second call (a second `fit`) gives the identical result;
* immutable inputs: the input frame and arrays are unchanged afterwards;
* JSON: ``to_dict()`` is strict JSON (no NaN/Inf tokens), ``json.dumps`` is stable and a round
  trip through ``json.loads`` gives it back;
* repr: one line.

Results are compared through ``to_dict()`` (the JSON-safe content), with the per-row outputs of
weights and matchings put back in the original row order first.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl
import pytest

from regsurv.causal import (
    PropensityModel,
    balance_table,
    iptw_weights,
    match_nearest,
    match_triplets,
    matched_balance,
)
from regsurv.cohort import build_cohort
from regsurv.describe import summary_table, trend_test
from regsurv.pipeline.spec import load_study
from regsurv.survival import cox_ph, kaplan_meier, logrank_test, pairwise_logrank_test
from regsurv.synth import synthetic_cohort_puf
from regsurv.testing import assert_close

COVARIATES = ["age_group", "sex", "race", "grade", "year_group"]


def _cohort() -> pl.DataFrame:
    lf, _flow = build_cohort(synthetic_cohort_puf(600, seed=11).lazy(), load_study().cohort)
    columns = ["PUF_CASE_ID", "os_years", "death", "treatment", "M", "age", *COVARIATES]
    cohort = lf.collect().select(columns).drop_nulls()
    # a continuous covariate with distinct values, so that propensity scores do not tie
    rng = np.random.default_rng(5)
    return cohort.with_columns(score=pl.Series(rng.normal(size=cohort.height)))


COHORT = _cohort()
TWO_GROUPS = COHORT.filter(pl.col("treatment") != "Non-surgical adjuvant therapies").with_columns(
    pl.col("treatment").cast(pl.String).cast(pl.Enum(["SP alone", "Metastasectomy"]))
)


def _ps(frame: Any, covariates: list[str]) -> tuple[np.ndarray, Any, tuple[str, ...]]:
    model = PropensityModel(covariates).fit(frame, treatment="treatment")
    return model.predict_proba(frame), frame["treatment"], tuple(model.classes_)


def _weights(frame: Any) -> Any:
    ps, treatment, classes = _ps(frame, [*COVARIATES, "score"])
    return iptw_weights(ps, treatment, classes=classes)


def _nearest(frame: Any) -> Any:
    ps, treatment, classes = _ps(frame, [*COVARIATES, "score"])
    return match_nearest(ps, treatment, classes=classes, caliper=0.2, order="largest")


def _triplets(frame: Any) -> Any:
    ps, treatment, classes = _ps(frame, [*COVARIATES, "score"])
    return match_triplets(ps, treatment, classes=classes, caliper=0.2, order="data")


def _matched_balance(frame: Any) -> Any:
    return matched_balance(frame, _nearest(frame), treatment="treatment", covariates=COVARIATES)


@dataclass(frozen=True)
class Case:
    name: str
    data: pl.DataFrame
    call: Callable[[Any], Any]
    per_row: tuple[str, ...] = ()  # to_dict() keys holding one value per input row
    row_order_free: bool = True  # False: the method visits rows in data order by design


CASES = [
    Case(
        "kaplan_meier",
        COHORT,
        lambda d: kaplan_meier(d, time="os_years", event="death", group="treatment"),
    ),
    Case(
        "kaplan_meier_weighted",
        COHORT.with_columns(w=pl.col("age") / 50),
        lambda d: kaplan_meier(d, time="os_years", event="death", group="treatment", weights="w"),
    ),
    Case(
        "logrank_test",
        COHORT,
        lambda d: logrank_test(d, time="os_years", event="death", group="treatment"),
    ),
    Case(
        "pairwise_logrank_test",
        COHORT,
        lambda d: pairwise_logrank_test(
            d, time="os_years", event="death", group="treatment", adjust="BH"
        ),
    ),
    Case(
        "cox_ph",
        COHORT,
        lambda d: cox_ph(
            d,
            time="os_years",
            event="death",
            covariates=["treatment", "age_group", "sex", "age"],
            ties="breslow",
        ),
    ),
    Case(
        "cox_ph_robust_strata",
        COHORT,
        lambda d: cox_ph(
            d, time="os_years", event="death", covariates=["treatment"], strata="sex", robust=True
        ),
    ),
    Case(
        "PropensityModel",
        COHORT,
        lambda d: PropensityModel(COVARIATES).fit(d, treatment="treatment"),
    ),
    Case("iptw_weights", COHORT, _weights, per_row=("weights",)),
    Case(
        "balance_table",
        COHORT,
        lambda d: balance_table(
            d, treatment="treatment", covariates=COVARIATES, weights=_weights(d)
        ),
    ),
    Case(
        "summary_table",
        COHORT,
        lambda d: summary_table(
            d, group="treatment", variables=[*COVARIATES, "age"], categorical_test="chisq"
        ),
    ),
    Case(
        "trend_test",
        COHORT,
        lambda d: trend_test(
            d, variable="year_group", outcome="treatment", positive="Metastasectomy"
        ),
    ),
    Case("match_nearest", TWO_GROUPS, _nearest, per_row=("matched_set", "weights")),
    Case("matched_balance", TWO_GROUPS, _matched_balance),
    Case("match_triplets", COHORT, _triplets, row_order_free=False),
]
IDS = [c.name for c in CASES]


def _content(result: Any, case: Case, order: np.ndarray | None = None) -> Any:
    """``to_dict()`` of the result, with per-row entries put back in the original row order."""
    content = result.to_dict()
    if order is not None:
        inverse = np.argsort(order)
        for key in case.per_row:
            content[key] = _per_row(result, key)[inverse].tolist()
    if "matched_set" in content:
        content["matched_set"] = _relabel_sets(content["matched_set"])
    return content


def _per_row(result: Any, key: str) -> np.ndarray:
    values = {"weights": "values"}.get(key, key) if hasattr(result, "values") else key
    return np.asarray(getattr(result, values))


def _relabel_sets(matched_set: list[int]) -> list[int]:
    """Matched-set ids are arbitrary labels: number them by first appearance (-1 = unmatched)."""
    ids: dict[int, int] = {}
    return [-1 if s < 0 else ids.setdefault(s, len(ids)) for s in matched_set]


def _assert_same(actual: Any, expected: Any, tier: str, where: str = "") -> None:
    if isinstance(expected, dict):
        assert isinstance(actual, dict) and set(actual) == set(expected), where
        for key in expected:
            _assert_same(actual[key], expected[key], tier, f"{where}.{key}")
    elif isinstance(expected, list | tuple):
        assert isinstance(actual, list | tuple) and len(actual) == len(expected), where
        if expected and all(_is_number(v) for v in [*expected, *actual]):
            assert_close(actual, expected, tier=tier, err_msg=where)
        else:
            for i, (a, e) in enumerate(zip(actual, expected, strict=True)):
                _assert_same(a, e, tier, f"{where}[{i}]")
    elif _is_number(expected) and _is_number(actual):
        assert_close(actual, expected, tier=tier, err_msg=where)
    else:
        assert actual == expected, where


def _is_number(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, str):
        return value in ("NaN", "Inf", "-Inf")
    return value is None or isinstance(value, int | float)


def _with_per_row(result: Any, case: Case) -> Any:
    content = result.to_dict()
    for key in case.per_row:
        content[key] = _per_row(result, key).tolist()
    if "matched_set" in content:
        content["matched_set"] = _relabel_sets(content["matched_set"])
    return content


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_row_order_does_not_matter(case: Case) -> None:
    if not case.row_order_free:
        pytest.skip(f"{case.name} visits patients in row order by design (order='data')")
    expected = _with_per_row(case.call(case.data), case)
    order = np.random.default_rng(1).permutation(case.data.height)
    shuffled = case.call(case.data[order])
    _assert_same(_content(shuffled, case, order), expected, "invariance", case.name)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_pandas_input_gives_the_polars_result(case: Case) -> None:
    pytest.importorskip("pandas")
    expected = _with_per_row(case.call(case.data), case)
    frame = case.data.to_pandas()
    _assert_same(_with_per_row(case.call(frame), case), expected, "exact", case.name)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_second_call_is_identical(case: Case) -> None:
    first, second = (json.dumps(case.call(case.data).to_dict(), sort_keys=True) for _ in range(2))
    assert first == second


def test_fit_twice_is_idempotent() -> None:
    model = PropensityModel(COVARIATES)
    first = model.fit(COHORT, treatment="treatment").to_dict()
    assert model.fit(COHORT, treatment="treatment") is model
    assert json.dumps(model.to_dict(), sort_keys=True) == json.dumps(first, sort_keys=True)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_inputs_are_not_touched(case: Case) -> None:
    pytest.importorskip("pandas")
    frame = case.data.to_pandas()
    before = frame.copy(deep=True)
    case.call(frame)
    assert frame.equals(before) and list(frame.dtypes) == list(before.dtypes)
    polars_before = case.data.clone()
    case.call(case.data)
    assert case.data.equals(polars_before)


def test_array_inputs_are_not_touched() -> None:
    ps, treatment, classes = _ps(COHORT, COVARIATES)
    ps_before, treatment_before = ps.copy(), treatment.clone()
    iptw_weights(ps, treatment, classes=classes, trim=0.05)
    match_triplets(ps, treatment, classes=classes)
    np.testing.assert_array_equal(ps, ps_before)
    assert treatment.equals(treatment_before)


def _strict_json(value: Any) -> None:
    if isinstance(value, float):
        assert math.isfinite(value), "NaN/Inf must be null or a string in to_dict()"
    elif isinstance(value, dict):
        assert all(isinstance(k, str) for k in value)
        for v in value.values():
            _strict_json(v)
    elif isinstance(value, list):
        for v in value:
            _strict_json(v)
    else:
        assert value is None or isinstance(value, str | int | bool), type(value)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_to_dict_is_strict_json_and_round_trips(case: Case) -> None:
    content = case.call(case.data).to_dict()
    _strict_json(content)
    text = json.dumps(content, sort_keys=True, allow_nan=False)
    assert json.loads(text) == content
    assert json.dumps(json.loads(text), sort_keys=True, allow_nan=False) == text


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_repr_is_one_line(case: Case) -> None:
    text = repr(case.call(case.data))
    assert "\n" not in text and len(text) <= 200, text
