"""Figures, drawn from results computed elsewhere (house style §5 example 4).

Each Display holds data only; `plot` draws it and keeps the artists (`ax_`, `figure_`,
`lines_`). matplotlib is imported inside the methods so that importing regsurv never loads it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import polars as pl

from regsurv.report.format import Suppressor

#: Colour-blind-safe palette (Okabe–Ito), enough for the 8 treatment combinations.
PALETTE = (
    "#0072B2",
    "#D55E00",
    "#009E73",
    "#CC79A7",
    "#E69F00",
    "#56B4E9",
    "#000000",
    "#F0E442",
)


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


class KaplanMeierDisplay:
    """Kaplan–Meier curves with confidence bands and a number-at-risk table.

    Parameters
    ----------
    curves : tidy frame with ``group, time, estimate, conf_low, conf_high`` (one row per distinct
        time, as ``SurvivalCurves.to_frame()`` returns; curves start at (0, 1)).
    at_risk : frame with ``group, time, n_risk`` at the tick times (``SurvivalCurves.at``).
    """

    def __init__(
        self,
        *,
        curves: pl.DataFrame,
        at_risk: pl.DataFrame | None = None,
        title: str = "",
        xlabel: str = "Years since diagnosis",
        ylabel: str = "Overall survival",
        groups: Sequence[str] | None = None,
        suppressor: Suppressor | None = None,
    ) -> None:
        self.curves = curves
        self.at_risk = at_risk
        self.title = title
        self.xlabel = xlabel
        self.ylabel = ylabel
        self.groups = list(groups) if groups is not None else list(dict.fromkeys(curves["group"]))
        self.suppressor = suppressor or Suppressor()

    def plot(self, *, show_ci: bool = True, figsize: tuple[float, float] = (7.0, 5.2)) -> KaplanMeierDisplay:
        plt = _pyplot()
        n_table = len(self.groups) if self.at_risk is not None else 0
        heights = [4.0, 0.28 * n_table + 0.5] if n_table else [1.0]
        fig, axes = plt.subplots(
            len(heights), 1, figsize=(figsize[0], figsize[1] + 0.28 * n_table),
            gridspec_kw={"height_ratios": heights}, squeeze=False,
        )
        ax = axes[0, 0]
        self.lines_ = {}
        for i, name in enumerate(self.groups):
            c = self.curves.filter(pl.col("group") == name).sort("time")
            if c.height == 0:
                continue
            colour = PALETTE[i % len(PALETTE)]
            t = [0.0, *c["time"].to_list()]
            s = [1.0, *c["estimate"].to_list()]
            (self.lines_[name],) = ax.step(t, s, where="post", color=colour, label=name, lw=1.6)
            if show_ci:
                lo = [1.0, *c["conf_low"].fill_nan(None).to_list()]
                hi = [1.0, *c["conf_high"].fill_nan(None).to_list()]
                lo = [v if v is not None else float("nan") for v in lo]
                hi = [v if v is not None else float("nan") for v in hi]
                ax.fill_between(t, lo, hi, step="post", color=colour, alpha=0.12, lw=0)
        ax.set(xlabel=self.xlabel, ylabel=self.ylabel, ylim=(0, 1.02), title=self.title)
        ax.set_xlim(left=0)
        ax.grid(alpha=0.3)
        ax.legend(frameon=False, fontsize=8, loc="upper right")
        if n_table:
            self._risk_table(axes[1, 0], ax)
        fig.tight_layout()
        self.ax_, self.figure_ = ax, fig
        return self

    def _risk_table(self, tax: Any, ax: Any) -> None:
        ticks = sorted(set(self.at_risk["time"].to_list()))
        ax.set_xticks(ticks)
        tax.set_xlim(ax.get_xlim())
        tax.set_ylim(-0.5, len(self.groups) - 0.5)
        tax.set_yticks(range(len(self.groups)))
        tax.set_yticklabels(list(reversed(self.groups)), fontsize=7)
        tax.set_xticks([])
        for side in ("top", "right", "bottom", "left"):
            tax.spines[side].set_visible(False)
        tax.set_title("Number at risk", fontsize=8, loc="left")
        for row, name in enumerate(reversed(self.groups)):
            sub = self.at_risk.filter(pl.col("group") == name)
            for t, n in zip(sub["time"].to_list(), sub["n_risk"].to_list(), strict=True):
                tax.text(t, row, self.suppressor.count(n), ha="center", va="center", fontsize=7)


def save_figure(figure: Any, directory: Path, stem: str) -> list[Path]:
    """Write `figure` as 300-dpi PNG, SVG and PDF; return the paths."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for ext in ("png", "svg", "pdf"):
        path = directory / f"{stem}.{ext}"
        metadata = {"svg": {"Date": None}, "pdf": {"CreationDate": None}}.get(ext)
        figure.savefig(path, dpi=300 if ext == "png" else None, metadata=metadata)
        paths.append(path)
    _pyplot().close(figure)
    return paths
