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
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import polars as pl

from regsurv.pipeline.profiles import Profile, get_profile

#: Exit codes of ``regsurv run`` (documented in its ``--help``).
EXIT_OK, EXIT_USAGE, EXIT_INPUT, EXIT_EMPTY_COHORT, EXIT_OUTPUT = 0, 2, 3, 4, 5


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

    def run(self, name: str, fn: Callable[[], Any], *, required: bool = False) -> Any:
        if self.on_step is not None:
            self.on_step(name)
        start = time.perf_counter()
        try:
            return fn()
        except StudyError:
            raise
        except Exception as exc:  # an analysis failed: the report explains it in its section
            if required:
                raise StudyError(f"{name}: {exc}") from exc
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

    out_dir = Path(out_dir)
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())) and not force:
        raise StudyError(
            f"output folder {out_dir} is not empty; pass --force to replace it", EXIT_OUTPUT
        )
    prof = get_profile(profile)
    spec, study_path = load_study(study)
    results = StudyResults(
        spec=spec,
        study_path=study_path,
        profile=prof,
        source=None,  # type: ignore[arg-type]
        suppress_below=suppress_below,
        started=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    steps = _Steps(results, on_step)
    results.source = steps.run(
        "data", lambda: resolve_source(data, layout, spec.study.seed), required=True
    )
    steps.run("cohort", lambda: _cohort_step(results), required=True)
    steps.run("tables", lambda: _tables_step(results))
    steps.run("survival", lambda: _km_step(results))
    steps.run("cox", lambda: _cox_step(results))
    steps.run("propensity", lambda: _propensity_step(results))
    steps.run("matching", lambda: _matching_step(results))
    results.finished = datetime.now(UTC).isoformat(timespec="seconds")
    steps.run("report", lambda: _write_outputs(results, out_dir, force=force), required=True)
    return results


# -- steps ---------------------------------------------------------------------------------------


def _cohort_step(results: StudyResults) -> None:
    from regsurv.cohort import apply_criteria, criteria_from_spec, derive_analysis_variables
    from regsurv.io import scan_puf

    spec = results.spec
    lf = scan_puf(results.source.path, layout=results.source.layout)
    kept, flow = apply_criteria(lf, criteria_from_spec(spec.cohort))
    results.flow = flow
    cohort = derive_analysis_variables(kept, spec.cohort).collect()
    results.cohort = cohort
    if cohort.height == 0:
        raise StudyError(
            "the criteria exclude every row: the cohort is empty (see the flow counts)",
            EXIT_EMPTY_COHORT,
        )


def _tables_step(results: StudyResults) -> None:
    from regsurv.describe import summary_table, trend_test

    spec = results.spec
    for table in spec.tables.tables:
        results.tables[table.id] = summary_table(
            results.cohort,
            group=spec.tables.group,
            variables=[row.column for row in table.rows],
            percent="both",
        )
    if spec.tables.trend is not None:
        t = spec.tables.trend
        results.trend = trend_test(results.cohort, variable=t.variable, outcome=t.outcome)


def _km_step(results: StudyResults) -> None:
    from regsurv.survival import kaplan_meier, logrank_test

    s = results.spec.survival
    for curve in s.curves:
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
        results.univariable[cov] = cox_ph(
            results.cohort, time=s.time, event=s.event, covariates=[cov], reference=ref, ties=ties
        )
    results.multivariable = cox_ph(
        results.cohort,
        time=s.time,
        event=s.event,
        covariates=s.multivariable.covariates,
        reference=s.multivariable.reference,
        ties=ties,
    )


def _propensity_step(results: StudyResults) -> None:
    from regsurv.causal import PropensityModel, balance_table, iptw_survival, iptw_weights

    ps_spec = results.spec.propensity
    s = results.spec.survival
    columns = [ps_spec.treatment, *ps_spec.covariates, s.time, s.event]
    data = results.cohort.drop_nulls(columns)
    model = PropensityModel(ps_spec.covariates).fit(data, treatment=ps_spec.treatment)
    ps = model.predict_proba(data)
    weights = iptw_weights(
        ps,
        data[ps_spec.treatment],
        classes=model.classes_,
        estimand=ps_spec.estimand,
        stabilized=ps_spec.stabilized,
        normalize=results.profile.normalize_weights,
    )
    weighted = data.with_columns(pl.Series("iptw_weight", weights.weights))
    results.propensity = {
        "n_dropped": results.cohort.height - data.height,
        "model": model,
        "weights": weights,
        "balance": balance_table(
            weighted,
            treatment=ps_spec.treatment,
            covariates=ps_spec.covariates,
            weights="iptw_weight",
            rule=ps_spec.rule,
        ),
        "survival": iptw_survival(
            weighted,
            time=s.time,
            event=s.event,
            treatment=ps_spec.treatment,
            weights="iptw_weight",
            ties=results.profile.ties,
            conf_type=results.profile.conf_type,
        ),
    }


def _matching_step(results: StudyResults) -> None:
    from regsurv.causal import (
        PropensityModel,
        balance_table,
        match_triplets,
        matched_survival,
    )

    m_spec = results.spec.matching
    s = results.spec.survival
    columns = [m_spec.treatment, *m_spec.covariates, s.time, s.event]
    data = results.cohort.drop_nulls(columns)
    model = PropensityModel(m_spec.covariates).fit(data, treatment=m_spec.treatment)
    matching = match_triplets(
        model.predict_proba(data),
        data[m_spec.treatment],
        caliper=m_spec.caliper,
        method=m_spec.method,
        random_state=results.spec.study.seed,
    )
    matched = data.with_columns(pl.Series("matched_set", matching.set_id)).filter(
        pl.col("matched_set").is_not_null()
    )
    results.matching = {
        "matching": matching,
        "balance": balance_table(
            matched, treatment=m_spec.treatment, covariates=m_spec.covariates, rule="max_pairwise"
        ),
        "balance_before": balance_table(
            data, treatment=m_spec.treatment, covariates=m_spec.covariates, rule="max_pairwise"
        ),
        "survival": matched_survival(
            matched,
            matching,
            time=s.time,
            event=s.event,
            treatment=m_spec.treatment,
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
    with path.open("rb") as f:
        return tomllib.load(f)


def _write_outputs(results: StudyResults, out_dir: Path, *, force: bool) -> None:
    from regsurv.report import write_report

    out_dir = out_dir.resolve()
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        write_report(results, tmp, targets=load_targets(results))
        if out_dir.exists():
            if not force and any(out_dir.iterdir()):
                raise StudyError(f"output folder {out_dir} is not empty", EXIT_OUTPUT)
            shutil.rmtree(out_dir) if out_dir.is_dir() else out_dir.unlink()
        tmp.rename(out_dir)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
