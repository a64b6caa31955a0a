"""Love plot: absolute standardized mean differences before and after weighting.

Draws a `regsurv.causal.BalanceTable` (one row per covariate level, |SMD| folded by the table's
rule), with the balance threshold as a dashed line (Love 2002; cobalt's ``love.plot``).
matplotlib is imported inside `plot`, with the Agg backend.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from regsurv.report.figures import pyplot

__all__ = ["LovePlotDisplay"]


class LovePlotDisplay:
    """|SMD| per covariate level, unweighted (open circles) and weighted (filled).

    Holds data only; `plot` draws and keeps the artists: ``ax_``, ``figure_``, ``points_``
    (``{"before": PathCollection, "after": PathCollection | None}``), ``threshold_line_``.
    Rows are drawn top to bottom in the table's order; ``labels_`` holds their tick labels.
    """

    def __init__(self, *, balance: Any, title: str = "", xlabel: str | None = None) -> None:
        self.balance = balance
        self.title = title
        self.xlabel = xlabel

    @classmethod
    def from_balance(cls, balance: Any, *, ax: Any = None, **kwargs: Any) -> LovePlotDisplay:
        return cls(balance=balance, **kwargs).plot(ax=ax)

    @staticmethod
    def _label(variable: str, level: str | None) -> str:
        return variable if level is None else f"{variable}: {level}"

    def plot(self, ax: Any = None, *, sort: bool = False) -> LovePlotDisplay:
        """Draw; ``sort=True`` orders rows by |SMD| before weighting (largest on top)."""
        plt = pyplot()
        table = self.balance
        before = np.asarray(table.estimate_before, dtype=float)
        after = None if table.estimate_after is None else np.asarray(table.estimate_after, float)
        labels = [self._label(v, lv) for v, lv in zip(table.variable, table.level, strict=True)]
        order = np.argsort(-before, kind="stable") if sort else np.arange(before.size)
        y = np.arange(before.size)[::-1]  # first row on top
        if ax is None:
            _, ax = plt.subplots(figsize=(8.0, 0.28 * before.size + 1.4))
        self.points_ = {
            "before": ax.scatter(
                before[order], y, facecolors="none", edgecolors="#D55E00", label="Unweighted"
            ),
            "after": None,
        }
        if after is not None:
            self.points_["after"] = ax.scatter(after[order], y, color="#0072B2", label="Weighted")
        self.threshold_line_ = ax.axvline(table.threshold, color="grey", linestyle="--", lw=1)
        self.labels_ = [labels[i] for i in order]
        ax.set_yticks(y, self.labels_)
        rule = table.rule.replace("_", " ")
        ax.set_xlabel(self.xlabel or f"|SMD| ({rule})")
        ax.set_xlim(left=0)
        ax.legend(loc="lower right", frameon=False)
        if self.title:
            ax.set_title(self.title)
        ax.figure.tight_layout()
        self.ax_, self.figure_ = ax, ax.figure
        return self
