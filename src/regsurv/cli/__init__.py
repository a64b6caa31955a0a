"""The ``regsurv`` command line: a thin shell over the library (house style §0.8).

Each command module defines its commands and a ``register(app)`` function; this module only
assembles them.
"""

from __future__ import annotations

import typer

from regsurv import __version__
from regsurv.cli import _cohort, _init, _io, _run, _synth

app = typer.Typer(
    name="regsurv",
    no_args_is_help=True,
    add_completion=False,
    help="NCDB PUF to a publication-ready comparative-effectiveness survival study.",
)

for _module in (_io, _synth, _cohort, _run, _init):
    _module.register(app)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"regsurv {__version__}")
        raise typer.Exit()


@app.callback()
def _options(
    version: bool = typer.Option(
        False,
        "--version",
        callback=_print_version,
        is_eager=True,
        help="Show the version and exit.",
    ),
) -> None:
    """NCDB PUF to a publication-ready comparative-effectiveness survival study."""


def main() -> None:
    """Entry point of the ``regsurv`` console script."""
    app()
