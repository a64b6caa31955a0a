"""CLI commands (cohort): registered on the main app by `register`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import polars as pl
import typer
from polars.exceptions import PolarsError

from regsurv.cli._errors import reported_errors, warn
from regsurv.errors import EmptyCohortError, InputError, RegsurvError
from regsurv.pipeline.outputs import interrupt_on_signals, prepare_output_folder, staged_folder

FIGURE_STEM = "fig1_inclusion_flow"


def _load_data(data: Path | None, seed: int, fields) -> tuple[pl.DataFrame, tuple[str, ...]]:
    """The PUF to apply the study to (`--data`, else the synthetic PUF of 82,987 rows) after
    the integrity checks of `regsurv.io.check_integrity`, and the ids of exact repeats."""
    if data is None:
        from regsurv.synth.generate import synthetic_puf

        return synthetic_puf(seed=seed), ()
    from regsurv.io import check_integrity, read_puf, scan_puf

    columns = scan_puf(data).collect_schema().names()
    integrity = check_integrity(data, fields=fields(columns))
    return read_puf(data), integrity.duplicate_ids


def cohort(
    out: Annotated[Path, typer.Option("--out", help="Output folder.")],
    data: Annotated[
        Path | None,
        typer.Option(
            "--data",
            help="NCDB PUF file (.dat, .csv, .parquet, ...); default: the synthetic PUF.",
        ),
    ] = None,
    study: Annotated[
        Path | None,
        typer.Option("--study", help="Study file (TOML); default: the shipped study."),
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the synthetic PUF (without --data).")] = 0,
    excluded_ids: Annotated[
        bool, typer.Option(help="Also write the excluded case ids with their step.")
    ] = False,
    force: Annotated[
        bool, typer.Option(help="Replace an output folder that regsurv wrote earlier.")
    ] = False,
    strict: Annotated[
        bool,
        typer.Option(
            help="Stop (exit 3) on repeated records or invalid values in fields the study uses, "
            "instead of excluding them in the flow."
        ),
    ] = False,
) -> None:
    """Build the analytic cohort: Fig. 1 (PNG, SVG, PDF), the flow (CSV), the cohort (Parquet).

    Exit codes as for every command (README): 2 bad study file, 3 bad PUF, 4 the criteria
    exclude everyone (the flow is still written), 5 output problem.
    """
    with reported_errors(), interrupt_on_signals():
        _cohort(out, data, study, seed, excluded_ids=excluded_ids, force=force, strict=strict)


def _cohort(
    out: Path,
    data: Path | None,
    study: Path | None,
    seed: int,
    *,
    excluded_ids: bool,
    force: bool,
    strict: bool,
) -> None:
    from regsurv.cohort import build_cohort, cohort_criteria, group_counts, study_fields
    from regsurv.cohort import excluded_ids as excluded
    from regsurv.pipeline.spec import load_study
    from regsurv.report.flow_diagram import CohortFlowDisplay
    from regsurv.studies import study_path

    spec = load_study(study)
    study_file = study if study is not None else study_path()
    target = prepare_output_folder(
        out, inputs=[("--data", data), ("--study", study_file)], force=force
    )
    for note in target.notes():
        warn(note)
    frame, repeated = _load_data(data, seed, lambda cols: study_fields(spec.cohort, cols))
    try:
        lazy, flow = build_cohort(frame, spec, duplicate_ids=repeated, strict=strict)
        analytic = lazy.collect()
    except RegsurvError:
        raise
    except (ValueError, PolarsError) as exc:  # the data lack a field the criteria read
        raise InputError(str(exc)) from None
    groups = group_counts(analytic) if analytic.height else {}
    with staged_folder(target) as tmp:
        display = CohortFlowDisplay.from_result(flow, groups)
        display.save(tmp / FIGURE_STEM)
        display.close()
        flow.to_frame().write_csv(tmp / "cohort_flow.csv")
        if excluded_ids:
            criteria = cohort_criteria(spec, frame.columns, duplicate_ids=repeated)
            excluded(frame, criteria).write_csv(tmp / "excluded_ids.csv")
        if analytic.height:
            analytic.write_parquet(tmp / "cohort.parquet")
    if analytic.height == 0:
        emptied = next(s for s in flow.steps if s.n_after == 0)
        raise EmptyCohortError(
            f"the criteria exclude everyone: 0 of {flow.n_start:,} rows remain after step "
            f"{emptied.id!r} ({emptied.label}); flow diagram written to {out}"
        )
    summary = ", ".join(f"{name} {n:,}" for name, n in groups.items())
    typer.echo(f"{flow.n_start:,} -> {flow.n_final:,} patients ({summary}); outputs in {out}")


def register(app: typer.Typer) -> None:
    """Add this module's commands to `app`."""
    app.command("cohort")(cohort)
