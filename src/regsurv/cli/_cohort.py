"""CLI commands (cohort): registered on the main app by `register`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from polars.exceptions import PolarsError

from regsurv.cli._errors import reported_errors, warn
from regsurv.errors import EmptyCohortError, InputError
from regsurv.pipeline.outputs import interrupt_on_signals, prepare_output_folder, staged_folder

FIGURE_STEM = "fig1_inclusion_flow"


def _load_data(data: Path | None, seed: int):
    """The PUF to apply the study to: `--data`, else the synthetic PUF (82,987 rows)."""
    if data is not None:
        from regsurv.io import read_puf

        return read_puf(data)
    from regsurv.synth.generate import synthetic_puf

    return synthetic_puf(seed=seed)


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
) -> None:
    """Build the analytic cohort: Fig. 1 (PNG, SVG, PDF), the flow (CSV), the cohort (Parquet).

    Exit codes as for every command (README): 2 bad study file, 3 bad PUF, 4 the criteria
    exclude everyone (the flow is still written), 5 output problem.
    """
    with reported_errors(), interrupt_on_signals():
        _cohort(out, data, study, seed, excluded_ids=excluded_ids, force=force)


def _cohort(
    out: Path, data: Path | None, study: Path | None, seed: int, *, excluded_ids: bool, force: bool
) -> None:
    from regsurv.cohort import build_cohort, group_counts
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
    frame = _load_data(data, seed)
    try:
        lazy, flow = build_cohort(frame, spec)
        analytic = lazy.collect()
    except (ValueError, PolarsError) as exc:  # the data lack a field the criteria read
        raise InputError(str(exc)) from None
    groups = group_counts(analytic) if analytic.height else {}
    with staged_folder(target) as tmp:
        display = CohortFlowDisplay.from_result(flow, groups)
        display.save(tmp / FIGURE_STEM)
        display.close()
        flow.to_frame().write_csv(tmp / "cohort_flow.csv")
        if excluded_ids:
            excluded(frame, spec.cohort).write_csv(tmp / "excluded_ids.csv")
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
