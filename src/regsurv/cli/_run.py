"""``regsurv run``: the whole study, from a PUF (or the synthetic default) to the report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from regsurv.pipeline.runner import (
    EXIT_EMPTY_COHORT,
    EXIT_INPUT,
    EXIT_OUTPUT,
    EXIT_USAGE,
    STEPS,
    StudyError,
    run_study,
)
from regsurv.report.format import Suppressor

RUN_HELP = f"""Run the study end to end and write the report.

Without --data, runs on the embedded synthetic PUF (labelled synthetic in every output).

Writes DIR/report.html (self-contained), DIR/report.docx, DIR/tables/*.csv,
DIR/figures/*.png|svg|pdf, DIR/results.json and DIR/manifest.json.

Exit codes: 0 success; {EXIT_USAGE} bad option or study file; {EXIT_INPUT} missing or invalid
PUF; {EXIT_EMPTY_COHORT} the criteria leave no patient; {EXIT_OUTPUT} output folder not empty
(use --force) or not writable. A failed analysis (e.g. a model that does not converge) does not
stop the run: its report section explains what happened.
"""


def run(
    data: Annotated[
        Path | None,
        typer.Option(
            help="NCDB PUF (.dat, .csv, .parquet, .sas7bdat, .dta); default: synthetic PUF."
        ),
    ] = None,
    layout: Annotated[
        Path | None,
        typer.Option(help="NCDB SAS load program (.sas) giving the fixed-width layout."),
    ] = None,
    study: Annotated[
        Path | None, typer.Option(help="Study file (TOML); default: the shipped sarcoma study.")
    ] = None,
    out: Annotated[Path, typer.Option(help="Output folder.")] = Path("regsurv_output"),
    profile: Annotated[
        str,
        typer.Option(help="'sas' (Breslow ties, log-log CIs: the paper) or 'r' (Efron, log CIs)."),
    ] = "sas",
    suppress_below: Annotated[
        int | None,
        typer.Option(
            help="Show every count below N (>= 2) as '<N', with the complementary cells that "
            "would reveal one by subtraction as '*' (data-use agreements). Default: 11 for real "
            "data, none for the synthetic PUF."
        ),
    ] = None,
    force: Annotated[bool, typer.Option(help="Replace a non-empty output folder.")] = False,
) -> None:
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    if profile not in ("sas", "r"):
        typer.echo(f"error: --profile must be 'sas' or 'r', not {profile!r}", err=True)
        raise typer.Exit(EXIT_USAGE)
    with Progress(
        SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), transient=True
    ) as progress:
        task = progress.add_task("starting", total=len(STEPS))

        def on_step(name: str) -> None:
            progress.update(task, description=f"{name}", advance=1)

        try:
            results = run_study(
                study=study,
                data=data,
                layout=layout,
                out_dir=out,
                profile=profile,
                suppress_below=suppress_below,
                force=force,
                on_step=on_step,
            )
        except StudyError as exc:
            progress.stop()
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(exc.exit_code) from None
        except ValueError as exc:  # a study file or PUF that does not validate
            progress.stop()
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(EXIT_USAGE) from None
    n = results.cohort.height if results.cohort is not None else 0
    label = " (SYNTHETIC DATA)" if results.source.synthetic else ""
    shown = Suppressor(results.suppress_below).count(n)
    typer.echo(f"{shown} patients in the cohort{label}; report: {out / 'report.html'}")
    for step, message in results.errors.items():
        typer.echo(
            f"warning: {step} section not computed: "
            f"{Suppressor(results.suppress_below).text(message)}",
            err=True,
        )


def register(app: typer.Typer) -> None:
    """Add ``run`` to `app`."""
    app.command(name="run", help=RUN_HELP)(run)
