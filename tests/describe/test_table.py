"""summary_table and its tests against R (sim3arm_a__baseline_tests.json, every entry)."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from regsurv.describe import OVERALL, summary_table
from regsurv.describe import _tests as kernels
from regsurv.testing import assert_close, load_reference, reference_data_path

REF = load_reference("sim3arm_a__baseline_tests")
LEVELS = REF["factor_levels_first_is_reference"]
ARMS = LEVELS["arm"]
DATA = pl.read_csv(reference_data_path("sim3arm_a"), null_values="NA")
NUMERIC_FACTORS = {"cdcc": ["0", "1"], "nodes_examined": ["0", "1"]}
PAIR_NAMES = {a.replace(" ", "").replace("-", ""): a for a in ARMS}


def _levels(variable: str) -> list[str]:
    return NUMERIC_FACTORS.get(variable) or LEVELS[variable]


def _table(data: pl.DataFrame, variable: str, arms: list[str], **kwargs):
    return summary_table(
        data,
        group="arm",
        variables=[variable],
        levels={"arm": arms, variable: _levels(variable)},
        kinds={variable: "categorical"},
        **kwargs,
    )


def _cells(table, variable: str, column: str, groups: list[str]) -> np.ndarray:
    """levels × groups matrix of one column of the tidy frame (missing row last if present)."""
    frame = table.to_frame().filter(pl.col("variable") == variable)
    levels = frame["level"].unique(maintain_order=True).to_list()
    return np.array(
        [
            [
                frame.filter((pl.col("level") == lv) & (pl.col("group") == g))[column].item()
                for g in groups
            ]
            for lv in levels
        ],
        dtype=float,
    )


def _pair(key: str) -> list[str]:
    a, b = key.split("__")[2].split("_vs_")
    return [PAIR_NAMES[a], PAIR_NAMES[b]]


def _variable(key: str) -> str:
    return key.split("__")[1]


# --- every analysis entry -------------------------------------------------------------------


def check_chisq(key: str, entry: dict) -> None:
    variable = _variable(key)
    res = entry["result"]
    t = _table(DATA, variable, ARMS, categorical_test="chisq")
    row = t.tests.row(0, named=True)
    assert row["test"] == res["method"]
    assert_close(row["statistic"], res["statistic"], tier="software")
    assert_close(row["df"], res["df"], tier="exact")
    assert_close(row["p_value"], res["p"], tier="software")
    observed = _cells(t, variable, "n", ARMS)[: len(res["observed"]["rownames"])]
    assert_close(observed, res["observed"]["values"], tier="exact")
    k = kernels.chisq_test(observed)
    assert_close(k["expected"], res["expected"]["values"], tier="software")
    assert list(k["warnings"]) == entry["warnings"]
    if entry["warnings"]:
        assert entry["warnings"][0] in row["note"]


def check_marginal_counts(key: str, entry: dict) -> None:
    t = _table(DATA, "sex", ARMS)
    assert t.groups == tuple(entry["counts"])
    assert_close(t.group_sizes, list(entry["counts"].values()), tier="exact")


def check_chisq2x2(key: str, entry: dict) -> None:
    variable, arms = _variable(key), _pair(key)
    res = entry["result"]
    subset = DATA.filter(pl.col("arm").is_in(arms))
    observed = res["observed"]["values"]
    if key.startswith("chisq2x2_yates"):
        # the table applies Yates to a 2x2 table by itself, as R's chisq.test
        t = _table(subset, variable, arms, categorical_test="chisq")
        row = t.tests.row(0, named=True)
        assert_close(_cells(t, variable, "n", arms)[:2], observed, tier="exact")
        statistic, p, method = row["statistic"], row["p_value"], row["test"]
    else:
        k = kernels.chisq_test(np.array(observed), correct=False)
        statistic, p, method = k["statistic"], k["p_value"], k["method"]
        assert_close(k["expected"], res["expected"]["values"], tier="software")
        # and through the table with correct=False (R chisq.test(correct = FALSE))
        t = _table(subset, variable, arms, categorical_test="chisq", correct=False)
        row = t.tests.row(0, named=True)
        assert row["test"] == res["method"]
        assert_close(row["statistic"], res["statistic"], tier="software")
        assert_close(row["p_value"], res["p"], tier="software")
    assert method == res["method"]
    assert_close(statistic, res["statistic"], tier="software")
    assert_close(p, res["p"], tier="software")


def check_fisher2x2(key: str, entry: dict) -> None:
    variable, arms = _variable(key), _pair(key)
    res = entry["result"]
    subset = DATA.filter(pl.col("arm").is_in(arms))
    t = _table(subset, variable, arms, categorical_test="fisher")
    row = t.tests.row(0, named=True)
    assert row["test"] == "Fisher's exact test"
    assert_close(row["p_value"], res["p"], tier="software")
    k = kernels.fisher_2x2(_cells(t, variable, "n", arms)[:2])
    assert_close(k["p_value"], res["p"], tier="software")
    assert_close(k["estimate"], res["odds_ratio_conditional_mle"], tier="software")
    assert_close([k["conf_low"], k["conf_high"]], res["conf_int"], tier="software")


def check_fisher_rxc(key: str, entry: dict) -> None:
    variable = _variable(key)
    t = _table(DATA, variable, ARMS, categorical_test="fisher")
    row = t.tests.row(0, named=True)
    assert row["test"].startswith("Fisher's exact test (Monte Carlo")
    # Monte Carlo (100,000 tables, fixed seed) against R's exact network algorithm: the
    # simulation error (SE <= 2% of p here) needs the loose tier; the seed makes it reproducible.
    assert_close(row["p_value"], entry["result"]["p"], tier="published")


def _age_tests(continuous_test: str) -> dict:
    t = summary_table(
        DATA,
        group="arm",
        variables=["age"],
        levels={"arm": ARMS},
        continuous_test=continuous_test,
    )
    return t.tests.row(0, named=True)


def check_anova(key: str, entry: dict) -> None:
    res = entry["result"]
    row = _age_tests("anova")
    assert_close(row["statistic"], res["F"][0], tier="software")
    assert_close([row["df"], row["df_denominator"]], res["Df"], tier="exact")
    assert_close(row["p_value"], res["p"][0], tier="software")
    samples = [DATA.filter(pl.col("arm") == a)["age"].to_numpy().astype(float) for a in ARMS]
    assert_close(kernels.oneway_anova(samples)["sum_sq"], res["SumSq"], tier="software")


def check_oneway(key: str, entry: dict) -> None:
    res = entry["result"]
    row = _age_tests("welch" if "welch" in key else "anova")
    assert_close(row["statistic"], res["statistic"], tier="software")
    assert_close(row["df"], res["parameter"]["num df"], tier="exact")
    assert_close(row["df_denominator"], res["parameter"]["denom df"], tier="software")
    assert_close(row["p_value"], res["p"], tier="software")


def check_kruskal(key: str, entry: dict) -> None:
    res = entry["result"]
    row = _age_tests("kruskal")
    assert row["test"] == "Kruskal-Wallis rank-sum test"
    assert_close(row["statistic"], res["statistic"], tier="software")
    assert_close(row["df"], res["parameter"]["df"], tier="exact")
    assert_close(row["p_value"], res["p"], tier="software")


def check_age_descriptives(key: str, entry: dict) -> None:
    t = summary_table(DATA, group="arm", variables=["age"], levels={"arm": ARMS})
    frame = t.to_frame()
    expected = {**entry["result"], OVERALL: entry["overall"]}
    for group, ref in expected.items():
        row = frame.filter(pl.col("group") == group).row(0, named=True)
        for ours, theirs in [
            ("n", "n"),
            ("mean", "mean"),
            ("sd", "sd"),
            ("median", "median"),
            ("min", "min"),
            ("max", "max"),
        ]:
            assert_close(row[ours], ref[theirs], tier="software", err_msg=f"{group} {ours}")


CHECKS = {
    "chisq2x2_yates": check_chisq2x2,
    "chisq2x2_noyates": check_chisq2x2,
    "fisher2x2": check_fisher2x2,
    "fisher_rxc": check_fisher_rxc,
    "chisq": check_chisq,
    "anova_age_by_arm": check_anova,
    "oneway_equalvar_age_by_arm": check_oneway,
    "oneway_welch_age_by_arm": check_oneway,
    "kruskal_age_by_arm": check_kruskal,
    "age_descriptives_by_arm": check_age_descriptives,
}


@pytest.mark.parametrize("key", list(REF["analyses"]))
def test_every_baseline_entry_matches_r(key: str) -> None:
    entry = REF["analyses"][key]
    assert "error" not in entry
    if key == "chisq__arm_marginal_counts":
        check_marginal_counts(key, entry)
        return
    CHECKS[key.split("__")[0]](key, entry)


@pytest.mark.parametrize("variable", list(REF["descriptives"]))
def test_every_descriptive_matches_r(variable: str) -> None:
    ref = REF["descriptives"][variable]
    t = _table(DATA, variable, ARMS)
    counts = _cells(t, variable, "n", ARMS)
    assert_close(counts, ref["counts_with_NA"]["values"], tier="exact")
    levels = t.rows.filter(~pl.col("is_missing"))["level"].unique(maintain_order=True).to_list()
    assert levels == ref["column_percent_excluding_NA"]["rownames"]
    percent = _cells(t, variable, "percent", ARMS)[: len(levels)]
    assert_close(percent, ref["column_percent_excluding_NA"]["values"], tier="software")
    overall = _cells(t, variable, "n", [OVERALL])[: len(levels), 0]
    assert_close(overall, list(ref["overall_counts_excluding_NA"].values()), tier="exact")
    has_missing = "NA" in ref["counts_with_NA"]["rownames"]
    assert t.rows["is_missing"].any() == has_missing
