"""``regsurv run``: the whole study, from a PUF (or the synthetic default) to the report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from regsurv.cli._console import QuietOption, VerboseOption, configure
from regsurv.cli._errors import reported_errors, warn
from regsurv.errors import ExitCode
from regsurv.pipeline.outputs import interrupt_on_signals
from regsurv.pipeline.parallel import parallel_backend
from regsurv.pipeline.runner import run_study
from regsurv.report.format import Suppressor

RUN_HELP = f"""Run the study end to end and write the report.

Without --data, runs on the embedded synthetic PUF (labelled synthetic in every output).

Writes DIR/report.html (self-contained), DIR/report.docx, DIR/tables/*.csv,
DIR/figures/*.png|svg|pdf, DIR/results.json and DIR/manifest.json.

Exit codes (the same for every command, see the README): 0 success; {ExitCode.USAGE} bad option
or study file; {ExitCode.INPUT} missing or invalid PUF; {ExitCode.EMPTY_COHORT} the criteria leave
no patient; {ExitCode.OUTPUT} output folder not empty (use --force), not written by regsurv, holding
an input, or not writable; {ExitCode.ANALYSIS} with --strict, when an analysis could not be
computed; {ExitCode.DISCLOSURE} the suppression audit found a hidden count that the published
ones determine (nothing is written); {ExitCode.SIGTERM} / {ExitCode.SIGHUP} / {ExitCode.SIGINT}
interrupted by SIGTERM / SIGHUP / Ctrl-C (nothing published). A failed analysis (e.g. a model
that does not converge) does not stop the run: its report section explains what happened.
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
    force: Annotated[
        bool, typer.Option(help="Replace an output folder that regsurv wrote earlier.")
    ] = False,
    only: Annotated[
        str | None,
        typer.Option(help="Comma-separated analysis ids or kinds to compute (default: all)."),
    ] = None,
    strict: Annotated[
        bool,
        typer.Option(
            help=f"Stop (exit {ExitCode.INPUT}) on repeated records or invalid values in fields "
            "the study uses instead of excluding them in the flow, and exit "
            f"{ExitCode.ANALYSIS} when an analysis could not be computed."
        ),
    ] = False,
    workers: Annotated[
        int | None,
        typer.Option(
            help="Processes for the bootstrap and the imputations (>= 1; default: every core, "
            "or every worker of --scheduler). The same seed gives the same numbers."
        ),
    ] = None,
    scheduler: Annotated[
        str | None,
        typer.Option(
            help="Dask scheduler address (tcp://HOST:PORT): run the bootstrap and the "
            "imputations on that cluster (needs regsurv[dask])."
        ),
    ] = None,
    quiet: QuietOption = False,
    verbose: VerboseOption = False,
) -> None:
    output = configure(quiet, verbose)
    with (
        reported_errors(),
        interrupt_on_signals(),
        parallel_backend(workers, scheduler) as n_jobs,
        output.steps() as steps,
    ):
        results = run_study(
            study=study,
            data=data,
            layout=layout,
            out_dir=out,
            profile=profile,
            suppress_below=suppress_below,
            force=force,
            strict=strict,
            only=[name.strip() for name in only.split(",") if name.strip()] if only else None,
            on_step=steps.start,
            on_progress=steps.advance,
            n_jobs=n_jobs,
        )
    for note in results.notes:
        warn(Suppressor(results.suppress_below).text(note))
    n = results.cohort.height
    label = " (SYNTHETIC DATA)" if results.source.synthetic else ""
    shown = Suppressor(results.suppress_below).count(n)
    output.echo(f"{shown} patients in the cohort{label}; report: {out / 'report.html'}")
    for step, message in results.errors.items():
        warn(f"{step} section not computed: {Suppressor(results.suppress_below).text(message)}")
    if strict and results.errors:
        raise typer.Exit(ExitCode.ANALYSIS)


def register(app: typer.Typer) -> None:
    """Add ``run`` to `app`."""
    app.command(name="run", help=RUN_HELP)(run)
