"""Kaplan–Meier: hand calculation, invariances (hypothesis), pandas parity, bad input."""

from __future__ import annotations

from fractions import Fraction as F  # noqa: N817 (exact fractions read best short)

import numpy as np
import pandas as pd
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from regsurv.survival import SurvivalCurves, kaplan_meier
from regsurv.testing import assert_close

# Therneau & Grambsch test data 1 (survival/vignettes/validate.Rnw), rows out of time order:
# a tied death (t=6), a death + censoring at t=1, a lone death (t=9), a lone censoring (t=8).
TEST1 = pl.DataFrame(
    {"time": [9, 1, 1, 6, 6, 8], "status": [1, 1, 0, 1, 1, 0], "x": [0, 1, 1, 1, 0, 0]}
)


def _curve(result: SurvivalCurves):
    (curve,) = result.values()
    return curve


def test_km_by_hand():
    curve = _curve(kaplan_meier(TEST1, time="time", event="status"))
    assert_close(curve.time, [1, 6, 8, 9], tier="exact")
    assert_close(curve.n_risk, [6, 4, 2, 1], tier="exact")
    assert_close(curve.n_event, [1, 2, 0, 1], tier="exact")
    assert_close(curve.n_censor, [1, 0, 1, 0], tier="exact")
    assert_close(curve.estimate, [F(5, 6), F(5, 12), F(5, 12), 0], tier="exact")
    # Greenwood: 1/(6*5), then + 2/(4*2); infinite once S = 0 (R: std.err Inf)
    assert_close(curve.std_error_log**2, [F(1, 30), F(17, 60), F(17, 60), np.inf], tier="exact")
    assert curve.group == "all" and curve.variance == "greenwood" and curve.n_obs == 6


def test_km_confidence_limits_by_hand():
    z = 1.959963984540054
    se = np.sqrt(1 / 30)
    s = 5 / 6
    for conf_type, low, high in [
        ("log", s * np.exp(-z * se), min(s * np.exp(z * se), 1.0)),
        ("plain", s - z * se * s, min(s + z * se * s, 1.0)),
        ("log-log", s ** np.exp(-z * se / np.log(s)), s ** np.exp(z * se / np.log(s))),
    ]:
        curve = _curve(kaplan_meier(TEST1, time="time", event="status", conf_type=conf_type))
        assert_close(curve.conf_low[0], low, tier="exact")
        assert_close(curve.conf_high[0], high, tier="exact")
        # at S = 0 R gives NA for log and log-log; plain: S +- Inf * 0 = NaN
        assert np.isnan(curve.conf_low[-1]) and np.isnan(curve.conf_high[-1])


def test_median_and_at_by_hand():
    result = kaplan_meier(TEST1, time="time", event="status", group="x")
    med = result.median()
    # x=0: rows (9,1), (6,1), (8,0): S = 2/3 at 6, 2/3 at 8, 0 at 9 -> median 9
    # x=1: rows (1,1), (1,0), (6,1): S = 2/3 at 1, 0 at 6 -> median 6
    assert med["group"].to_list() == ["0", "1"]
    assert_close(med["median"], [9, 6], tier="exact")
    at = result.at([0.5, 7, 9], extend=True)
    x0 = at.filter(pl.col("group") == "0")
    assert_close(x0["estimate"], [1, F(2, 3), 0], tier="exact")
    assert_close(x0["n_risk"], [3, 2, 1], tier="exact")
    assert_close(x0["n_event"], [0, 1, 1], tier="exact")
    assert_close(x0["n_censor"], [0, 0, 1], tier="exact")
    x1 = at.filter(pl.col("group") == "1")  # x=1 ends at 6: 7 and 9 kept only with extend
    assert_close(x1["n_risk"], [3, 0, 0], tier="exact")
    assert_close(x1["estimate"], [1, 0, 0], tier="exact")
    assert result.at([7, 9])["group"].to_list() == ["0", "0"]


def test_to_frame_columns_and_dict():
    result = kaplan_meier(TEST1, time="time", event="status", group="x")
    frame = result.to_frame()
    assert frame.columns == [
        "group",
        "time",
        "n_risk",
        "n_event",
        "n_censor",
        "estimate",
        "std_error",
        "std_error_log",
        "conf_low",
        "conf_high",
    ]
    assert frame.height == sum(c.time.size for c in result.values())
    d = result.to_dict()
    assert_close(d["curves"]["1"]["estimate"], [F(2, 3), 0], tier="exact")
    assert d["median"]["0"]["median"] == 9.0
    assert "SurvivalCurves(groups=2" in repr(result)


def test_median_conventions():
    # exact 0.5 plateau -> midpoint; plateau at 0.5 to the end -> first time; never -> NaN
    frame = pl.DataFrame(
        {
            "g": ["a"] * 4 + ["b"] * 4 + ["c"] * 5,
            "t": [1, 2, 3, 4, 1, 2, 3, 4, 1, 2, 3, 4, 5],
            "e": [1, 1, 1, 1, 1, 1, 0, 0, 1, 0, 0, 0, 0],
        }
    )
    result = kaplan_meier(frame, time="t", event="e", group="g")
    assert_close(result.median()["median"], [2.5, 2, np.nan], tier="exact")
    # quantile(): a flat at 0.5 lasting to the last time gives the midpoint with it (R)
    quantiles = result.quantile([0.5])
    assert_close(quantiles["quantile"], [2.5, 3, np.nan], tier="exact")
    assert any("median not reached in group 'c'" in w for w in result.warnings)
    assert any("upper confidence limit" in w for w in result["c"].warnings)


# --- invariances ---------------------------------------------------------------------------

survival_rows = st.lists(
    st.tuples(
        st.integers(0, 12),  # integer months: many ties
        st.integers(0, 1),
        st.integers(0, 2),
        st.integers(1, 4),
    ),
    min_size=2,
    max_size=40,
)


def _frame(rows) -> pl.DataFrame:
    t, e, g, w = zip(*rows, strict=True)
    return pl.DataFrame({"time": t, "event": e, "group": g, "w": w}).with_columns(
        pl.col("time").cast(pl.Float64), wf=pl.col("w") * 0.37
    )


@settings(max_examples=25, deadline=None)
@given(survival_rows)
def test_curve_is_monotone_and_bands_contain_it(rows):
    result = kaplan_meier(_frame(rows), time="time", event="event", group="group")
    for curve in result.values():
        assert np.all(np.diff(curve.estimate) <= 0)
        assert np.all(np.diff(curve.n_risk) < 0)
        assert np.all((curve.estimate >= 0) & (curve.estimate <= 1))
        ok = ~np.isnan(curve.conf_low)
        assert np.all(curve.conf_low[ok] <= curve.estimate[ok] + 1e-15)
        assert np.all(curve.conf_high[ok] >= curve.estimate[ok] - 1e-15)


@settings(max_examples=25, deadline=None)
@given(survival_rows, st.randoms(use_true_random=False))
def test_row_order_is_irrelevant(rows, rnd):
    frame = _frame(rows)
    shuffled = list(range(frame.height))
    rnd.shuffle(shuffled)
    for weights in (None, "wf"):
        a = kaplan_meier(frame, time="time", event="event", group="group", weights=weights)
        b = kaplan_meier(
            frame[shuffled], time="time", event="event", group="group", weights=weights
        )
        assert_close(a.to_frame()["time"], b.to_frame()["time"], tier="exact")
        for col in ("n_risk", "estimate", "std_error", "std_error_log", "conf_low", "conf_high"):
            assert_close(a.to_frame()[col], b.to_frame()[col], tier="invariance")


@settings(max_examples=25, deadline=None)
@given(survival_rows)
def test_integer_weights_equal_replicated_rows(rows):
    frame = _frame(rows)
    weighted = kaplan_meier(frame, time="time", event="event", group="group", weights="w")
    expanded = frame.select(pl.all().repeat_by(pl.col("w")).explode())
    plain = kaplan_meier(expanded, time="time", event="event", group="group")
    assert weighted.variance == "greenwood"  # integer weights: R keeps Greenwood
    a, b = weighted.to_frame(), plain.to_frame()
    for col in a.columns[1:]:
        assert_close(a[col], b[col], tier="invariance", err_msg=col)
    assert_close(weighted.median()["median"], plain.median()["median"], tier="exact")


@settings(max_examples=30, deadline=None)
@given(survival_rows, st.floats(0.01, 100))
def test_robust_variance_is_scale_free(rows, scale):
    frame = _frame(rows).with_columns(scaled=pl.col("wf") * scale)
    a = kaplan_meier(frame, time="time", event="event", weights="wf", robust=True).to_frame()
    b = kaplan_meier(frame, time="time", event="event", weights="scaled", robust=True).to_frame()
    for col in ("estimate", "std_error", "std_error_log", "conf_low", "conf_high"):
        assert_close(a[col], b[col], tier="invariance", err_msg=col)


def test_robust_default_follows_r():
    frame = _frame([(1, 1, 0, 1), (2, 0, 0, 2), (3, 1, 0, 1), (4, 1, 0, 3)])
    assert kaplan_meier(frame, time="time", event="event", weights="w").variance == "greenwood"
    assert kaplan_meier(frame, time="time", event="event", weights="wf").variance == "robust"
    forced = kaplan_meier(frame, time="time", event="event", weights="wf", robust=False)
    assert forced.variance == "greenwood"
    assert kaplan_meier(frame, time="time", event="event", robust=True).variance == "robust"


def test_pandas_input_gives_the_same_result():
    frame = TEST1.with_columns(g=pl.col("x").replace_strict({0: "b", 1: "a"}))
    pdf = frame.to_pandas()
    pdf["g"] = pd.Categorical(pdf["g"], categories=["b", "a"])
    a = kaplan_meier(
        frame.with_columns(pl.col("g").cast(pl.Enum(["b", "a"]))),
        time="time",
        event="status",
        group="g",
    )
    b = kaplan_meier(pdf, time="time", event="status", group="g")
    assert list(b.curves) == ["b", "a"]  # pandas category order kept
    assert a.to_frame().equals(b.to_frame())


# --- bad input -------------------------------------------------------------------------------


def test_missing_values_are_dropped_and_counted():
    frame = TEST1.with_columns(
        time=pl.Series([9.0, None, 1.0, 6.0, float("nan"), 8.0]),
        x=pl.Series([0, 1, None, 1, 0, 0]),
    )
    result = kaplan_meier(frame, time="time", event="status", group="x")
    assert result.n_dropped == 3 and result.n_obs == 3
    assert any("3 of 6 rows dropped" in w and "time: 2" in w for w in result.warnings)


@pytest.mark.parametrize(
    ("column", "values", "error", "message"),
    [
        ("time", [9, -1, 1, 6, 6, 8], ValueError, "time column 'time': 1 rows are negative"),
        ("status", [1, 2, 0, 1, 1, 0], ValueError, "event column 'status': 1 rows are not 0/1"),
        ("status", ["1", "1", "0", "1", "1", "0"], TypeError, "event column 'status' has dtype"),
        ("time", ["9"] * 6, TypeError, "time column 'time' has dtype"),
        ("w", [1, -1, 1, 1, 1, 1], ValueError, "weights column 'w': 1 rows are negative"),
        ("w", [1, None, 1, 1, 1, 1], ValueError, "weights column 'w': 1 rows are missing"),
        (
            "w",
            [1.0, float("nan"), 1.0, 1.0, 1.0, 1.0],
            ValueError,
            "weights column 'w': 1 rows are missing",
        ),
    ],
)
def test_bad_input_raises_a_clear_error(column, values, error, message):
    frame = TEST1.with_columns(w=pl.lit(1.0)).with_columns(pl.Series(column, values))
    with pytest.raises(error, match=message):
        kaplan_meier(frame, time="time", event="status", weights="w")


def test_bad_arguments():
    with pytest.raises(ValueError, match="column 'nope' not found"):
        kaplan_meier(TEST1, time="nope", event="status")
    with pytest.raises(ValueError, match="conf_type"):
        kaplan_meier(TEST1, time="time", event="status", conf_type="logit")
    with pytest.raises(ValueError, match="conf_level"):
        kaplan_meier(TEST1, time="time", event="status", conf_level=95)
    with pytest.raises(TypeError, match="polars or pandas"):
        kaplan_meier({"time": [1]}, time="time", event="status")


def test_boolean_events_and_awkward_groups():
    frame = TEST1.with_columns(
        status=pl.col("status").cast(pl.Boolean),
        g=pl.Series(["a", "a", "a", "a", "a", "b"]).cast(pl.Enum(["a", "b", "empty"])),
    )
    result = kaplan_meier(frame, time="time", event="status", group="g")
    assert list(result.curves) == ["a", "b"]
    assert any("no rows ignored: empty" in w for w in result.warnings)
    assert any("single row: b" in w for w in result.warnings)
    assert any("no events in group 'b'" in w for w in result.warnings)


def test_all_censored_gives_nan_median_with_reason():
    frame = TEST1.with_columns(status=pl.lit(0))
    result = kaplan_meier(frame, time="time", event="status")
    assert_close(_curve(result).estimate, np.ones(4), tier="exact")
    assert np.isnan(result.median()["median"][0])
    assert any("all observations are censored" in w for w in result.warnings)
    assert any("median not reached" in w for w in result.warnings)
