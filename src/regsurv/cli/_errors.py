"""How every command reports a failure: ``error: <one line>`` on stderr and its exit code.

The codes are `regsurv.errors.ExitCode` (README, "Exit codes"). No input ever shows a
traceback; an unexpected exception is a bug, reported on one line with exit 70 (set
``REGSURV_TRACEBACK=1`` to see the traceback).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

import typer

from regsurv.cli._console import current
from regsurv.errors import ExitCode, Interrupted, RegsurvError


def fail(message: str, exit_code: int) -> NoReturn:
    """Print ``error: message`` (its first line) to stderr and exit with `exit_code`."""
    first = str(message).strip().splitlines()[0] if str(message).strip() else "failed"
    typer.echo(f"error: {first}", err=True)
    raise typer.Exit(int(exit_code))


def warn(message: str) -> None:
    """Print ``warning: message`` to stderr (not with ``-q``)."""
    current().warn(message)


@contextmanager
def reported_errors() -> Iterator[None]:
    """Run a command's body; turn any failure into one line and the exit code of its kind."""
    try:
        yield
    except typer.Exit:
        raise
    except RegsurvError as exc:
        fail(str(exc), exc.exit_code)
    except Interrupted as exc:
        fail(f"{exc}; no output was published", exc.exit_code)
    except KeyboardInterrupt:
        fail("interrupted (Ctrl-C); no output was published", ExitCode.SIGINT)
    except OSError as exc:  # a write the output checks could not foresee (disk full, ...)
        where = f"{exc.filename}: " if exc.filename else ""
        fail(f"{where}{exc.strerror or exc}", ExitCode.OUTPUT)
    except Exception as exc:
        if os.environ.get("REGSURV_TRACEBACK"):
            raise
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        fail(
            f"internal error ({type(exc).__name__}: {text}); please report it "
            "(REGSURV_TRACEBACK=1 shows the traceback)",
            ExitCode.INTERNAL,
        )
