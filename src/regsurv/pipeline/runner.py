"""Run a study end to end: data → cohort → tables → survival → propensity → matching → report.

`run_study` is the only place that ties the stages together: the cohort step, then each analysis
of the study file (`regsurv.pipeline.analyses`), then the report. An analysis that fails is a
typed `AnalysisFailure` and the report replaces its section with the explanation, instead of
stopping the whole run. Reading input and writing
outputs happen here and in `regsurv.report` only.
"""

from __future__ import annotations

import hashlib
import platform
import time
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from types import MappingProxyType
from typing import Any

import polars as pl

from regsurv.errors import ExitCode, RegsurvError
from regsurv.pipeline.analyses import KINDS, AnalysisFailure, StepContext, run_analysis
from regsurv.pipeline.profiles import Profile, get_profile

#: Exit codes of ``regsurv run`` (`regsurv.errors.ExitCode`, the same for every command);
#: EXIT_ANALYSIS only with ``--strict``, when an analysis could not be computed.
EXIT_USAGE, EXIT_INPUT, EXIT_EMPTY_COHORT, EXIT_OUTPUT, EXIT_ANALYSIS = (
    ExitCode.USAGE,
    ExitCode.INPUT,
    ExitCode.EMPTY_COHORT,
    ExitCode.OUTPUT,
    ExitCode.ANALYSIS,
)
#: The report's suppression audit found a hidden count that the published ones determine.
EXIT_DISCLOSURE = ExitCode.DISCLOSURE


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
class RunLog:
    """When the run started and finished and how long each step took (seconds)."""

    started: str
    finished: str = ""
    durations: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CohortResult:
    """The cohort step: the inclusion flow, the analytic cohort and the exposure group sizes."""

    flow: Any
    cohort: pl.DataFrame
    group_counts: Mapping[str, int]
    notes: tuple[str, ...] = ()  # data-quality findings the user must know (CLI warnings)
    duplicate_ids: tuple[str, ...] = ()  # ids of exact repeats, counted once (flow step)


@dataclass(frozen=True, slots=True)
class StudyResults:
    """Everything a study run computed; `regsurv.report` renders it without computing.

    ``analyses`` maps each analysis id to its record (`regsurv.pipeline.analyses`) or its
    `AnalysisFailure`, in the study file's order.
    """

    spec: Any
    study_path: Path
    profile: Profile
    source: DataSource
    suppress_below: int | None
    flow: Any
    cohort: pl.DataFrame
    group_counts: Mapping[str, int]
    analyses: Mapping[str, Any]
    log: RunLog
    targets: Mapping[str, Any] | None = None
    notes: tuple[str, ...] = ()  # what the user must know (leftovers, data quality; CLI warnings)

    @property
    def failures(self) -> tuple[AnalysisFailure, ...]:
        return tuple(a for a in self.analyses.values() if a.failed)

    @property
    def errors(self) -> dict[str, str]:
        """Analysis id -> why it could not be computed (the failed analyses only)."""
        return {f.id: f.message for f in self.failures}

    @property
    def durations(self) -> dict[str, float]:
        return self.log.durations

    @property
    def started(self) -> str:
        return self.log.started

    @property
    def finished(self) -> str:
        return self.log.finished


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
    """Times each step and reports progress; a failing required step stops the run."""

    def __init__(self, log: RunLog, on_step: Callable[[str], None] | None) -> None:
        self.log = log
        self.on_step = on_step

    def run(self, name: str, fn: Callable[[], Any], *, exit_code: int = EXIT_INPUT) -> Any:
        if self.on_step is not None:
            self.on_step(name)
        start = time.perf_counter()
        try:
            return fn()
        except RegsurvError:
            raise
        except Exception as exc:
            raise StudyError(str(exc), exit_code) from exc
        finally:
            self.log.durations[name] = round(time.perf_counter() - start, 4)


STEPS = ("data", "cohort", "report")


def select_analyses(spec: Any, only: Sequence[str] | None) -> tuple[Any, ...]:
    """The analyses named in `only` (ids or kinds; None: all), in the study's order, with the
    iptw analyses a selected matching analysis needs. An unknown name is a usage error."""
    if not only:
        return tuple(spec.analyses)
    ids = {a.id for a in spec.analyses}
    unknown = [name for name in only if name not in ids and name not in KINDS]
    if unknown:
        raise StudyError(
            f"--only: {unknown[0]!r} is neither an analysis id of the study "
            f"({', '.join(sorted(ids))}) nor a kind ({', '.join(KINDS)})",
            EXIT_USAGE,
        )
    chosen = {a.id for a in spec.analyses if a.id in only or a.kind in only}
    chosen |= {a.propensity for a in spec.analyses if a.id in chosen and a.kind == "matching"}
    return tuple(a for a in spec.analyses if a.id in chosen)


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
    only: Sequence[str] | None = None,
    on_step: Callable[[str], None] | None = None,
    on_progress: Callable[[str, int, int], None] | None = None,
    n_jobs: int = -1,
) -> StudyResults:
    """Run the study in `study` (default: the shipped sarcoma study) and write the report.

    ``only``: analysis ids or kinds to compute (default all). `out_dir` is checked before the
    analysis (`regsurv.pipeline.outputs`); outputs are written to a temporary folder beside it
    and moved into place only when everything succeeded, so a failed or interrupted run leaves
    no half-written report; `force` replaces only a folder regsurv wrote. The input must pass
    `regsurv.io.check_integrity`; `strict` makes repeated records and invalid values in fields
    the study uses errors instead of flow exclusions. ``n_jobs``: joblib workers of the
    resampling steps (bootstrap, imputation; `regsurv.pipeline.parallel`).
    """
    from regsurv.pipeline.outputs import prepare_output_folder
    from regsurv.pipeline.spec import load_study
    from regsurv.report.suppression import check_threshold, threshold_for
    from regsurv.studies import study_path

    try:
        check_threshold(suppress_below)
    except ValueError as exc:
        raise StudyError(str(exc), EXIT_USAGE) from None
    prof = get_profile(profile)
    spec = load_study(study)
    selected = select_analyses(spec, only)
    path = Path(study) if study is not None else study_path()
    targets = load_targets(spec, path)
    targets_file = path.parent / spec.report.targets if spec.report.targets else None
    inputs = [("--data", data), ("--study", path), ("--layout", layout), ("targets", targets_file)]
    output = prepare_output_folder(out_dir, inputs=inputs, force=force)
    log = RunLog(started=datetime.now(UTC).isoformat(timespec="seconds"))
    steps = _Steps(log, on_step)
    source = steps.run("data", lambda: resolve_source(data, layout, spec.study.seed))
    cohort = steps.run(
        "cohort", lambda: require_patients(build_study_cohort(spec, source, strict=strict))
    )
    analyses: dict[str, Any] = {}
    context = StepContext(
        cohort=cohort.cohort,
        outcome=spec.outcome,
        profile=prof,
        seed=spec.study.seed,
        specs={a.id: a for a in spec.analyses},
        on_progress=on_progress,
        records=analyses,
        n_jobs=n_jobs,
    )
    for analysis in selected:
        analyses[analysis.id] = steps.run(
            analysis.id, lambda analysis=analysis: run_analysis(context, analysis)
        )
    results = StudyResults(
        spec=spec,
        study_path=path,
        profile=prof,
        source=source,
        suppress_below=threshold_for(suppress_below, source.synthetic),
        flow=cohort.flow,
        cohort=cohort.cohort,
        group_counts=cohort.group_counts,
        analyses=MappingProxyType(analyses),
        log=log,
        targets=targets,
        notes=(*output.notes(), *cohort.notes),
    )
    steps.run("report", lambda: _write_outputs(results, output), exit_code=EXIT_OUTPUT)
    return results


# -- steps ---------------------------------------------------------------------------------------


def build_study_cohort(spec: Any, source: DataSource, *, strict: bool = False) -> CohortResult:
    """The analytic cohort of `spec` from the PUF of `source` (a lazy scan), with its flow
    (`regsurv run` and `regsurv cohort` both call this).

    The file must pass `regsurv.io.check_integrity` on the fields the study uses (one
    streaming pass); exact repeats and invalid values become the flow's data-quality steps
    (`regsurv.cohort.quality`), or errors with `strict`.
    """
    from regsurv.cohort import (
        INVALID_STEP,
        group_counts,
        invalid_value_message,
        invalid_values,
        study_fields,
    )
    from regsurv.cohort.collect import collect_cohort
    from regsurv.cohort.derive import check_schema
    from regsurv.io import PufError, check_integrity, scan_puf

    lf = scan_puf(source.path, layout=source.layout)
    columns = lf.collect_schema().names()
    try:
        check_schema(spec.cohort, set(columns), source.path.name)
    except ValueError as exc:  # the study names a field the data lack: before any row is read
        raise StudyError(str(exc), EXIT_USAGE) from None
    fields = study_fields(spec.cohort, columns)
    integrity = check_integrity(source.path, layout=source.layout, fields=fields)
    try:
        cohort, flow = collect_cohort(  # one pass: the flow counts and the included rows
            lf, spec.cohort, duplicate_ids=integrity.duplicate_ids, strict=strict, columns=fields
        )
    except PufError:  # non-numeric text met while counting: name the rows
        check_integrity(source.path, layout=source.layout, fields=fields, thorough=True)
        raise
    notes = []
    if integrity.n_copies:
        notes.append(
            f"{integrity.n_copies:,} rows repeat another record exactly (same PUF_CASE_ID and "
            "fields); each record is counted once (flow step 'duplicate_record')"
        )
    if any(s.id == INVALID_STEP for s in flow.steps):
        counts = invalid_value_message(invalid_values(lf, fields))
        notes.append(
            f"invalid values excluded at flow step {INVALID_STEP!r}: {counts} "
            "(--strict stops instead)"
        )
    exposure = spec.cohort.exposure_group
    counts = group_counts(cohort, exposure) if exposure is not None and cohort.height else {}
    return CohortResult(
        flow=flow,
        cohort=cohort,
        group_counts=counts,
        notes=tuple(notes),
        duplicate_ids=tuple(integrity.duplicate_ids),
    )


def require_patients(result: CohortResult) -> CohortResult:
    """`result`, or `EXIT_EMPTY_COHORT` naming the step after which no row remains."""
    if result.cohort.height == 0:
        flow = result.flow
        emptied = next((s for s in flow.steps if s.n_after == 0), None)
        where = "" if emptied is None else f" after step {emptied.id!r} ({emptied.label})"
        raise StudyError(
            f"the criteria exclude everyone: 0 of {flow.n_start:,} rows remain{where}",
            EXIT_EMPTY_COHORT,
        )
    return result


# -- outputs -------------------------------------------------------------------------------------


def load_targets(spec: Any, study_file: Path) -> dict[str, Any] | None:
    """The published figures named by the study's `[report] targets` (a path relative to the
    study file), if any. A missing or invalid targets file is a study error."""
    name = spec.report.targets
    if not name:
        return None
    path = Path(study_file).parent / name
    try:
        with path.open("rb") as f:
            targets = tomllib.load(f)
    except FileNotFoundError:
        raise StudyError(f"report.targets: file {path} not found", EXIT_USAGE) from None
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise StudyError(f"report.targets: {path}: {exc}", EXIT_USAGE) from None
    _check_targets(targets, spec, path)
    return targets


def _check_targets(targets: dict[str, Any], spec: Any, path: Path) -> None:
    """Every [[compare]] block names an analysis of the study (or "cohort") and a known kind."""
    from regsurv.report.comparison import COMPARISONS

    ids = {a.id for a in spec.analyses} | {"cohort"}
    for i, block in enumerate(targets.get("compare", ())):
        where = f"{path.name}: compare[{i}]"
        if block.get("analysis") not in ids:
            raise StudyError(
                f"{where}.analysis: {block.get('analysis')!r} is not an analysis id of the study",
                EXIT_USAGE,
            )
        if block.get("kind") not in COMPARISONS:
            raise StudyError(
                f"{where}.kind: {block.get('kind')!r} is not one of {', '.join(COMPARISONS)}",
                EXIT_USAGE,
            )
        if not isinstance(block.get("items"), list):
            raise StudyError(f"{where}.items: a list of {{selector, paper}} tables", EXIT_USAGE)


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
        **({} if suppression is None else {"suppression": suppression}),
        "seed": results.spec.study.seed,
        "package_versions": package_versions(),
        "started": results.started,
        "finished": results.finished,
        "step_seconds": results.durations,
        "errors": {step: scrub(message) for step, message in results.errors.items()},
    }


def _write_outputs(results: StudyResults, output: Any) -> None:
    """Write the report into a staging folder published only on success (see `outputs`)."""
    import json

    from regsurv.pipeline.outputs import staged_folder
    from regsurv.report import write_report
    from regsurv.report.suppression import DisclosureError

    with staged_folder(output) as tmp:
        start = time.perf_counter()
        try:
            doc = write_report(results, tmp, targets=results.targets)
        except DisclosureError as exc:  # the audit failed: nothing is published
            raise StudyError(str(exc), EXIT_DISCLOSURE) from None
        # the manifest is written inside the report step, so it records the report's own time
        results.durations["report"] = round(time.perf_counter() - start, 4)
        results.log.finished = datetime.now(UTC).isoformat(timespec="seconds")
        text = results.study_path.read_text(encoding="utf-8")
        (tmp / "manifest.json").write_text(
            json.dumps(manifest(results, text, doc.suppression), indent=1),
            encoding="utf-8",
        )
