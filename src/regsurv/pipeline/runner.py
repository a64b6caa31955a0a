"""Run a study end to end: data → cohort → tables → survival → propensity → matching → report.

`run_study` is the only place that ties the stages together. Each step is a call into a stage's
library; a step that fails is recorded (`StudyResults.errors`) and the report replaces its
section with the explanation, instead of stopping the whole run. Reading input and writing
outputs happen here and in `regsurv.report` only.
"""

from __future__ import annotations

import hashlib
import platform
import shutil
import tempfile
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

from regsurv.pipeline.profiles import Profile, get_profile

#: Exit codes of ``regsurv run`` (documented in its ``--help``; 0 is success).
EXIT_USAGE, EXIT_INPUT, EXIT_EMPTY_COHORT, EXIT_OUTPUT = 2, 3, 4, 5


class StudyError(Exception):
    """A problem that stops the run, with the exit code the CLI returns."""

    def __init__(self, message: str, exit_code: int = EXIT_INPUT) -> None:
        super().__init__(message)
        self.exit_code = exit_code


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
            raise StudyError(f"PUF file not found: {path}")
        if path.is_dir():
            raise StudyError(f"PUF path is a directory, not a file: {path}")
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
        except StudyError:
            raise
        except Exception as exc:  # an analysis failed: the report explains it in its section
            if required:
                raise StudyError(f"{name}: {exc}", exit_code) from exc
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
    on_step: Callable[[str], None] | None = None,
) -> StudyResults:
    """Run the study in `study` (default: the shipped sarcoma study) and write the report.

    Outputs are written to a temporary folder beside `out_dir` and moved into place only when
    everything succeeded, so a failed run leaves no half-written report.
    """
    from regsurv.pipeline.spec import load_study
    from regsurv.report.suppression import check_threshold, threshold_for
    from regsurv.studies import study_path

    try:
        check_threshold(suppress_below)
    except ValueError as exc:
        raise StudyError(str(exc), EXIT_USAGE) from None
    out_dir = Path(out_dir)
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())) and not force:
        raise StudyError(
            f"output folder {out_dir} is not empty; pass --force to replace it", EXIT_OUTPUT
        )
    prof = get_profile(profile)
    spec = load_study(study)
    missing = [name for name in ("tables", "survival", "report") if getattr(spec, name) is None]
    if missing:
        raise StudyError(
            f"study file lacks the section(s) {missing} that a report needs", EXIT_USAGE
        )
    results = StudyResults(
        spec=spec,
        study_path=Path(study) if study is not None else study_path(),
        profile=prof,
        source=None,  # type: ignore[arg-type]
        suppress_below=suppress_below,
        started=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    steps = _Steps(results, on_step)
    results.source = steps.run(
        "data", lambda: resolve_source(data, layout, spec.study.seed), required=True
    )
    results.suppress_below = threshold_for(suppress_below, results.source.synthetic)
    steps.run("cohort", lambda: _cohort_step(results), required=True)
    steps.run("tables", lambda: _tables_step(results))
    steps.run("survival", lambda: _km_step(results))
    steps.run("cox", lambda: _cox_step(results))
    steps.run("propensity", lambda: _propensity_step(results))
    steps.run("matching", lambda: _matching_step(results))
    steps.run(  # a failed report, a DisclosureError of the suppression audit included: exit 5
        "report",
        lambda: _write_outputs(results, out_dir, force=force),
        required=True,
        exit_code=EXIT_OUTPUT,
    )
    return results


# -- steps ---------------------------------------------------------------------------------------


def _cohort_step(results: StudyResults) -> None:
    from regsurv.cohort import build_cohort, group_counts
    from regsurv.io import scan_puf

    lf = scan_puf(results.source.path, layout=results.source.layout)
    cohort, flow = build_cohort(lf, results.spec.cohort)
    results.flow = flow
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


def manifest(
    results: StudyResults, study_text: str, suppression: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Provenance of a run: input, study file (as given and resolved), options, versions, times;
    `suppression`: what the report's cell suppression hid and its audit."""
    from regsurv.report.format import Suppressor

    scrub = Suppressor(results.suppress_below).text
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
        "suppression": suppression,
        "seed": results.spec.study.seed,
        "package_versions": package_versions(),
        "started": results.started,
        "finished": results.finished,
        "step_seconds": results.durations,
        "errors": {step: scrub(message) for step, message in results.errors.items()},
    }


def _write_outputs(results: StudyResults, out_dir: Path, *, force: bool) -> None:
    import json

    from regsurv.report import write_report

    out_dir = out_dir.resolve()
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        start = time.perf_counter()
        write_report(results, tmp, targets=load_targets(results))
        # the manifest is written inside the report step, so it records the report's own time
        results.durations["report"] = round(time.perf_counter() - start, 4)
        results.finished = datetime.now(UTC).isoformat(timespec="seconds")
        text = results.study_path.read_text(encoding="utf-8")
        suppression = json.loads((tmp / "results.json").read_text(encoding="utf-8"))
        (tmp / "manifest.json").write_text(
            json.dumps(manifest(results, text, suppression.get("suppression")), indent=1),
            encoding="utf-8",
        )
        if out_dir.exists():
            if not force and any(out_dir.iterdir()):
                raise StudyError(f"output folder {out_dir} is not empty", EXIT_OUTPUT)
            shutil.rmtree(out_dir) if out_dir.is_dir() else out_dir.unlink()
        tmp.rename(out_dir)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
