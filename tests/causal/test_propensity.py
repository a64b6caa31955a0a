"""PropensityModel: exact multinomial MLE against R, by hand, invariances and bad input."""

from __future__ import annotations

import json
import warnings
from dataclasses import replace
from fractions import Fraction as F  # noqa: N817 - house style §5

import numpy as np
import polars as pl
import pytest

from causal._iptw_data import PS_COVARIATES, sim3arm
from regsurv.causal.propensity import PropensityModel, PropensityWarning
from regsurv.testing import assert_close, load_reference

REF = load_reference("sim3arm_a__propensity")
NEWTON = REF["newton_mle"]
# R model-matrix names -> ours ("column:level"; numeric 0/1 columns keep their name)
R_TERMS = {
    "insuranceuninsured": "insurance:uninsured",
    "insurancegovernment": "insurance:government",
    "sexMale": "sex:Male",
    "raceBlack": "race:Black",
    "raceOther": "race:Other",
    "cdcc": "cdcc",
    "gradeWell": "grade:Well",
    "gradeModerate": "grade:Moderate",
    "gradePoor": "grade:Poor",
    "yeargrp2007-2009": "yeargrp:2007-2009",
    "yeargrp2010-2013": "yeargrp:2010-2013",
    "agegrp>55": "agegrp:>55",
    "nodes_examined": "nodes_examined",
}


@pytest.fixture(scope="module")
def model() -> PropensityModel:
    return PropensityModel(PS_COVARIATES).fit(sim3arm(), treatment="arm")


def test_design_matches_r_model_matrix(model):
    r_columns = NEWTON["coefficients"]["colnames"][1:]
    assert list(model.feature_names_) == [R_TERMS[c] for c in r_columns]
    assert list(model.classes_) == ["SP alone", "Metastasectomy", "Non-surgical adjuvant"]
    assert NEWTON["coefficients"]["rownames"] == list(model.classes_[1:])


def test_coefficients_match_exact_r_mle(model):
    expected = np.array(NEWTON["coefficients"]["values"])
    assert_close(model.intercept_, expected[:, 0], tier="software")
    assert_close(model.coef_, expected[:, 1:], tier="software")
    expected_se = np.array(NEWTON["standard_errors"]["values"])
    assert_close(model.intercept_std_error_, expected_se[:, 0], tier="software")
    assert_close(model.std_error_, expected_se[:, 1:], tier="software")
    assert_close(model.loglik_, NEWTON["loglik"], tier="software")
    assert model.converged_ and model.n_iter_ < 20
    assert model.warnings_ == ()


def test_probabilities_match_r_per_row(model):
    rows = REF["per_row"]
    proba = model.predict_proba(sim3arm())
    assert proba.shape == (1124, 3)
    assert_close(proba[:, 0], rows["ps_SP_alone"], tier="software")
    assert_close(proba[:, 1], rows["ps_Metastasectomy"], tier="software")
    assert_close(proba[:, 2], rows["ps_Non_surgical_adjuvant"], tier="software")


def test_closer_to_the_mle_than_nnet_default(model):
    # nnet::multinom's BFGS stops early; the exact fit must beat it by orders of magnitude.
    default = np.array(REF["multinom_default"]["coefficients"]["values"])
    ours = np.column_stack((model.intercept_, model.coef_))
    exact = np.array(NEWTON["coefficients"]["values"])
    assert np.max(np.abs(ours - exact)) < 1e-3 * np.max(np.abs(default - exact))


def test_saturated_model_by_hand():
    # One binary covariate: the fitted probabilities are the cell proportions.
    # x=0: groups a,b,c = 2,1,1 -> 1/2, 1/4, 1/4;  x=1: 1,1,3 -> 1/5, 1/5, 3/5.
    frame = pl.DataFrame(
        {
            "g": ["b", "a", "c", "a", "a", "b", "c", "c", "c"],
            "x": [0, 0, 0, 0, 1, 1, 1, 1, 1],
        }
    )
    model = PropensityModel(["x"]).fit(frame, treatment="g")
    proba = model.predict_proba(pl.DataFrame({"x": [0, 1]}))
    assert_close(proba, [[F(1, 2), F(1, 4), F(1, 4)], [F(1, 5), F(1, 5), F(3, 5)]], tier="exact")
    # log odds of b vs a at x=0 is log(1/2); the x effect is log((1/1)/(1/2)) = log 2
    assert_close(model.intercept_, [np.log(1 / 2), np.log(1 / 2)], tier="exact")
    assert_close(model.coef_[:, 0], [np.log(2), np.log(6)], tier="exact")


def test_reference_level_changes_coefficients_not_probabilities(model):
    alt = PropensityModel(PS_COVARIATES, reference={"grade": "Poor"}).fit(
        sim3arm(), treatment="arm"
    )
    assert "grade:Not determined" in list(alt.feature_names_)
    assert_close(alt.predict_proba(sim3arm()), model.predict_proba(sim3arm()), tier="invariance")
    poor = list(model.feature_names_).index("grade:Poor")
    nd = list(alt.feature_names_).index("grade:Not determined")
    assert_close(alt.coef_[:, nd], -model.coef_[:, poor], tier="invariance")


def test_row_order_and_pandas_input_do_not_matter(model):
    data = sim3arm()
    perm = np.random.default_rng(7).permutation(data.height)
    shuffled = PropensityModel(PS_COVARIATES).fit(data[perm], treatment="arm")
    assert_close(shuffled.coef_, model.coef_, tier="invariance")
    # pandas input: Categorical columns keep their declared order (R's factor levels)
    from_pandas = PropensityModel(PS_COVARIATES).fit(data.to_pandas(), treatment="arm")
    assert list(from_pandas.classes_) == list(model.classes_)
    assert_close(from_pandas.coef_, model.coef_, tier="invariance")
    assert_close(from_pandas.predict_proba(data.to_pandas()), model.predict_proba(data),
                 tier="invariance")  # fmt: skip
    # string columns: levels sorted, as R's factor() of a character vector
    as_strings = data.with_columns(pl.col(pl.Enum).cast(pl.String))
    from_strings = PropensityModel(PS_COVARIATES).fit(as_strings.to_pandas(), treatment="arm")
    assert list(from_strings.classes_) == sorted(model.classes_)
    reordered = from_strings.predict_proba(as_strings)[:, [2, 0, 1]]  # sorted -> R level order
    assert_close(reordered, model.predict_proba(data), tier="invariance")


def test_summary_frame(model):
    frame = model.summary()
    assert frame.columns == [
        "group", "term", "estimate", "std_error", "statistic", "p_value", "conf_low", "conf_high",
    ]  # fmt: skip
    assert frame.height == 2 * 14
    assert_close(frame["estimate"].to_numpy(), np.ravel(NEWTON["coefficients"]["values"]))
    assert "converged=True" in repr(model)
    info = json.loads(json.dumps(model.to_dict()))
    assert info["classes"] == list(model.classes_) and info["converged"] is True
    assert_close(info["loglik"], NEWTON["loglik"], tier="software")


def test_empty_cell_warns_naming_the_level():
    frame = pl.DataFrame(
        {
            "g": ["a"] * 6 + ["b"] * 6,
            "grade": pl.Series(["x", "y", "z", "x", "y", "z", "x", "y", "x", "y", "x", "y"]).cast(
                pl.Enum(["x", "y", "z"])
            ),
        }
    )
    with pytest.warns(PropensityWarning) as record:
        model = PropensityModel(["grade"]).fit(frame, treatment="g")
    assert "group 'b' has no rows with 'grade:z'" in str(record[0].message)
    assert any("did not converge" in m for m in model.warnings_)
    assert not model.converged_ or abs(model.coef_[0, 1]) > 10


def test_unused_enum_level_is_reported_and_not_estimated():
    levels = pl.Enum(["lo", "mid", "hi"])
    frame = pl.DataFrame(
        {"g": ["a", "b", "a", "b", "a", "b"], "z": ["lo", "hi", "hi", "lo", "lo", "hi"]}
    ).with_columns(pl.col("z").cast(levels))
    with pytest.warns(PropensityWarning, match="'z:mid' is constant"):
        model = PropensityModel(["z"]).fit(frame, treatment="g")
    assert np.isnan(model.coef_[0, 0]) and np.isfinite(model.coef_[0, 1])
    # lo rows: b in 1 of 3; hi rows: b in 2 of 3
    expected = [F(1, 3), F(2, 3), F(2, 3), F(1, 3), F(1, 3), F(2, 3)]
    assert_close(model.predict_proba(frame)[:, 1], expected, tier="exact")


def test_missing_covariate_is_a_one_line_error():
    frame = pl.DataFrame({"g": ["a", "b", "a"], "x": [1.0, None, 2.0]})
    with pytest.raises(ValueError, match=r"column 'x' has 1 missing values in 3 rows"):
        PropensityModel(["x"]).fit(frame, treatment="g")
    with pytest.raises(ValueError, match="column 'nope' not found"):
        PropensityModel(["nope"]).fit(frame, treatment="g")


def test_unseen_level_in_predict_and_unfitted_model():
    frame = pl.DataFrame({"g": ["a", "b", "a", "b"], "s": ["u", "v", "v", "u"]})
    with pytest.raises(ValueError, match="not fitted"):
        PropensityModel(["s"]).predict_proba(frame)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = PropensityModel(["s"]).fit(frame, treatment="g")
    with pytest.raises(ValueError, match=r"covariate 's' has level 'w' \(1 rows\) not seen in fit"):
        model.predict_proba(pl.DataFrame({"s": ["w", "u"]}))


def test_distinct_pairs_with_counts_give_the_row_by_row_fit(monkeypatch) -> None:
    """Categorical covariates: the fit on distinct (pattern, group) pairs weighted by their
    counts is the row-by-row MLE (coefficients, SEs, log-likelihood), checked against the
    kernel on every row; and the kernel's frequency weights equal repeated rows."""
    from regsurv.causal import _multinom

    rng = np.random.default_rng(3)
    n = 6_000
    frame = pl.DataFrame(
        {
            "arm": rng.choice(["a", "b", "c"], n, p=[0.5, 0.3, 0.2]),
            "sex": rng.choice(["f", "m"], n),
            "stage": rng.choice(["I", "II", "III", "IV"], n),
            "grade": rng.choice(["1", "2", "3"], n),
        }
    )
    covariates = ["sex", "stage", "grade"]
    grouped = PropensityModel(covariates).fit(frame, treatment="arm")
    assert (
        PropensityModel._distinct_rows(
            grouped.design_matrix(frame), grouped.terms_, np.zeros(n, dtype=np.int64), 3
        )
        is not None
    )
    monkeypatch.setattr(PropensityModel, "_distinct_rows", staticmethod(lambda *args: None))
    rows = PropensityModel(covariates).fit(frame, treatment="arm")
    assert_close(grouped.coef_, rows.coef_, tier="exact")
    assert_close(grouped.intercept_, rows.intercept_, tier="exact")
    assert_close(grouped.std_error_, rows.std_error_, tier="exact")
    assert_close(grouped.loglik_, rows.loglik_, tier="exact")

    X = np.column_stack([np.ones(60), rng.normal(size=(60, 2))])
    codes = rng.integers(0, 3, 60)
    times = rng.integers(1, 4, 60)
    weighted = _multinom.fit_multinomial(X, codes, 3, weight=times.astype(float))
    repeated = _multinom.fit_multinomial(np.repeat(X, times, axis=0), np.repeat(codes, times), 3)
    assert_close(weighted.coef, repeated.coef, tier="exact")
    assert_close(weighted.information, repeated.information, tier="exact")
    assert_close(weighted.loglik, repeated.loglik, tier="exact")


def test_a_numerically_singular_information_gives_nan_errors_and_says_so(monkeypatch) -> None:
    """An inverse with negative variances (a near-singular information) is not square-rooted
    into a numpy RuntimeWarning: those SEs are NaN and a PropensityWarning says why."""
    from regsurv.causal import propensity

    real = propensity.fit_multinomial

    def indefinite(*args, **kwargs):
        fit = real(*args, **kwargs)
        return replace(fit, information=-np.eye(fit.information.shape[0]))

    monkeypatch.setattr(propensity, "fit_multinomial", indefinite)
    frame = sim3arm()
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        with pytest.warns(PropensityWarning, match="numerically singular"):
            model = PropensityModel(PS_COVARIATES).fit(frame, treatment="arm")
    assert np.isnan(model.std_error_).all() and np.isfinite(model.coef_).all()
