"""CLI commands (io): `regsurv validate` and `regsurv convert`, registered by `register`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from regsurv.cli._console import QuietOption, VerboseOption, configure
from regsurv.cli._errors import reported_errors
from regsurv.errors import ExitCode
from regsurv.io import ValidationReport, convert_puf, validate_puf
from regsurv.io._raw import SUFFIX_FORMATS
from regsurv.pipeline.outputs import interrupt_on_signals, prepare_output_file, staged_file

LayoutOption = Annotated[
    Path | None,
    typer.Option(
        "--layout",
        help="SAS load program whose INPUT block gives the field positions (fixed width only). "
        "Default: <stem>.sas beside the file, else the built-in layout of the record length.",
    ),
]


def validate(
    puf: Annotated[Path, typer.Argument(help="PUF file (.dat, .csv, .parquet, .sas7bdat, .dta).")],
    layout: LayoutOption = None,
    quiet: QuietOption = False,
    verbose: VerboseOption = False,
) -> None:
    """Check a PUF against the data dictionary; exit 0 when usable, 3 (bad input) when not.

    With -q only the error issues are printed (the exit code says whether the file is usable).
    """
    output = configure(quiet, verbose)
    name = f"validating {puf.name}"
    # a text file's progress is in bytes (shown in MiB), another format's in rows
    text = SUFFIX_FORMATS.get(puf.suffix.lower()) in ("csv", "dat")
    with reported_errors(), output.steps() as steps:
        steps.start(name)

        def progress(done: int, total: int) -> None:
            if text:
                steps.advance(f"{name} (MiB)", -(-done >> 20), -(-total >> 20))
            else:
                steps.advance(f"{name} (rows)", done, total)

        report = validate_puf(puf, layout=layout, on_progress=progress)
    console = Console(soft_wrap=True)
    if output.quiet:
        for issue in report.issues:
            if issue.severity == "error":
                typer.echo(f"error: {issue.message}", err=True)
        if not report.ok:
            raise typer.Exit(code=ExitCode.INPUT)
        return
    years = f"{report.year_min}-{report.year_max}" if report.year_min is not None else "n/a"
    layout_text = f", layout {report.layout}" if report.layout else ""
    console.print(
        escape(f"{report.path}: {report.n_obs:,} rows, format {report.format}{layout_text}")
        + f", diagnosis years {years}",
        highlight=False,
    )
    console.print(_fields_table(report))
    for issue in report.issues:
        colour = "red" if issue.severity == "error" else "yellow"
        console.print(f"[{colour}]{issue.severity}:[/] {escape(issue.message)}", highlight=False)
    console.print("usable" if report.ok else "[bold red]NOT usable[/]")
    if not report.ok:
        raise typer.Exit(code=ExitCode.INPUT)


def _fields_table(report: ValidationReport) -> Table:
    """One row per field: blanks, unknown and not-applicable sentinels, invalid values."""
    table = Table(title="Fields")
    table.add_column("field", no_wrap=True, min_width=28)
    table.add_column("type")
    for column in ("n_blank", "n_unknown", "n_not_applicable", "n_invalid"):
        table.add_column(column, justify="right")
    for row in report.to_frame().iter_rows(named=True):
        if not row["present"]:
            table.add_row(row["field"], row["type"], "[red]missing[/]", "", "", "")
            continue
        invalid = f"{row['n_invalid']:,}"
        table.add_row(
            row["field"],
            row["type"],
            f"{row['n_blank']:,}",
            f"{row['n_unknown']:,}",
            f"{row['n_not_applicable']:,}",
            f"[red]{invalid}[/]" if row["n_invalid"] else invalid,
        )
    return table


def convert(
    puf: Annotated[Path, typer.Argument(help="PUF file (.dat, .csv, .parquet, .sas7bdat, .dta).")],
    out: Annotated[Path, typer.Option("--out", help="Parquet file to write.")],
    layout: LayoutOption = None,
    keep_invalid: Annotated[
        bool,
        typer.Option(
            "--keep-invalid",
            help="Keep non-numeric text of numeric fields in <FIELD>__invalid columns "
            "instead of stopping.",
        ),
    ] = False,
    quiet: QuietOption = False,
    verbose: VerboseOption = False,
) -> None:
    """Stream a PUF to Parquet with dictionary types, in bounded memory."""
    output = configure(quiet, verbose)
    with reported_errors(), interrupt_on_signals():
        target = prepare_output_file(out, inputs=[("PUF", puf), ("--layout", layout)])
        with output.step(f"converting {puf.name} -> {out.name}"), staged_file(target) as tmp:
            convert_puf(puf, tmp, layout=layout, invalid="keep" if keep_invalid else "raise")
    output.echo(f"wrote {out}")


def register(app: typer.Typer) -> None:
    """Add this module's commands to `app`."""
    app.command("validate")(validate)
    app.command("convert")(convert)
