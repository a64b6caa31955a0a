"""One vocabulary of failures for every command: the exit codes and the exceptions carrying them.

Every stage may raise these (this module imports nothing from regsurv); the CLI prints
``error: <message>`` on one line and exits with `exit_code` (README, "Exit codes"):

====  ==========================================================================
code  meaning
====  ==========================================================================
0     success
1     a check ran and failed (``synth --check`` missed a published figure)
2     bad option or study file (usage)
3     missing, unreadable or invalid input data (PUF, layout, targets file)
4     the criteria leave no patient (empty cohort)
5     output problem (not writable, not regsurv's to replace, would touch an input)
6     ``run --strict``: an analysis could not be computed
7     disclosure check failed (a suppressed count can be recomputed from the published ones)
70    internal error (a bug: please report it)
129   interrupted by SIGHUP, 130 by SIGINT (Ctrl-C), 143 by SIGTERM: 128 + signal
====  ==========================================================================
"""

from __future__ import annotations

import signal
from enum import IntEnum


class ExitCode(IntEnum):
    """Exit status of a ``regsurv`` command; the same problem has the same code everywhere."""

    OK = 0
    CHECK_FAILED = 1
    USAGE = 2
    INPUT = 3
    EMPTY_COHORT = 4
    OUTPUT = 5
    ANALYSIS = 6
    DISCLOSURE = 7
    INTERNAL = 70
    SIGHUP = 128 + signal.SIGHUP
    SIGINT = 128 + signal.SIGINT
    SIGTERM = 128 + signal.SIGTERM


class RegsurvError(Exception):
    """A problem the user can fix; `str()` is one line, `exit_code` what the CLI returns."""

    default_exit_code: ExitCode = ExitCode.INPUT

    def __init__(self, message: str, exit_code: int | None = None) -> None:
        super().__init__(message)
        self.exit_code = int(self.default_exit_code if exit_code is None else exit_code)

    def __str__(self) -> str:
        return super().__str__().split("\n", 1)[0]


class UsageError(RegsurvError, ValueError):
    """A bad option value or study file (exit 2)."""

    default_exit_code = ExitCode.USAGE


class InputError(RegsurvError, ValueError):
    """Input data that is missing, unreadable or invalid (exit 3)."""

    default_exit_code = ExitCode.INPUT


class EmptyCohortError(RegsurvError):
    """The criteria exclude every row (exit 4)."""

    default_exit_code = ExitCode.EMPTY_COHORT


class OutputError(RegsurvError):
    """An output path that cannot or must not be written (exit 5)."""

    default_exit_code = ExitCode.OUTPUT


class DisclosureError(RegsurvError):
    """Published numbers would reveal a suppressed count (exit 7)."""

    default_exit_code = ExitCode.DISCLOSURE


class Interrupted(BaseException):
    """The process received SIGTERM, SIGHUP or SIGINT; raised so that cleanup code runs.

    A `BaseException`, so that ``except Exception`` around an optional analysis never swallows it.
    """

    def __init__(self, signum: int) -> None:
        self.signum = int(signum)
        self.exit_code = 128 + self.signum
        super().__init__(f"interrupted by {signal.Signals(self.signum).name}")


__all__ = [
    "DisclosureError",
    "EmptyCohortError",
    "ExitCode",
    "InputError",
    "Interrupted",
    "OutputError",
    "RegsurvError",
    "UsageError",
]
