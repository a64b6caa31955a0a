"""Analyses of treatments that start after time zero: time-varying Cox and landmark analyses.

A treatment given after diagnosis can only be given to a patient who lived long enough to get
it: counting such a patient as treated from day 0 ("ever treated") credits the treatment with
the survival time before it started (immortal time bias; Suissa, Am J Epidemiol 2008;167:492).
Two remedies, both from the days to treatment start of `[cohort.start_days]` (the cohort's
``FLAG_start_days`` columns):

* ``time_varying_cox``: each treatment a time-dependent covariate, 0 until its start and 1
  after (`regsurv.survival.split_at_treatment`, R ``tmerge`` + ``tdc``; Cox on the
  (tstart, tstop] rows), beside the naive "ever treated from day 0" Cox of the same patients;
* ``landmark``: at each time L of ``at``, the patients alive and under follow-up after L, the
  exposure "treated by L", time re-based to L (`regsurv.survival.landmark`; Anderson et al.,
  J Clin Oncol 1983;1:710): Kaplan–Meier curves, log-rank test and Cox model per landmark.

Start days are converted to the outcome's time unit (`DAYS_PER_UNIT`: days / 30.4375 for
``os_months``, days / 30.4375 / 12 for ``os_years``, as those columns come from the PUF's
months). Every patient of the cohort is accounted for in a flow (`TimeFlow`): a missing outcome,
an unknown treatment flag, a treated patient without a start day, a negative start day, a
missing covariate and a follow-up of 0 each leave at a counted step; a start on or after the
end of follow-up is counted and kept (the patient is untreated over the follow-up).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import numpy as np
import polars as pl
from pydantic import Field, field_validator

from regsurv._display import HtmlDisplay
from regsurv.cohort.criteria import ID_COLUMN
from regsurv.cohort.spec import start_days_column
from regsurv.pipeline.analyses import ConfType, StepContext, Ties, _Analysis
from regsurv.survival.time_varying import DAYS_PER_MONTH

#: Days per unit of the outcome time columns a start day can be put on.
DAYS_PER_UNIT = {"os_months": DAYS_PER_MONTH, "os_years": 12 * DAYS_PER_MONTH}
UNIT_NAMES = {"os_months": "months", "os_years": "years"}
#: Exposure levels of a landmark analysis (the Kaplan–Meier groups).
LANDMARK_LEVELS = ("Not treated by the landmark", "Treated by the landmark")


# -- specs ---------------------------------------------------------------------------------------


class _TimeAnalysis(_Analysis):
    covariates: tuple[str, ...] = Field((), description="fixed covariates (complete cases)")
    reference: dict[str, str] = Field(default_factory=dict)
    ties: Ties | None = Field(None, description="default: the profile's")

    def treatment_flags(self) -> tuple[str, ...]:
        raise NotImplementedError

    def columns(self) -> tuple[str, ...]:
        return (*self.treatment_flags(), *self.covariates)

    def references(self) -> dict[str, str]:
        return dict(self.reference)

    def check_study(self, study: Any, where: str) -> None:
        """Each treatment is a flag with a start day (`[cohort.start_days]`), not also a
        covariate, and the outcome time has a unit in days (`DAYS_PER_UNIT`)."""
        key = "treatments" if self.kind == "time_varying_cox" else "treatment"
        for i, flag in enumerate(self.treatment_flags()):
            path = f"{where}.{key}[{i}]" if key == "treatments" else f"{where}.{key}"
            if flag not in study.cohort.flags:
                raise ValueError(f"{path}: {flag!r} is not a flag of cohort.flags")
            if flag not in study.cohort.start_days:
                raise ValueError(
                    f"{path}: flag {flag!r} has no start day; add it to [cohort.start_days] "
                    f'({flag} = "DX_..._STARTED_DAYS")'
                )
            if flag in self.covariates:
                raise ValueError(f"{path}: {flag!r} is also listed in covariates")
        if study.outcome.time not in DAYS_PER_UNIT:
            raise ValueError(
                f"{where}: outcome.time {study.outcome.time!r} has no unit in days; a start day "
                f"needs outcome.time = {' or '.join(repr(k) for k in DAYS_PER_UNIT)}"
            )


class TimeVaryingCoxSpec(_TimeAnalysis):
    """Treatments as time-dependent covariates, beside the naive "ever treated" Cox model."""

    kind: Literal["time_varying_cox"]
    treatments: tuple[str, ...] = Field(min_length=1, description="flags with a start day")

    def treatment_flags(self) -> tuple[str, ...]:
        return self.treatments


class LandmarkSpec(_TimeAnalysis):
    """Landmark analyses of one treatment at the times ``at`` (the outcome's time unit)."""

    kind: Literal["landmark"]
    treatment: str = Field(description="a flag with a start day")
    at: tuple[float, ...] = Field(min_length=1, description="landmark times, outcome's unit")
    conf_type: ConfType | None = Field(None, description="default: the profile's")

    @field_validator("at")
    @classmethod
    def _increasing(cls, at: tuple[float, ...]) -> tuple[float, ...]:
        if any(not np.isfinite(a) or a <= 0 for a in at):
            raise ValueError(f"landmark times must be > 0, got {list(at)}")
        if any(b <= a for a, b in itertools.pairwise(at)):
            raise ValueError(f"landmark times must increase, got {list(at)}")
        return at

    def treatment_flags(self) -> tuple[str, ...]:
        return (self.treatment,)


# -- the flow of a time analysis -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TimeFlow(HtmlDisplay):
    """Patients of the cohort left out of a time analysis, step by step (first failed step).

    ``steps``: (id, label, n_excluded); ``n_input`` the cohort, ``n_final`` the patients
    analysed. ``after_follow_up``: per treatment, patients kept whose start day is on or after
    their end of follow-up (untreated over the follow-up; counted, not excluded).
    """

    n_input: int
    steps: tuple[tuple[str, str, int], ...]
    after_follow_up: dict[str, int]

    @property
    def n_final(self) -> int:
        return self.n_input - sum(n for _, _, n in self.steps)

    def to_frame(self) -> pl.DataFrame:
        """One row per step: step, label, n_before, n_excluded, n_after."""
        excluded = [n for _, _, n in self.steps]
        after = (self.n_input - np.cumsum(excluded)).tolist() if excluded else []
        before = [self.n_input, *after[:-1]]
        return pl.DataFrame(
            {
                "step": [s for s, _, _ in self.steps],
                "label": [lbl for _, lbl, _ in self.steps],
                "n_before": before,
                "n_excluded": excluded,
                "n_after": after,
            },
            schema={
                "step": pl.String,
                "label": pl.String,
                "n_before": pl.Int64,
                "n_excluded": pl.Int64,
                "n_after": pl.Int64,
            },
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "n_input": self.n_input,
            "n_final": self.n_final,
            "steps": self.to_frame().to_dicts(),
            "after_follow_up": dict(self.after_follow_up),
        }


def days_per_unit(ctx: StepContext) -> float:
    """Days per unit of the outcome's time column (checked at load)."""
    return DAYS_PER_UNIT[ctx.outcome.time]


def time_analysis_data(
    ctx: StepContext, treatments: tuple[str, ...], covariates: tuple[str, ...]
) -> tuple[pl.DataFrame, TimeFlow]:
    """The patients a time analysis can use, and the flow of the others (module docstring).

    Steps, in order: missing outcome time or event; per treatment an unknown flag, treated
    without a start day (blank, 8888, 9999), a negative start day; a missing covariate; a
    follow-up time of 0 (no time at risk). A start day at or after the end of follow-up
    (days / `days_per_unit` >= time) is counted in ``after_follow_up``.
    """
    o = ctx.outcome
    data = ctx.cohort
    steps: list[tuple[str, str, int]] = []

    def step(step_id: str, label: str, keep: pl.Expr) -> None:
        nonlocal data
        kept = data.filter(keep.fill_null(False))
        steps.append((step_id, label, data.height - kept.height))
        data = kept

    step(
        "missing_outcome",
        f"Missing survival time or status ({o.time}, {o.event})",
        pl.col(o.time).is_not_null() & pl.col(o.event).is_not_null(),
    )
    for flag in treatments:
        start = pl.col(start_days_column(flag))
        step(
            f"unknown_{flag}", f"{flag} unknown (blank or invalid code)", pl.col(flag).is_not_null()
        )
        step(
            f"no_start_day_{flag}",
            f"{flag} given, days to its start blank or unknown",
            ~pl.col(flag) | start.is_not_null(),
        )
        step(
            f"negative_start_day_{flag}",
            f"{flag} start day negative (invalid)",
            start.is_null() | (start >= 0),
        )
    if covariates:
        step(
            "missing_covariate",
            "A covariate missing (complete cases)",
            pl.all_horizontal(pl.col(c).is_not_null() for c in covariates),
        )
    step("no_time_at_risk", f"{o.time} = 0 (no time at risk)", pl.col(o.time) > 0)
    unit = days_per_unit(ctx)
    end = pl.col(o.time).cast(pl.Float64)  # as split_at_treatment compares: days / unit >= time
    after = {
        flag: int(data.select((pl.col(start_days_column(flag)) / unit >= end).sum()).item())
        for flag in treatments
    }
    return data, TimeFlow(ctx.cohort.height, tuple(steps), after)


# -- time-varying Cox ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TimeVaryingCoxAnalysis:
    """The time-varying Cox model, the naive model of the same patients, their comparison.

    ``comparison``: per treatment term the two HRs with CIs and p-values and ``differs``:
    the time-varying HR lies outside the naive HR's 95% CI (`compare_estimates`).
    """

    spec: TimeVaryingCoxSpec
    flow: TimeFlow
    split: Any
    naive: Any
    time_varying: Any
    comparison: pl.DataFrame
    days_per_unit: float
    unit: str
    kind: ClassVar[str] = "time_varying_cox"
    failed: ClassVar[bool] = False


def compare_estimates(naive: Any, time_varying: Any, terms: tuple[str, ...]) -> pl.DataFrame:
    """Per term: naive and time-varying HR, CI and p; ``differs`` when the time-varying HR is
    outside the naive 95% CI (the naive estimate is then not compatible with the one that
    does not credit treatment with the time before it started)."""
    a = naive.to_frame().filter(pl.col("term").is_in(list(terms)))
    b = time_varying.to_frame().filter(pl.col("term").is_in(list(terms)))
    cols = ["term", "hr", "hr_conf_low", "hr_conf_high", "p_value"]
    out = a.select(cols).join(b.select(cols), on="term", suffix="_tv", maintain_order="left")
    out = out.rename({c: f"{c}_naive" for c in cols[1:]})
    differs = (pl.col("hr_tv") < pl.col("hr_conf_low_naive")) | (
        pl.col("hr_tv") > pl.col("hr_conf_high_naive")
    )
    return out.with_columns(differs.fill_null(False).alias("differs"))


def time_varying_cox_step(ctx: StepContext, spec: TimeVaryingCoxSpec) -> TimeVaryingCoxAnalysis:
    from regsurv.survival import cox_ph, split_at_treatment

    o = ctx.outcome
    data, flow = time_analysis_data(ctx, spec.treatments, spec.covariates)
    unit = days_per_unit(ctx)
    ties = spec.ties or ctx.profile.ties
    terms = [*spec.treatments, *spec.covariates]
    reference = dict(spec.reference)
    ever = data.with_columns(pl.col(f).cast(pl.Int64) for f in spec.treatments)
    naive = cox_ph(
        ever, time=o.time, event=o.event, covariates=terms, reference=reference, ties=ties
    )
    starts = {f: start_days_column(f) for f in spec.treatments}
    columns = [ID_COLUMN, o.time, o.event, *starts.values(), *spec.covariates]
    split = split_at_treatment(
        data.select(columns),
        id=ID_COLUMN,
        time=o.time,
        event=o.event,
        start_days=starts,
        days_per_unit=unit,
    )
    tv = cox_ph(
        split.to_frame(),
        start="tstart",
        stop="tstop",
        event=o.event,
        covariates=terms,
        reference=reference,
        ties=ties,
        id=ID_COLUMN,
    )
    return TimeVaryingCoxAnalysis(
        spec=spec,
        flow=flow,
        split=split,
        naive=naive,
        time_varying=tv,
        comparison=compare_estimates(naive, tv, spec.treatments),
        days_per_unit=unit,
        unit=UNIT_NAMES[o.time],
    )


# -- landmark ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LandmarkResult:
    """One landmark: its cohort (`regsurv.survival.LandmarkData`), Kaplan–Meier curves by
    exposure, the curves' summary and numbers at risk, log-rank test and Cox model."""

    at: float
    data: Any
    curves: Any
    median: pl.DataFrame
    at_risk: pl.DataFrame
    logrank: Any
    cox: Any


@dataclass(frozen=True, slots=True)
class LandmarkAnalysis:
    spec: LandmarkSpec
    flow: TimeFlow
    landmarks: tuple[LandmarkResult, ...]
    days_per_unit: float
    unit: str
    levels: tuple[str, str] = LANDMARK_LEVELS  # the exposure groups: (not treated, treated)
    kind: ClassVar[str] = "landmark"
    failed: ClassVar[bool] = False


def landmark_step(ctx: StepContext, spec: LandmarkSpec) -> LandmarkAnalysis:
    from regsurv.survival import cox_ph, kaplan_meier, landmark, logrank_test

    o = ctx.outcome
    data, flow = time_analysis_data(ctx, (spec.treatment,), spec.covariates)
    unit = days_per_unit(ctx)
    flag = spec.treatment
    column = start_days_column(flag)
    group = "exposure"
    results = []
    for at in spec.at:
        lm = landmark(
            data.select(ID_COLUMN, o.time, o.event, column, *spec.covariates),
            at=at,
            id=ID_COLUMN,
            time=o.time,
            event=o.event,
            start_days={flag: column},
            days_per_unit=unit,
        )
        frame = lm.to_frame().with_columns(
            pl.col(flag)
            .replace_strict({0: LANDMARK_LEVELS[0], 1: LANDMARK_LEVELS[1]}, return_dtype=pl.String)
            .cast(pl.Enum(LANDMARK_LEVELS))
            .alias(group)
        )
        km = kaplan_meier(
            frame,
            time=o.time,
            event=o.event,
            group=group,
            conf_type=spec.conf_type or ctx.profile.conf_type,
        )
        cox = cox_ph(
            frame,
            time=o.time,
            event=o.event,
            covariates=[flag, *spec.covariates],
            reference=dict(spec.reference),
            ties=spec.ties or ctx.profile.ties,
        )
        results.append(
            LandmarkResult(
                at=float(at),
                data=lm,
                curves=km,
                median=km.median(),
                at_risk=km.at(list(o.at_risk_times)),
                logrank=logrank_test(frame, time=o.time, event=o.event, group=group),
                cox=cox,
            )
        )
    return LandmarkAnalysis(
        spec=spec,
        flow=flow,
        landmarks=tuple(results),
        days_per_unit=unit,
        unit=UNIT_NAMES[o.time],
    )
