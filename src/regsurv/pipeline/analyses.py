"""The analyses of a study: one spec, one frozen record and one pure step per kind.

A study file lists its analyses under ``[[analyses]]``; each has a ``kind``, an ``id`` and a
``title``. `KINDS` maps every kind to its spec model (the study-file keys, validated strictly)
and its step, a pure function ``(context, spec) -> record`` of the cohort, the section and the
analysis profile. A step that fails because of the data becomes an `AnalysisFailure` with the
reason; the report renders each record by its ``kind`` (`regsurv.report.build.RENDERERS`).
Adding a kind is one entry here and one renderer there.

Per-analysis overrides of the profile (``ties``, ``conf_type``) default to the profile's choice
(`regsurv.pipeline.profiles`); when set, they change the numbers of that analysis only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import polars as pl
from pydantic import BaseModel, ConfigDict, Field

from regsurv.causal.matching_spec import MatchingSpec
from regsurv.causal.spec import PropensitySpec
from regsurv.describe.spec import TableRow, TablesSpec, TrendSpec
from regsurv.pipeline.profiles import Profile

Ties = Literal["efron", "breslow"]
ConfType = Literal["log-log", "log", "plain"]
ANALYSIS_ID = r"^[A-Za-z][A-Za-z0-9_]*$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class OutcomeSpec(_Strict):
    """`[outcome]`: the survival outcome every survival analysis uses."""

    time: str = "os_years"
    event: str = "death"
    time_label: str = "Years since diagnosis"
    landmarks: tuple[float, ...] = Field(default=(1.0, 2.0, 5.0), description="survival at")
    at_risk_times: tuple[float, ...] = (0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10)


class _Analysis(_Strict):
    id: str = Field(pattern=ANALYSIS_ID, description="section id and file stem")
    title: str = Field(min_length=1)

    def columns(self) -> tuple[str, ...]:
        """Analysis columns this analysis reads (checked against the cohort's columns)."""
        return ()

    def references(self) -> dict[str, str]:
        """Reference levels it names, column -> level (checked against the column's levels)."""
        return {}

    def links(self) -> list[tuple[str, str, tuple[str, ...]]]:
        """(key, analysis id, kinds it may have) of each earlier analysis it reads."""
        return []

    def check_study(self, study: Any, where: str) -> None:
        """Its own checks against the whole study (flags, units); raises ValueError."""

    def check_links(self, study: Any, where: str) -> None:
        """Its names against the analyses it links (after `links` are resolved)."""


# -- specs ---------------------------------------------------------------------------------------


class SummaryTableSpec(_Analysis):
    """A descriptive table by group (Table 1): `regsurv.describe.summary_table`."""

    kind: Literal["summary_table"]
    group: str
    rows: tuple[TableRow, ...] = Field(min_length=1)
    percent: Literal["column", "row", "both"] = "column"
    tests: bool = True
    smd: bool = True
    missing: Literal["show", "hide"] = "show"
    categorical_test: Literal["auto", "chisq", "fisher"] = "auto"
    continuous_test: Literal["anova", "welch", "kruskal"] = "anova"
    smd_rule: Literal["max_pairwise", "average_pairwise", "vs_pooled"] = "max_pairwise"
    smd_denominator: Literal["pooled_unweighted", "pooled_weighted"] = "pooled_unweighted"
    fisher_simulations: int = Field(100_000, ge=1000)
    random_state: int = 20220107

    def summary_kwargs(self) -> dict[str, Any]:
        options = self.model_dump(exclude={"kind", "id", "title", "rows"})
        tables = TablesSpec(
            **options, tables=({"id": self.id, "title": self.title, "rows": self.rows},)
        )
        return tables.summary_kwargs(self.id)

    def columns(self) -> tuple[str, ...]:
        return (self.group, *(r.column for r in self.rows))


class TrendAnalysisSpec(_Analysis, TrendSpec):
    """Cochran–Armitage trend test of a binary outcome over ordered levels."""

    kind: Literal["trend"]

    def columns(self) -> tuple[str, ...]:
        return (self.variable, self.outcome)


class KmSpec(_Analysis):
    """Kaplan–Meier curves by group, their summary table and the log-rank test."""

    kind: Literal["km"]
    group: str = Field(description="analysis column whose levels are the curves")
    table: str = Field(pattern=ANALYSIS_ID, description="file stem of the summary table")
    table_title: str
    conf_type: ConfType | None = Field(None, description="default: the profile's")

    def columns(self) -> tuple[str, ...]:
        return (self.group,)


class CoxModelSpec(_Analysis):
    """A multivariable Cox model of the outcome (complete cases)."""

    kind: Literal["cox"]
    covariates: tuple[str, ...] = Field(min_length=1)
    reference: dict[str, str] = Field(default_factory=dict)
    ties: Ties | None = Field(None, description="default: the profile's")

    def columns(self) -> tuple[str, ...]:
        return self.covariates

    def references(self) -> dict[str, str]:
        return dict(self.reference)


class CoxUnivariableSpec(CoxModelSpec):
    """One Cox model per covariate (complete cases of that covariate)."""

    kind: Literal["cox_univariable"]  # type: ignore[assignment]


class IptwSpec(_Analysis, PropensitySpec):
    """Propensity model, IPTW weights, balance and the weighted survival comparison."""

    kind: Literal["iptw"]
    ties: Ties | None = Field(None, description="default: the profile's")  # type: ignore[assignment]
    conf_type: ConfType | None = Field(None, description="default: the profile's")  # type: ignore[assignment]
    balance_table: str | None = Field(None, pattern=ANALYSIS_ID, description="default: ID_balance")
    balance_title: str = "Covariate balance before and after IPTW"
    random_state: int | None = Field(None, description="bootstrap seed; default the study seed")

    def columns(self) -> tuple[str, ...]:
        return (self.treatment, *self.covariates, *self.balance_columns)

    def references(self) -> dict[str, str]:
        return dict(self.reference)

    def weight_options(self, profile: Any) -> dict[str, Any]:
        """The weights' keyword arguments (`iptw_weights`, the bootstrap, the MI pooling):
        normalized to n only when both the profile and the analysis ask for it."""
        return {
            "estimand": self.estimand,
            "stabilized": self.stabilized,
            "normalize": profile.normalize_weights and self.normalize,
            "trim": self.trim,
        }


class MatchingAnalysisSpec(_Analysis, MatchingSpec):
    """Propensity-score matching and the survival comparison in the matched sample."""

    kind: Literal["matching"]
    propensity: str = Field(description="id of the iptw analysis whose model is matched on")
    ties: Ties | None = Field(None, description="default: the profile's")  # type: ignore[assignment]
    conf_type: ConfType | None = Field(None, description="default: the profile's")

    def columns(self) -> tuple[str, ...]:
        return tuple(c for c in (self.treatment, *(self.covariates or ())) if c)


# -- records -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AnalysisFailure:
    """An analysis that could not be computed from the data, with the reason."""

    kind: str
    id: str
    title: str
    reason: str
    error_type: str
    failed: ClassVar[bool] = True

    @property
    def message(self) -> str:
        return f"{self.error_type}: {self.reason}"


@dataclass(frozen=True, slots=True)
class SummaryTableAnalysis:
    spec: SummaryTableSpec
    table: Any
    kind: ClassVar[str] = "summary_table"
    failed: ClassVar[bool] = False


@dataclass(frozen=True, slots=True)
class TrendAnalysis:
    spec: TrendAnalysisSpec
    trend: Any
    kind: ClassVar[str] = "trend"
    failed: ClassVar[bool] = False


@dataclass(frozen=True, slots=True)
class KmAnalysis:
    spec: KmSpec
    curves: Any
    median: pl.DataFrame
    landmarks: pl.DataFrame
    at_risk: pl.DataFrame
    logrank: Any
    landmark_times: tuple[float, ...]
    time_label: str
    kind: ClassVar[str] = "km"
    failed: ClassVar[bool] = False


@dataclass(frozen=True, slots=True)
class CoxAnalysis:
    spec: CoxModelSpec
    model: Any
    kind: ClassVar[str] = "cox"
    failed: ClassVar[bool] = False


@dataclass(frozen=True, slots=True)
class CoxUnivariableAnalysis:
    spec: CoxUnivariableSpec
    models: Mapping[str, Any]
    failures: Mapping[str, str] = field(default_factory=dict)
    ties: str = "efron"
    kind: ClassVar[str] = "cox_univariable"
    failed: ClassVar[bool] = False


@dataclass(frozen=True, slots=True)
class IptwAnalysis:
    spec: IptwSpec
    n_obs: int
    n_dropped: int
    model: Any
    weights: Any
    balance: Any
    survival: Any
    bootstrap: Any
    time_label: str
    kind: ClassVar[str] = "iptw"
    failed: ClassVar[bool] = False


@dataclass(frozen=True, slots=True)
class MatchingAnalysis:
    spec: MatchingAnalysisSpec
    matching: Any
    balance: Any
    survival: Any
    time_label: str
    kind: ClassVar[str] = "matching"
    failed: ClassVar[bool] = False


# -- steps ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StepContext:
    """What a step may read: the cohort, the outcome, the profile, the seed, other specs."""

    cohort: pl.DataFrame
    outcome: OutcomeSpec
    profile: Profile
    seed: int
    specs: Mapping[str, Any]
    on_progress: Callable[[str, int, int], None] | None = None
    records: Mapping[str, Any] = field(default_factory=dict)  # earlier analyses' records, by id
    n_jobs: int = -1  # joblib workers of resampling steps (-1: all cores or Dask workers)
    # records of analyses left out by `--only` that a selected one links to: computed once
    # however many link to them, and not reported
    linked: dict[str, Any] = field(default_factory=dict)


def summary_table_step(ctx: StepContext, spec: SummaryTableSpec) -> SummaryTableAnalysis:
    from regsurv.describe import summary_table

    return SummaryTableAnalysis(spec, summary_table(ctx.cohort, **spec.summary_kwargs()))


def trend_step(ctx: StepContext, spec: TrendAnalysisSpec) -> TrendAnalysis:
    from regsurv.describe import trend_test

    return TrendAnalysis(spec, trend_test(ctx.cohort, **spec.kwargs()))


def km_step(ctx: StepContext, spec: KmSpec) -> KmAnalysis:
    from regsurv.survival import kaplan_meier, logrank_test

    o = ctx.outcome
    data = ctx.cohort.filter(pl.col(spec.group).is_not_null())
    km = kaplan_meier(
        data,
        time=o.time,
        event=o.event,
        group=spec.group,
        conf_type=spec.conf_type or ctx.profile.conf_type,
    )
    return KmAnalysis(
        spec=spec,
        curves=km,
        median=km.median(),
        landmarks=km.at(list(o.landmarks)),
        at_risk=km.at(list(o.at_risk_times)),
        logrank=logrank_test(data, time=o.time, event=o.event, group=spec.group),
        landmark_times=o.landmarks,
        time_label=o.time_label,
    )


def _cox(ctx: StepContext, spec: CoxModelSpec, covariates: list[str], reference: dict) -> Any:
    from regsurv.survival import cox_ph

    return cox_ph(
        ctx.cohort,
        time=ctx.outcome.time,
        event=ctx.outcome.event,
        covariates=covariates,
        reference=reference,
        ties=spec.ties or ctx.profile.ties,
    )


def cox_step(ctx: StepContext, spec: CoxModelSpec) -> CoxAnalysis:
    return CoxAnalysis(spec, _cox(ctx, spec, list(spec.covariates), dict(spec.reference)))


def cox_univariable_step(ctx: StepContext, spec: CoxUnivariableSpec) -> CoxUnivariableAnalysis:
    """One model per covariate; a model that fails is recorded and the others go on."""
    models: dict[str, Any] = {}
    failures: dict[str, str] = {}
    for cov in spec.covariates:
        ref = {k: v for k, v in spec.reference.items() if k == cov}
        try:
            models[cov] = _cox(ctx, spec, [cov], ref)
        except Exception as exc:  # the report shows the reason in this model's row
            failures[cov] = f"{type(exc).__name__}: {exc}"
    return CoxUnivariableAnalysis(spec, models, failures, spec.ties or ctx.profile.ties)


def _propensity_data(ctx: StepContext, spec: IptwSpec) -> pl.DataFrame:
    """Rows complete in the outcome and the treatment, and (``complete_cases``) in the
    propensity model's columns; without ``complete_cases`` a missing covariate is an error of
    the propensity model."""
    o = ctx.outcome
    columns = [spec.treatment, o.time, o.event]
    if spec.complete_cases:
        columns = [spec.treatment, *spec.covariates, *spec.balance_columns, o.time, o.event]
    return ctx.cohort.drop_nulls(list(dict.fromkeys(columns)))


def iptw_step(ctx: StepContext, spec: IptwSpec) -> IptwAnalysis:
    from regsurv.causal import (
        PropensityModel,
        balance_table,
        bootstrap_iptw_cox,
        iptw_survival,
        iptw_weights,
    )

    o = ctx.outcome
    data = _propensity_data(ctx, spec)
    model = PropensityModel(spec.covariates, reference=spec.reference, method=spec.method).fit(
        data, treatment=spec.treatment
    )
    options = spec.weight_options(ctx.profile)
    weights = iptw_weights(
        model.predict_proba(data), data[spec.treatment], classes=model.classes_, **options
    )
    ties = spec.ties or ctx.profile.ties
    bootstrap = None
    if spec.n_boot > 0:
        report = ctx.on_progress
        label = f"{spec.id}: bootstrap"
        bootstrap = bootstrap_iptw_cox(
            data,
            time=o.time,
            event=o.event,
            treatment=spec.treatment,
            covariates=spec.covariates,
            reference=spec.reference,
            **options,
            ties=ties,
            n_boot=spec.n_boot,
            random_state=spec.random_state if spec.random_state is not None else ctx.seed,
            n_jobs=ctx.n_jobs,
            on_progress=None
            if report is None
            else (lambda done, total: report(label, done, total)),
        )
    return IptwAnalysis(
        spec=spec,
        n_obs=data.height,
        n_dropped=ctx.cohort.height - data.height,
        model=model,
        weights=weights,
        balance=balance_table(
            data,
            treatment=spec.treatment,
            covariates=spec.balance_columns,
            weights=weights,
            rule=spec.balance_rule,
            denominator=spec.balance_denominator,
            threshold=spec.balance_threshold,
        ),
        survival=iptw_survival(
            data,
            time=o.time,
            event=o.event,
            treatment=spec.treatment,
            weights=weights,
            ties=ties,
            conf_type=spec.conf_type or ctx.profile.conf_type,
        ),
        bootstrap=bootstrap,
        time_label=o.time_label,
    )


def _match(spec: MatchingAnalysisSpec, model: Any, data: pl.DataFrame, treatment: str, seed: int):
    from regsurv.causal import match_nearest, match_triplets

    ps, groups = model.predict_proba(data), data[treatment]
    random_state = spec.random_state if spec.random_state is not None else seed
    if spec.method == "nearest":
        return match_nearest(
            ps,
            groups,
            classes=model.classes_,
            caliper=spec.caliper,
            caliper_scale=spec.caliper_scale,
            distance=spec.distance,
            ratio=spec.ratio,
            replace=spec.replace,
            order=spec.order,
            random_state=random_state,
        )
    return match_triplets(
        ps,
        groups,
        classes=model.classes_,
        caliper=spec.caliper,
        reference_group=spec.reference_group,
        method=spec.method,
        order=spec.order,
        n_candidates=spec.n_candidates,
        n_clusters=spec.n_clusters,
        random_state=random_state,
    )


def _matched_km(data: pl.DataFrame, matching: Any, survival: Any, treatment: str, ctx, spec):
    """The matched sample's KM with the analysis's CI type (`matched_survival` uses log-log)."""
    from regsurv.survival import kaplan_meier

    md = matching.matched_data(data)
    levels = list(survival.km.keys())
    md = md.with_columns(pl.col(treatment).cast(pl.String).cast(pl.Enum(levels)))
    return kaplan_meier(
        md,
        time=ctx.outcome.time,
        event=ctx.outcome.event,
        group=treatment,
        weights="weights" if survival.weighted else None,
        conf_type=spec.conf_type or ctx.profile.conf_type,
    )


def matching_step(ctx: StepContext, spec: MatchingAnalysisSpec) -> MatchingAnalysis:
    from dataclasses import replace

    from regsurv.causal import PropensityModel, matched_balance, matched_survival

    ps_spec: IptwSpec = ctx.specs[spec.propensity]
    treatment = spec.treatment or ps_spec.treatment
    covariates = spec.covariates or ps_spec.covariates
    data = _propensity_data(ctx, ps_spec)
    if spec.method == "nearest":  # two groups: [control, treated]
        if spec.groups is None:
            raise ValueError("method 'nearest' needs groups = [control, treated]")
        data = data.filter(pl.col(treatment).cast(pl.String).is_in(list(spec.groups)))
        data = data.with_columns(pl.col(treatment).cast(pl.String).cast(pl.Enum(spec.groups)))
    model = PropensityModel(covariates, reference=ps_spec.reference, method=ps_spec.method).fit(
        data, treatment=treatment
    )
    matching = _match(spec, model, data, treatment, ctx.seed)
    survival = matched_survival(
        data,
        matching,
        time=ctx.outcome.time,
        event=ctx.outcome.event,
        treatment=treatment,
        reference=spec.survival_reference,
        ties=spec.ties or ctx.profile.ties,
    )
    survival = replace(survival, km=_matched_km(data, matching, survival, treatment, ctx, spec))
    balance = matched_balance(
        data,
        matching,
        treatment=treatment,
        covariates=ps_spec.balance_columns,
        rule=spec.balance_rule,
        denominator=spec.balance_denominator,
        threshold=spec.balance_threshold,
    )
    return MatchingAnalysis(spec, matching, balance, survival, ctx.outcome.time_label)


# -- registry ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AnalysisKind:
    """A kind of analysis: its study-file spec and its step."""

    spec: type[_Analysis]
    step: Callable[[StepContext, Any], Any]


KINDS: dict[str, AnalysisKind] = {
    "summary_table": AnalysisKind(SummaryTableSpec, summary_table_step),
    "trend": AnalysisKind(TrendAnalysisSpec, trend_step),
    "km": AnalysisKind(KmSpec, km_step),
    "cox_univariable": AnalysisKind(CoxUnivariableSpec, cox_univariable_step),
    "cox": AnalysisKind(CoxModelSpec, cox_step),
    "iptw": AnalysisKind(IptwSpec, iptw_step),
    "matching": AnalysisKind(MatchingAnalysisSpec, matching_step),
}

from regsurv.pipeline import analyses_time as _time  # noqa: E402 (it builds on this module)

KINDS["time_varying_cox"] = AnalysisKind(_time.TimeVaryingCoxSpec, _time.time_varying_cox_step)
KINDS["landmark"] = AnalysisKind(_time.LandmarkSpec, _time.landmark_step)


def run_analysis(ctx: StepContext, spec: Any) -> Any:
    """The record of one analysis, or its `AnalysisFailure` when the data do not allow it."""
    try:
        return KINDS[spec.kind].step(ctx, spec)
    except Exception as exc:  # a data problem: the report explains it in this section
        return AnalysisFailure(spec.kind, spec.id, spec.title, str(exc), type(exc).__name__)


import regsurv.pipeline.analyses_sensitivity  # noqa: E402, F401 (adds its kinds to KINDS)
