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


def pyplot() -> Any:
    """matplotlib.pyplot on the Agg backend, imported on first use (numerics never load it)."""
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

    def plot(self, *, show_ci: bool | None = None, figsize: tuple[float, float] = (7.0, 5.0)):
        """Draw the curves (CI bands by default up to 4 groups) and the at-risk table."""
        plt = pyplot()
        show_ci = len(self.groups) <= 4 if show_ci is None else show_ci
        n_table = len(self.groups) if self.at_risk is not None else 0
        if n_table:
            fig, (ax, tax) = plt.subplots(
                2,
                1,
                sharex=True,
                figsize=(figsize[0], figsize[1] + 0.25 * n_table + 0.4),
                gridspec_kw={"height_ratios": [figsize[1], 0.25 * n_table + 0.4]},
            )
        else:
            fig, ax = plt.subplots(figsize=figsize)
        self.lines_ = {}
        self.colours_ = {}
        for i, name in enumerate(self.groups):
            c = self.curves.filter(pl.col("group") == name).sort("time")
            if c.height == 0:
                continue
            colour = PALETTE[i % len(PALETTE)]
            self.colours_[name] = colour
            t = [0.0, *c["time"].to_list()]
            s = [1.0, *c["estimate"].to_list()]
            (self.lines_[name],) = ax.step(t, s, where="post", color=colour, label=name, lw=1.5)
            if show_ci:
                lo = [1.0, *c["conf_low"].fill_nan(None).fill_null(float("nan")).to_list()]
                hi = [1.0, *c["conf_high"].fill_nan(None).fill_null(float("nan")).to_list()]
                ax.fill_between(t, lo, hi, step="post", color=colour, alpha=0.12, lw=0)
        ax.set(ylabel=self.ylabel, ylim=(0, 1.02), title=self.title)
        ax.grid(alpha=0.3)
        ax.legend(frameon=False, fontsize=8, loc="upper right")
        if n_table:
            ticks = sorted(set(self.at_risk["time"].to_list()))
            ax.set_xticks(ticks)
            ax.set_xlim(ticks[0] - 0.02 * ticks[-1], ticks[-1] * 1.03)
            ax.tick_params(labelbottom=True)
            ax.set_xlabel(self.xlabel)
            self._risk_table(tax)
        else:
            ax.set_xlim(left=0)
            ax.set_xlabel(self.xlabel)
        fig.tight_layout()
        self.ax_, self.figure_ = ax, fig
        return self

    def _risk_table(self, tax: Any) -> None:
        rows = list(reversed(self.groups))
        tax.set_ylim(-0.5, len(rows) - 0.5)
        tax.set_yticks(range(len(rows)))
        tax.set_yticklabels(rows, fontsize=7)
        for label in tax.get_yticklabels():
            label.set_color(self.colours_.get(label.get_text(), "black"))
        tax.tick_params(axis="y", length=0, pad=12)
        tax.tick_params(axis="x", bottom=False, labelbottom=False)
        for side in ("top", "right", "bottom", "left"):
            tax.spines[side].set_visible(False)
        tax.set_title("Number at risk", fontsize=8, loc="left")
        self.risk_texts_ = []
        for row, name in enumerate(rows):
            sub = self.at_risk.filter(pl.col("group") == name)
            for t, n in zip(sub["time"].to_list(), sub["n_risk"].to_list(), strict=True):
                self.risk_texts_.append(
                    tax.text(t, row, self.suppressor.count(n), ha="center", va="center", fontsize=7)
                )


FORMATS = ("png", "svg", "pdf")


def save_figure(
    figure: Any,
    directory: Path,
    stem: str,
    formats: Sequence[str] = FORMATS,
    *,
    close: bool = True,
) -> list[Path]:
    """Write `figure` as 300-dpi PNG, SVG and PDF (or `formats`); return the paths.

    The one figure writer of regsurv: every Display and the report save through it.
    """
    import matplotlib

    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise ValueError(f"unknown figure format {unknown[0]!r}; use {', '.join(FORMATS)}")
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for ext in formats:
        path = directory / f"{stem}.{ext}"
        metadata = {"svg": {"Date": None}, "pdf": {"CreationDate": None}}.get(ext)
        # fast PNG compression (files a little larger); SVG text kept as editable text
        extra = {"dpi": 300, "pil_kwargs": {"compress_level": 1}} if ext == "png" else {}
        with matplotlib.rc_context({"svg.fonttype": "none"}):
            figure.savefig(path, metadata=metadata, **extra)
        paths.append(path)
    if close:
        pyplot().close(figure)
    return paths
