"""CLI commands (synth): `regsurv synth`, registered on the main app by `register`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from regsurv import synth
from regsurv.cli._console import Output, QuietOption, VerboseOption, configure
from regsurv.cli._errors import fail, reported_errors
from regsurv.errors import ExitCode
from regsurv.pipeline.outputs import interrupt_on_signals, prepare_output_file


def _print_check(report: synth.SynthCheck, output: Output) -> None:
    """One line per published figure: target, generated, tolerance, status, basis, name
    (with -q only the missed ones)."""
    console = Console(soft_wrap=True, highlight=False)
    if output.quiet:
        for c in report.checks:
            if not c.ok:
                typer.echo(f"error: missed {c.name}: {c.generated:.6g} vs {c.target:.6g}", err=True)
        return
    console.print(f"{'target':>10} {'generated':>10} {'tolerance':>12} {'':6} {'basis':<24} figure")
    for c in report.checks:
        status = ("ok" if c.ok else "MISSED") if c.checked else "-"
        style = "" if c.ok else "[red]"
        tolerance = "" if c.tolerance is None else f"{'log ' if c.log else ''}±{c.tolerance:.3g}"
        console.print(
            f"{c.target:>10.6g} {c.generated:>10.6g} {tolerance:>12} {style}{status:6}"
            f"{'[/]' if style else ''} {c.basis:<24} {c.name}",
            markup=True,
        )
    console.print(repr(report))


def synth_command(
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="File to write; '_synthetic' is added to the name unless it says synthetic. "
            "Optional with --check.",
        ),
    ] = None,
    rows: Annotated[int, typer.Option("--rows", min=1, help="Rows of the PUF.")] = synth.PUF_ROWS,
    seed: Annotated[int, typer.Option("--seed", min=0, help="Random seed (PCG64).")] = 0,
    format: Annotated[
        str, typer.Option("--format", help="dat (fixed width + SAS program), csv or parquet.")
    ] = "dat",
    check: Annotated[
        bool,
        typer.Option(
            "--check",
            help="Run the study's cohort on the data and print every published figure next to "
            "the generated one; exit 1 if one is missed.",
        ),
    ] = False,
    quiet: QuietOption = False,
    verbose: VerboseOption = False,
) -> None:
    """Write a synthetic NCDB PUF 2014 soft-tissue-sarcoma file (not real data) calibrated to
    Abugideiri et al. 2022; a README line beside it says it is synthetic."""
    output = configure(quiet, verbose)
    if format not in synth.FORMATS:
        fail(f"--format must be one of {', '.join(synth.FORMATS)}, got {format!r}", ExitCode.USAGE)
    if out is None and not check:
        fail("--out is required (unless only --check is asked for)", ExitCode.USAGE)
    with reported_errors(), interrupt_on_signals():
        if out is not None:
            prepare_output_file(synth.synthetic_path(out))
            with output.step(f"writing {rows:,} rows", total=rows) as done:
                path = synth.write_synthetic_puf(
                    out, rows=rows, seed=seed, format=format, on_rows=done
                )
            output.echo(f"wrote {path} ({rows:,} rows, seed {seed})")
        if check:
            with output.step(f"checking {rows:,} rows against the published figures"):
                report = synth.check_synthetic_puf(synth.synthetic_puf(rows, seed=seed))
            _print_check(report, output)
            if not report.ok:
                raise typer.Exit(code=ExitCode.CHECK_FAILED)


def register(app: typer.Typer) -> None:
    """Add this module's commands to `app`."""
    app.command("synth")(synth_command)
