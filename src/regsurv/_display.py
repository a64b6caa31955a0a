"""Rich display in Jupyter: every result object renders as its one-line repr over its table.

`HtmlDisplay` is a mixin (no state, ``__slots__ = ()``, so frozen slotted dataclasses can use
it): ``_repr_html_`` shows the escaped ``repr`` as a caption and the object's ``summary()``
frame (when it has one) or ``to_frame()`` through polars' own HTML, which elides the middle
rows of a long frame. An object that cannot produce its frame yet (an unfitted model) shows
the caption alone.
"""

from __future__ import annotations

import html

import polars as pl


class HtmlDisplay:
    """Adds ``_repr_html_`` (Jupyter) built from ``summary()`` or ``to_frame()``."""

    __slots__ = ()

    def _display_frame(self) -> pl.DataFrame | None:
        """The frame shown under the caption: ``summary()`` if it returns a frame, else
        ``to_frame()``; None when neither gives one (e.g. a model not fitted yet)."""
        for name in ("summary", "to_frame"):
            method = getattr(self, name, None)
            if not callable(method):
                continue
            try:
                frame = method()
            except (AttributeError, RuntimeError, ValueError):  # not fitted / nothing to show
                return None
            if isinstance(frame, pl.DataFrame):
                return frame
        return None

    def _repr_html_(self) -> str:
        caption = f"<p><code>{html.escape(repr(self))}</code></p>"
        frame = self._display_frame()
        body = "" if frame is None else frame._repr_html_()
        return f'<div class="regsurv-result">{caption}{body}</div>'
