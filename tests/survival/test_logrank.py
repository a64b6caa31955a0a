"""Log-rank tests: hand calculation, invariances (hypothesis), pairwise adjustment, bad input."""

from __future__ import annotations

from fractions import Fraction as F  # noqa: N817 (exact fractions read best short)

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import chi2

from regsurv.survival import logrank_test, pairwise_logrank_test
from regsurv.survival.logrank import adjust_p_values
from regsurv.testing import assert_close

# Therneau & Grambsch test data 1, rows out of time order (see test_km.py)
TEST1 = pl.DataFrame(
    {"time": [9, 1, 1, 6, 6, 8], "status": [1, 1, 0, 1, 1, 0], "x": [0, 1, 1, 1, 0, 0]}
)


def test_logrank_by_hand():
    # t=1: N=6, n1=3, D=1: E1 = 1/2, V = 1*5/5 * 1/2 * 1/2 = 1/4
    # t=6: N=4, n1=1, D=2: E1 = 1/2, V = 2*2/3 * 1/4 * 3/4 = 1/4;  t=9: nobody in x=1 at risk
    # O1 - E1 = 2 - 1 = 1, V = 1/2  =>  chi2 = 2 exactly (R survdiff agrees)
    result = logrank_test(TEST1, time="time", event="status", group="x")
    assert result.groups == ("0", "1")
    assert_close(result.n, [3, 3], tier="exact")
    assert_close(result.observed, [2, 2], tier="exact")
    assert_close(result.expected, [3, 1], tier="exact")
    assert_close(result.variance, [[F(1, 2), F(-1, 2)], [F(-1, 2), F(1, 2)]], tier="exact")
    assert_close(result.statistic, 2, tier="exact")
    assert result.df == 1
    assert_close(result.p_value, chi2.sf(2, 1), tier="exact")
    assert "survdiff" in result.method and not result.weighted


def test_peto_peto_by_hand():
    # weights S(t-) of the pooled KM: 1 at t=1, 5/6 at t=6, 5/12 at t=9
    # O1 = 1 + 5/6, E1 = 1/2 + 5/6 * 1/2, V = 1/4 + (5/6)^2 / 4  =>  chi2 = 121/61
    result = logrank_test(TEST1, time="time", event="status", group="x", rho=1)
    assert_close(result.observed[1], F(11, 6), tier="exact")
    assert_close(result.expected[1], F(11, 12), tier="exact")
    assert_close(result.variance[1, 1], F(61, 144), tier="exact")
    assert_close(result.statistic, F(121, 61), tier="exact")
    assert "Peto-Peto" in result.method


def test_to_frame_and_dict():
    result = logrank_test(TEST1, time="time", event="status", group="x")
    frame = result.to_frame()
    assert frame.columns == [
        "group",
        "n",
        "observed",
        "expected",
        "o_minus_e",
        "variance",
        "statistic",
        "df",
        "p_value",
    ]
    assert_close(frame["o_minus_e"], [-1, 1], tier="exact")
    d = result.to_dict()
    assert d["groups"] == ["0", "1"] and d["df"] == 1
    assert "LogrankResult(groups=2" in repr(result)


# --- invariances ---------------------------------------------------------------------------

survival_rows = st.lists(
    st.tuples(st.integers(0, 10), st.integers(0, 1), st.integers(0, 2), st.integers(1, 3)),
    min_size=6,
    max_size=40,
).filter(lambda rows: len({r[2] for r in rows}) == 3 and sum(r[1] for r in rows) > 0)


def _frame(rows) -> pl.DataFrame:
    t, e, g, w = zip(*rows, strict=True)
    return pl.DataFrame({"time": t, "event": e, "group": g, "w": w}).with_columns(
        wf=pl.col("w") * 0.61, stratum=pl.col("time") % 2
    )


@settings(max_examples=25, deadline=None)
@given(survival_rows, st.randoms(use_true_random=False), st.sampled_from([None, "wf"]))
def test_row_order_is_irrelevant(rows, rnd, weights):
    frame = _frame(rows)
    order = list(range(frame.height))
    rnd.shuffle(order)
    a = logrank_test(frame, time="time", event="event", group="group", weights=weights)
    b = logrank_test(frame[order], time="time", event="event", group="group", weights=weights)
    for field in ("observed", "expected", "variance", "statistic", "p_value"):
        assert_close(getattr(a, field), getattr(b, field), tier="invariance", err_msg=field)


@settings(max_examples=25, deadline=None)
@given(survival_rows)
def test_scores_sum_to_zero_and_strata_of_one_level_change_nothing(rows):
    frame = _frame(rows).with_columns(one=pl.lit("s"))
    a = logrank_test(frame, time="time", event="event", group="group")
    b = logrank_test(frame, time="time", event="event", group="group", strata="one")
    assert_close(a.statistic, b.statistic, tier="invariance")
    kw = {"time": "time", "event": "event", "group": "group", "weights": "wf"}
    aw, bw = logrank_test(frame, **kw), logrank_test(frame, strata="one", **kw)
    assert_close(aw.statistic, bw.statistic, tier="invariance")
    assert_close(a.observed.sum(), a.expected.sum(), tier="invariance")
    assert_close(a.variance.sum(axis=0), np.zeros(3), tier="invariance")


@settings(max_examples=30, deadline=None)
@given(survival_rows, st.floats(0.01, 100))
def test_weighted_statistic_is_scale_free(rows, scale):
    frame = _frame(rows).with_columns(scaled=pl.col("wf") * scale)
    a = logrank_test(frame, time="time", event="event", group="group", weights="wf")
    b = logrank_test(frame, time="time", event="event", group="group", weights="scaled")
    assert_close(a.statistic, b.statistic, tier="invariance")  # NaN (singular) matches NaN
    assert_close(a.score * scale, b.score, tier="invariance")


def test_stratified_test_adds_the_strata():
    rows = [(t % 7, (t * 3) % 2, t % 3, 1) for t in range(30)]
    frame = _frame(rows)
    whole = logrank_test(frame, time="time", event="event", group="group", strata="stratum")
    parts = [
        logrank_test(
            frame.filter(pl.col("stratum") == s), time="time", event="event", group="group"
        )
        for s in (0, 1)
    ]
    assert_close(whole.observed, parts[0].observed + parts[1].observed, tier="invariance")
    assert_close(whole.expected, parts[0].expected + parts[1].expected, tier="invariance")
    assert_close(whole.variance, parts[0].variance + parts[1].variance, tier="invariance")
    assert "stratified by stratum" in whole.method


def test_pandas_input_gives_the_same_result():
    a = logrank_test(TEST1, time="time", event="status", group="x", rho=1)
    b = logrank_test(TEST1.to_pandas(), time="time", event="status", group="x", rho=1)
    assert a.to_frame().equals(b.to_frame())


# --- pairwise --------------------------------------------------------------------------------


def test_adjust_p_values_as_r():
    p = np.array([0.01, 0.04, 0.03, np.nan])
    # R: p.adjust(c(.01, .04, .03, NA), "holm") = 0.03 0.06 0.06 NA
    assert_close(adjust_p_values(p, "holm"), [0.03, 0.06, 0.06, np.nan], tier="exact")
    assert_close(adjust_p_values(p, "bonferroni"), [0.03, 0.12, 0.09, np.nan], tier="exact")
    assert_close(adjust_p_values(p, "none"), p, tier="exact")
    with pytest.raises(ValueError, match="adjust must be one of"):
        adjust_p_values(p, "sidak")


def test_adjust_p_values_fdr_as_r():
    p = np.array([0.01, 0.04, 0.03, 0.005, np.nan])
    # R: p.adjust(c(.01, .04, .03, .005, NA), "BH") = 0.02 0.04 0.04 0.02 NA
    bh = [0.02, 0.04, 0.04, 0.02, np.nan]
    assert_close(adjust_p_values(p, "BH"), bh, tier="exact")
    assert_close(adjust_p_values(p, "fdr"), bh, tier="exact")
    # R: "BY" multiplies BH by sum(1 / (1:4)) = 25 / 12 before the running minimum
    assert_close(adjust_p_values(p, "BY"), np.array(bh) * 25 / 12, tier="exact")


def test_adjust_p_values_holm_bonferroni_by_their_definitions():
    # Holm: running maximum of (m - i + 1) p_(i), capped at 1; Bonferroni: min(1, m p)
    rng = np.random.default_rng(7)
    p = np.round(rng.uniform(0, 0.3, 12), 2)  # rounded: ties
    order = np.argsort(p, kind="stable")
    holm = np.empty_like(p)
    holm[order] = np.minimum(1, np.maximum.accumulate((12 - np.arange(12)) * p[order]))
    assert_close(adjust_p_values(p, "holm"), holm, tier="exact")
    assert_close(adjust_p_values(p, "bonferroni"), np.minimum(1, 12 * p), tier="exact")


def test_pairwise_logrank_test_bh():
    frame = _frame([(t % 9, (t * 5) % 3 > 0, t % 4, 1) for t in range(60)])
    holm = pairwise_logrank_test(frame, time="time", event="event", group="group")
    bh = pairwise_logrank_test(frame, time="time", event="event", group="group", adjust="BH")
    assert_close(bh.p_value, holm.p_value, tier="exact")
    assert_close(bh.p_adjusted, adjust_p_values(holm.p_value, "BH"), tier="exact")
    assert bh.adjust == "BH" and "BH adjustment" in bh.method


def test_pairwise_tests_each_pair_on_its_rows():
    frame = _frame([(t % 9, (t * 5) % 3 > 0, t % 3, 1) for t in range(45)])
    result = pairwise_logrank_test(frame, time="time", event="event", group="group")
    assert list(zip(result.group1, result.group2, strict=True)) == [
        ("0", "1"),
        ("0", "2"),
        ("1", "2"),
    ]
    single = logrank_test(
        frame.filter(pl.col("group").is_in([0, 2])), time="time", event="event", group="group"
    )
    assert_close(result.statistic[1], single.statistic, tier="exact")
    assert_close(result.p_adjusted, adjust_p_values(result.p_value, "holm"), tier="exact")
    assert result.to_frame().columns == [
        "group1",
        "group2",
        "statistic",
        "df",
        "p_value",
        "p_adjusted",
    ]


# --- bad input -------------------------------------------------------------------------------


def test_all_censored_gives_no_p_value_with_reason():
    result = logrank_test(
        TEST1.with_columns(status=pl.lit(0)), time="time", event="status", group="x"
    )
    assert result.statistic == 0 and result.df == -1 and np.isnan(result.p_value)
    assert any("no events" in w for w in result.warnings)


def test_one_group_is_an_error_and_awkward_groups_warn():
    with pytest.raises(ValueError, match="at least 2 groups"):
        logrank_test(TEST1.with_columns(x=pl.lit(1)), time="time", event="status", group="x")
    frame = TEST1.with_columns(
        g=pl.Series(["a", "a", "a", "a", "a", "b"]).cast(pl.Enum(["a", "empty", "b"]))
    )
    result = logrank_test(frame, time="time", event="status", group="g")
    assert result.groups == ("a", "b")
    assert any("no rows ignored: empty" in w for w in result.warnings)
    assert any("single row: b" in w for w in result.warnings)


def test_missing_group_rows_are_dropped_and_counted():
    frame = TEST1.with_columns(x=pl.Series([0, 1, None, 1, 0, 0]))
    result = logrank_test(frame, time="time", event="status", group="x")
    assert result.n_dropped == 1 and result.n_obs == 5
    with pytest.raises(ValueError, match="rho must be >= 0"):
        logrank_test(TEST1, time="time", event="status", group="x", rho=-1)
    with pytest.raises(ValueError, match="event column 'status': 1 rows are not 0/1"):
        logrank_test(
            TEST1.with_columns(status=pl.Series([1, 2, 0, 1, 1, 0])),
            time="time",
            event="status",
            group="x",
        )
