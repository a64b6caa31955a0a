"""RMST against R (ref/lung__rmst.json, ref/sim3arm_a__rmst.json; R/11_rmst_residuals.R), by hand
and by its invariants."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from regsurv.survival import rmst
from regsurv.testing import assert_close, load_reference
from survival._r_data import r_dataset

LUNG = load_reference("lung__rmst")["analyses"]
SIM = load_reference("sim3arm_a__rmst")["analyses"]


def _lung() -> pl.DataFrame:
    return r_dataset("lung", "lung").with_columns(w_frac=0.5 + (pl.col("rowid") % 5) / 4)


def _check_against_r(result, ref, strata_prefix):
    table = ref["table"]
    assert [f"{strata_prefix}{g}" for g in result.groups] == table["stratum"]
    assert result.tau == ref["tau"]
    assert_close(result.estimate, table["rmean"], tier="software")
    assert_close(result.std_error, table["se_rmean"], tier="software")
    if "se_rmean_ij" in table:
        assert_close(result.robust_std_error, table["se_rmean_ij"], tier="software")
    diffs = result.contrasts().filter(pl.col("measure") == "difference")
    for row, expected in zip(diffs.iter_rows(named=True), ref.get("differences", []), strict=True):
        assert (
            f"{strata_prefix}{row['contrast']}".replace(" - ", f" - {strata_prefix}")
            == (expected["contrast"])
        )
        assert_close(row["estimate"], expected["difference"], tier="software")
        se, p = (
            (expected["se_ij"], expected["p_ij"])
            if result.robust
            else (expected["se"], expected["p"])
        )
        assert_close(row["std_error"], se, tier="software")
        assert_close(row["p_value"], p, tier="software")
        if not result.robust:
            assert_close(row["statistic"], expected["z"], tier="software")
            assert_close(row["conf_low"], expected["lower95"], tier="software")
            assert_close(row["conf_high"], expected["upper95"], tier="software")


@pytest.mark.parametrize("key", list(LUNG))
def test_lung_matches_r(key):
    ref = LUNG[key]
    weighted = "weights" in ref["call"]
    by_sex = "~ sex" in ref["call"]
    result = rmst(
        _lung(),
        time="time",
        event="status",
        group="sex" if by_sex else None,
        weights="w_frac" if weighted else None,
        tau=ref["result"]["tau"],
    )
    assert result.robust is weighted  # non-integer weights: the IJ SE, as survfit
    _check_against_r(result, ref["result"], "sex=" if by_sex else "")


@pytest.mark.parametrize("key", ["rmst_arm_tau60", "rmst_arm_iptw_tau60"])
def test_sim3arm_unweighted_and_iptw_match_r(key):
    ref = SIM[key]
    result = rmst(
        r_dataset("sim3arm_a", "d"),
        time="os_months",
        event="vital_status",
        group="arm",
        weights="w" if "weights" in ref["call"] else None,
        tau=60,
    )
    _check_against_r(result, ref["result"], "arm=")


def test_iptw_contrasts_also_match_r_on_the_survmean_se():
    ref = SIM["rmst_arm_iptw_tau60"]["result"]
    result = rmst(
        r_dataset("sim3arm_a", "d"), time="os_months", event="vital_status", group="arm",
        weights="w", tau=60, robust=False,
    )  # fmt: skip
    _check_against_r(result, ref, "arm=")


def test_ratio_by_the_delta_method_on_the_log_scale():
    result = rmst(_lung(), time="time", event="status", group="sex", tau=365)
    ratio = result.contrasts().filter(pl.col("measure") == "ratio").row(0, named=True)
    m0, m1 = result.estimate
    s0, s1 = result.std_error
    se_log = np.sqrt((s0 / m0) ** 2 + (s1 / m1) ** 2)
    assert ratio["contrast"] == "2 / 1"
    assert_close(ratio["estimate"], m1 / m0, tier="exact")
    assert_close(ratio["std_error"], se_log, tier="exact")
    assert_close(ratio["statistic"], np.log(m1 / m0) / se_log, tier="exact")
    assert_close(ratio["conf_low"], m1 / m0 * np.exp(-1.959963984540054 * se_log), tier="exact")


def test_hand_calculation_on_a_tiny_set():
    # deaths at 1 and 3 of 4 subjects, censoring at 2 and 5: S = 3/4 on [1, 3), 3/8 on [3, 5)
    data = pl.DataFrame({"t": [1.0, 2.0, 3.0, 5.0], "e": [1, 0, 1, 0]})
    result = rmst(data, time="t", event="e", tau=4)
    assert_close(result.estimate, 1 + 0.75 * 2 + 0.375 * 1, tier="exact")
    # survmean: A(1) = 1.875 with d/(n(n-d)) = 1/12; A(3) = 0.375 with 1/2
    assert_close(result.std_error, np.sqrt(1.875**2 / 12 + 0.375**2 / 2), tier="exact")


def test_default_tau_is_the_smallest_last_follow_up_and_stated():
    data = _lung()
    result = rmst(data, time="time", event="status", group="sex")
    last = data.group_by("sex").agg(pl.col("time").max())["time"].min()
    assert result.tau == last
    assert result.tau_rule.startswith(f"smallest last follow-up time of the groups ({last:g}")
    assert result.to_dict()["tau_rule"] == result.tau_rule


def test_integer_weights_equal_replicated_rows():
    data = _lung().with_columns(w=(pl.col("rowid") % 3 + 1))
    expanded = data.select(pl.all().repeat_by(pl.col("w")).explode())
    a = rmst(data, time="time", event="status", group="sex", weights="w", tau=500)
    b = rmst(expanded, time="time", event="status", group="sex", tau=500)
    assert_close(a.estimate, b.estimate, tier="invariance")
    assert_close(a.std_error, b.std_error, tier="invariance")


def test_tau_beyond_follow_up_is_a_one_line_error():
    with pytest.raises(ValueError, match=r"tau = 2000 is beyond the follow-up of group '\d'"):
        rmst(_lung(), time="time", event="status", group="sex", tau=2000)
    with pytest.raises(ValueError, match="tau must be a positive number"):
        rmst(_lung(), time="time", event="status", tau=0)


def test_group_without_events_before_tau_warns_and_has_zero_variance():
    data = pl.DataFrame(
        {"t": [1.0, 2, 3, 4, 5, 2, 6, 7], "e": [1, 1, 0, 1, 0, 0, 1, 0], "g": list("aaaaabbb")}
    )
    result = rmst(data, time="t", event="e", group="g", tau=5)
    assert result.estimate[1] == 5.0 and result.std_error[1] == 0.0
    assert "group 'b' has no events up to tau = 5: its RMST is tau with zero variance" in (
        result.warnings
    )
    assert np.isfinite(result.contrast_std_error).all()


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.tuples(st.integers(1, 30), st.booleans()), min_size=3, max_size=40),
    st.floats(0.05, 1.0),
)
def test_rmst_is_at_most_tau_and_grows_with_tau(rows, fraction):
    data = pl.DataFrame({"t": [float(r[0]) for r in rows], "e": [int(r[1]) for r in rows]})
    t_max = data["t"].max()
    taus = np.linspace(fraction * t_max, t_max, 5)
    values = [rmst(data, time="t", event="e", tau=tau).estimate[0] for tau in taus]
    assert all(v <= tau + 1e-12 for v, tau in zip(values, taus, strict=True))
    assert np.all(np.diff(values) >= -1e-12)


def test_extend_carries_the_last_value_to_tau():
    data = pl.DataFrame({"t": [1.0, 2.0, 3.0], "e": [1, 0, 0]})
    result = rmst(data, time="t", event="e", tau=5, extend=True)
    assert_close(result.estimate, 1 + (2 / 3) * 4, tier="exact")
    assert result.tau_rule == "given (curves carried flat to tau)"
