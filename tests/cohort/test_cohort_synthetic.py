"""On the synthetic PUF (calibrated to the paper), the default study reproduces Fig. 1's ends."""

from __future__ import annotations

import pytest

from regsurv.cohort import build_cohort, group_counts
from regsurv.pipeline.spec import load_study
from regsurv.testing import assert_close

from ._helpers import cohort_spec


@pytest.fixture(scope="module")
def synthetic():
    from regsurv.synth.generate import synthetic_puf

    return synthetic_puf(seed=0)


@pytest.mark.slow
def test_flow_ends_near_the_paper(synthetic):
    lazy, flow = build_cohort(synthetic, load_study())
    cohort = lazy.collect()
    assert flow.n_start == 82_987
    steps = {s.id: s for s in flow.steps}
    assert_close(steps["definitive_surgery"].n_excluded, 1032, tier="published")
    assert_close(flow.n_final, 1124, tier="published")
    counts = group_counts(cohort, "treatment")
    assert list(counts) == ["SP alone", "Metastasectomy", "Non-surgical adjuvant therapies"]
    assert_close(list(counts.values()), [331, 186, 607], tier="published")
    assert cohort["treatment"].null_count() == 0


@pytest.mark.slow
def test_options_move_the_synthetic_cohort_the_right_way(synthetic):
    def n_final(**options):
        return build_cohort(synthetic, cohort_spec(**options))[1].n_final

    default = n_final()
    assert n_final(include_peripheral_nerve_sites=True) > default
    assert n_final(strict_m1=True) < default
    assert n_final(exclude_nonqualifying_radiation=True) < default
    assert n_final(local_excision_is_definitive=False) < default

    def r_count(**options):
        return int(build_cohort(synthetic, cohort_spec(**options))[0].collect()["R"].sum())

    assert r_count(radiation_min_dose_cgy=5000) < r_count()
    assert r_count(radiation_dose_rule="regional_only") <= r_count()
