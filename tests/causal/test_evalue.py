"""E-values (VanderWeele & Ding 2017) against ref/evalue.json (R/12_mi_evalue.R)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from causal._iptw_data import sim3arm
from regsurv.causal.evalue import cox_evalues, evalue
from regsurv.survival.cox import cox_ph
from regsurv.testing import assert_close, load_reference

REF = load_reference("evalue")["analyses"]


@pytest.mark.parametrize("scale", ["rare_outcome", "common_outcome"])
def test_matches_r_closed_forms_field_by_field(scale):
    rows = REF[scale]
    result = evalue(
        [r["hr"] for r in rows],
        [r["conf_low"] for r in rows],
        [r["conf_high"] for r in rows],
        terms=[r["label"] for r in rows],
        outcome=scale.split("_")[0],
    )
    assert result.terms == tuple(r["label"] for r in rows)
    assert_close(result.risk_ratio, [r["rr"] for r in rows], tier="software")
    assert_close(result.estimate, [r["evalue_point"] for r in rows], tier="software")
    assert_close(result.evalue_conf, [r["evalue_ci"] for r in rows], tier="software")
    frame = result.to_frame()
    assert frame.columns[0] == "term" and frame.height == len(rows)


def test_outcome_chosen_from_the_event_proportion_and_stated():
    common = evalue(0.45, 0.34, 0.61, event_proportion=0.62)
    rare = evalue(0.45, 0.34, 0.61, event_proportion=0.15)  # 15 % itself counts as rare
    assert common.outcome == "common" and rare.outcome == "rare"
    assert "62.0% > 15%" in common.method and "15.0% <= 15%" in rare.method
    assert_close(common.estimate, REF["common_outcome"][0]["evalue_point"], tier="software")
    assert_close(rare.estimate, REF["rare_outcome"][0]["evalue_point"], tier="software")
    assert common.to_dict()["outcome"] == "common"


def test_ci_crossing_one_gives_one_and_says_so():
    result = evalue(0.9, 0.74, 1.11, terms=["age"], outcome="rare")
    assert result.evalue_conf[0] == 1.0
    assert result.warnings == ("the CI of 'age' includes 1: its E-value is 1",)


def test_without_ci_the_ci_evalue_is_missing():
    result = evalue(2.0, outcome="rare")
    assert_close(result.estimate, 2.0 + np.sqrt(2.0), tier="exact")
    assert np.isnan(result.evalue_conf[0])
    assert result.to_dict()["table"]["evalue_conf"] == [None]


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        ((0.0,), {"outcome": "rare"}, "hazard ratio of 'hr1' must be positive and finite"),
        ((-1.2, -2, -1), {"outcome": "rare"}, "must be positive and finite, got -1.2"),
        ((float("nan"),), {"outcome": "rare"}, "must be positive and finite"),
        ((0.5, 0.6, 0.9), {"outcome": "rare"}, "conf_low <= HR <= conf_high"),
        ((0.5, 0.4), {"outcome": "rare"}, "give both conf_low and conf_high"),
        ((0.5,), {}, "give event_proportion"),
        ((0.5,), {"outcome": "often"}, "outcome must be one of"),
        ((0.5,), {"event_proportion": 1.5}, "event_proportion must be in [0, 1]"),
    ],
)
def test_bad_input_is_a_one_line_value_error(args, kwargs, message):
    with pytest.raises(ValueError) as info:
        evalue(*args, **kwargs)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_cox_evalues_use_the_fit_and_its_event_proportion():
    data = sim3arm()
    cox = cox_ph(data, time="os_months", event="vital_status", covariates=["arm"])
    result = cox_evalues(cox, terms=["arm:Metastasectomy"])
    table = cox.to_frame()
    assert result.terms == ("arm:Metastasectomy",)
    assert_close(result.hazard_ratio, table["hr"][0], tier="exact")
    assert result.event_proportion == pytest.approx(data["vital_status"].mean())
    assert result.outcome == "common"
    with pytest.raises(ValueError, match="term 'arm:x' is not in the model"):
        cox_evalues(cox, terms=["arm:x"])


@given(st.floats(0.01, 100.0), st.sampled_from(["rare", "common"]))
def test_evalue_is_symmetric_in_the_direction_of_the_effect(hr, outcome):
    a, b = evalue(hr, outcome=outcome), evalue(1.0 / hr, outcome=outcome)
    assert_close(a.estimate, b.estimate, tier="invariance")
    assert a.estimate[0] >= 1.0
