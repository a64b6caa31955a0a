"""The vocabulary of the study the synthetic PUF is calibrated to, read from its study file.

The generator draws the shipped default study's exposure groups and treatment combinations
and writes surgery codes that its definition of definitive surgery accepts; all of it comes
from the study file (`regsurv.studies`), its calibration file (`<study>.synth.toml`, the
published distributions the generator reproduces) and the PUF dictionary, not from copies here.
"""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path

import polars as pl

from regsurv.cohort import CohortSpec
from regsurv.cohort._conditions import ConditionCompiler
from regsurv.cohort._dictionary import get_dictionary
from regsurv.studies import DEFAULT_STUDY, study_path

SURGERY_FIELD = "RX_SUMM_SURG_PRIM_SITE"
SURGERY_DEFINITION = "definitive_surgery"


def parameters_path() -> Path:
    """The generator's calibration to the default study (`<study>.synth.toml` beside it)."""
    return study_path().with_name(f"{DEFAULT_STUDY}.synth.toml")


@cache
def calibrated_cohort() -> CohortSpec:
    """The `[cohort]` section of the shipped default study."""
    raw = tomllib.loads(study_path().read_text(encoding="utf-8"))
    return CohortSpec.model_validate(raw["cohort"])


def exposure_levels() -> tuple[str, ...]:
    """The exposure groups, in display order."""
    cohort = calibrated_cohort()
    return cohort.groups[cohort.exposure_group].labels


def combination_levels() -> tuple[str, ...]:
    """The treatment combinations (the study's combination group), in display order."""
    cohort = calibrated_cohort()
    return next(g.labels for g in cohort.groups.values() if g.combination_of is not None)


def exposure_references() -> dict[str, str]:
    """Reference levels of the study's groups and bands."""
    cohort = calibrated_cohort()
    return {n: g.reference for n, g in cohort.groups.items()} | {
        n: b.reference for n, b in cohort.bands.items()
    }


@cache
def definitive_surgery_codes() -> tuple[str, ...]:
    """The dictionary codes of the surgery field that the study's definition accepts."""
    cohort = calibrated_cohort()
    dictionary = get_dictionary()
    codes = list(dictionary.field(SURGERY_FIELD).codes)
    compiler = ConditionCompiler(cohort.definitions, cohort.options, dictionary)
    frame = pl.DataFrame({SURGERY_FIELD: codes})
    hit = frame.select(compiler.use(SURGERY_DEFINITION).fill_null(False))[:, 0]
    return tuple(c for c, ok in zip(codes, hit, strict=True) if ok)
