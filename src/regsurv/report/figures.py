"""Figures, drawn from results computed elsewhere (house style §5 example 4).

Each Display holds data only; `plot` draws it and keeps the artists (`ax_`, `figure_`,
`lines_`). matplotlib is imported inside the methods so that importing regsurv never loads it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from contextvars import ContextVar
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from regsurv.report.format import Suppressor, is_missing

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
    """Kaplan–Meier curves with confidence bands, censor marks and a number-at-risk table
    (survminer's ``ggsurvplot(risk.table = TRUE, conf.int = TRUE, censor = TRUE)``).

    Parameters
    ----------
    curves : tidy frame with ``group, time, estimate, conf_low, conf_high`` (and ``n_censor``
        for censor marks), one row per distinct time, as ``SurvivalCurves.to_frame()``
        returns; curves start at (0, 1).
    at_risk : frame with ``group, time, n_risk`` at the tick times (``SurvivalCurves.at``);
        weighted numbers are rounded.
    medians : frame with ``group, median`` (``SurvivalCurves.median()``) for median lines.
    p_value : a test's p (log-rank) printed on the plot as ``p_label p = ...``.
    palette : colours in group order, or ``{group: colour}``; default Okabe–Ito.
    labels : display names of the groups (legend and risk table).

    Notes
    -----
    `from_result` takes a `SurvivalCurves` (plain, IPTW-weighted or matched) and optionally a
    `LogrankResult`. `plot` keeps the artists: ``ax_``, ``figure_``, ``lines_``,
    ``censor_marks_``, ``median_lines_``, ``p_text_``, ``risk_ax_``, ``risk_texts_``.
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
        medians: pl.DataFrame | None = None,
        p_value: float | None = None,
        p_label: str = "Log-rank",
        palette: Sequence[str] | Mapping[str, str] | None = None,
        labels: Mapping[str, str] | None = None,
        risk_table_title: str = "Number at risk",
    ) -> None:
        self.curves = curves
        self.at_risk = at_risk
        self.title = title
        self.xlabel = xlabel
        self.ylabel = ylabel
        self.groups = list(groups) if groups is not None else list(dict.fromkeys(curves["group"]))
        self.suppressor = suppressor or Suppressor()
        self.medians = medians
        self.p_value = p_value
        self.p_label = p_label
        self.palette = palette
        self.labels = dict(labels or {})
        self.risk_table_title = risk_table_title

    @classmethod
    def from_result(
        cls,
        curves: Any,
        *,
        logrank: Any = None,
        breaks: Sequence[float] | None = None,
        risk_table: bool = True,
        ax: Any = None,
        plot_kwargs: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> KaplanMeierDisplay:
        """Draw a `SurvivalCurves` (numbers at risk at `breaks`, default: the axis ticks).

        ``logrank`` (a `LogrankResult`) gives the p-value; `plot_kwargs` go to `plot`
        (e.g. ``{"median_lines": True, "show_p": True, "xlim": (0, 5)}``).
        """
        frame = curves.to_frame()
        if breaks is None:
            breaks = _nice_breaks(float(frame["time"].max()))
        display = cls(
            curves=frame,
            at_risk=curves.at(list(breaks)).select("group", "time", "n_risk")
            if risk_table
            else None,
            groups=list(curves.keys()),
            medians=curves.median(),
            p_value=None if logrank is None else logrank.p_value,
            **kwargs,
        )
        return display.plot(ax=ax, breaks=breaks, **dict(plot_kwargs or {}))

    def _colour(self, i: int, name: str) -> str:
        if isinstance(self.palette, Mapping):
            return self.palette.get(name, PALETTE[i % len(PALETTE)])
        palette = list(self.palette) if self.palette else list(PALETTE)
        return palette[i % len(palette)]

    def plot(
        self,
        ax: Any = None,
        *,
        show_ci: bool | None = None,
        censor_marks: bool = True,
        median_lines: bool = False,
        show_p: bool | None = None,
        xlim: tuple[float, float] | None = None,
        breaks: Sequence[float] | None = None,
        figsize: tuple[float, float] = (7.0, 5.0),
    ) -> KaplanMeierDisplay:
        """Draw the curves (CI bands by default up to 4 groups), censor marks ("+"), median
        lines on request, the p-value when one was given, and the at-risk table.

        With `ax`, the curves go there and the risk table into an inset axes below it."""
        plt = pyplot()
        show_ci = len(self.groups) <= 4 if show_ci is None else show_ci
        show_p = self.p_value is not None if show_p is None else show_p
        n_table = len(self.groups) if self.at_risk is not None else 0
        tax = None
        given_ax = ax is not None
        if given_ax:
            fig = ax.figure
            if n_table:
                height = 0.06 * n_table + 0.04
                tax = ax.inset_axes([0.0, -0.16 - height, 1.0, height], sharex=ax)
        elif n_table:
            fig, (ax, tax) = plt.subplots(
                2,
                1,
                sharex=True,
                figsize=(figsize[0], figsize[1] + 0.25 * n_table + 0.4),
                gridspec_kw={"height_ratios": [figsize[1], 0.25 * n_table + 0.4]},
            )
        else:
            fig, ax = plt.subplots(figsize=figsize)
        self.lines_, self.colours_, self.censor_marks_, self.median_lines_ = {}, {}, {}, {}
        for i, name in enumerate(self.groups):
            c = self.curves.filter(pl.col("group") == name).sort("time")
            if c.height == 0:
                continue
            colour = self._colour(i, name)
            self.colours_[name] = colour
            label = self.labels.get(name, name)
            t = [0.0, *c["time"].to_list()]
            s = [1.0, *c["estimate"].to_list()]
            (self.lines_[name],) = ax.step(t, s, where="post", color=colour, label=label, lw=1.5)
            if show_ci:
                lo = [1.0, *c["conf_low"].fill_nan(None).fill_null(float("nan")).to_list()]
                hi = [1.0, *c["conf_high"].fill_nan(None).fill_null(float("nan")).to_list()]
                ax.fill_between(t, lo, hi, step="post", color=colour, alpha=0.12, lw=0)
            if censor_marks and "n_censor" in c.columns:
                censored = c.filter(pl.col("n_censor") > 0)
                (self.censor_marks_[name],) = ax.plot(
                    censored["time"].to_list(),
                    censored["estimate"].to_list(),
                    linestyle="none",
                    marker="+",
                    markersize=4,
                    markeredgewidth=0.8,
                    color=colour,
                )
        if median_lines and self.medians is not None:
            self._median_lines(ax)
        if show_p and self.p_value is not None:
            from regsurv.report.tables import p_text

            self.p_text_ = ax.text(
                0.03, 0.04, f"{self.p_label} {p_text(self.p_value)}", transform=ax.transAxes
            )
        ax.set(ylabel=self.ylabel, ylim=(0, 1.02), title=self.title)
        ax.grid(alpha=0.3)
        ax.legend(frameon=False, fontsize=8, loc="upper right")
        ticks = list(breaks) if breaks is not None else None
        if n_table:
            ticks = ticks or sorted(set(self.at_risk["time"].to_list()))
            ax.set_xticks(ticks)
            ax.set_xlim(ticks[0] - 0.02 * ticks[-1], ticks[-1] * 1.03)
            ax.tick_params(labelbottom=True)
            ax.set_xlabel(self.xlabel)
            self._risk_table(tax)
        else:
            if ticks:
                ax.set_xticks(ticks)
            ax.set_xlim(left=0)
            ax.set_xlabel(self.xlabel)
        if xlim is not None:
            ax.set_xlim(*xlim)
        if not given_ax:
            fig.tight_layout()
        self.ax_, self.figure_, self.risk_ax_ = ax, fig, tax
        return self

    def _median_lines(self, ax: Any) -> None:
        """survminer's ``surv.median.line = "hv"``: to each finite median and down."""
        for r in self.medians.iter_rows(named=True):
            m = r["median"]
            if r["group"] not in self.lines_ or m is None or not np.isfinite(m):
                continue
            style = {"color": "grey", "linestyle": ":", "lw": 1}
            self.median_lines_[r["group"]] = (
                ax.plot([0, m], [0.5, 0.5], **style)[0],
                ax.plot([m, m], [0, 0.5], **style)[0],
            )

    def _risk_table(self, tax: Any) -> None:
        rows = list(reversed(self.groups))
        tax.set_ylim(-0.5, len(rows) - 0.5)
        tax.set_yticks(range(len(rows)))
        tax.set_yticklabels([self.labels.get(r, r) for r in rows], fontsize=7)
        for label, name in zip(tax.get_yticklabels(), rows, strict=True):
            label.set_color(self.colours_.get(name, "black"))
        tax.tick_params(axis="y", length=0, pad=12)
        tax.tick_params(axis="x", bottom=False, labelbottom=False)
        for side in ("top", "right", "bottom", "left"):
            tax.spines[side].set_visible(False)
        tax.set_title(self.risk_table_title, fontsize=8, loc="left")
        self.risk_texts_ = []
        for row, name in enumerate(rows):
            sub = self.at_risk.filter(pl.col("group") == name)
            for t, n in zip(sub["time"].to_list(), sub["n_risk"].to_list(), strict=True):
                shown = self.suppressor.count(
                    n if isinstance(n, str) or is_missing(n) else round(n)
                )
                self.risk_texts_.append(
                    tax.text(t, row, shown, ha="center", va="center", fontsize=7)
                )


def _nice_breaks(t_max: float) -> list[float]:
    """About six round tick times from 0 to `t_max` (matplotlib's MaxNLocator)."""
    from matplotlib.ticker import MaxNLocator

    ticks = MaxNLocator(nbins=6, steps=[1, 2, 2.5, 5, 10]).tick_values(0.0, t_max)
    return [float(t) for t in ticks if 0 <= t <= t_max]


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

    The one figure writer of regsurv: every Display and the report save through it. Inside
    ``with FigureBatch():`` the files are written by worker processes and exist when the
    block ends.
    """
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise ValueError(f"unknown figure format {unknown[0]!r}; use {', '.join(FORMATS)}")
    paths = [directory / f"{stem}.{ext}" for ext in formats]
    batch = _BATCH.get()
    if batch is not None and batch.parallel:
        batch.submit(figure, paths)
    else:
        _write(figure, paths)
    if close:
        pyplot().close(figure)
    return paths


def _write(figure: Any, paths: Sequence[Path]) -> None:
    import matplotlib

    for path in paths:
        path.parent.mkdir(parents=True, exist_ok=True)
        ext = path.suffix[1:]
        metadata = {"svg": {"Date": None}, "pdf": {"CreationDate": None}}.get(ext)
        # fast PNG compression (files a little larger); SVG text kept as editable text, its
        # element ids salted with a constant (the same file on every run)
        extra = {"dpi": 300, "pil_kwargs": {"compress_level": 1}} if ext == "png" else {}
        with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "regsurv"}):
            figure.savefig(path, metadata=metadata, **extra)


def _write_pickled(blob: bytes, paths: Sequence[Path]) -> None:
    """A worker's job: the figure pickled by `FigureBatch.submit`, written to `paths`."""
    import pickle

    pyplot()  # the Agg backend before the figure is rebuilt
    _write(pickle.loads(blob), paths)  # our own figure, pickled by this process's parent


_BATCH: ContextVar[FigureBatch | None] = ContextVar("regsurv_figure_batch", default=None)


class FigureBatch:
    """Save the figures of a block in worker processes while the block goes on.

    A report's 300-dpi PNG, SVG and PDF of each figure are most of its time and each is an
    independent matplotlib render, so inside ``with FigureBatch():`` `save_figure` pickles the
    figure (matplotlib figures pickle) to a pool of ``workers`` processes (default: the CPUs
    this process may use, at most 4; with 1 it writes in place, as outside the block) and
    returns its paths at once. Leaving the block waits for every file and re-raises a
    worker's error; on an error or a signal inside the block no queued figure is started.
    The files are the same bytes as written in place.
    """

    def __init__(self, workers: int | None = None) -> None:
        self.workers = min(len(os.sched_getaffinity(0)), 4) if workers is None else workers
        self._pool: Any = None
        self._futures: list[Any] = []
        self._token: Any = None

    @property
    def parallel(self) -> bool:
        return self.workers > 1

    def __enter__(self) -> FigureBatch:
        if self.parallel:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            # forkserver: a fresh process forks the workers (never this one's polars threads)
            try:
                context = multiprocessing.get_context("forkserver")
                self._pool = ProcessPoolExecutor(self.workers, mp_context=context)
            except (OSError, ValueError):  # no process pool here (a sandbox): write in place
                self.workers = 1
        self._token = _BATCH.set(self)
        return self

    def submit(self, figure: Any, paths: Sequence[Path]) -> None:
        import pickle

        self._futures.append(self._pool.submit(_write_pickled, pickle.dumps(figure), paths))

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        _BATCH.reset(self._token)
        if self._pool is None:
            return
        try:
            if exc_type is None:
                for future in self._futures:
                    future.result()
        finally:
            self._pool.shutdown(wait=True, cancel_futures=True)
