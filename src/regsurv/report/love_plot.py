"""Love plot: standardized mean differences before and after adjustment (Love 2002; cobalt's
``love.plot``).

Draws one or more `regsurv.causal.BalanceTable` (one row per covariate level): the unadjusted
SMD and one series per adjustment (IPTW, matching, ...) on one plot, absolute (folded by the
table's rule) or signed (for one comparison of two groups), with the balance threshold as
dashed lines. matplotlib is imported inside `plot`, with the Agg backend.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from regsurv.report.figures import PALETTE, pyplot

__all__ = ["LovePlotDisplay"]

_MARKERS = ("o", "s", "^", "D", "v", "P")


class LovePlotDisplay:
    """SMD per covariate level: unadjusted (open circles) and each adjustment (filled markers).

    Parameters
    ----------
    balance : a `BalanceTable` (its before and after columns), or ``None`` with `adjustments`.
    adjustments : ``{name: BalanceTable}`` drawn together (unadjusted values from the first),
        e.g. ``{"IPTW": iptw_balance, "Matched": matched_balance}``.
    labels : display names of the covariates (``{"age_group": "Age, years"}``).
    signed : signed SMD of one comparison (``comparison``: its index in the table's
        ``group1``/``group0``; needed when the table compares more than two groups).

    Notes
    -----
    Holds data only; `plot` draws and keeps the artists: ``ax_``, ``figure_``, ``points_``
    (``{"before": PathCollection, "after": PathCollection | None}`` for one table; with
    `adjustments` one entry per adjustment name too), ``threshold_line_``, ``labels_``.
    """

    def __init__(
        self,
        *,
        balance: Any = None,
        title: str = "",
        xlabel: str | None = None,
        adjustments: Mapping[str, Any] | None = None,
        labels: Mapping[str, str] | None = None,
        signed: bool = False,
        comparison: int | None = None,
        unadjusted_label: str | None = None,
        adjusted_label: str = "Weighted",
    ) -> None:
        if balance is None and not adjustments:
            raise ValueError("LovePlotDisplay needs a balance table or adjustments")
        self.balance = balance
        self.title = title
        self.xlabel = xlabel
        self.adjustments = dict(adjustments or {})
        self.labels = dict(labels or {})
        self.signed = signed
        self.comparison = comparison
        self.unadjusted_label = unadjusted_label
        self.adjusted_label = adjusted_label

    @classmethod
    def from_balance(cls, balance: Any, *, ax: Any = None, **kwargs: Any) -> LovePlotDisplay:
        return cls(balance=balance, **kwargs).plot(ax=ax)

    @classmethod
    def from_result(
        cls, adjustments: Mapping[str, Any] | Any, *, ax: Any = None, **kwargs: Any
    ) -> LovePlotDisplay:
        """One `BalanceTable`, or ``{name: BalanceTable}`` for several adjustments."""
        if isinstance(adjustments, Mapping):
            return cls(adjustments=adjustments, **kwargs).plot(ax=ax)
        return cls(balance=adjustments, **kwargs).plot(ax=ax)

    def _label(self, variable: str, level: str | None) -> str:
        name = self.labels.get(variable, variable)
        return name if level is None else f"{name}: {level}"

    def _values(self, table: Any, after: bool) -> np.ndarray | None:
        if after and not table.weighted:
            return None
        if not self.signed:
            return np.asarray(table.estimate_after if after else table.estimate_before, float)
        values = np.asarray(table.smd_after if after else table.smd_before, float)
        if values.ndim == 1:
            return values
        if self.comparison is None and values.shape[1] != 1:
            pairs = ", ".join(
                f"{k}: {a} vs {b}"
                for k, (a, b) in enumerate(zip(table.group1, table.group0, strict=True))
            )
            raise ValueError(
                f"signed SMD needs one comparison; this table has {values.shape[1]} "
                f"(pass comparison= one of {pairs})"
            )
        return values[:, self.comparison or 0]

    def plot(self, ax: Any = None, *, sort: bool = False) -> LovePlotDisplay:
        """Draw; ``sort=True`` orders rows by |SMD| before adjustment (largest on top)."""
        plt = pyplot()
        first = self.balance if self.balance is not None else next(iter(self.adjustments.values()))
        before = self._values(first, after=False)
        series: list[tuple[str, str, np.ndarray]] = []
        if self.balance is not None:
            after = self._values(self.balance, after=True)
            if after is not None:
                series.append(("after", self.adjusted_label, after))
        for name, table in self.adjustments.items():
            values = self._values(table, after=True)
            if values is not None:
                series.append((name, name, values))
        labels = [self._label(v, lv) for v, lv in zip(first.variable, first.level, strict=True)]
        order = np.argsort(-np.abs(before), kind="stable") if sort else np.arange(before.size)
        y = np.arange(before.size)[::-1]  # first row on top
        if ax is None:
            _, ax = plt.subplots(figsize=(8.0, 0.28 * before.size + 1.4))
        self.points_ = {
            "before": ax.scatter(
                before[order],
                y,
                facecolors="none",
                edgecolors="#D55E00",
                label=self.unadjusted_label or ("Unadjusted" if self.adjustments else "Unweighted"),
                zorder=3,
            ),
            "after": None,
        }
        colours = [c for c in PALETTE if c != "#D55E00"]
        for k, (key, label, values) in enumerate(series):
            self.points_[key] = ax.scatter(
                values[order],
                y,
                color=colours[k % len(colours)],
                marker=_MARKERS[k % len(_MARKERS)],
                label=label,
                zorder=3,
            )
        threshold = first.threshold
        self.threshold_line_ = ax.axvline(threshold, color="grey", linestyle="--", lw=1)
        if self.signed:
            ax.axvline(-threshold, color="grey", linestyle="--", lw=1)
            ax.axvline(0, color="black", lw=0.8)
        self.labels_ = [labels[i] for i in order]
        ax.set_yticks(y, self.labels_)
        ax.grid(axis="y", alpha=0.3)
        rule = first.rule.replace("_", " ")
        default_label = "SMD (signed)" if self.signed else f"|SMD| ({rule})"
        ax.set_xlabel(self.xlabel or default_label)
        if not self.signed:
            ax.set_xlim(left=0)
        ax.legend(loc="lower right", frameon=False)
        if self.title:
            ax.set_title(self.title)
        ax.figure.tight_layout()
        self.ax_, self.figure_ = ax, ax.figure
        return self
