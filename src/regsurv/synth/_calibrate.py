"""How the baseline hazard in `studies/sts_metastasectomy.synth.toml` was obtained (re-run to
re-calibrate).

Table 3's hazard ratios are conditional on the covariates while the published Kaplan-Meier
medians and 5-year OS are marginal over each group's covariate mix. With the covariates drawn
from the model, the piecewise-exponential baseline rates are chosen to minimise the squared
distance (in standard errors) between the model's marginal survival
S_g(t) = mean_i exp(-H0(t) exp(lp_i)) and the published points (S_g(median_g) = 0.5 and
S_g(5 y) = OS5_g for the three groups, adipocytic and vascular histology), plus a small penalty
on jumps of the log hazard. Censoring plays no part: Kaplan-Meier is unbiased for S_g under the
administrative censoring of the generator.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import least_squares

from regsurv.studies import load_targets
from regsurv.synth._generate import generate_chunk, model
from regsurv.synth._parameters import (
    CLASSES,
    COHORT_CLASSES,
    class_counts,
    load_parameters,
)
from regsurv.synth._survival import marginal_survival

ROUGHNESS = 1.0  # penalty on jumps of the log hazard between pieces (keeps the baseline smooth)


# Kaplan-Meier variance at 5 years relative to the uncensored binomial p(1-p)/n: about 40 % of
# the cohort (diagnosed 2011-2013) is censored before 5 years by the end of follow-up.
CENSORING_VARIANCE_FACTOR = 1.6


def calibration_points() -> list[tuple[str, str, float, float, float]]:
    """(column, level, time in years, target survival, approximate standard error) for every
    published survival figure; SE = sqrt(S(1 - S) / n), inflated for censoring at 5 years."""
    targets = load_targets()
    n_of = dict(zip(targets["groups"]["order"], targets["groups"]["n"], strict=True))
    n_of |= {level: counts[0] for level, counts in targets["table2"]["histology"].items()}
    points = []
    for column, section in (("synth_group", "groups3"), ("synth_histology", "histology")):
        for level, values in targets["survival"][section].items():
            n = n_of[level]
            s5 = values["os5_pct"] / 100.0
            se5 = np.sqrt(CENSORING_VARIANCE_FACTOR * s5 * (1 - s5) / n)
            points.append((column, level, values["median_os_years"], 0.5, np.sqrt(0.25 / n)))
            points.append((column, level, 5.0, s5, se5))
    return points


def calibrate_baseline(n: int = 100_000, seed: int = 20220101) -> np.ndarray:
    """Baseline hazard rates (per year, one per knot) fitted to the published survival points."""
    counts = class_counts(load_parameters()["population"]["reference_rows"])
    weights = np.asarray([counts[c] for c in COHORT_CLASSES], dtype=float)
    rng = np.random.Generator(np.random.PCG64(seed))
    cls = rng.choice([CLASSES.index(c) for c in COHORT_CLASSES], size=n, p=weights / weights.sum())
    frame = generate_chunk(rng, cls, first_row=0, seed=seed, truth=True)
    lp = frame["synth_linear_predictor"].to_numpy()
    m = model()
    points = [
        (frame[column].to_numpy() == level, t, s, se)
        for column, level, t, s, se in calibration_points()
    ]

    def residuals(log_rates: np.ndarray) -> np.ndarray:
        rates = np.exp(log_rates)
        misfit = [
            (marginal_survival(t, lp[rows], m.knots, rates)[0] - s) / se
            for rows, t, s, se in points
        ]
        return np.concatenate([misfit, ROUGHNESS * np.diff(log_rates)])

    fit = least_squares(residuals, np.log(m.rates), bounds=(-6, 2))
    return np.exp(fit.x)
