"""The sarcoma study's cohort on the synthetic PUF, shared by the pipeline tests."""

from __future__ import annotations

import pytest

from regsurv.pipeline.analyses import StepContext
from regsurv.pipeline.profiles import get_profile
from regsurv.pipeline.runner import build_study_cohort, resolve_source
from regsurv.pipeline.spec import load_study


@pytest.fixture(scope="session")
def sarcoma():
    spec = load_study()
    return spec, build_study_cohort(spec, resolve_source(None, None, spec.study.seed))


def context(sarcoma, profile: str = "sas") -> StepContext:
    spec, cohort = sarcoma
    return StepContext(
        cohort=cohort.cohort,
        outcome=spec.outcome,
        profile=get_profile(profile),
        seed=spec.study.seed,
        specs={a.id: a for a in spec.analyses},
    )
