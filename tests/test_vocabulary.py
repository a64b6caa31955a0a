"""One vocabulary across stages: a Boolean group is labelled "false"/"true" everywhere."""

from __future__ import annotations

import numpy as np
import polars as pl

from regsurv.causal import PropensityModel, balance_table, iptw_weights, match_nearest
from regsurv.survival import kaplan_meier, logrank_test, pairwise_logrank_test

RNG = np.random.default_rng(3)
DATA = pl.DataFrame(
    {
        "time": RNG.exponential(1.0, 80),
        "event": RNG.integers(0, 2, 80),
        "treated": RNG.integers(0, 2, 80).astype(bool),
        "x": RNG.normal(size=80),
    }
)
LABELS = ("false", "true")


def test_boolean_groups_have_the_same_labels_in_survival_and_causal() -> None:
    km = kaplan_meier(DATA, time="time", event="event", group="treated")
    assert tuple(km.curves) == LABELS
    assert km.median()["group"].to_list() == list(LABELS)
    assert logrank_test(DATA, time="time", event="event", group="treated").groups == LABELS
    pairwise = pairwise_logrank_test(DATA, time="time", event="event", group="treated")
    assert (pairwise.group1, pairwise.group2) == (("false",), ("true",))
    model = PropensityModel(["x"]).fit(DATA, treatment="treated")
    assert tuple(model.classes_) == LABELS
    ps = model.predict_proba(DATA)
    assert iptw_weights(ps, DATA["treated"]).classes == LABELS
    assert match_nearest(ps, DATA["treated"], caliper=None).classes == LABELS
    assert balance_table(DATA, treatment="treated", covariates=["x"]).classes == LABELS


def test_boolean_group_gives_the_curves_of_its_0_1_coding() -> None:
    as_int = DATA.with_columns(pl.col("treated").cast(pl.Int8))
    boolean = kaplan_meier(DATA, time="time", event="event", group="treated")
    integer = kaplan_meier(as_int, time="time", event="event", group="treated")
    for b, i in zip(boolean.curves.values(), integer.curves.values(), strict=True):
        np.testing.assert_array_equal(b.estimate, i.estimate)
    only_true = DATA.filter(pl.col("treated"))
    assert tuple(kaplan_meier(only_true, time="time", event="event", group="treated").curves) == (
        "true",
    )


def test_std_error_is_the_se_of_s_in_every_frame_and_std_error_log_of_minus_log_s() -> None:
    km = kaplan_meier(DATA, time="time", event="event", group="treated")
    curve = km["true"]
    frame = curve.to_frame()
    at = curve.at(curve.time[:5])
    for table in (frame, at, km.to_frame(), km.at([0.5, 1.0])):
        assert table.columns == frame.columns
        with np.errstate(invalid="ignore"):  # Inf * 0 once S reaches 0, as R's NaN
            se_of_s = table["std_error_log"].to_numpy() * table["estimate"].to_numpy()
        np.testing.assert_allclose(table["std_error"].to_numpy(), se_of_s)
    np.testing.assert_array_equal(frame["std_error_log"].to_numpy(), curve.std_error_log)
    np.testing.assert_array_equal(at["std_error"].to_numpy(), frame["std_error"].to_numpy()[:5])


def test_one_curve_answers_in_the_frames_of_all_curves() -> None:
    km = kaplan_meier(DATA, time="time", event="event", group="treated")
    curve = km["false"]
    assert curve.median().equals(km.median().head(1))
    assert curve.quantile([0.25, 0.5]).equals(km.quantile([0.25, 0.5]).head(2))
    assert curve.at([0.5, 1.0]).equals(km.at([0.5, 1.0]).filter(pl.col("group") == "false"))


def test_cox_predicted_survival_uses_the_same_two_se_names() -> None:
    from regsurv.survival import cox_ph

    fit = cox_ph(DATA, time="time", event="event", covariates=["x"])
    curves = fit.predict_survival(DATA.head(2))
    frame = curves.to_frame()
    assert {"std_error", "std_error_log"} <= set(frame.columns)
    np.testing.assert_allclose(curves.std_error, curves.std_error_log * curves.estimate)


def test_propensity_coefficients_and_their_standard_errors_share_one_layout() -> None:
    model = PropensityModel(["x", "event"]).fit(DATA, treatment="treated")
    assert model.std_error_.shape == model.coef_.shape == (1, 2)
    assert model.intercept_std_error_.shape == model.intercept_.shape == (1,)
    summary = model.summary()
    assert summary["term"].to_list() == ["(Intercept)", "x", "event"]
    np.testing.assert_array_equal(
        summary["std_error"].to_numpy(),
        np.concatenate((model.intercept_std_error_, model.std_error_[0])),
    )
