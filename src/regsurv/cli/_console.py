"""How every command talks: ``-q`` (only errors), ``-v`` (each step's time), live progress.

Progress (a spinner with the elapsed time, or a bar when the total is known) goes to stderr,
only on a terminal and never with ``-q``; it is transient, so logs and pipes see none of it.
``-v`` prints ``<step>: <seconds> s`` on stderr as each step ends. ``-q`` silences everything
but the ``error:`` line of a failure (and the exit code); warnings and summaries are dropped.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

from regsurv.errors import ExitCode

QuietOption = Annotated[
    bool, typer.Option("--quiet", "-q", help="Print only errors: no progress, notes or summary.")
]
VerboseOption = Annotated[
    bool, typer.Option("--verbose", "-v", help="Also print the time each step took (stderr).")
]


class Output:
    """The chattiness of one command run (``-q``/``-v``) and its progress display."""

    def __init__(
        self, *, quiet: bool = False, verbose: bool = False, console: Console | None = None
    ) -> None:
        self.quiet = quiet
        self.verbose = verbose
        self.console = console if console is not None else Console(stderr=True)

    @property
    def live(self) -> bool:
        """Whether progress is drawn: on a terminal and without ``-q``."""
        return not self.quiet and self.console.is_terminal

    def echo(self, message: str) -> None:
        """A summary line on stdout (dropped with ``-q``)."""
        if not self.quiet:
            typer.echo(message)

    def warn(self, message: str) -> None:
        """``warning: message`` on stderr (dropped with ``-q``)."""
        if not self.quiet:
            typer.echo(f"warning: {message}", err=True)

    def timing(self, name: str, seconds: float) -> None:
        """``name: seconds s`` on stderr with ``-v``."""
        if self.verbose:
            typer.echo(f"{name}: {seconds:.2f} s", err=True)

    def _progress(self) -> Progress:
        return Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=self.console,
            transient=True,
            disable=not self.live,
        )

    @contextmanager
    def step(self, name: str, total: int | None = None) -> Iterator[Callable[[int], None]]:
        """Show `name` while its block runs (a bar when `total` is given: call the yielded
        function with the amount done); with ``-v`` print its time when it ends."""
        start = time.perf_counter()
        with self._progress() as progress:
            task = progress.add_task(name, total=total)
            yield lambda done: progress.update(task, completed=done)
        self.timing(name, time.perf_counter() - start)

    @contextmanager
    def steps(self) -> Iterator[StepSequence]:
        """One progress line for a sequence of named steps (``StepSequence.start``)."""
        with self._progress() as progress:
            sequence = StepSequence(self, progress)
            yield sequence
            sequence.finish()


class StepSequence:
    """Steps announced one after the other; each ends when the next starts (or at the end)."""

    def __init__(self, output: Output, progress: Progress) -> None:
        self._output = output
        self._progress = progress
        self._task = progress.add_task("starting", total=None)
        self._current: tuple[str, float] | None = None

    def start(self, name: str) -> None:
        """End the running step (its time with ``-v``) and show `name`."""
        self.finish()
        self._current = (name, time.perf_counter())
        self._progress.update(self._task, description=name, total=None, completed=0)

    def advance(self, name: str, done: int, total: int) -> None:
        """Progress within the running step: `done` of `total` (a bar)."""
        self._progress.update(self._task, description=name, total=total, completed=done)

    def finish(self) -> None:
        """End the running step, if any."""
        if self._current is not None:
            name, start = self._current
            self._output.timing(name, time.perf_counter() - start)
            self._current = None


_CURRENT = Output()


def configure(quiet: bool, verbose: bool) -> Output:
    """Set this command's chattiness; ``-q`` with ``-v`` is a usage error (exit 2)."""
    global _CURRENT
    if quiet and verbose:
        typer.echo("error: --quiet and --verbose exclude each other", err=True)
        raise typer.Exit(int(ExitCode.USAGE))
    _CURRENT = Output(quiet=quiet, verbose=verbose)
    return _CURRENT


def current() -> Output:
    """The chattiness set by the running command (`configure`)."""
    return _CURRENT
