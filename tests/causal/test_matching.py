"""Two-group nearest-neighbour matching: by hand, against R MatchIt (reference runs), properties."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from regsurv.causal.matching import Matching, match_nearest
from regsurv.testing import assert_close, load_reference


def _expit(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.asarray(x, dtype=float)))


def _pairs(m: Matching, ids: np.ndarray) -> dict[str, str]:
    return {ids[t]: ids[c] for t, c in m.sets[:, :2]}


# -- by hand ------------------------------------------------------------------------------------
# logit distances; T = treated. Sorted: c0(-1.0) t1(0.0) c2(1.0) t3(1.0) c4(1.0) t5(3.0) c6(3.5)
# (c2 before t3 before c4: equal distance, row order). Caliper 1.0 on the logit scale ("raw").
HAND_DIST = np.array([-1.0, 0.0, 1.0, 1.0, 1.0, 3.0, 3.5])
HAND_TREAT = np.array([0, 1, 0, 1, 0, 1, 0])


def test_by_hand_data_order_ties_go_left():
    # t1 (row order first): left c0 at 1.0, right c2 at 1.0 -> tie -> left c0.
    # t3: left c2 at 0, right c4 at 0 -> tie -> left c2.  t5: left c4 at 2.0 > caliper, right
    # c6 at 0.5 -> c6.
    m = match_nearest(_expit(HAND_DIST), HAND_TREAT, caliper=1.0, caliper_scale="raw")
    assert m.sets.tolist() == [[1, 0], [3, 2], [5, 6]]
    assert m.matched_set.tolist() == [1, 1, 2, 2, -1, 3, 3]
    assert m.n_unmatched == {"0": 1, "1": 0}
    assert_close(m.weights, [1, 1, 1, 1, 0, 1, 1], tier="exact")


def test_by_hand_largest_first_and_caliper_drops_a_side():
    # largest: t5 -> c6 (0.5); t3 (1.0) -> left c2 (tie with c4) ; t1 -> left c0 (1.0) vs right
    # c4 (1.0) -> c0.  Caliper 0.9: t1 has c0 and c4 both at 1.0 > 0.9 -> unmatched.
    m = match_nearest(
        _expit(HAND_DIST), HAND_TREAT, caliper=0.9, caliper_scale="raw", order="largest"
    )
    assert m.sets.tolist() == [[3, 2], [5, 6]]
    assert m.n_unmatched == {"0": 2, "1": 1}
    assert m.to_frame()["matched_set"].to_list() == [None, None, 1, 1, None, 2, 2]


def test_by_hand_ratio_two_and_replacement():
    # ratio 2 without caliper, data order. Pass 1: t1 -> c0, t3 -> c2, t5 -> c6.
    # Pass 2: t1: left none, right c4 (1.0) -> c4; t3, t5: nothing left.
    m = match_nearest(_expit(HAND_DIST), HAND_TREAT, caliper=None, ratio=2)
    assert m.sets.tolist() == [[1, 0, 4], [3, 2, -1], [5, 6, -1]]
    # MatchIt weights: t1's controls 1/2 each, others 1; rescaled to sum to 4 matched controls.
    raw = np.array([0.5, 0, 1, 0, 0.5, 0, 1])
    expected = raw * 4 / raw.sum()
    expected[[1, 3, 5]] = 1
    assert_close(m.weights, expected, tier="exact")
    # with replacement: t1 -> {c0, c2} (tie at 1.0 between c0 and c2: c0 first), t3 -> {c2, c4},
    # t5 -> {c6, c4}.
    r = match_nearest(_expit(HAND_DIST), HAND_TREAT, caliper=None, ratio=2, replace=True)
    assert r.sets.tolist() == [[1, 0, 2], [3, 2, 4], [5, 6, 4]]
    assert r.matched_set.tolist() == [1, 1, 1, 2, 2, 3, 3]


# -- R MatchIt (reference runs: MatchIt's algorithm without the 4.5.1 |diff| truncation) --------
LALONDE = load_reference("lalonde__matchit")
LALONDE_VARIANTS = {
    "matchit__logit_caliper02_largest": {"order": "largest"},
    "matchit__logit_caliper02_smallest": {"order": "smallest"},
    "matchit__logit_caliper02_data": {"order": "data"},
    "matchit__ps_caliper02_largest": {"order": "largest", "distance": "ps", "caliper_scale": "sd"},
    "matchit__ps_nocaliper_largest": {"order": "largest", "distance": "ps", "caliper": None},
}


def _subclass_partition(ids, subclass) -> set[frozenset[str]]:
    groups: dict[str, set[str]] = {}
    for i, s in zip(ids, subclass, strict=True):
        if s is not None:
            groups.setdefault(s, set()).add(i)
    return {frozenset(g) for g in groups.values()}


@pytest.mark.parametrize("key", sorted(LALONDE_VARIANTS))
def test_lalonde_matches_matchit(key):
    ref = LALONDE["analyses"][key]["reference"]["result"]
    per_row = LALONDE["analyses"]["ps_glm"]["result"]["per_row"]
    ids = np.array(per_row["id"])
    m = match_nearest(np.array(per_row["ps"]), np.array(per_row["treat"]), **LALONDE_VARIANTS[key])
    expected = {
        t: c
        for t, c in zip(ref["pairs"]["treated_id"], ref["pairs"]["control_id"], strict=True)
        if c is not None
    }
    assert _pairs(m, ids) == expected
    assert m.n_sets == ref["n_pairs"]
    assert m.n_unmatched["1"] == ref["n_treated_unmatched"]
    nn = dict(zip(ref["nn"]["rownames"], ref["nn"]["values"], strict=True))
    assert [m.n_unmatched["0"], m.n_unmatched["1"]] == nn["Unmatched"]
    if ref["caliper_used"] is None:
        assert m.caliper is None
    else:
        assert_close(m.caliper, ref["caliper_used"], tier="software")
    w = ref["weights_per_row"]
    assert w["id"] == per_row["id"]
    assert_close(m.weights, w["weight"], tier="exact")
    assert _subclass_partition(ids, m.to_frame()["matched_set"].cast(pl.String)) == (
        _subclass_partition(w["id"], w["subclass"])
    )


def test_lalonde_caliper_from_ps_uses_logit_sd():
    per_row = LALONDE["analyses"]["ps_glm"]["result"]
    m = match_nearest(np.array(per_row["per_row"]["ps"]), np.array(per_row["per_row"]["treat"]))
    assert_close(m.caliper, per_row["caliper_0.2_sd_logit"], tier="software")


SIM = load_reference("sim3arm_a__matchit")


@pytest.mark.parametrize(
    ("key", "classes"),
    [
        ("Metastasectomy_vs_SPalone", ("0", "1")),
        ("SPalone_vs_Nonsurgicaladjuvant", ("0", "1")),
    ],
)
def test_sim3arm_pairs_match_matchit_with_ties(key, classes):
    """All-categorical covariates: many tied distances, so the tie rules decide the pairs."""
    ref = SIM["analyses"][key]["reference"]["result"]
    rows = ref["distance_per_row"]
    ids = np.array([str(i) for i in rows["id"]])
    dist = np.array(rows["distance"])
    assert np.unique(dist).size < 0.6 * dist.size  # the fixture is tie-heavy
    m = match_nearest(_expit(dist), np.array(rows["treat"]), classes=classes, order="largest")
    expected = {
        t: c
        for t, c in zip(ref["pairs"]["treated_id"], ref["pairs"]["control_id"], strict=True)
        if c is not None
    }
    assert _pairs(m, ids) == expected
    assert m.n_sets == ref["n_pairs"]
    assert_close(m.caliper, ref["caliper_used"], tier="software")
    w = ref["weights_per_row"]
    assert_close(m.weights, w["weight"], tier="exact")


def test_treatment_labels_polars_enum_and_ps_matrix():
    ref = SIM["analyses"]["Metastasectomy_vs_SPalone"]["reference"]["result"]["distance_per_row"]
    p = _expit(ref["distance"])
    arm = pl.Series(
        "arm",
        ["Metastasectomy" if t else "SP alone" for t in ref["treat"]],
        dtype=pl.Enum(["SP alone", "Metastasectomy"]),
    )
    a = match_nearest(np.column_stack((1 - p, p)), arm, order="largest")
    b = match_nearest(p, np.array(ref["treat"]), order="largest")
    assert a.set_groups == ("Metastasectomy", "SP alone")
    assert np.array_equal(a.sets, b.sets)
    assert a.n_unmatched == {"SP alone": b.n_unmatched["0"], "Metastasectomy": b.n_unmatched["1"]}


# -- properties: union-find kernel == naive scan of the same algorithm --------------------------
def _naive_greedy(dist, treated, visit, caliper, ratio):
    order = np.argsort(dist, kind="stable")
    pos = np.empty(dist.size, dtype=int)
    pos[order] = np.arange(dist.size)
    available = set(np.flatnonzero(~treated).tolist())
    out = {int(t): [] for t in visit}
    active = [int(t) for t in visit]
    for _ in range(ratio):
        nxt = []
        for t in active:
            left = [c for c in available if pos[c] < pos[t]]
            right = [c for c in available if pos[c] > pos[t]]
            lo = max(left, key=lambda c: pos[c]) if left else None
            hi = min(right, key=lambda c: pos[c]) if right else None
            dl = dist[t] - dist[lo] if lo is not None else np.inf
            dh = dist[hi] - dist[t] if hi is not None else np.inf
            dl = dl if dl <= caliper else np.inf
            dh = dh if dh <= caliper else np.inf
            if np.isinf(dl) and np.isinf(dh):
                continue
            c = lo if dl <= dh else hi
            out[t].append(c)
            available.discard(c)
            nxt.append(t)
        active = nxt
    return out


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(-6, 6), min_size=2, max_size=25),
    st.lists(st.booleans(), min_size=25, max_size=25),
    st.sampled_from(["data", "largest", "smallest"]),
    st.integers(1, 3),
    st.sampled_from([0.5, 1.0, 100.0]),
)
def test_greedy_equals_naive_scan(values, flags, order, ratio, caliper):
    dist = np.array(values, dtype=float) / 4  # coarse grid: many ties
    treat = np.array(flags[: dist.size], dtype=int)
    treat[0], treat[-1] = 1, 0  # both groups present
    m = match_nearest(
        _expit(dist), treat, caliper=caliper, caliper_scale="raw", ratio=ratio, order=order
    )
    logit = np.log(_expit(dist)) - np.log1p(-_expit(dist))
    t_rows = np.flatnonzero(treat == 1)
    key = {"data": t_rows, "largest": t_rows[np.argsort(-logit[t_rows], kind="stable")]}
    visit = key.get(order, t_rows[np.argsort(logit[t_rows], kind="stable")])
    naive = _naive_greedy(logit, treat == 1, visit, caliper, ratio)
    got = {int(s[0]): [int(c) for c in s[1:] if c >= 0] for s in m.sets}
    assert got == {t: cs for t, cs in naive.items() if cs}
    used = m.sets[:, 1:][m.sets[:, 1:] >= 0]
    assert used.size == np.unique(used).size  # nobody used twice
    assert np.all(
        np.abs(logit[m.sets[:, 0]][:, None] - logit[m.sets[:, 1:]])[m.sets[:, 1:] >= 0] <= caliper
    )


def test_random_order_is_seeded_and_row_order_invariant():
    rng = np.random.default_rng(7)
    p = rng.uniform(0.05, 0.95, 400)
    treat = rng.integers(0, 2, 400)
    a = match_nearest(p, treat, order="random", random_state=3)
    b = match_nearest(p, treat, order="random", random_state=3)
    assert np.array_equal(a.sets, b.sets)
    # data order: permuting rows permutes the result (no ties here)
    perm = rng.permutation(400)
    c = match_nearest(p[perm], treat[perm], order="largest")
    d = match_nearest(p, treat, order="largest")
    assert _pairs(c, perm.astype(str)) == _pairs(d, np.arange(400).astype(str))


def test_pandas_and_list_inputs():
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame({"ps": _expit(HAND_DIST), "t": HAND_TREAT.astype(bool)})
    m = match_nearest(df["ps"], df["t"], caliper=1.0, caliper_scale="raw")
    assert m.classes == ("0", "1")
    assert m.sets.tolist() == [[1, 0], [3, 2], [5, 6]]
    md = m.matched_data(df)
    assert md.height == 6 and md["matched_set"].to_list() == [1, 1, 2, 2, 3, 3]


# -- bad input: one-line errors naming the problem ----------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"ps": [0.2, 1.0, 0.4]}, "strictly between 0 and 1.*1 of 3 rows"),
        ({"ps": [0.2, 0.3]}, "ps has 2 rows but treatment has 3"),
        ({"treatment": [0, 1, 2]}, "exactly 2 treatment groups, got 3"),
        ({"treatment": [0, None, 1]}, "1 missing values in 3 rows"),
        ({"caliper_scale": "sds"}, "caliper_scale must be one of"),
        ({"order": "biggest"}, "order must be one of"),
        ({"ratio": 0}, "ratio must be a positive integer"),
        ({"caliper": -1.0}, "caliper must be a positive number"),
        ({"classes": ("0", "2")}, "treatment value '1' \\(1 rows\\) is not in classes"),
    ],
)
def test_bad_input_messages(kwargs, message):
    args = {"ps": [0.2, 0.3, 0.4], "treatment": [0, 0, 1], **kwargs}
    with pytest.raises(ValueError, match=message):
        match_nearest(args.pop("ps"), args.pop("treatment"), **args)


def test_result_round_trip():
    m = match_nearest(_expit(HAND_DIST), HAND_TREAT, caliper=1.0, caliper_scale="raw")
    d = m.to_dict()
    assert d["n_sets"] == 3 and d["n_matched"] == {"0": 3, "1": 3} and d["method"] == "nearest"
    assert repr(m).startswith("Matching(nearest, 3 sets of 1/0, caliper 1,")
    assert m.sets_frame().columns == ["matched_set", "1", "0"]
    assert m.summary().rows() == [("0", 4, 3, 1), ("1", 3, 3, 0)]
