"""Run a study end to end: data → cohort → tables → survival → propensity → matching → report.

`run_study` is the only place that ties the stages together. Each step is a call into a stage's
library; a step that fails is recorded (`StudyResults.errors`) and the report replaces its
section with the explanation, instead of stopping the whole run. Reading input and writing
outputs happen here and in `regsurv.report` only.
"""

from __future__ import annotations

import hashlib
import platform
import time
import tomllib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import polars as pl

from regsurv.errors import ExitCode, RegsurvError
from regsurv.pipeline.profiles import Profile, get_profile

#: Exit codes of ``regsurv run`` (`regsurv.errors.ExitCode`, the same for every command).
EXIT_USAGE, EXIT_INPUT, EXIT_EMPTY_COHORT, EXIT_OUTPUT = (
    ExitCode.USAGE,
    ExitCode.INPUT,
    ExitCode.EMPTY_COHORT,
    ExitCode.OUTPUT,
)


class StudyError(RegsurvError):
    """A problem that stops the run, with the exit code the CLI returns (default: bad input)."""


@dataclass(frozen=True, slots=True)
class DataSource:
    path: Path
    synthetic: bool
    size_bytes: int
    sha256: str
    layout: Path | None = None
    seed: int | None = None


@dataclass(slots=True)
class StudyResults:
    """Everything a study run computed; `regsurv.report` renders it without computing."""

    spec: Any
    study_path: Path
    profile: Profile
    source: DataSource
    suppress_below: int | None
    flow: Any = None
    cohort: pl.DataFrame | None = None
    group_counts: dict[str, int] = field(default_factory=dict)
    tables: dict[str, Any] = field(default_factory=dict)
    trend: Any = None
    km: dict[str, dict[str, Any]] = field(default_factory=dict)
    univariable: dict[str, Any] = field(default_factory=dict)
    multivariable: Any = None
    propensity: dict[str, Any] = field(default_factory=dict)
    matching: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    durations: dict[str, float] = field(default_factory=dict)
    started: str = ""
    finished: str = ""
    output: Any = None  # the checked `regsurv.pipeline.outputs.OutputTarget`
    notes: list[str] = field(default_factory=list)  # what the user must know (CLI warnings)


def file_sha256(path: Path, chunk: int = 1 << 20) -> str:
    """SHA-256 of a file, streamed."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def package_versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in ("regsurv", "polars", "numpy", "scipy", "matplotlib", "pydantic", "python-docx"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "not installed"
    return out


def resolve_source(data: Path | None, layout: Path | None, seed: int) -> DataSource:
    """The input file: the user's PUF, or the cached synthetic PUF for `seed`."""
    if data is None:
        from regsurv.synth import cached_synthetic_puf

        path = cached_synthetic_puf(seed=seed)
        synthetic = True
    else:
        path = Path(data)
        if not path.exists():
            raise StudyError(f"{path}: PUF file not found (--data)")
        if path.is_dir():
            raise StudyError(f"{path}: is a directory, not a PUF file (--data)")
        synthetic = "synthetic" in path.name.lower()
    return DataSource(
        path=path,
        synthetic=synthetic,
        size_bytes=path.stat().st_size,
        sha256=file_sha256(path),
        layout=layout,
        seed=seed if data is None else None,
    )


class _Steps:
    """Times each step, records failures of optional steps, reports progress."""

    def __init__(self, results: StudyResults, on_step: Callable[[str], None] | None) -> None:
        self.results = results
        self.on_step = on_step

    def run(
        self,
        name: str,
        fn: Callable[[], Any],
        *,
        required: bool = False,
        exit_code: int = EXIT_INPUT,
    ) -> Any:
        if self.on_step is not None:
            self.on_step(name)
        start = time.perf_counter()
        try:
            return fn()
        except RegsurvError:
            raise
        except Exception as exc:  # an analysis failed: the report explains it in its section
            if required:
                raise StudyError(str(exc), exit_code) from exc
            self.results.errors[name] = f"{type(exc).__name__}: {exc}"
            return None
        finally:
            self.results.durations[name] = round(time.perf_counter() - start, 4)


STEPS = ("data", "cohort", "tables", "survival", "cox", "propensity", "matching", "report")


def run_study(
    *,
    study: Path | None = None,
    data: Path | None = None,
    layout: Path | None = None,
    out_dir: Path = Path("regsurv_output"),
    profile: str = "sas",
    suppress_below: int | None = None,
    force: bool = False,
    strict: bool = False,
    on_step: Callable[[str], None] | None = None,
) -> StudyResults:
    """Run the study in `study` (default: the shipped sarcoma study) and write the report.

    `out_dir` is checked before the analysis (`regsurv.pipeline.outputs`); outputs are written
    to a temporary folder beside it and moved into place only when everything succeeded, so a
    failed or interrupted run leaves no half-written report. `force` replaces only a folder
    regsurv wrote. The input must pass `regsurv.io.check_integrity`; `strict` makes repeated
    records and invalid values in fields the study uses errors instead of flow exclusions.
    """
    from regsurv.pipeline.outputs import prepare_output_folder
    from regsurv.pipeline.spec import load_study
    from regsurv.studies import study_path

    prof = get_profile(profile)
    spec = load_study(study)
    missing = [name for name in ("tables", "survival", "report") if getattr(spec, name) is None]
    if missing:
        raise StudyError(
            f"study file lacks the section(s) {missing} that a report needs", EXIT_USAGE
        )
    study_file = Path(study) if study is not None else study_path()
    targets = study_file.parent / spec.report.targets if spec.report.targets else None
    inputs = [("--data", data), ("--study", study_file), ("--layout", layout), ("targets", targets)]
    output = prepare_output_folder(out_dir, inputs=inputs, force=force)
    results = StudyResults(
        spec=spec,
        study_path=study_file,
        profile=prof,
        source=None,  # type: ignore[arg-type]
        suppress_below=suppress_below,
        started=datetime.now(UTC).isoformat(timespec="seconds"),
        output=output,
    )
    steps = _Steps(results, on_step)
    results.source = steps.run(
        "data", lambda: resolve_source(data, layout, spec.study.seed), required=True
    )
    results.notes += output.notes()
    steps.run("cohort", lambda: _cohort_step(results, strict=strict), required=True)
    steps.run("tables", lambda: _tables_step(results))
    steps.run("survival", lambda: _km_step(results))
    steps.run("cox", lambda: _cox_step(results))
    steps.run("propensity", lambda: _propensity_step(results))
    steps.run("matching", lambda: _matching_step(results))
    steps.run(
        "report",
        lambda: _write_outputs(results, output),
        required=True,
        exit_code=EXIT_OUTPUT,
    )
    return results


# -- steps ---------------------------------------------------------------------------------------


def _cohort_step(results: StudyResults, *, strict: bool = False) -> None:
    from regsurv.cohort import (
        INVALID_STEP,
        build_cohort,
        group_counts,
        invalid_value_message,
        invalid_values,
        study_fields,
    )
    from regsurv.io import PufError, check_integrity, scan_puf

    source = results.source
    lf = scan_puf(source.path, layout=source.layout)
    fields = study_fields(results.spec.cohort, lf.collect_schema().names())
    integrity = check_integrity(source.path, layout=source.layout, fields=fields)
    try:
        cohort, flow = build_cohort(
            lf, results.spec.cohort, duplicate_ids=integrity.duplicate_ids, strict=strict
        )
    except PufError:  # non-numeric text met while counting: name the rows
        check_integrity(source.path, layout=source.layout, fields=fields, thorough=True)
        raise
    results.flow = flow
    if integrity.n_copies:
        results.notes.append(
            f"{integrity.n_copies:,} rows repeat another record exactly (same PUF_CASE_ID and "
            "fields); each record is counted once (flow step 'duplicate_record')"
        )
    if any(s.id == INVALID_STEP for s in flow.steps):
        counts = invalid_value_message(invalid_values(lf, fields))
        results.notes.append(
            f"invalid values excluded at flow step {INVALID_STEP!r}: {counts} "
            "(--strict stops instead)"
        )
    cohort = cohort.collect()
    results.cohort = cohort
    results.group_counts = group_counts(cohort)
    if cohort.height == 0:
        raise StudyError(
            "the criteria exclude every row: the cohort is empty (see the flow counts)",
            EXIT_EMPTY_COHORT,
        )


def _tables_step(results: StudyResults) -> None:
    from regsurv.describe import summary_table, trend_test

    spec = results.spec
    t = spec.tables
    for table in t.tables:
        results.tables[table.id] = summary_table(results.cohort, **t.summary_kwargs(table.id))
    if t.trend is not None:
        results.trend = trend_test(results.cohort, **t.trend.kwargs())


@contextmanager
def _unit(results: StudyResults, name: str) -> Iterator[None]:
    """Record a failure of one analysis unit (a curve, a model) and go on with the others."""
    try:
        yield
    except Exception as exc:  # the report replaces just this unit by the reason
        results.errors[name] = f"{type(exc).__name__}: {exc}"


def _km_step(results: StudyResults) -> None:
    from regsurv.survival import kaplan_meier, logrank_test

    s = results.spec.survival
    for curve in s.curves:
        with _unit(results, f"survival:{curve.id}"):
            data = results.cohort.filter(pl.col(curve.group).is_not_null())
            km = kaplan_meier(
                data,
                time=s.time,
                event=s.event,
                group=curve.group,
                conf_type=results.profile.conf_type,
            )
            results.km[curve.id] = {
                "curves": km,
                "median": km.median(),
                "landmarks": km.at(s.landmarks),
                "at_risk": km.at(s.at_risk_times),
                "logrank": logrank_test(data, time=s.time, event=s.event, group=curve.group),
            }


def _cox_step(results: StudyResults) -> None:
    from regsurv.survival import cox_ph

    s = results.spec.survival
    ties = results.profile.ties
    for cov in s.univariable.covariates:
        ref = {k: v for k, v in s.univariable.reference.items() if k == cov}
        with _unit(results, f"cox:{cov}"):
            results.univariable[cov] = cox_ph(
                results.cohort,
                time=s.time,
                event=s.event,
                covariates=[cov],
                reference=ref,
                ties=ties,
            )
    with _unit(results, "cox:multivariable"):
        results.multivariable = cox_ph(
            results.cohort,
            time=s.time,
            event=s.event,
            covariates=s.multivariable.covariates,
            reference=s.multivariable.reference,
            ties=ties,
        )


def _propensity_data(results: StudyResults) -> pl.DataFrame:
    """Complete cases of the propensity model's columns and the outcome."""
    ps_spec = results.spec.propensity
    s = results.spec.survival
    columns = [ps_spec.treatment, *ps_spec.covariates, *ps_spec.balance_columns, s.time, s.event]
    return results.cohort.drop_nulls(list(dict.fromkeys(columns)))


def _propensity_step(results: StudyResults) -> None:
    from regsurv.causal import PropensityModel, balance_table, iptw_survival, iptw_weights

    ps_spec = results.spec.propensity
    s = results.spec.survival
    data = _propensity_data(results)
    model = PropensityModel(ps_spec.covariates, reference=ps_spec.reference).fit(
        data, treatment=ps_spec.treatment
    )
    weights = iptw_weights(
        model.predict_proba(data),
        data[ps_spec.treatment],
        classes=model.classes_,
        estimand=ps_spec.estimand,
        stabilized=ps_spec.stabilized,
        normalize=results.profile.normalize_weights and ps_spec.normalize,
        trim=ps_spec.trim,
    )
    results.propensity = {
        "n_obs": data.height,
        "n_dropped": results.cohort.height - data.height,
        "model": model,
        "weights": weights,
        "balance": balance_table(
            data,
            treatment=ps_spec.treatment,
            covariates=ps_spec.balance_columns,
            weights=weights,
            rule=ps_spec.balance_rule,
            denominator=ps_spec.balance_denominator,
            threshold=ps_spec.balance_threshold,
        ),
        "survival": iptw_survival(
            data,
            time=s.time,
            event=s.event,
            treatment=ps_spec.treatment,
            weights=weights,
            ties=results.profile.ties,
            conf_type=results.profile.conf_type,
        ),
    }


def _matching_step(results: StudyResults) -> None:
    from regsurv.causal import (
        PropensityModel,
        match_nearest,
        match_triplets,
        matched_balance,
        matched_survival,
    )

    ps_spec = results.spec.propensity
    m_spec = results.spec.matching
    s = results.spec.survival
    treatment = m_spec.treatment or ps_spec.treatment
    covariates = m_spec.covariates or ps_spec.covariates
    data = _propensity_data(results)
    seed = results.spec.study.seed
    random_state = m_spec.random_state if m_spec.random_state is not None else seed
    if m_spec.method == "nearest":  # two groups: [control, treated]
        if m_spec.groups is None:
            raise ValueError("[matching] method 'nearest' needs groups = [control, treated]")
        data = data.filter(pl.col(treatment).cast(pl.String).is_in(list(m_spec.groups)))
        data = data.with_columns(pl.col(treatment).cast(pl.String).cast(pl.Enum(m_spec.groups)))
    model = PropensityModel(covariates, reference=ps_spec.reference).fit(data, treatment=treatment)
    ps, groups = model.predict_proba(data), data[treatment]
    if m_spec.method == "nearest":
        matching = match_nearest(
            ps,
            groups,
            classes=model.classes_,
            caliper=m_spec.caliper,
            caliper_scale=m_spec.caliper_scale,
            distance=m_spec.distance,
            ratio=m_spec.ratio,
            replace=m_spec.replace,
            order=m_spec.order,
            random_state=random_state,
        )
    else:
        matching = match_triplets(
            ps,
            groups,
            classes=model.classes_,
            caliper=m_spec.caliper,
            reference_group=m_spec.reference_group,
            method=m_spec.method,
            order=m_spec.order,
            n_candidates=m_spec.n_candidates,
            n_clusters=m_spec.n_clusters,
            random_state=random_state,
        )
    results.matching = {
        "matching": matching,
        "balance": matched_balance(
            data,
            matching,
            treatment=treatment,
            covariates=ps_spec.balance_columns,
            rule=m_spec.balance_rule,
            denominator=m_spec.balance_denominator,
            threshold=m_spec.balance_threshold,
        ),
        "survival": matched_survival(
            data,
            matching,
            time=s.time,
            event=s.event,
            treatment=treatment,
            reference=m_spec.survival_reference,
            ties=results.profile.ties,
        ),
    }


# -- outputs -------------------------------------------------------------------------------------


def load_targets(results: StudyResults) -> dict[str, Any] | None:
    """The published figures named by the study's `[report] targets`, if any."""
    name = results.spec.report.targets
    if not name:
        return None
    path = results.study_path.parent / name
    if not path.is_file():
        results.errors["paper_comparison"] = f"targets file {path} not found"
        return None
    with path.open("rb") as f:
        return tomllib.load(f)


def manifest(results: StudyResults, study_text: str) -> dict[str, Any]:
    """Provenance of a run: input, study file (as given and resolved), options, versions, times."""
    src = results.source
    return {
        "regsurv_version": package_versions()["regsurv"],
        "input": {
            "file": src.path.name,
            "size_bytes": src.size_bytes,
            "sha256": src.sha256,
            "layout": None if src.layout is None else str(src.layout),
            "synthetic": src.synthetic,
            "synthetic_seed": src.seed,
        },
        "study_file": {"path": str(results.study_path), "as_given": study_text},
        "study_resolved": results.spec.model_dump(mode="json"),
        "options": {
            "profile": results.profile.name,
            "ties": results.profile.ties,
            "conf_type": results.profile.conf_type,
            "normalize_weights": results.profile.normalize_weights,
            "suppress_below": results.suppress_below,
        },
        "seed": results.spec.study.seed,
        "package_versions": package_versions(),
        "started": results.started,
        "finished": results.finished,
        "step_seconds": results.durations,
        "errors": results.errors,
    }


def _write_outputs(results: StudyResults, output: Any) -> None:
    """Write the report into a staging folder published only on success (see `outputs`)."""
    import json

    from regsurv.pipeline.outputs import staged_folder
    from regsurv.report import write_report

    with staged_folder(output) as tmp:
        start = time.perf_counter()
        write_report(results, tmp, targets=load_targets(results))
        # the manifest is written inside the report step, so it records the report's own time
        results.durations["report"] = round(time.perf_counter() - start, 4)
        results.finished = datetime.now(UTC).isoformat(timespec="seconds")
        text = results.study_path.read_text(encoding="utf-8")
        (tmp / "manifest.json").write_text(
            json.dumps(manifest(results, text), indent=1), encoding="utf-8"
        )
