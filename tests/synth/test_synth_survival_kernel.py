"""The piecewise-exponential kernel: hand-calculated values and the sampler's distribution."""

from __future__ import annotations

import numpy as np
from scipy import stats

from regsurv.synth._survival import (
    cumulative_hazard,
    draw_event_times,
    invert_cumulative_hazard,
    marginal_survival,
)
from regsurv.testing import assert_close

KNOTS = np.array([0.0, 1.0, 3.0])
RATES = np.array([0.5, 0.25, 1.0])


def test_cumulative_hazard_by_hand():
    # H(0.5) = 0.25; H(1) = 0.5; H(2) = 0.5 + 0.25; H(3) = 1.0; H(4) = 1.0 + 1.0
    t = np.array([0.0, 0.5, 1.0, 2.0, 3.0, 4.0])
    assert_close(cumulative_hazard(t, KNOTS, RATES), [0, 0.25, 0.5, 0.75, 1.0, 2.0], tier="exact")
    assert_close(
        invert_cumulative_hazard(np.array([0, 0.25, 0.75, 2.0]), KNOTS, RATES),
        [0, 0.5, 2.0, 4.0],
        tier="exact",
    )


def test_marginal_survival_averages_over_patients():
    lp = np.log(np.array([1.0, 2.0]))
    expected = 0.5 * (np.exp(-0.75) + np.exp(-1.5))
    assert_close(marginal_survival(2.0, lp, KNOTS, RATES), [expected], tier="exact")


def test_draws_follow_the_model():
    rng = np.random.Generator(np.random.PCG64(11))
    lp = np.full(4000, np.log(1.5))
    t = draw_event_times(rng, lp, KNOTS, RATES)
    # Under the model, 1.5 H0(T) ~ Exp(1): a KS test must not reject.
    u = 1.5 * cumulative_hazard(t, KNOTS, RATES)
    assert stats.kstest(u, "expon").pvalue > 0.001
    shifted = draw_event_times(np.random.Generator(np.random.PCG64(11)), lp + 1.0, KNOTS, RATES)
    assert (shifted <= t).all()  # same uniforms, higher hazard: never later
