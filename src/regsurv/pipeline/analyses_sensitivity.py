"""The analyses a reviewer asks for next: E-values, restricted mean survival time and the
complete-case versus multiple-imputation comparison (kinds ``evalue``, ``rmst``, ``imputation``).

Each kind names earlier analyses of the study (``of``, ``weights``) and reuses their records
(`StepContext.records`; an analysis not run, e.g. under ``--only``, is computed for the purpose
and not shown). The numbers come from `regsurv.causal.evalue`, `regsurv.survival.rmst`,
`regsurv.causal.imputation` and `regsurv.causal.rubin`; a step only picks the rows, the columns
and the options. The kinds are added to `regsurv.pipeline.analyses.KINDS` on import.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import polars as pl
from pydantic import Field, field_validator

from regsurv.pipeline.analyses import (
    KINDS,
    AnalysisKind,
    StepContext,
    _Analysis,
    _propensity_data,
    run_analysis,
)

UNWEIGHTED = "unweighted"


def _unique(value: tuple[str, ...]) -> tuple[str, ...]:
    if len(set(value)) != len(value):
        raise ValueError(f"listed twice: {sorted({v for v in value if value.count(v) > 1})}")
    return value


# -- specs ---------------------------------------------------------------------------------------


class EvalueSpec(_Analysis):
    """E-values (VanderWeele & Ding 2017) of the treatment hazard ratios of earlier analyses."""

    kind: Literal["evalue"]
    of: tuple[str, ...] = Field(min_length=1, description="ids of earlier cox or iptw analyses")
    treatment: str = Field("treatment", description="column whose Cox terms get E-values")
    outcome: Literal["auto", "rare", "common"] = Field(
        "auto", description="HR to RR conversion; auto: from the observed event proportion"
    )
    threshold: float = Field(0.15, gt=0, lt=1, description="event proportion above: common")

    @field_validator("of")
    @classmethod
    def _of_unique(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return _unique(value)

    def columns(self) -> tuple[str, ...]:
        return (self.treatment,)

    def links(self) -> list[tuple[str, str, tuple[str, ...]]]:
        return [(f"of[{i}]", link, ("cox", "iptw")) for i, link in enumerate(self.of)]

    def check_links(self, study: Any, where: str) -> None:
        """`treatment` is a covariate of every cox analysis and the treatment of every iptw."""
        for i, link in enumerate(self.of):
            other = study.analysis(link)
            if other.kind == "cox" and self.treatment not in other.covariates:
                raise ValueError(
                    f"{where}.treatment: {self.treatment!r} is not a covariate of "
                    f"analyses[{link}] (of[{i}])"
                )
            if other.kind == "iptw" and other.treatment != self.treatment:
                raise ValueError(
                    f"{where}.treatment: {self.treatment!r} is not the treatment of "
                    f"analyses[{link}] ({other.treatment!r}, of[{i}])"
                )


class RmstSpec(_Analysis):
    """Restricted mean survival time by group up to tau, unweighted and/or IPTW-weighted."""

    kind: Literal["rmst"]
    group: str = Field(description="analysis column whose levels are compared")
    tau: float | None = Field(
        None, gt=0, description="default: the smallest of the groups' last follow-up times"
    )
    weights: tuple[str, ...] = Field(
        (UNWEIGHTED,), min_length=1, description='"unweighted" or ids of earlier iptw analyses'
    )

    @field_validator("weights")
    @classmethod
    def _weights_unique(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return _unique(value)

    def columns(self) -> tuple[str, ...]:
        return (self.group,)

    def links(self) -> list[tuple[str, str, tuple[str, ...]]]:
        return [
            (f"weights[{i}]", w, ("iptw",)) for i, w in enumerate(self.weights) if w != UNWEIGHTED
        ]

    def check_links(self, study: Any, where: str) -> None:
        """A weighted block compares the groups of its iptw analysis's treatment."""
        for i, w in enumerate(self.weights):
            if w != UNWEIGHTED and study.analysis(w).treatment != self.group:
                raise ValueError(
                    f"{where}.weights[{i}]: analyses[{w}] weights {study.analysis(w).treatment!r}"
                    f", not the group {self.group!r}"
                )


class ImputationSpec(_Analysis):
    """Complete cases against multiple imputation (MICE, Rubin's rules) for earlier cox and
    iptw analyses."""

    kind: Literal["imputation"]
    of: tuple[str, ...] = Field(min_length=1, description="ids of earlier cox or iptw analyses")
    m: int = Field(5, ge=2, description="completed data sets")
    max_iter: int = Field(10, ge=1, description="cycles of the chained equations")
    random_state: int | None = Field(None, description="default: the study seed")

    @field_validator("of")
    @classmethod
    def _of_unique(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return _unique(value)

    def links(self) -> list[tuple[str, str, tuple[str, ...]]]:
        return [(f"of[{i}]", link, ("cox", "iptw")) for i, link in enumerate(self.of)]

    def check_links(self, study: Any, where: str) -> None:
        """An iptw analysis compared here must itself be a complete-case analysis."""
        for i, link in enumerate(self.of):
            other = study.analysis(link)
            if other.kind == "iptw" and not other.complete_cases:
                raise ValueError(
                    f"{where}.of[{i}]: analyses[{link}] has complete_cases = false; the "
                    "complete-case vs imputation comparison needs complete_cases = true"
                )


# -- records -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EvalueAnalysis:
    """E-values per linked analysis id, with the counts the event proportion comes from."""

    spec: EvalueSpec
    evalues: Mapping[str, Any]  # analysis id -> EValues
    sources: Mapping[str, tuple[str, str, int, int]]  # id -> (kind, title, n, events)
    kind: ClassVar[str] = "evalue"
    failed: ClassVar[bool] = False


@dataclass(frozen=True, slots=True)
class RmstAnalysis:
    """RMST results per weighting ("unweighted" or an iptw id), all up to the same tau."""

    spec: RmstSpec
    results: Mapping[str, Any]  # weighting -> RMSTResult
    tau: float
    tau_rule: str
    time_label: str
    kind: ClassVar[str] = "rmst"
    failed: ClassVar[bool] = False


@dataclass(frozen=True, slots=True)
class ImputationAnalysis:
    """The imputations and, per linked analysis, its complete-case fit and the pooled MI fit."""

    spec: ImputationSpec
    imputations: Any
    complete_case: Mapping[str, Any]  # id -> CoxResult (the linked analysis's own)
    pooled: Mapping[str, Any]  # id -> PooledResult
    terms: Mapping[str, tuple[str, ...]]  # id -> the terms compared
    n_obs: int
    n_dropped: int
    kind: ClassVar[str] = "imputation"
    failed: ClassVar[bool] = False


# -- steps ---------------------------------------------------------------------------------------


def _record(ctx: StepContext, analysis_id: str) -> Any:
    """The record of an earlier analysis (computed here, once, when `--only` left it out)."""
    record = ctx.records.get(analysis_id)
    if record is None:
        record = ctx.linked.get(analysis_id)
    if record is None:
        record = ctx.linked[analysis_id] = run_analysis(ctx, ctx.specs[analysis_id])
    if record.failed:
        raise ValueError(f"analysis {analysis_id!r} was not computed ({record.message})")
    return record


def _cox_of(record: Any) -> Any:
    """The Cox fit of a cox record, or the weighted Cox fit of an iptw record."""
    return record.model if record.kind == "cox" else record.survival.cox


def evalue_step(ctx: StepContext, spec: EvalueSpec) -> EvalueAnalysis:
    from regsurv.causal.evalue import cox_evalues

    evalues, sources = {}, {}
    for link in spec.of:
        record = _record(ctx, link)
        cox = _cox_of(record)
        # a factor's terms are column:level, a Boolean or numeric column's the column itself
        terms = [t for t in cox.terms if t == spec.treatment or t.startswith(f"{spec.treatment}:")]
        evalues[link] = cox_evalues(
            cox,
            terms=terms,
            event_proportion=float(cox.n_events) / float(cox.n_obs),
            outcome=None if spec.outcome == "auto" else spec.outcome,
            threshold=spec.threshold,
        )
        sources[link] = (record.kind, record.spec.title, int(cox.n_obs), int(cox.n_events))
    return EvalueAnalysis(spec, evalues, sources)


def _rmst_data(ctx: StepContext, spec: RmstSpec, weighting: str) -> tuple[pl.DataFrame, Any]:
    """Rows and weight column of one block: the cohort's rows with a group (unweighted), or
    the iptw analysis's rows with its weights."""
    o = ctx.outcome
    if weighting == UNWEIGHTED:
        return ctx.cohort.drop_nulls([spec.group, o.time, o.event]), None
    record = _record(ctx, weighting)
    data = _propensity_data(ctx, record.spec)
    return data.with_columns(pl.Series("__rmst_weight__", record.weights.values)), "__rmst_weight__"


def rmst_step(ctx: StepContext, spec: RmstSpec) -> RmstAnalysis:
    """Every block up to one tau: the given one, or the smallest of the blocks' defaults."""
    from regsurv.survival.rmst import rmst

    o = ctx.outcome
    blocks = {w: _rmst_data(ctx, spec, w) for w in spec.weights}

    def fit(weighting: str, tau: float | None) -> Any:
        data, weights = blocks[weighting]
        return rmst(data, time=o.time, event=o.event, group=spec.group, weights=weights, tau=tau)

    results = {w: fit(w, spec.tau) for w in spec.weights}
    if spec.tau is None:
        shortest = min(spec.weights, key=lambda w: results[w].tau)
        tau = results[shortest].tau
        where = "" if len(spec.weights) == 1 else f", {shortest} sample"
        rule = results[shortest].tau_rule.removesuffix(")") + f"{where})"
        results = {w: r if r.tau == tau else fit(w, tau) for w, r in results.items()}
    else:
        tau, rule = float(spec.tau), "given in the study file"
    return RmstAnalysis(spec, results, tau, rule, o.time_label)


def _imputation_columns(ctx: StepContext, specs: list[Any]) -> tuple[list[str], list[str]]:
    """Columns imputed (the covariates of the linked models) and columns that must be
    complete (the outcome and the iptw treatments: an exposure is never imputed)."""
    complete = [ctx.outcome.time, ctx.outcome.event]
    imputed: list[str] = []
    for spec in specs:
        if spec.kind == "iptw":
            complete.append(spec.treatment)
        imputed += list(spec.covariates)
    complete = list(dict.fromkeys(complete))
    return [c for c in dict.fromkeys(imputed) if c not in complete], complete


def _pool(ctx: StepContext, spec: Any, imputations: Any) -> Any:
    from regsurv.causal.rubin import mi_cox, mi_iptw_cox

    o = ctx.outcome
    ties = spec.ties or ctx.profile.ties
    if spec.kind == "cox":
        return mi_cox(
            imputations,
            time=o.time,
            event=o.event,
            covariates=spec.covariates,
            reference=spec.reference,
            ties=ties,
        )
    return mi_iptw_cox(
        imputations,
        time=o.time,
        event=o.event,
        treatment=spec.treatment,
        covariates=spec.covariates,
        reference=spec.reference,
        **spec.weight_options(ctx.profile),
        ties=ties,
    )


def imputation_step(ctx: StepContext, spec: ImputationSpec) -> ImputationAnalysis:
    """One set of m imputations of every linked model's covariates, then each model (Cox, or
    the whole IPTW pipeline) refitted in each completed set and pooled by Rubin's rules."""
    from regsurv.causal.imputation import multiple_imputation

    linked = [ctx.specs[link] for link in spec.of]
    imputed, complete = _imputation_columns(ctx, linked)
    data = ctx.cohort.drop_nulls(complete)
    imputations = multiple_imputation(
        data,
        columns=imputed,
        time=ctx.outcome.time,
        event=ctx.outcome.event,
        predictors=[c for c in complete if c not in (ctx.outcome.time, ctx.outcome.event)],
        m=spec.m,
        max_iter=spec.max_iter,
        random_state=spec.random_state if spec.random_state is not None else ctx.seed,
        n_jobs=ctx.n_jobs,
        on_progress=None
        if ctx.on_progress is None
        else (lambda done, total: ctx.on_progress(f"{spec.id}: imputation", done, total)),
    )
    complete_case, pooled, terms = {}, {}, {}
    for link, linked_spec in zip(spec.of, linked, strict=True):
        complete_case[link] = _cox_of(_record(ctx, link))
        pooled[link] = _pool(ctx, linked_spec, imputations)
        terms[link] = tuple(t for t in pooled[link].terms if t in complete_case[link].terms)
    return ImputationAnalysis(
        spec=spec,
        imputations=imputations,
        complete_case=complete_case,
        pooled=pooled,
        terms=terms,
        n_obs=data.height,
        n_dropped=ctx.cohort.height - data.height,
    )


SENSITIVITY_KINDS: dict[str, AnalysisKind] = {
    "evalue": AnalysisKind(EvalueSpec, evalue_step),
    "rmst": AnalysisKind(RmstSpec, rmst_step),
    "imputation": AnalysisKind(ImputationSpec, imputation_step),
}
KINDS.update(SENSITIVITY_KINDS)
