"""Number formatting and small-count suppression for every rendered output.

Formatting lives here, not in the numerics (house style: results hold numbers; the report
decides how they read). `Suppressor` implements data-use-agreement suppression: every count
below N is shown as ``"<N"``, and so is any percentage computed from such a count.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import polars as pl

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
    nothing about a patient). ``threshold=None`` suppresses nothing."""

    threshold: int | None = None

    @property
    def active(self) -> bool:
        return self.threshold is not None and self.threshold > 1

    def hides(self, n: float | None) -> bool:
        """True when count `n` must not be shown."""
        return self.active and not is_missing(n) and 0 < n < self.threshold  # type: ignore[operator]

    def count(self, n: float | None) -> str:
        """A count as text, or ``<N``."""
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

    def frame(self, frame: pl.DataFrame) -> pl.DataFrame:
        """Suppress the count and percentage columns of a tidy table (they become strings)."""
        if not self.active:
            return frame
        counts = [c for c in frame.columns if c in COUNT_COLUMNS]
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
        """Suppress counts written into free text, as ``"3 rows"`` or ``"n = 4"`` (error
        messages name row counts)."""
        if not self.active:
            return message
        number = r"(\d{1,3}(?:,\d{3})+|\d+)"

        def repl(match: re.Match[str]) -> str:
            n = int(match.group("n").replace(",", ""))
            return match.group(0).replace(match.group("n"), self.count(n), 1)

        for pattern in (
            rf"\b(?P<n>{number[1:-1]}) (?:rows?|patients?|records?|cases?)\b",
            rf"\b(?:n|events) = (?P<n>{number[1:-1]})",
        ):
            message = re.sub(pattern, repl, message)
        return message
