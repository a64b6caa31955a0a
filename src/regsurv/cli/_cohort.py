"""``regsurv cohort``: the inclusion flow and the analytic cohort, through the same pipeline step
as ``regsurv run`` (lazy scan of the PUF, the same exit codes)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

FIGURE_STEM = "fig1_inclusion_flow"


def _fail(message: str, code: int) -> None:
    typer.echo(f"error: {message.splitlines()[0]}", err=True)
    raise typer.Exit(code)


def cohort(
    out: Annotated[Path, typer.Option("--out", help="Output folder.", file_okay=False)],
    data: Annotated[
        Path | None,
        typer.Option(
            "--data",
            help="NCDB PUF file (.dat, .csv, .parquet, ...); default: the synthetic PUF.",
            dir_okay=False,
        ),
    ] = None,
    layout: Annotated[
        Path | None,
        typer.Option(help="NCDB SAS load program (.sas) giving the fixed-width layout."),
    ] = None,
    study: Annotated[
        Path | None,
        typer.Option("--study", help="Study file (TOML); default: the shipped study."),
    ] = None,
    seed: Annotated[
        int | None,
        typer.Option(help="Seed of the synthetic PUF (without --data); default the study's."),
    ] = None,
    excluded_ids: Annotated[
        bool, typer.Option(help="Also write the excluded case ids with their step.")
    ] = False,
    force: Annotated[bool, typer.Option(help="Write into a non-empty output folder.")] = False,
) -> None:
    """Build the analytic cohort: Fig. 1 (PNG, SVG, PDF), the flow (CSV), the cohort (Parquet).

    Exit codes as `regsurv run`: 2 bad study file, 3 missing or invalid PUF, 4 the criteria
    leave no patient (the flow is still written), 5 output folder not empty (use --force).
    """
    from polars.exceptions import PolarsError

    from regsurv.cohort import excluded_ids as excluded
    from regsurv.io import scan_puf
    from regsurv.pipeline.runner import (
        EXIT_INPUT,
        EXIT_OUTPUT,
        EXIT_USAGE,
        StudyError,
        build_study_cohort,
        require_patients,
        resolve_source,
    )
    from regsurv.pipeline.spec import load_study
    from regsurv.report.flow_diagram import CohortFlowDisplay

    try:
        spec = load_study(study)
    except ValueError as exc:
        _fail(str(exc), EXIT_USAGE)
    if out.exists() and (not out.is_dir() or any(out.iterdir())) and not force:
        _fail(f"output folder {out} is not empty; pass --force to write into it", EXIT_OUTPUT)
    try:
        source = resolve_source(data, layout, spec.study.seed if seed is None else seed)
        result = build_study_cohort(spec, source)
    except StudyError as exc:
        _fail(str(exc), exc.exit_code)
    except (ValueError, OSError, PolarsError) as exc:
        _fail(str(exc), EXIT_INPUT)
    out.mkdir(parents=True, exist_ok=True)
    display = CohortFlowDisplay.from_result(result.flow, dict(result.group_counts))
    display.save(out / FIGURE_STEM)
    display.close()
    result.flow.to_frame().write_csv(out / "cohort_flow.csv")
    if excluded_ids:
        puf = scan_puf(source.path, layout=source.layout)
        excluded(puf, spec.cohort).write_csv(out / "excluded_ids.csv")
    try:
        require_patients(result)
    except StudyError as exc:
        _fail(f"{exc}; flow diagram written to {out}", exc.exit_code)
    result.cohort.write_parquet(out / "cohort.parquet")
    flow = result.flow
    summary = ", ".join(f"{name} {n:,}" for name, n in result.group_counts.items())
    typer.echo(f"{flow.n_start:,} -> {flow.n_final:,} patients ({summary}); outputs in {out}")


def register(app: typer.Typer) -> None:
    """Add this module's commands to `app`."""
    app.command("cohort")(cohort)
