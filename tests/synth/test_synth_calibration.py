"""Calibration: the published Tables 1-3, group sizes and survival figures, over five seeds.

Tolerances are those `check_synthetic_cohort` states per figure: 4 standard errors of the
generated statistic at the published size (binomial for a Table 1/2 cell, Greenwood for 5-year
OS, Greenwood / KM slope for a median, the Cox SE for a log hazard ratio), so a correct model
misses a figure with probability about 6e-5 per figure. Figures the model does not aim at
(p-values, the 8-way medians, propensity results) are shown, not checked.
"""

from __future__ import annotations

import polars as pl
import pytest

from regsurv.synth import (
    build_synthetic_cohort,
    check_synthetic_cohort,
    check_synthetic_puf,
    synthetic_cohort_puf,
)
from regsurv.synth._generate import COLUMNS
from regsurv.testing import assert_close


def _report(seed: int):
    cohort, flow = build_synthetic_cohort(synthetic_cohort_puf(seed=seed))
    assert flow.n_final == 1124  # every generated eligible row passes the study's criteria
    return check_synthetic_cohort(cohort), cohort


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
def test_every_published_figure_within_four_standard_errors(seed):
    report, _ = _report(seed)
    frame = report.to_frame()
    assert frame.filter(pl.col("checked")).height > 150
    assert report.ok, frame.filter(~pl.col("ok")).to_dicts()


def test_the_check_catches_a_wrong_cohort():
    _, cohort = _report(0)
    wrong = cohort.with_columns(
        pl.when(pl.col("treatment") == "SP alone")
        .then(pl.lit(1, pl.Int8))
        .otherwise(pl.col("death"))
        .alias("death"),
        # every SP-alone patient dead within a year: 5-year OS 0%, far outside any tolerance
        pl.when(pl.col("treatment") == "SP alone")
        .then(pl.min_horizontal(pl.col("os_years"), pl.lit(0.9)))
        .otherwise(pl.col("os_years"))
        .alias("os_years"),
        pl.when(pl.col("sex") == "Male")
        .then(pl.lit("Female"))
        .otherwise(pl.col("sex"))
        .cast(cohort.schema["sex"])
        .alias("sex"),
    )
    failed = {c.name for c in check_synthetic_cohort(wrong).failures}
    assert "survival.groups3.SP alone.os5_pct" in failed
    assert "table1.sex.Male.All" in failed


@pytest.mark.slow
def test_the_full_puf_meets_every_target(puf_seed0):
    report = check_synthetic_puf(puf_seed0.select(COLUMNS))
    assert report.ok, [c.name for c in report.failures]
    names = {c.name: c for c in report.checks}
    assert names["cohort.included"].generated == 1124
    assert names["cohort.excluded_stage_iv_without_sp"].generated == 1032


@pytest.mark.slow
def test_stored_baseline_is_the_calibration_result():
    from regsurv.synth._calibrate import calibrate_baseline
    from regsurv.synth.truth import true_parameters

    # The parameter file stores the rates rounded to 4 decimals.
    rates = calibrate_baseline(60_000)
    assert_close(rates.round(4), true_parameters().baseline_hazard, tier="exact")
