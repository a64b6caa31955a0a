"""cox_ph: hand calculation (Therneau's test data 1), invariances, pandas parity, bad input."""

from __future__ import annotations

import json
import math

import numpy as np
import polars as pl
import pytest
from scipy.optimize import brentq

from regsurv.survival import _cox
from regsurv.survival.cox import cox_ph
from regsurv.testing import assert_close, reference_data_path

# survival's tests/book1.R "test data 1", out of time order, with a missing status
BOOK1 = pl.DataFrame(
    {
        "time": [9, 3, 1, 1, 6, 6, 8],
        "status": [1, None, 1, 0, 1, 1, 0],
        "x": [0, 2, 1, 1, 1, 0, 0],
    }
)


def _book1_loglik(beta: float, ties: str) -> float:
    """Closed form: deaths at t=1 (x=1; risk 3r+3), t=6 (x=1 and x=0; risk r+3), t=9 (risk 1)."""
    r = math.exp(beta)
    tied = 2 * math.log(r + 3) if ties == "breslow" else math.log(r + 3) + math.log((r + 5) / 2)
    return 2 * beta - math.log(3 * r + 3) - tied


@pytest.mark.parametrize("ties", ["breslow", "efron"])
def test_book1_by_hand(ties: str) -> None:
    fit = cox_ph(BOOK1, time="time", event="status", covariates=["x"], ties=ties)
    assert fit.n_dropped == 1 and fit.n_obs == 6 and fit.n_events == 4
    assert_close(fit.loglik_null, _book1_loglik(0.0, ties), tier="exact")
    # score at β = 0 by hand: Breslow (6+3-1)/(2·4) = 1 (book1.R); Efron 1/2 + 1 − 1/4 − 1/6
    x = np.array([[0.0], [1], [1], [1], [0], [0]])
    data = _cox.prepare(
        np.array([9.0, 1, 1, 6, 6, 8]), np.array([1.0, 1, 0, 1, 1, 0]), x, np.ones(6),
        np.zeros(6, dtype=int), ties,
    )  # fmt: skip
    u0 = _cox.score(data, _cox.evaluate(data, np.zeros(1)))[0] / data.scale[0]
    assert_close(u0, 1.0 if ties == "breslow" else 13 / 12, tier="exact")
    if ties == "breslow":
        expected = math.log(1.5 + math.sqrt(33) / 2)  # book1.R: the true solution
    else:
        # Efron score by hand: 2 − 3r/(3r+3) − r/(r+3) − r/(r+5) = 0
        def efron_score(b: float) -> float:
            r = math.exp(b)
            return 2 - 3 * r / (3 * r + 3) - r / (r + 3) - r / (r + 5)

        expected = brentq(efron_score, 0, 3, xtol=1e-14)
    assert_close(fit.estimate[0], expected, tier="optimizer")
    assert_close(fit.loglik, _book1_loglik(expected, ties), tier="software")


@pytest.fixture(scope="module")
def lung() -> pl.DataFrame:
    frame = pl.read_csv(reference_data_path("lung"), null_values="NA")
    return frame.with_columns(
        (pl.col("status") == 2).cast(pl.Int8).alias("dead"),
        (1 + pl.col("rowid") % 3).alias("w_int"),
    )


def _same_fit(a, b, tier: str = "invariance") -> None:
    assert_close(a.estimate, b.estimate, tier=tier)
    assert_close(a.std_error, b.std_error, tier=tier)
    assert_close(a.loglik, b.loglik, tier=tier)
    assert_close(a.loglik_null, b.loglik_null, tier=tier)
    for key in a.tests:
        assert_close(a.tests[key]["statistic"], b.tests[key]["statistic"], tier=tier)


@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_row_order_does_not_matter(lung: pl.DataFrame, ties: str) -> None:
    args = dict(time="time", event="dead", covariates=["age", "sex", "ph.ecog"], ties=ties)
    fit = cox_ph(lung, **args, strata="inst", cluster="inst")
    shuffled = lung.sample(fraction=1.0, shuffle=True, seed=7)
    refit = cox_ph(shuffled, **args, strata="inst", cluster="inst")
    _same_fit(fit, refit)
    assert_close(fit.robust_std_error, refit.robust_std_error, tier="invariance")
    assert_close(
        fit.concordance["concordance"], refit.concordance["concordance"], tier="invariance"
    )


def test_rescaling_a_covariate_rescales_its_coefficient(lung: pl.DataFrame) -> None:
    fit = cox_ph(lung, time="time", event="dead", covariates=["age", "sex"])
    scaled = cox_ph(
        lung.with_columns(pl.col("age") / 10), time="time", event="dead", covariates=["age", "sex"]
    )
    assert_close(scaled.estimate, fit.estimate * np.array([10, 1]), tier="invariance")
    assert_close(scaled.std_error, fit.std_error * np.array([10, 1]), tier="invariance")
    assert_close(scaled.loglik, fit.loglik, tier="invariance")


def test_breslow_integer_weights_equal_replicated_rows(lung: pl.DataFrame) -> None:
    args = dict(time="time", event="dead", covariates=["age", "sex"], ties="breslow")
    weighted = cox_ph(lung, **args, weights="w_int")
    replicated = lung.select(pl.all().repeat_by(pl.col("w_int")).explode())
    expanded = cox_ph(replicated, **args)
    assert not weighted.robust  # integer weights: model-based variance, as coxph
    _same_fit(weighted, expanded)


def test_efron_integer_weights_differ_from_replicated_rows(lung: pl.DataFrame) -> None:
    args = dict(time="time", event="dead", covariates=["age", "sex"], ties="efron")
    weighted = cox_ph(lung, **args, weights="w_int")
    expanded = cox_ph(lung.select(pl.all().repeat_by(pl.col("w_int")).explode()), **args)
    assert np.abs(weighted.estimate - expanded.estimate).max() > 1e-4


def test_non_integer_weights_default_to_robust(lung: pl.DataFrame) -> None:
    frame = lung.with_columns((pl.col("w_int") * 0.7).alias("w"))
    fit = cox_ph(frame, time="time", event="dead", covariates=["age"], weights="w")
    assert fit.robust and np.isfinite(fit.robust_std_error).all()
    assert "robust_score" in fit.tests


def test_pandas_input_gives_the_same_result(lung: pl.DataFrame) -> None:
    args = dict(time="time", event="dead", covariates=["age", "sex", "ph.ecog"])
    fit = cox_ph(lung, **args)
    fit_pd = cox_ph(lung.to_pandas(), **args)
    _same_fit(fit, fit_pd, tier="exact")
    assert fit_pd.n_dropped == fit.n_dropped == 1


def test_factor_coding_reference_and_names() -> None:
    frame = pl.DataFrame(
        {
            "time": [1.0, 2, 3, 4, 5, 6, 7, 8, 9, 10],
            "event": [1, 1, 0, 1, 1, 1, 0, 1, 1, 0],
            "arm": ["b", "a", "c", "a", "b", "c", "a", "b", "c", "a"],
        }
    )
    fit = cox_ph(frame, time="time", event="event", covariates=["arm"])
    assert fit.terms == ("arm:b", "arm:c")
    relevelled = cox_ph(
        frame, time="time", event="event", covariates=["arm"], reference={"arm": "c"}
    )
    assert relevelled.terms == ("arm:a", "arm:b")
    # same model, different contrasts: b vs a = (b vs c) − (a vs c)
    assert_close(fit.estimate[0], relevelled.estimate[1] - relevelled.estimate[0], tier="optimizer")
    assert_close(fit.loglik, relevelled.loglik, tier="software")
    enum = frame.with_columns(pl.col("arm").cast(pl.Enum(["c", "b", "a"])))
    assert cox_ph(enum, time="time", event="event", covariates=["arm"]).terms == ("arm:b", "arm:a")
    assert list(fit.to_frame().columns) == [
        "term", "estimate", "std_error", "robust_std_error", "hr", "hr_conf_low",
        "hr_conf_high", "statistic", "p_value",
    ]  # fmt: skip
    assert fit.type3().terms == ("arm",) and fit.type3().df[0] == 2
    zph = fit.zph()
    assert zph.terms == ("arm", "GLOBAL") and zph.df.tolist() == [2, 2]
    for table in (fit.type3("lr"), zph):
        json.dumps(table.to_dict())
    json.dumps(fit.to_dict())
    assert "\n" not in repr(fit) and repr(fit).startswith("CoxResult(")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda f: f.with_columns(pl.lit(float("nan")).alias("w")), "weights column 'w'"),
        (lambda f: f.with_columns(pl.lit(-1.0).alias("w")), "weights column 'w'"),
        (lambda f: f.with_columns((pl.col("time") - 5).alias("time")), "time column 'time'"),
        (lambda f: f.with_columns(pl.lit(2).alias("event")), "event column 'event'"),
    ],
)
def test_bad_input_is_a_one_line_error(change, message: str) -> None:
    frame = pl.DataFrame(
        {"time": [1.0, 2, 3, 4], "event": [1, 0, 1, 1], "x": [0.1, 0.5, 0.2, 0.9], "w": [1.0] * 4}
    )
    with pytest.raises(ValueError, match=message) as info:
        cox_ph(change(frame), time="time", event="event", covariates=["x"], weights="w")
    assert "\n" not in str(info.value) and "of 4 rows" in str(info.value)


def test_missing_column_and_bad_options() -> None:
    frame = pl.DataFrame({"time": [1.0, 2], "event": [1, 0], "x": [0.1, 0.5]})
    with pytest.raises(ValueError, match="'nope'"):
        cox_ph(frame, time="time", event="event", covariates=["nope"])
    with pytest.raises(ValueError, match="exact"):
        cox_ph(frame, time="time", event="event", covariates=["x"], ties="exact")
    with pytest.raises(ValueError, match="reference level 'z'"):
        cox_ph(frame.with_columns(pl.lit("a").alias("g")), time="time", event="event",
               covariates=["g"], reference={"g": "z"})  # fmt: skip


def test_no_events_gives_nan_coefficients_and_a_warning() -> None:
    frame = pl.DataFrame({"time": [1.0, 2, 3], "event": [0, 0, 0], "x": [0.1, 0.5, 0.2]})
    fit = cox_ph(frame, time="time", event="event", covariates=["x"])
    assert np.isnan(fit.estimate).all() and fit.loglik == 0 and fit.iterations == 0
    assert any("no events" in w for w in fit.warnings)


@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_zero_weights_are_dropped_with_a_warning_and_equal_removing_the_rows(
    lung: pl.DataFrame, ties: str
) -> None:
    # matching-style weights: 0 for unmatched rows; as kaplan_meier, weight 0 is accepted
    frame = lung.with_columns(
        pl.when(pl.col("rowid") % 4 == 0).then(0.0).otherwise(pl.col("w_int") * 0.8).alias("w")
    )
    complete = frame.drop_nulls(["time", "dead", "age", "sex", "inst"])
    n_zero = int((complete["w"] == 0).sum())
    args = dict(time="time", event="dead", covariates=["age", "sex"], ties=ties, weights="w")
    with pytest.warns(UserWarning, match=rf"{n_zero} of .* rows with weight 0 dropped"):
        fit = cox_ph(frame, **args, cluster="inst")
    removed = cox_ph(frame.filter(pl.col("w") > 0), **args, cluster="inst")
    _same_fit(fit, removed, tier="exact")
    assert_close(fit.robust_std_error, removed.robust_std_error, tier="exact")
    assert fit.n_obs == removed.n_obs and fit.n_events == removed.n_events
    assert fit.robust and any(f"{n_zero} of" in w for w in fit.warnings)
    everyone = frame.with_columns(pl.lit(0.0).alias("w"))
    with pytest.raises(ValueError, match=r"all .* rows have weight 0"):
        cox_ph(everyone, **args)


@pytest.mark.parametrize("ties", ["efron", "breslow"])
@pytest.mark.parametrize("strata", [False, True])
def test_score_residual_moments_equal_the_residuals_sums(ties, strata):
    """The robust variance's Σ U and Σ U U' without the n x p residuals equal the sums of
    `score_residuals` (weights, tied times, strata)."""
    rng = np.random.default_rng(3)
    n, p = 2_000, 4
    x = rng.normal(size=(n, p))
    time = np.floor(rng.exponential(8, size=n))
    event = rng.integers(0, 2, n)
    weight = rng.uniform(0.5, 2.0, n)
    stratum = rng.integers(0, 3, n) if strata else np.zeros(n, dtype=int)
    data = _cox.prepare(time, event, x, weight, stratum, ties)
    state = _cox.evaluate(data, rng.normal(scale=0.2, size=p))
    resid = _cox.score_residuals(data, state)
    total, gram = _cox.score_residual_moments(data, state)
    np.testing.assert_allclose(total, resid.sum(axis=0), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(gram, resid.T @ resid, rtol=1e-12, atol=1e-10)
