"""``regsurv init DIR``: a starter study that runs as is, with a README of every key."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from regsurv.cli._console import QuietOption, VerboseOption, configure

STARTER = "sts_chemotherapy"


def init(
    folder: Annotated[Path, typer.Argument(help="Folder to write study.toml and README.md to.")],
    force: Annotated[bool, typer.Option(help="Overwrite study.toml and README.md.")] = False,
    quiet: QuietOption = False,
    verbose: VerboseOption = False,
) -> None:
    """Write a commented starter study (two arms: a table, KM, Cox, IPTW, matching) and a
    README of the study-file keys. Run it with `regsurv run --study DIR/study.toml`."""
    output = configure(quiet, verbose)
    from regsurv.pipeline.runner import EXIT_OUTPUT
    from regsurv.studies import study_path

    targets = {
        "study.toml": study_path(STARTER),
        "README.md": study_path(STARTER).with_name("STUDY_KEYS.md"),
    }
    if folder.exists() and not folder.is_dir():
        typer.echo(f"error: {folder} is a file, not a folder", err=True)
        raise typer.Exit(EXIT_OUTPUT)
    existing = [name for name in targets if (folder / name).exists()]
    if existing and not force:
        typer.echo(f"error: {folder / existing[0]} exists; pass --force to overwrite it", err=True)
        raise typer.Exit(EXIT_OUTPUT)
    with output.step("writing the starter study"):
        folder.mkdir(parents=True, exist_ok=True)
        for name, source in targets.items():
            (folder / name).write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    output.echo(
        f"wrote {folder / 'study.toml'} and {folder / 'README.md'}; run it with "
        f"`regsurv run --study {folder / 'study.toml'} --out {folder / 'report'}`"
    )


def register(app: typer.Typer) -> None:
    """Add ``init`` to `app`."""
    app.command("init")(init)
