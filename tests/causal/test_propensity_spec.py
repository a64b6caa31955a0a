"""PropensitySpec: the study file's [propensity] section and its validation."""

from __future__ import annotations

import pydantic
import pytest

from regsurv.causal.spec import PropensitySpec
from regsurv.pipeline.spec import load_study

PAPER_COVARIATES = (
    "insurance", "sex", "race", "charlson_deyo", "grade", "year_group", "age_group",
    "lymph_nodes_examined",
)  # fmt: skip


def test_study_file_section_is_the_papers_analysis():
    spec = load_study().analysis("iptw")
    assert spec is not None
    assert spec.covariates == PAPER_COVARIATES
    assert spec.balance_columns == PAPER_COVARIATES
    assert spec.treatment == "treatment" and spec.complete_cases
    assert (spec.estimand, spec.stabilized, spec.normalize) == ("ATE", True, True)
    assert spec.balance_threshold == 0.1


def test_defaults_and_balance_columns():
    spec = PropensitySpec(covariates=["a", "b"], balance_covariates=["a", "b", "age"])
    assert spec.balance_columns == ("a", "b", "age")
    assert (spec.ties, spec.conf_type, spec.balance_rule) == ("efron", "log-log", "max_pairwise")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"covariates": ["a"], "stabilise": True}, "Extra inputs are not permitted"),
        ({"covariates": ["a", "a"]}, "covariates listed twice: \\['a'\\]"),
        ({"covariates": ["a"], "trim": 0.7}, "trim quantiles must satisfy"),
        ({"covariates": ["a"], "reference": {"b": "x"}}, "not covariates: \\['b'\\]"),
        ({"covariates": ["treatment"]}, "is also a covariate"),
        ({"covariates": ["a"], "estimand": "ATT"}, "Input should be 'ATE' or 'ATO'"),
        ({"covariates": []}, "at least 1 item"),
    ],
)
def test_invalid_sections_are_errors(fields, message):
    with pytest.raises(pydantic.ValidationError, match=message):
        PropensitySpec(**fields)
