"""regsurv.describe.smd against R (sim3arm_a__smd.json, every row), by hand and by property."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from regsurv.describe.smd import (
    POOLED,
    combine_smd,
    compare_groups,
    group_moments,
    grouping,
    indicator_moments,
    level_moments,
    smd,
    summarize_smd,
)
from regsurv.testing import assert_close, load_reference, reference_data_path

ARMS = ("SP alone", "Metastasectomy", "Non-surgical adjuvant")
REF = load_reference("sim3arm_a__smd")
PER_ROW = load_reference("sim3arm_a__propensity")["per_row"]
DATA = pl.read_csv(reference_data_path("sim3arm_a"), null_values="NA")


def _x(variable: str) -> np.ndarray:
    """The variable of a fixture row: `name=level` is the level indicator, else the column."""
    name, _, level = variable.partition("=")
    column = DATA[name]
    if not level:
        return column.cast(pl.Float64).to_numpy()
    return (column.cast(pl.String) == level).cast(pl.Float64).to_numpy()


def _rows(table: dict) -> list[dict]:
    return [dict(zip(table, values, strict=True)) for values in zip(*table.values(), strict=True)]


CASES = [("final", r) for r in _rows(REF["final_weights"])] + [
    ("unstabilized", r) for r in _rows(REF["unstabilized_weights"]["table"])
]
WEIGHTS = {
    "final": np.asarray(PER_ROW["w_final_stabilized_normalized"], dtype=float),
    "unstabilized": np.asarray(PER_ROW["w_iptw"], dtype=float),
}


def test_fixture_rows_are_in_data_order() -> None:
    assert PER_ROW["id"] == DATA["id"].to_list()
    assert len(CASES) == 240  # 20 variables x 6 comparisons x 2 weightings


@pytest.mark.parametrize(
    ("weights", "row"),
    CASES,
    ids=[f"{w}:{r['group1']}-{r['group0']}:{r['variable']}" for w, r in CASES],
)
def test_every_fixture_row_matches_r(weights: str, row: dict) -> None:
    x = _x(row["variable"])
    w = WEIGHTS[weights]
    arm = DATA["arm"].to_numpy()
    m = group_moments(x, arm, weights=w, groups=ARMS)
    assert m.binary == (row["type"] == "binary")
    g0 = None if row["group0"] == POOLED else row["group0"]
    i1, i0 = m.index(row["group1"]), m.index(g0)
    for ours, theirs in [
        (m.n, "n"),
        (m.sum_weights, "sumw"),
        (m.mean, "mean"),
        (m.variance, "var"),
        (m.weighted_mean, "wmean"),
        (m.weighted_variance, "wvar"),
    ]:
        assert_close(ours[i1], row[f"{theirs}1"], tier="software", err_msg=theirs)
        assert_close(ours[i0], row[f"{theirs}0"], tier="software", err_msg=theirs)
    assert_close(smd(m, row["group1"], g0, weighted=False), row["smd_before"], tier="software")
    assert_close(
        smd(m, row["group1"], g0, weighted=True, denominator="pooled_weighted"),
        row["smd_after"],
        tier="software",
    )
    assert_close(
        smd(m, row["group1"], g0, weighted=True, denominator="pooled_unweighted"),
        row["smd_after_unweighted_denominator"],
        tier="software",
    )
    sample = group_moments(x, arm, groups=ARMS, binary_variance="sample")
    assert_close(sample.variance[i1], row["var1_n_minus_1"], tier="software")
    assert_close(sample.variance[i0], row["var0_n_minus_1"], tier="software")
    assert_close(
        smd(sample, row["group1"], g0, weighted=False),
        row["smd_before_n_minus_1_var"],
        tier="software",
    )
    # the biased weighted variance Σw(x−m)²/Σw = reliability variance · ((Σw)² − Σw²)/(Σw)²
    for i, side, label in ((i1, "1", row["group1"]), (i0, "0", g0)):
        in_group = np.ones(arm.size, bool) if label is None else arm == label
        sw, sw2 = m.sum_weights[i], float(np.sum(w[in_group] ** 2))
        factor = 1.0 if m.binary else (sw * sw - sw2) / (sw * sw)
        assert_close(m.weighted_variance[i] * factor, row[f"wvar{side}_biased"], tier="software")


def test_compare_groups_order_matches_the_fixture() -> None:
    m = group_moments(DATA["age"].to_numpy(), DATA["arm"].to_numpy(), groups=ARMS)
    pairs = compare_groups(m, comparisons="pairwise", weighted=False)
    ref = [r for r in _rows(REF["final_weights"]) if r["variable"] == "age"]
    assert list(zip(pairs.group1, pairs.group0, strict=True)) == [
        (r["group1"], r["group0"]) for r in ref[:3]
    ]
    assert_close(pairs.estimate, [r["smd_before"] for r in ref[:3]], tier="software")
    pooled = compare_groups(m, comparisons="vs_pooled", weighted=False)
    assert pooled.group0 == (POOLED,) * 3
    assert_close(pooled.estimate, [r["smd_before"] for r in ref[3:]], tier="software")
    before = np.array([r["smd_before"] for r in ref])
    assert_close(summarize_smd(m, rule="max_pairwise", weighted=False), np.abs(before[:3]).max())
    assert_close(
        summarize_smd(m, rule="average_pairwise", weighted=False), np.abs(before[:3]).mean()
    )
    assert_close(summarize_smd(m, rule="vs_pooled", weighted=False), np.abs(before[3:]).max())


def test_hand_calculated_tiny_case() -> None:
    # group a: x = 1, 0, 1 (w 1, 2, 1) ; group b: x = 0, 0 (w 1, 3); one NaN in b
    x = [1.0, 0.0, 1.0, 0.0, 0.0, math.nan]
    g = ["a", "a", "a", "b", "b", "b"]
    w = [1.0, 2.0, 1.0, 1.0, 3.0, 5.0]
    m = group_moments(x, g, weights=w)
    assert m.binary and m.groups == ("a", "b")
    assert_close(m.n, [3, 2, 5], tier="exact")
    assert_close(m.n_missing, [0, 1, 1], tier="exact")
    assert_close(m.mean, [2 / 3, 0, 2 / 5], tier="exact")
    assert_close(m.weighted_mean, [2 / 4, 0, 2 / 8], tier="exact")
    assert_close(m.variance, [2 / 9, 0, 6 / 25], tier="exact")
    # before: (2/3 − 0) / sqrt((2/9 + 0)/2) = (2/3)/(1/3) = 2
    assert_close(smd(m, "a", "b", weighted=False), 2.0, tier="exact")
    # after, weighted variances: 0.5 / sqrt((0.25 + 0)/2)
    assert_close(
        smd(m, "a", "b", denominator="pooled_weighted"), 0.5 / math.sqrt(0.125), tier="exact"
    )
    # cobalt-style: 0.5 / (1/3)
    assert_close(smd(m, "a", "b"), 1.5, tier="exact")
    # continuous reliability-weight variance, group a: Σw=4, Σw²=6, Σw(x−.5)²=1 → 4/(16−6)·1
    c = group_moments([1.0, 0.0, 1.0, 0.0, 0.0, 2.0], g, weights=w, binary=False)
    assert_close(c.weighted_variance[0], 0.4, tier="exact")
    assert_close(c.variance[0], 1 / 3, tier="exact")


def test_degenerate_cases_are_nan_or_zero_never_errors() -> None:
    m = group_moments([1.0, 1.0, 1.0], ["a", "a", "b"], groups=["a", "b", "c"])
    assert smd(m, "b", "a") == 0.0  # equal means, zero variances
    assert math.isnan(smd(m, "c", "a"))  # empty group
    assert math.isnan(summarize_smd(m))
    assert combine_smd([], "max_pairwise") != combine_smd([], "max_pairwise")  # NaN
    with pytest.raises(ValueError, match="group 'z'"):
        smd(m, "z")
    with pytest.raises(ValueError, match="denominator"):
        smd(m, "a", denominator="pooled")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="rule"):
        combine_smd([0.1], "max")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="finite and >= 0"):
        group_moments([1.0, 0.0], ["a", "b"], weights=[1.0, -1.0])


finite = st.integers(-1000, 1000).map(float)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(finite, st.sampled_from("abc"), st.floats(0.1, 10)), min_size=6, max_size=40
    ),
    st.integers(1, 4),
    st.floats(0.5, 20),
)
def test_invariances(rows: list, copies: int, scale: float) -> None:
    x = np.array([r[0] for r in rows])
    g = np.array([r[1] for r in rows], dtype=object)
    w = np.array([r[2] for r in rows])
    base = group_moments(x, g, weights=w, groups="abc", binary=False)
    before = compare_groups(base, weighted=False).estimate
    # rescaling the weights changes nothing; permuting rows changes nothing
    scaled = group_moments(x, g, weights=w * scale, groups="abc", binary=False)
    assert_close(scaled.weighted_mean, base.weighted_mean, tier="invariance")
    assert_close(scaled.weighted_variance, base.weighted_variance, tier="invariance")
    perm = np.random.default_rng(0).permutation(x.size)
    shuffled = group_moments(x[perm], g[perm], weights=w[perm], groups="abc", binary=False)
    assert_close(
        compare_groups(shuffled, denominator="pooled_weighted").estimate,
        compare_groups(base, denominator="pooled_weighted").estimate,
        tier="invariance",
    )
    # SMD is location-scale invariant in x
    moved = group_moments(3.0 * x + 7.0, g, weights=w, groups="abc", binary=False)
    assert_close(compare_groups(moved, weighted=False).estimate, before, tier="invariance")
    # unit weights: weighted moments equal the unweighted ones
    unit = group_moments(np.tile(x, copies), np.tile(g, copies), groups="abc", binary=False)
    assert_close(unit.weighted_mean, unit.mean, tier="invariance")
    assert_close(unit.weighted_variance, unit.variance, tier="invariance")


@settings(max_examples=30, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from([0.0, 1.0, math.nan]), st.sampled_from("abc"), st.floats(0.1, 5)),
        min_size=4,
        max_size=40,
    )
)
def test_indicator_moments_equal_group_moments(rows: list) -> None:
    x = np.array([r[0] for r in rows])
    g = np.array([r[1] for r in rows])
    w = np.array([r[2] for r in rows])
    direct = group_moments(x, g, weights=w, groups="abc", binary=True)
    seen = ~np.isnan(x)
    count = [np.sum((x == 1) & (g == k)) for k in "abc"]
    total = [np.sum(seen & (g == k)) for k in "abc"]
    wcount = [np.sum(w[(x == 1) & (g == k)]) for k in "abc"]
    wtotal = [np.sum(w[seen & (g == k)]) for k in "abc"]
    counted = indicator_moments(
        count, total, weighted_count=wcount, weighted_total=wtotal, groups="abc"
    )
    for field in ("n", "sum_weights", "mean", "variance", "weighted_mean", "weighted_variance"):
        assert_close(getattr(counted, field), getattr(direct, field), tier="invariance")
    for denominator in ("pooled_unweighted", "pooled_weighted"):
        for rule in ("max_pairwise", "average_pairwise", "vs_pooled"):
            assert_close(
                summarize_smd(counted, rule=rule, denominator=denominator),
                summarize_smd(direct, rule=rule, denominator=denominator),
                tier="invariance",
            )


_FIELDS = (
    "n",
    "n_missing",
    "sum_weights",
    "mean",
    "variance",
    "weighted_mean",
    "weighted_variance",
)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(-1, 3), st.integers(0, 3), st.floats(0.0, 5.0)),
        min_size=1,
        max_size=60,
    ),
    st.booleans(),
)
def test_level_moments_equal_group_moments_of_each_indicator(rows: list, weighted: bool) -> None:
    level = np.array([r[0] for r in rows])
    g = np.array([r[1] for r in rows])  # group 3 is not among the groups: left out
    w = np.array([r[2] for r in rows]) if weighted else None
    groups = (2, 0, 1)
    counted = level_moments(level, g, n_levels=4, weights=w, groups=groups)
    coded = grouping(g, weights=w, groups=groups)
    for j, moments in enumerate(counted):
        x = np.where(level < 0, np.nan, (level == j).astype(float))
        direct = group_moments(x, g, weights=w, groups=groups, binary=True)
        assert moments.groups == direct.groups == groups
        for field in _FIELDS:
            ours, theirs = getattr(moments, field), getattr(direct, field)
            np.testing.assert_array_equal(ours[:-1], theirs[:-1], err_msg=field)  # bit for bit
            assert_close(ours[-1], theirs[-1], tier="invariance", err_msg=field)
            np.testing.assert_array_equal(  # a Grouping reused: the same numbers
                getattr(group_moments(x, coded, binary=True), field), theirs, err_msg=field
            )


def test_integer_labels_code_like_their_sorted_distinct_values() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(size=200)
    for labels in ([-5, 7, 2], [0, 10**12, 3]):  # dense range (counted) and wide (sorted)
        g = rng.choice(labels, size=200)
        m = group_moments(x, g)
        as_text = group_moments(x, np.array([f"{v + 10:015d}" for v in g]))
        assert m.groups == tuple(sorted(labels))
        for field in _FIELDS:
            np.testing.assert_array_equal(getattr(m, field), getattr(as_text, field))
    m = group_moments(x, rng.choice([1, 2], size=200), groups=[2, 9])  # 1 left out, 9 empty
    assert m.n[1] == 0 and m.n[0] + m.n_missing[0] < 200


def test_equal_values_have_their_value_as_mean_and_zero_variance() -> None:
    x = np.array([0.1] * 1001 + [0.1] * 7 + [3.0, 5.0])  # 0.1 summed 1001 times is inexact
    g = np.array([0] * 1001 + [1] * 7 + [2, 2])
    w = np.linspace(0.5, 2.0, x.size)
    m = group_moments(x, g, weights=w, binary=False)
    assert m.mean[0] == 0.1 and m.weighted_mean[0] == 0.1
    assert m.variance[0] == 0.0 and m.weighted_variance[0] == 0.0
    assert smd(m, 1, 0, weighted=False) == 0.0
    pooled = group_moments(x[:1008], g[:1008], weights=w[:1008], binary=False)
    assert pooled.mean[-1] == 0.1 and pooled.variance[-1] == 0.0
    assert pooled.weighted_variance[-1] == 0.0
