"""``regsurv cohort``: the inclusion flow and the analytic cohort, through the same pipeline step
as ``regsurv run`` (lazy scan of the PUF, the same exit codes)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from regsurv.cli._console import Output, QuietOption, VerboseOption, configure
from regsurv.cli._errors import reported_errors, warn
from regsurv.errors import EmptyCohortError
from regsurv.pipeline.outputs import interrupt_on_signals, prepare_output_folder, staged_folder

FIGURE_STEM = "fig1_inclusion_flow"


def cohort(
    out: Annotated[Path, typer.Option("--out", help="Output folder.")],
    data: Annotated[
        Path | None,
        typer.Option(
            "--data",
            help="NCDB PUF file (.dat, .csv, .parquet, ...); default: the synthetic PUF.",
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
    quiet: QuietOption = False,
    verbose: VerboseOption = False,
) -> None:
    """Build the analytic cohort: Fig. 1 (PNG, SVG, PDF), the flow (CSV), the cohort (Parquet).

    Exit codes as for every command (README): 2 bad study file, 3 bad PUF, 4 the criteria
    exclude everyone (the flow is still written), 5 output problem.
    """
    output = configure(quiet, verbose)
    with reported_errors(), interrupt_on_signals():
        _cohort(
            output,
            out,
            data,
            layout,
            study,
            seed,
            excluded_ids=excluded_ids,
            force=force,
            strict=strict,
        )


def _cohort(
    output: Output,
    out: Path,
    data: Path | None,
    layout: Path | None,
    study: Path | None,
    seed: int | None,
    *,
    excluded_ids: bool,
    force: bool,
    strict: bool,
) -> None:
    from regsurv.cohort import cohort_criteria
    from regsurv.cohort import excluded_ids as excluded
    from regsurv.io import scan_puf
    from regsurv.pipeline.runner import build_study_cohort, resolve_source
    from regsurv.pipeline.spec import load_study
    from regsurv.report.flow_diagram import CohortFlowDisplay
    from regsurv.studies import study_path

    with output.step("study file"):
        spec = load_study(study)
    study_file = study if study is not None else study_path()
    inputs = [("--data", data), ("--study", study_file), ("--layout", layout)]
    target = prepare_output_folder(out, inputs=inputs, force=force)
    for note in target.notes():
        warn(note)
    with output.step("data"):
        source = resolve_source(data, layout, spec.study.seed if seed is None else seed)
    with output.step("cohort"):
        result = build_study_cohort(spec, source, strict=strict)
    for note in result.notes:
        warn(note)
    flow = result.flow
    with output.step("writing outputs"), staged_folder(target) as tmp:
        display = CohortFlowDisplay.from_result(flow, dict(result.group_counts))
        display.save(tmp / FIGURE_STEM)
        display.close()
        flow.to_frame().write_csv(tmp / "cohort_flow.csv")
        if excluded_ids:
            puf = scan_puf(source.path, layout=source.layout)
            criteria = cohort_criteria(
                spec, puf.collect_schema().names(), duplicate_ids=result.duplicate_ids
            )
            excluded(puf, criteria).write_csv(tmp / "excluded_ids.csv")
        if result.cohort.height:
            result.cohort.write_parquet(tmp / "cohort.parquet")
    if result.cohort.height == 0:
        emptied = next((s for s in flow.steps if s.n_after == 0), None)
        where = "" if emptied is None else f" after step {emptied.id!r} ({emptied.label})"
        raise EmptyCohortError(
            f"the criteria exclude everyone: 0 of {flow.n_start:,} rows remain{where}; "
            f"flow diagram written to {out}"
        )
    summary = ", ".join(f"{name} {n:,}" for name, n in result.group_counts.items())
    output.echo(f"{flow.n_start:,} -> {flow.n_final:,} patients ({summary}); outputs in {out}")


def register(app: typer.Typer) -> None:
    """Add this module's commands to `app`."""
    app.command("cohort")(cohort)
