"""The one exception of the io stage."""

from __future__ import annotations


class PufError(ValueError):
    """A PUF file cannot be read or written as asked.

    The message is one line naming the file or field, the offending value and the row count;
    the CLI prints it without a traceback.
    """
