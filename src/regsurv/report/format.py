"""Number formatting and small-count suppression for every rendered output.

Formatting lives here, not in the numerics (house style: results hold numbers; the report
decides how they read). `Suppressor` implements data-use-agreement suppression: every count
below N is shown as ``"<N"``, and so is any percentage computed from such a count. Planned
for a study (`Suppressor.planned`), it also carries the complementary suppression of
`regsurv.report.suppression`: a count that would let a ``<N`` cell be recomputed by
subtraction is shown as ``*``, and a percentage whose base is hidden is not shown.
"""

from __future__ import annotations

import math
import re
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import polars as pl

from regsurv.report.suppression import (
    COMPLEMENTARY_MARK,
    CountHook,
    DisclosureError,
    Mask,
    check,
    report_table,
    suppress,
)

#: Column names that hold counts of patients or events in the tidy tables.
COUNT_COLUMNS = frozenset(
    {
        "n",
        "n_before",
        "n_excluded",
        "n_after",
        "n_risk",
        "n_event",
        "n_events",
        "n_censor",
        "n_obs",
        "observed",
        "n_total",
        "n_missing",
        "n_matched",
        "n_unmatched",
        "count",
    }
)
#: Percentage columns, suppressed together with the count they come from.
PERCENT_COLUMNS = frozenset({"percent", "row_percent", "column_percent"})


def is_missing(x: object) -> bool:
    """True for None and NaN."""
    return x is None or (isinstance(x, float) and math.isnan(x))


def fmt_p(p: float | None) -> str:
    """P-value as journals print it: ``<0.001``, else three decimals."""
    if is_missing(p):
        return "—"
    if p < 0.001:
        return "<0.001"
    return f"{p:.3f}"


def fmt_num(x: float | None, digits: int = 2) -> str:
    """A number with fixed decimals; ``NA`` for a missing value (R's word for it)."""
    if is_missing(x):
        return "NA"
    if math.isinf(x):
        return "∞" if x > 0 else "−∞"
    return f"{x:.{digits}f}"


def fmt_estimate_ci(
    est: float | None, low: float | None, high: float | None, digits: int = 2
) -> str:
    """``est (low–high)``, with ``NA`` for an undefined limit."""
    if is_missing(est):
        return "NA"
    return f"{fmt_num(est, digits)} ({fmt_num(low, digits)}–{fmt_num(high, digits)})"


@dataclass(frozen=True, slots=True)
class Suppressor:
    """Show every count in 1..threshold-1 as ``<threshold`` (0 is not a small cell: it reveals
    nothing about a patient). ``threshold=None`` suppresses nothing.

    `mask` (set by `planned`) adds the complementary suppression of the whole report: the
    ``cell*`` methods look a count up by its cell name (`regsurv.report.suppression`); with a
    mask, a non-zero count under a name the report's table does not hold is an error (a count
    the audit did not see is never printed)."""

    threshold: int | None = None
    mask: Mask | None = None

    @property
    def active(self) -> bool:
        return self.threshold is not None and self.threshold > 1

    def planned(self, results: Any, hooks: Mapping[str, CountHook]) -> Suppressor:
        """This suppressor with the audited complementary suppression of every count the
        report of `results` publishes (`hooks`: each analysis kind's count cells, see
        `report_table`); raises `DisclosureError` if the audit fails."""
        if not self.active:
            return self
        mask = suppress(report_table(results, hooks), self.threshold)  # type: ignore[arg-type]
        check(mask)
        return replace(self, mask=mask)

    def hides(self, n: float | None) -> bool:
        """True when count `n` must not be shown."""
        return (
            self.active and not isinstance(n, str) and not is_missing(n) and 0 < n < self.threshold  # type: ignore[operator]
        )

    def count(self, n: float | str | None) -> str:
        """A count as text, or ``<N`` (text given as `n` is already suppressed)."""
        if isinstance(n, str):
            return n
        if is_missing(n):
            return "NA"
        if self.hides(n):
            return f"<{self.threshold}"
        return f"{n:,.0f}" if float(n).is_integer() else f"{n:,.1f}"

    def count_pct(self, n: float | None, pct: float | None, digits: int = 1) -> str:
        """``n (pct)`` with `pct` in percent, both hidden when `n` is small."""
        if self.hides(n):
            return f"<{self.threshold}"
        return f"{self.count(n)} ({'NA' if is_missing(pct) else f'{pct:.{digits}f}'})"

    def _name(self, cell: Hashable, n: float | None) -> Hashable | None:
        """The mask's name of `cell` holding count `n` (None: no mask, or nothing to hide)."""
        if self.mask is None or is_missing(n) or isinstance(n, str):  # str: already shown
            return None
        table = self.mask.table
        value = float(n)  # type: ignore[arg-type]
        if table.values.get(cell) == value:
            return cell
        name = table.renamed.get((cell, value))
        if name is None and value != 0:
            raise DisclosureError(
                f"count {cell!r} is printed but not in the report's suppression table "
                "(register it in its kind's count hook)"
            )
        return name

    def cell_hidden(self, cell: Hashable, n: float | None) -> bool:
        """True when count `n` (named `cell`) is not shown: small, or hidden to protect one."""
        name = self._name(cell, n)
        return self.hides(n) or (name is not None and name in self.mask.hidden)  # type: ignore[union-attr]

    def cell(self, cell: Hashable, n: float | None) -> str:
        """Count `n` named `cell` as text: the count, ``<N`` or ``*`` (complementary)."""
        name = self._name(cell, n)
        text = None if name is None else self.mask.text(name)  # type: ignore[union-attr]
        return text if text is not None else self.count(n)

    def cell_field(self, cell: Hashable, n: float | None) -> str | None:
        """`cell` for a CSV field: the hiding mark, else the number without commas."""
        if is_missing(n):
            return None
        if self.cell_hidden(cell, n):
            return self.cell(cell, n)
        return f"{n:.0f}" if float(n).is_integer() else f"{n}"  # type: ignore[arg-type]

    def cell_value(self, cell: Hashable, n: float | None) -> float | str | None:
        """`cell` for JSON: the count itself, or its hiding mark."""
        return self.cell(cell, n) if self.cell_hidden(cell, n) else n

    def cell_pct(
        self,
        cell: Hashable,
        n: float | None,
        pct: float | None,
        base: Hashable | None = None,
        base_n: float | None = None,
        digits: int = 1,
    ) -> str:
        """``n (pct)``; the percentage is left out when `n` or its base (named `base`) is
        hidden (a percentage and its count give the base)."""
        if self.cell_hidden(cell, n) or (base is not None and self.cell_hidden(base, base_n)):
            return self.cell(cell, n)
        return f"{self.count(n)} ({'NA' if is_missing(pct) else f'{pct:.{digits}f}'})"

    def mask_frame(
        self,
        frame: pl.DataFrame,
        cells: Mapping[str, Sequence[Hashable]],
        hide: Mapping[str, Sequence[bool]] | None = None,
    ) -> pl.DataFrame:
        """`frame` with each count column ``c`` shown as `cell` shows it (`cells[c]` names the
        cell of each row; the column becomes text) and each column of `hide` (a percentage,
        a sum) nulled where its flags are true; a hidden count nulls its row's percentages."""
        if self.mask is None:
            return frame
        flags = {c: [bool(h) for h in v] for c, v in (hide or {}).items()}
        for c, names in cells.items():
            hidden = [self.cell_hidden(name, n) for name, n in zip(names, frame[c], strict=True)]
            for p in PERCENT_COLUMNS & set(frame.columns):
                old = flags.get(p, [False] * frame.height)
                flags[p] = [a or b for a, b in zip(old, hidden, strict=True)]
        out = frame.with_columns(
            pl.Series(
                c,
                [self.cell_field(name, n) for name, n in zip(names, frame[c], strict=True)],
                dtype=pl.String,
            )
            for c, names in cells.items()
        )
        return out.with_columns(
            pl.when(pl.Series(v, dtype=pl.Boolean)).then(None).otherwise(pl.col(c)).alias(c)
            for c, v in flags.items()
        )

    def audit_summary(self) -> dict[str, Any] | None:
        """What the suppression hid and that its audit passed (for results.json/manifest)."""
        if not self.active:
            return None
        out: dict[str, Any] = {
            "threshold": self.threshold,
            "rule": f"counts 1..{self.threshold - 1} shown as '<{self.threshold}'; "  # type: ignore[operator]
            f"'{COMPLEMENTARY_MARK}': hidden so that no such count can be recomputed",
        }
        if self.mask is not None:
            out |= self.mask.summary() | {"audit": "passed"}
        return out

    def frame(self, frame: pl.DataFrame) -> pl.DataFrame:
        """Suppress the count and percentage columns of a tidy table (they become strings)."""
        if not self.active:
            return frame
        counts = [c for c in frame.columns if c in COUNT_COLUMNS and frame.schema[c] != pl.String]
        if not counts:
            return frame
        small = pl.any_horizontal(
            [(pl.col(c) > 0) & (pl.col(c) < self.threshold) for c in counts]
        ).fill_null(False)
        hidden = f"<{self.threshold}"
        exprs = []
        for c in counts:
            cond = ((pl.col(c) > 0) & (pl.col(c) < self.threshold)).fill_null(False)
            exprs.append(
                pl.when(cond).then(pl.lit(hidden)).otherwise(pl.col(c).cast(pl.String)).alias(c)
            )
        for c in frame.columns:
            if c in PERCENT_COLUMNS:
                exprs.append(
                    pl.when(small)
                    .then(pl.lit(hidden))
                    .otherwise(pl.col(c).cast(pl.String))
                    .alias(c)
                )
        return frame.with_columns(exprs)

    def hidden_groups(self, summary: pl.DataFrame) -> list[str]:
        """Groups of a KM summary (``group``, ``n_obs``) too small to show any estimate of."""
        return [g for g, n in zip(summary["group"], summary["n_obs"], strict=True) if self.hides(n)]

    def mask_groups(self, frame: pl.DataFrame, hidden: list[str]) -> pl.DataFrame:
        """Null every estimate of the `hidden` groups (their counts are suppressed by `frame`):
        a survival proportion of a small group would reveal its count."""
        if not hidden:
            return frame
        keep = {"group", "time"} | COUNT_COLUMNS
        return frame.with_columns(
            pl.when(pl.col("group").is_in(hidden)).then(None).otherwise(pl.col(c)).alias(c)
            for c in frame.columns
            if c not in keep
        )

    def text(self, message: str) -> str:
        """Suppress counts written into free text (warnings and errors of the numerics name
        row counts): ``"3 rows"``, ``"3 of 50 rows"`` (both), ``"n = 4"``, ``"events = 4"``,
        ``"all 4 rows"``; ``"a single row"`` becomes ``"fewer than N rows"``."""
        if not self.active:
            return message
        number = r"\d{1,3}(?:,\d{3})+|\d+"
        nouns = r"(?:rows?|patients?|records?|cases?|observations?|subjects?|events?)"

        def repl(match: re.Match[str]) -> str:
            start, end = match.start("n") - match.start(0), match.end("n") - match.start(0)
            shown = self.count(int(match["n"].replace(",", "")))
            return match.group(0)[:start] + shown + match.group(0)[end:]

        for pattern in (
            rf"\b(?P<n>{number}) of (?:{number}) {nouns}\b",
            rf"(?:\b{number}|<\d+) of (?P<n>{number}) {nouns}\b",
            rf"\b(?P<n>{number}) {nouns}\b",
            rf"\b{nouns} of (?P<n>{number})\b",
            rf"\b(?:n|N|events) = (?P<n>{number})",
        ):
            message = re.sub(pattern, repl, message)
        return re.sub(
            r"\ba single (row|patient|record|case)\b",
            lambda m: f"fewer than {self.threshold} {m.group(1)}s",
            message,
        )

    def scrub(self, document: Any) -> Any:
        """Pass every paragraph and table note of `document` through `text` (in place)."""
        if not self.active:
            return document
        from regsurv.report.document import Paragraph

        for section in document.sections:
            section.blocks = [
                Paragraph(self.text(b.text), b.kind)
                if isinstance(b, Paragraph)
                else replace(b, note=self.text(b.note))
                if hasattr(b, "note")
                else b
                for b in section.blocks
            ]
        return document
