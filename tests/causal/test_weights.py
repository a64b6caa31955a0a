"""iptw_weights: zEpid's 10-row hand case, R per-row weights, properties and bad input."""

from __future__ import annotations

from fractions import Fraction as F  # noqa: N817 - house style §5

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from causal._iptw_data import PS_COVARIATES, sim3arm
from regsurv.causal.propensity import PropensityModel
from regsurv.causal.weights import iptw_weights
from regsurv.testing import assert_close, load_reference

REF = load_reference("sim3arm_a__propensity")

# zEpid tests/test_ipw.py: P(A=1 | L=1) = 2/6 = 1/3, P(A=1 | L=0) = 3/4.
ZEPID = pl.DataFrame({"A": [1, 1, 1, 1, 1, 0, 0, 0, 0, 0], "L": [1, 1, 0, 0, 0, 1, 1, 1, 1, 0]})
ZEPID_ATE = [F(3), F(3), F(4, 3), F(4, 3), F(4, 3), F(3, 2), F(3, 2), F(3, 2), F(3, 2), F(4)]


@pytest.fixture(scope="module")
def zepid_ps() -> np.ndarray:
    return PropensityModel(["L"]).fit(ZEPID, treatment="A").predict_proba(ZEPID)


def test_zepid_ate_weights_by_hand(zepid_ps):
    w = iptw_weights(zepid_ps, ZEPID["A"], stabilized=False, normalize=False)
    assert w.classes == ("0", "1")
    assert_close(w.values, ZEPID_ATE, tier="exact")
    assert w.method == "ATE, unstabilized"


def test_zepid_stabilized_and_normalized_by_hand(zepid_ps):
    # P(A=1) = 1/2, so stabilized = ATE / 2; sum(ATE) = 20 = 2n, so normalized = ATE / 2 too.
    half = [x / 2 for x in ZEPID_ATE]
    stab = iptw_weights(zepid_ps, ZEPID["A"], stabilized=True, normalize=False)
    norm = iptw_weights(zepid_ps, ZEPID["A"], stabilized=False, normalize=True)
    assert_close(stab.values, half, tier="exact")
    assert_close(norm.values, half, tier="exact")


def test_zepid_overlap_weights_by_hand(zepid_ps):
    # binary overlap weights: 1 - e for the treated, e for the controls (Li, Morgan, Zaslavsky 2018)
    w = iptw_weights(zepid_ps, ZEPID["A"], estimand="ATO", stabilized=False, normalize=False)
    expected = [F(2, 3)] * 2 + [F(1, 4)] * 3 + [F(1, 3)] * 4 + [F(3, 4)]
    assert_close(w.values, expected, tier="exact")


def test_three_group_overlap_weights_by_hand():
    # Li & Li 2019: w = h / e_k, h = 1 / sum_l 1 / e_l. Row (1/2, 1/4, 1/4): h = 1/10, so the
    # weight is 1/5 in group a and 2/5 in b or c; row (1/3, 1/3, 1/3): h = 1/9, weight 1/3.
    ps = np.array([[1 / 2, 1 / 4, 1 / 4]] * 3 + [[1 / 3, 1 / 3, 1 / 3]])
    w = iptw_weights(ps, ["a", "b", "c", "a"], estimand="ATO", stabilized=False, normalize=False)
    assert_close(w.values, [F(1, 5), F(2, 5), F(2, 5), F(1, 3)], tier="exact")
    assert_close(np.asarray(w), w.values, tier="exact")
    assert w.method == "ATO, unstabilized" and len(w) == 4


@pytest.mark.parametrize(
    ("stabilized", "normalize", "key"),
    [
        (False, False, "w_iptw"),
        (False, True, "w_iptw_normalized"),
        (True, False, "w_stabilized"),
        (True, True, "w_final_stabilized_normalized"),
    ],
)
def test_weights_match_r(stabilized, normalize, key):
    data = sim3arm()
    model = PropensityModel(PS_COVARIATES).fit(data, treatment="arm")
    w = iptw_weights(
        model.predict_proba(data), data["arm"], stabilized=stabilized, normalize=normalize
    )
    assert_close(w.values, REF["per_row"][key], tier="software")
    expected = REF["weight_summaries"][key]
    overall = w.summary().filter(pl.col("group") == "Overall").row(0, named=True)
    for field in ("sum", "mean", "min", "max", "sd", "ess_kish"):
        assert_close(overall[field], expected[field], tier="software", err_msg=field)
    assert_close(w.ess, expected["ess_kish"], tier="software")


def test_final_weight_sums_by_arm_match_r():
    data = sim3arm()
    w = iptw_weights(np.column_stack([REF["per_row"][c] for c in (
        "ps_SP_alone", "ps_Metastasectomy", "ps_Non_surgical_adjuvant")]), data["arm"])  # fmt: skip
    by_arm = REF["weight_summaries"]["final_weight_sum_by_arm"]
    summary = w.summary()
    for arm, total in by_arm.items():
        assert_close(summary.filter(pl.col("group") == arm)["sum"][0], total, tier="software")
    assert w.to_frame().columns == ["group", "weight"]
    assert w.to_dict()["method"] == "ATE, stabilized, normalized to n"


def test_trimming_winsorises_at_quantiles():
    data = sim3arm()
    ps = PropensityModel(PS_COVARIATES).fit(data, treatment="arm").predict_proba(data)
    raw = iptw_weights(ps, data["arm"], normalize=False)
    trimmed = iptw_weights(ps, data["arm"], normalize=False, trim=0.05)
    low, high = np.quantile(raw.values, [0.05, 0.95])
    assert_close(trimmed.values, np.clip(raw.values, low, high), tier="exact")
    assert trimmed.n_trimmed == int(np.sum((raw.values < low) | (raw.values > high))) > 0
    assert trimmed.trim == (0.05, 0.95)


def _ps_strategy():
    @st.composite
    def draw(draw_):
        n = draw_(st.integers(6, 40))
        k = draw_(st.integers(2, 4))
        seed = draw_(st.integers(0, 2**32 - 1))
        rng = np.random.default_rng(seed)
        ps = rng.dirichlet(np.full(k, 2.0), size=n)
        group = np.concatenate([np.arange(k), rng.integers(0, k, n - k)])
        return ps, np.array([f"g{j}" for j in group])

    return draw()


@settings(max_examples=40, deadline=None)
@given(_ps_strategy())
def test_weight_properties(case):
    ps, group = case
    n, k = ps.shape
    norm = iptw_weights(ps, group)
    assert_close(norm.values.sum(), n, tier="invariance")  # normalized weights sum to N
    raw = iptw_weights(ps, group, stabilized=False, normalize=False)
    stab = iptw_weights(ps, group, stabilized=True, normalize=False)
    assert len(stab.classes) == k
    for cls in stab.classes:
        in_group = group == cls
        # stabilisation multiplies each group by its marginal proportion n_k / n
        ratio = stab.values[in_group] / raw.values[in_group]
        assert_close(ratio, np.full(ratio.size, in_group.mean()), tier="invariance")
    ato = iptw_weights(ps, group, estimand="ATO", stabilized=False, normalize=False)
    assert np.all((ato.values > 0) & (ato.values <= 1 + 1e-12))  # h / e_k <= 1


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(2, 4))
def test_stabilized_weights_are_one_without_confounding(seed, k):
    # ps = the marginal proportions for every row: stabilized weights are all 1 and each group's
    # weights sum to its size n_k.
    rng = np.random.default_rng(seed)
    group = np.concatenate([np.arange(k), rng.integers(0, k, 30)])
    marginal = np.bincount(group) / group.size
    ps = np.tile(marginal, (group.size, 1))
    w = iptw_weights(ps, group, normalize=False)
    assert_close(w.values, np.ones(group.size), tier="invariance")
    sums = w.summary()["sum"].to_numpy()[:k]
    assert_close(sums, np.bincount(group), tier="invariance")


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(2, 3), st.integers(2, 4))
def test_saturated_model_stabilized_group_sums_are_group_sizes(seed, k, n_levels):
    # p_ik = n_kx / n_x for a saturated model, so sum_{i in k} 1 / p_ik = sum_x n_x = n and the
    # stabilized weights of group k sum to n_k: the weighted groups keep the marginal sizes.
    rng = np.random.default_rng(seed)
    x = np.repeat(np.arange(n_levels), k)  # every (level, group) cell non-empty
    g = np.tile(np.arange(k), n_levels)
    x = np.concatenate([x, rng.integers(0, n_levels, 25)])
    g = np.concatenate([g, rng.integers(0, k, 25)])
    frame = pl.DataFrame({"g": [f"g{v}" for v in g], "x": [f"x{v}" for v in x]})
    ps = PropensityModel(["x"]).fit(frame, treatment="g").predict_proba(frame)
    w = iptw_weights(ps, frame["g"], normalize=False)
    sums = w.summary()["sum"].to_numpy()[:k]
    assert_close(sums, np.bincount(g), tier="invariance")
    raw = iptw_weights(ps, frame["g"], stabilized=False, normalize=False).summary()
    assert_close(raw["sum"].to_numpy()[:k], np.full(k, g.size), tier="invariance")


def test_bad_input_errors():
    ps = np.array([[0.5, 0.5], [0.2, 0.8], [1.0, 0.0]])
    with pytest.raises(ValueError, match=r"ps has shape \(3, 2\); expected \(2, 2\)"):
        iptw_weights(ps, ["a", "b"])
    with pytest.raises(ValueError, match="observed group is 0 in 1 rows"):
        iptw_weights(ps, ["a", "b", "b"])
    with pytest.raises(ValueError, match=r"treatment value 'c' \(1 rows\) is not in classes"):
        iptw_weights(ps, ["a", "b", "c"], classes=["a", "b"])
    with pytest.raises(ValueError, match="estimand must be one of"):
        iptw_weights(ps, ["a", "b", "a"], estimand="ATX")  # ATT exists now: a real typo
    with pytest.raises(ValueError, match="rows of ps must sum to 1; 1 rows do not"):
        iptw_weights(np.array([[0.5, 0.5], [0.3, 0.3]]), ["a", "b"])
    with pytest.raises(ValueError, match="missing values"):
        iptw_weights(ps, pl.Series("t", ["a", None, "b"]))
