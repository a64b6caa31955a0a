"""The one exception of the io stage, and the wording of its most common message."""

from __future__ import annotations

from collections.abc import Sequence

from regsurv.errors import InputError


class PufError(InputError):
    """A PUF file cannot be read or written as asked (exit 3 unless `exit_code` says otherwise).

    The message is one line naming the file or field, the offending value and the row count;
    the CLI prints it without a traceback. (Polars appends the failing expression on further
    lines when the error is raised while a lazy scan is collected; `str()` drops them.)
    """


def plural(n: int, word: str, verb: str = "") -> str:
    """ "1 row holds" / "3 rows hold": a count, its noun and the verb agreeing with it."""
    noun = f"{n:,} {word}{'' if n == 1 else 's'}"
    if not verb:
        return noun
    return f"{noun} {verb + 's' if n == 1 else verb}"


def non_numeric_message(field: str, field_type: str, n_rows: int, examples: Sequence[str]) -> str:
    """``AGE: 2 rows hold non-numeric text ('4x', 'abc') where an integer is expected``."""
    shown = ", ".join(repr(v) for v in examples)
    expected = "an integer" if field_type == "integer" else "a number"
    return (
        f"{field}: {plural(n_rows, 'row', 'hold')} non-numeric text ({shown}) "
        f"where {expected} is expected"
    )
