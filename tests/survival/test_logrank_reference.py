"""Log-rank tests against R ``survdiff`` and ``survey::svylogrank``: every recorded analysis."""

from __future__ import annotations

import re

import numpy as np
import pytest

from regsurv.survival import logrank_test, pairwise_logrank_test
from regsurv.testing import assert_close, load_reference
from survival._r_data import SIM_LEVELS, r_dataset

LOGRANK_FILES = [
    "lung__logrank",
    "veteran__logrank",
    "colon__logrank",
    "sim3arm_a__logrank",
    "edge__all_censored",
    "edge__zero_events_group",
    "edge__time_zero",
    "edge__weights_ties",
    "edge__separation",
    "edge__heavy_ties",
]
SURVDIFF = re.compile(
    r"survdiff\(Surv\((?P<time>\w+), (?P<event>\w+)\) ~ (?P<group>\w+)"
    r"(?: \+ strata\((?P<strata>\w+)\))?, data = (?P<data>.+?)(?:, rho = (?P<rho>\d))?\)$"
)


def logrank_cases():
    for file in LOGRANK_FILES:
        ref = load_reference(file)
        for key, analysis in ref["analyses"].items():
            if analysis.get("call", "").startswith("survdiff("):
                yield pytest.param(ref["dataset"], analysis, id=f"{file}:{key}")


def _label(stratum: str) -> str:
    return stratum.split("=", 1)[1]


@pytest.mark.parametrize(("dataset", "analysis"), list(logrank_cases()))
def test_logrank_matches_survdiff(dataset, analysis):
    m = SURVDIFF.match(analysis["call"])
    assert m, analysis["call"]
    result = logrank_test(
        r_dataset(dataset, m["data"]),
        time=m["time"],
        event=m["event"],
        group=m["group"],
        strata=m["strata"],
        rho=int(m["rho"] or 0),
    )
    r = analysis["result"]
    msg = analysis["call"]
    assert list(result.groups) == [_label(g) for g in r["groups"]]
    assert_close(result.n, r["n"], tier="exact", err_msg=msg)
    assert_close(result.observed, r["observed"], tier="software", err_msg=msg)
    assert_close(result.expected, r["expected"], tier="software", err_msg=msg)
    assert_close(result.variance, r["var"]["values"], tier="software", err_msg=msg)
    assert_close(result.statistic, r["chisq"], tier="software", err_msg=msg)
    assert result.df == r["df"]
    assert_close(result.p_value, r["p"], tier="software", err_msg=msg)
    if r["p"] is None:
        assert any("undefined" in w for w in result.warnings)
    if "margins" in analysis["call"]:
        assert result.n_dropped == 1124 - int(sum(r["n"]))


def test_every_logrank_fixture_is_covered():
    # lung 2, veteran 5, colon 2, sim3arm_a 8, one per edge file (6)
    assert len(list(logrank_cases())) == 23


def test_pairwise_matches_survdiff_on_subsets():
    ref = load_reference("sim3arm_a__logrank")["analyses"]
    result = pairwise_logrank_test(
        r_dataset("sim3arm_a", "d"),
        time="os_months",
        event="vital_status",
        group="arm",
        adjust="none",
    )
    keys = [
        "arm__SPalone_vs_Metastasectomy",
        "arm__SPalone_vs_Nonsurgicaladjuvant",
        "arm__Metastasectomy_vs_Nonsurgicaladjuvant",
    ]
    assert list(zip(result.group1, result.group2, strict=True)) == [
        (SIM_LEVELS["arm"][0], SIM_LEVELS["arm"][1]),
        (SIM_LEVELS["arm"][0], SIM_LEVELS["arm"][2]),
        (SIM_LEVELS["arm"][1], SIM_LEVELS["arm"][2]),
    ]
    assert_close(result.statistic, [ref[k]["result"]["chisq"] for k in keys], tier="software")
    assert_close(result.p_value, [ref[k]["result"]["p"] for k in keys], tier="software")
    assert_close(result.p_adjusted, result.p_value, tier="exact")


def test_weighted_logrank_matches_svylogrank():
    analysis = load_reference("sim3arm_a__iptw_survival")["analyses"]["svylogrank"]
    assert analysis["call"] == "svylogrank(Surv(os_months, vital_status) ~ arm, design = des)"
    r = analysis["result"]
    result = logrank_test(
        r_dataset("sim3arm_a", "d"),
        time="os_months",
        event="vital_status",
        group="arm",
        weights="w",
    )
    assert result.weighted and "svylogrank" in result.method
    assert_close(result.statistic, r["statistic"], tier="software")
    assert result.df == r["df"]
    assert_close(result.p_value, r["p"], tier="software")
    table = np.array(r["per_group_score"]["values"])  # rows: non-reference arms
    assert r["per_group_score"]["colnames"] == ["score", "se", "z", "p"]
    assert_close(result.score[1:], table[:, 0], tier="software")
    assert_close(result.score_std_error[1:], table[:, 1], tier="software")
    assert_close(result.score_z[1:], table[:, 2], tier="software")
    assert_close(result.score_p_value[1:], table[:, 3], tier="software")
    # scores are O - E: they sum to zero over the groups, and so do the rows of the variance
    scale = np.abs(result.score).max()
    assert_close(result.score.sum() / scale, 0.0, tier="invariance")
    assert_close(result.observed - result.expected, result.score, tier="exact")
    row_sums = result.variance.sum(axis=1) / np.abs(result.variance).max()
    assert_close(row_sums, np.zeros(3), tier="invariance")
