"""balance_table: every row of R's sim3arm_a__smd.json, a hand case, properties, bad input."""

from __future__ import annotations

from fractions import Fraction as F  # noqa: N817 - house style §5

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from causal._iptw_data import sim3arm
from regsurv.causal.balance import balance_table
from regsurv.causal.weights import iptw_weights
from regsurv.testing import assert_close, load_reference

SMD = load_reference("sim3arm_a__smd")
PER_ROW = load_reference("sim3arm_a__propensity")["per_row"]
BALANCE = [
    "insurance",
    "sex",
    "race",
    "cdcc",
    "grade",
    "yeargrp",
    "agegrp",
    "nodes_examined",
    "age",
]


def _r_name(variable: str, level: str | None) -> str:
    return variable if variable == "age" else f"{variable}={level if level is not None else 1}"


def _reference_rows(table: dict, pooled: bool) -> dict[tuple[str, str, str], dict]:
    keys = list(table)
    out = {}
    for i in range(len(table["variable"])):
        if (table["group0"][i] == "pooled") == pooled:
            out[(table["group1"][i], table["group0"][i], table["variable"][i])] = {
                k: table[k][i] for k in keys
            }
    return out


@pytest.mark.parametrize("rule", ["max_pairwise", "vs_pooled"])
@pytest.mark.parametrize(
    ("weights_key", "table_key"),
    [("w_final_stabilized_normalized", "final_weights"), ("w_iptw", "unstabilized_weights")],
)
def test_every_smd_matches_r(rule, weights_key, table_key):
    table = SMD[table_key] if table_key == "final_weights" else SMD[table_key]["table"]
    expected = _reference_rows(table, pooled=rule == "vs_pooled")
    data = sim3arm()
    for denominator, r_after in [
        ("pooled_weighted", "smd_after"),
        ("pooled_unweighted", "smd_after_unweighted_denominator"),
    ]:
        bal = balance_table(
            data, treatment="arm", covariates=BALANCE, weights=np.array(PER_ROW[weights_key]),
            rule=rule, denominator=denominator,
        )  # fmt: skip
        rows = bal.to_frame(comparisons=True)
        assert rows.height == len(expected)
        for row in rows.iter_rows(named=True):
            ref = expected[(row["group1"], row["group0"], _r_name(row["variable"], row["level"]))]
            assert_close(row["smd_before"], ref["smd_before"], tier="software")
            assert_close(row["smd_after"], ref[r_after], tier="software")


def test_folded_rules_and_summaries():
    data = sim3arm()
    w = np.array(PER_ROW["w_final_stabilized_normalized"])
    pairs = _reference_rows(SMD["final_weights"], pooled=False)
    bal_max = balance_table(data, treatment="arm", covariates=BALANCE, weights=w)
    bal_avg = balance_table(
        data, treatment="arm", covariates=BALANCE, weights=w, rule="average_pairwise"
    )
    for i, (var, level) in enumerate(zip(bal_max.variable, bal_max.level, strict=True)):
        name = _r_name(var, level)
        after = np.array([r["smd_after"] for k, r in pairs.items() if k[2] == name])
        assert_close(bal_max.estimate_after[i], np.abs(after).max(), tier="software")
        assert_close(bal_avg.estimate_after[i], np.abs(after).mean(), tier="software")
    # README: every model covariate < 0.1 after weighting; age (not in the model) is not
    assert set(bal_max.imbalanced()["variable"].to_list()) == {"age"}
    assert bal_max.max_abs_smd == pytest.approx(bal_max.estimate_after.max())
    assert bal_max.imbalanced(threshold=0.5).height == 0
    frame = bal_max.to_frame()
    assert frame.columns == [
        "variable", "level", "type", "smd_before", "smd_after", "rule", "denominator",
    ]  # fmt: skip
    assert frame.height == 3 + 2 + 3 + 1 + 4 + 3 + 2 + 1 + 1
    assert bal_max.to_dict()["rule"] == "max_pairwise"
    assert "max |SMD| after weighting" in repr(bal_max)


def test_weights_object_and_column_give_the_same_table():
    data = sim3arm().with_columns(w=pl.Series(PER_ROW["w_final_stabilized_normalized"]))
    ps = np.column_stack(
        [PER_ROW[c] for c in ("ps_SP_alone", "ps_Metastasectomy", "ps_Non_surgical_adjuvant")]
    )
    a = balance_table(data, treatment="arm", covariates=["grade"], weights="w")
    b = balance_table(
        data, treatment="arm", covariates=["grade"], weights=iptw_weights(ps, data["arm"])
    )
    assert_close(a.smd_after, b.smd_after, tier="invariance")
    c = balance_table(data.to_pandas(), treatment="arm", covariates=["grade"], weights="w")
    assert_close(c.smd_after, a.smd_after, tier="invariance")  # pandas categories keep order
    assert list(c.level) == list(a.level) and c.group1 == a.group1


def test_two_groups_by_hand():
    # x in a: 1, 1, 0, 0 (p = 1/2); in b: 1, 0, 0, 0 (p = 1/4).
    # before: (1/4 - 1/2) / sqrt((1/4 + 3/16) / 2) = -(1/4) / sqrt(7/32)
    # weights 3 on b's single 1: pw_b = 3/6 = 1/2 -> after = 0 exactly
    frame = pl.DataFrame({"g": ["a"] * 4 + ["b"] * 4, "x": [1, 1, 0, 0, 1, 0, 0, 0]})
    w = [1, 1, 1, 1, 3, 1, 1, 1]
    bal = balance_table(frame, treatment="g", covariates=["x"], weights=w)
    assert bal.group1 == ("b",) and bal.group0 == ("a",)
    assert_close(bal.smd_before[0, 0], -0.25 / np.sqrt(7 / 32), tier="exact")
    assert_close(bal.smd_after[0, 0], F(0), tier="exact")
    unweighted = balance_table(frame, treatment="g", covariates=["x"])
    assert unweighted.smd_after is None
    assert unweighted.to_frame()["smd_after"].is_nan().all()
    assert_close(unweighted.max_abs_smd, 0.25 / np.sqrt(7 / 32), tier="exact")


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_smd_is_invariant_to_row_order_and_weight_scale(seed):
    rng = np.random.default_rng(seed)
    n = 60
    frame = pl.DataFrame(
        {
            "g": rng.choice(["a", "b", "c"], n),
            "cat": rng.choice(["u", "v", "w"], n),
            "num": rng.normal(size=n),
        }
    )
    w = rng.uniform(0.2, 3.0, n)
    base = balance_table(frame, treatment="g", covariates=["cat", "num"], weights=w)
    perm = rng.permutation(n)
    shuffled = balance_table(frame[perm], treatment="g", covariates=["cat", "num"], weights=w[perm])
    scaled = balance_table(frame, treatment="g", covariates=["cat", "num"], weights=7.5 * w)
    assert_close(shuffled.smd_after, base.smd_after, tier="invariance")
    assert_close(scaled.smd_after, base.smd_after, tier="invariance")
    assert_close(scaled.smd_before, base.smd_before, tier="invariance")


def test_missing_covariate_values_are_left_out_of_that_covariate_only():
    frame = pl.DataFrame(
        {
            "g": ["a", "a", "a", "b", "b", "b"],
            "s": ["u", None, "v", "u", "v", "v"],
            "x": [1.0, 2.0, 3.0, 4.0, 5.0, 7.0],
        }
    )
    w = np.array([1.0, 2.0, 1.0, 0.5, 1.0, 2.0])
    full = balance_table(frame, treatment="g", covariates=["s", "x"], weights=w)
    keep = frame["s"].is_not_null().to_numpy()
    s_only = balance_table(frame.filter(keep), treatment="g", covariates=["s"], weights=w[keep])
    x_only = balance_table(frame, treatment="g", covariates=["x"], weights=w)
    assert_close(full.smd_after[:2], s_only.smd_after, tier="exact")
    assert_close(full.smd_after[2:], x_only.smd_after, tier="exact")
    assert full.warnings == ("covariate 's': 1 missing values left out",)


def test_bad_input():
    frame = pl.DataFrame({"g": ["a", "b", None], "x": [1.0, 2.0, 3.0]})
    with pytest.raises(ValueError, match=r"treatment 'g' has 1 missing values in 3 rows"):
        balance_table(frame, treatment="g", covariates=["x"])
    with pytest.raises(ValueError, match="column 'y' not found"):
        balance_table(frame, treatment="g", covariates=["y"])
    ok = frame.drop_nulls()
    with pytest.raises(ValueError, match="rule must be one of"):
        balance_table(ok, treatment="g", covariates=["x"], rule="max")
    with pytest.raises(ValueError, match="weights must be finite"):
        balance_table(ok, treatment="g", covariates=["x"], weights=[1.0, -1.0])
