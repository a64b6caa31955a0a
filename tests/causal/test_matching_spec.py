"""`[matching]` study section: the shipped study's values and the validation rules."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from regsurv.causal.matching_spec import MatchingSpec
from regsurv.pipeline.spec import load_study


def test_shipped_study_matching_section():
    spec = load_study().analysis("matched")
    assert spec is not None
    assert spec.method == "rassen" and spec.caliper == 0.2
    assert spec.caliper_scale == "sd_logit" and spec.distance == "logit"
    assert spec.covariates is None and spec.treatment is None  # the [propensity] model's
    assert spec.survival_reference == "SP alone"


def test_defaults_are_the_papers_design():
    spec = MatchingSpec()
    assert (spec.method, spec.caliper, spec.order, spec.replace) == ("rassen", 0.2, "data", False)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"calliper": 0.2}, "Extra inputs are not permitted"),
        ({"caliper": 0}, "greater than 0"),
        ({"method": "optimal"}, "Input should be 'rassen', 'vector' or 'nearest'"),
        ({"ratio": 2}, "ratio is an option of method 'nearest', not 'rassen'"),
        ({"caliper": None}, "method 'rassen' needs a caliper"),
        ({"order": "largest"}, "order 'largest' is for 'nearest'"),
        ({"groups": ["a", "b"]}, "method 'rassen' matches 3 groups"),
        ({"method": "nearest", "groups": ["a", "b", "c"]}, "'nearest' matches 2 groups"),
        ({"method": "nearest", "reference_group": "a"}, "reference_group is for triplets"),
        ({"groups": ["a", "b", "c"], "reference_group": "d"}, "reference_group 'd' is not in"),
        ({"covariates": ["age", "age"]}, "listed twice: \\['age'\\]"),
    ],
)
def test_invalid_sections_are_errors(fields, message):
    with pytest.raises(ValidationError, match=message):
        MatchingSpec(**fields)


def test_nearest_accepts_its_options_and_is_frozen():
    spec = MatchingSpec(
        method="nearest",
        groups=["SP alone", "Metastasectomy"],
        ratio=2,
        order="largest",
        caliper=None,
    )
    assert spec.groups == ("SP alone", "Metastasectomy")
    with pytest.raises(ValidationError):
        spec.ratio = 3
