"""ATT / ATC weights for K groups with a named target, and trimming by propensity-score range
(Crump et al. 2009; common support), by hand and by their defining properties."""

from __future__ import annotations

from fractions import Fraction as F  # noqa: N817 - house style §5

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from causal._iptw_data import PS_COVARIATES, sim3arm
from regsurv.causal.propensity import PropensityModel
from regsurv.causal.weights import crump_alpha, iptw_weights
from regsurv.testing import assert_close

# zEpid's 10 rows: P(A=1 | L=1) = 1/3, P(A=1 | L=0) = 3/4
ZEPID = pl.DataFrame({"A": [1, 1, 1, 1, 1, 0, 0, 0, 0, 0], "L": [1, 1, 0, 0, 0, 1, 1, 1, 1, 0]})


@pytest.fixture(scope="module")
def zepid_ps() -> np.ndarray:
    return PropensityModel(["L"]).fit(ZEPID, treatment="A").predict_proba(ZEPID)


def test_att_by_hand(zepid_ps):
    # treated 1; controls e / (1 - e): L=1 -> 1/2, L=0 -> 3
    w = iptw_weights(zepid_ps, ZEPID["A"], estimand="ATT", stabilized=False, normalize=False)
    assert_close(w.values, [1] * 5 + [F(1, 2)] * 4 + [3], tier="exact")
    assert w.target == "1" and w.method == "ATT (target '1'), unstabilized"
    assert w.to_dict()["target"] == "1"


def test_atc_by_hand(zepid_ps):
    # controls 1; treated (1 - e) / e: L=1 -> 2, L=0 -> 1/3
    w = iptw_weights(zepid_ps, ZEPID["A"], estimand="ATC", stabilized=False, normalize=False)
    assert_close(w.values, [2, 2, F(1, 3), F(1, 3), F(1, 3)] + [1] * 5, tier="exact")
    assert w.target == "0"


def test_att_of_k_groups_needs_a_named_target():
    data = sim3arm()
    ps = PropensityModel(PS_COVARIATES).fit(data, treatment="arm").predict_proba(data)
    with pytest.raises(ValueError, match=r"estimand 'ATT' with 3 groups needs target= one of"):
        iptw_weights(ps, data["arm"], estimand="ATT")
    with pytest.raises(ValueError, match="target 'Surgery' is not a treatment group"):
        iptw_weights(ps, data["arm"], estimand="ATT", target="Surgery")
    with pytest.raises(ValueError, match="target is for estimand 'ATT' or 'ATC', not 'ATE'"):
        iptw_weights(ps, data["arm"], target="Metastasectomy")
    w = iptw_weights(ps, data["arm"], estimand="ATT", target="Metastasectomy", stabilized=False,
                     normalize=False)  # fmt: skip
    codes = data["arm"].to_physical().to_numpy()
    assert_close(w.values[codes == 1], np.ones(int((codes == 1).sum())), tier="exact")
    assert_close(w.values, ps[:, 1] / ps[np.arange(data.height), codes], tier="exact")


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**31 - 1), st.integers(2, 4), st.integers(2, 4))
def test_att_reweights_every_group_to_the_target_group(seed, k, n_levels):
    # saturated PS model: the weighted covariate distribution of every group equals the target's
    rng = np.random.default_rng(seed)
    x = rng.integers(0, n_levels, 400)
    logits = rng.normal(size=(n_levels, k))[x]
    prob = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    group = (rng.random(400)[:, None] > np.cumsum(prob, axis=1)[:, :-1]).sum(axis=1)
    frame = pl.DataFrame({"g": [f"g{v}" for v in group], "x": [f"x{v}" for v in x]})
    cells = frame.group_by("g", "x").len()
    if cells.height < k * n_levels:
        return  # an empty cell: the saturated model has no finite MLE
    ps = PropensityModel(["x"]).fit(frame, treatment="g").predict_proba(frame)
    w = iptw_weights(ps, frame["g"], estimand="ATT", target="g0", stabilized=False, normalize=False)
    target_share = np.bincount(x[group == 0], minlength=n_levels) / np.sum(group == 0)
    for g in range(1, k):
        in_g = group == g
        share = (
            np.bincount(x[in_g], weights=w.values[in_g], minlength=n_levels) / w.values[in_g].sum()
        )
        assert_close(share, target_share, tier="invariance")


def test_crump_alpha_solves_its_defining_equation():
    e = np.random.default_rng(3).beta(0.6, 0.6, 2000)  # much mass near 0 and 1
    alpha = crump_alpha(e)
    g = 1.0 / (e * (1.0 - e))
    gamma = 1.0 / (alpha * (1.0 - alpha))
    assert 0 < alpha < 0.5
    assert_close(gamma, 2.0 * g[g <= gamma].mean(), tier="invariance")
    assert g[g <= gamma].max() <= gamma < g[g > gamma].min()


def test_crump_alpha_is_zero_with_good_overlap():
    e = np.linspace(0.3, 0.7, 101)  # max g = 4.76 <= 2 E[g]
    assert crump_alpha(e) == 0.0


def test_crump_trimming_gives_weight_zero_outside_and_is_named():
    e = np.random.default_rng(4).beta(0.6, 0.6, 500)
    treated = (np.random.default_rng(5).random(500) < e).astype(int)
    ps = np.column_stack((1 - e, e))
    alpha = crump_alpha(e)
    w = iptw_weights(ps, treated, ps_trim="crump")
    inside = (e >= alpha) & (e <= 1 - alpha)
    assert np.all(w.values[~inside] == 0) and np.all(w.values[inside] > 0)
    assert w.n_ps_trimmed == int((~inside).sum()) > 0
    assert_close(w.values.sum(), inside.sum(), tier="invariance")  # normalized to the kept rows
    assert_close(w.ps_trim_bounds, [alpha, 1 - alpha], tier="exact")
    assert "PS-trimmed by Crump et al. 2009 optimal rule" in w.method
    assert w.to_dict()["ps_trim"] == "crump" and np.array_equal(w.kept, inside)
    # the kept rows have the weights of the same options computed on them alone (stabilized)
    alone = iptw_weights(ps[inside], treated[inside], classes=["0", "1"])
    assert_close(w.values[inside], alone.values, tier="invariance")


def test_common_support_by_hand():
    e = np.array([0.3, 0.5, 0.9, 0.1, 0.4, 0.7])  # treated in [0.3, 0.9], controls in [0.1, 0.7]
    treated = [1, 1, 1, 0, 0, 0]
    w = iptw_weights(np.column_stack((1 - e, e)), treated, ps_trim="common_support",
                     stabilized=False, normalize=False)  # fmt: skip
    assert_close(w.values, [1 / 0.3, 1 / 0.5, 0, 0, 1 / 0.6, 1 / 0.3], tier="exact")
    assert w.ps_trim_bounds == (0.3, 0.7) and w.n_ps_trimmed == 2


def test_common_support_for_three_groups_and_threshold():
    data = sim3arm()
    ps = PropensityModel(PS_COVARIATES).fit(data, treatment="arm").predict_proba(data)
    codes = data["arm"].to_physical().to_numpy()
    w = iptw_weights(ps, data["arm"], ps_trim="common_support")
    low = np.max([ps[codes == k].min(axis=0) for k in range(3)], axis=0)
    high = np.min([ps[codes == k].max(axis=0) for k in range(3)], axis=0)
    inside = np.all((ps >= low) & (ps <= high), axis=1)
    assert np.array_equal(w.kept, inside) and w.n_ps_trimmed == int((~inside).sum())
    t = iptw_weights(ps, data["arm"], ps_trim=0.05, estimand="ATT", target="SP alone")
    assert np.array_equal(t.kept, np.all(ps >= 0.05, axis=1))
    assert t.method.startswith("ATT (target 'SP alone'), stabilized, PS-trimmed by threshold 0.05")
    with pytest.raises(
        ValueError, match="ps_trim='crump' is the two-group rule; the treatment has 3"
    ):
        iptw_weights(ps, data["arm"], ps_trim="crump")
    with pytest.raises(ValueError, match=r"ps_trim threshold must be in \(0, 1/3\)"):
        iptw_weights(ps, data["arm"], ps_trim=0.4)
    with pytest.raises(ValueError, match="ps_trim must be one of"):
        iptw_weights(ps, data["arm"], ps_trim="overlap")


def test_ps_trim_and_winsorising_together_are_both_named(zepid_ps):
    w = iptw_weights(zepid_ps, ZEPID["A"], ps_trim=0.2, trim=0.1)
    assert (
        "PS-trimmed by threshold 0.2 [0.2, 0.8]" in w.method
        and "trimmed at quantiles 0.1/0.9" in w.method
    )
    assert w.n_ps_trimmed == 0 and w.to_dict()["trim"] == [0.1, 0.9]
