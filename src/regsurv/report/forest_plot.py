"""Forest plot of a Cox model (survminer's ``ggforest``; Table 3 drawn).

One row per covariate level: the label (variables bold, levels indented, the reference level
marked "reference"), optionally N and events (univariable models), the hazard ratio with its
CI on a log axis, and the columns "HR (95% CI)" and "p" (bold below ``p_alpha``). Numbers come
from ``CoxResult.to_frame()`` and ``CoxResult.design``; matplotlib is imported inside `plot`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import polars as pl

from regsurv.report.figures import pyplot
from regsurv.report.format import Suppressor, fmt_estimate_ci, fmt_p, is_missing

__all__ = ["ForestPlotDisplay"]

_ROW_SCHEMA = {
    "label": pl.String,
    "kind": pl.String,  # "variable", "level", "reference", "numeric", "failed"
    "term": pl.String,
    "hr": pl.Float64,
    "conf_low": pl.Float64,
    "conf_high": pl.Float64,
    "p_value": pl.Float64,
    "n_obs": pl.Float64,
    "n_events": pl.Float64,
}


def _default_label(column: str) -> str:
    return column.replace("_", " ").capitalize()


def forest_rows(
    result: Any,
    *,
    labels: Mapping[str, str] | None = None,
    levels: Mapping[str, Sequence[str]] | None = None,
) -> pl.DataFrame:
    """The rows a forest plot draws, from a `CoxResult` or ``{covariate: CoxResult}``."""
    labels = dict(labels or {})
    levels = dict(levels or {})
    models = dict(result) if isinstance(result, Mapping) else {None: result}
    rows: list[dict[str, Any]] = []
    for key, fit in models.items():
        counts = (
            {"n_obs": float(fit.n_obs), "n_events": float(fit.n_events)}
            if key is not None and not isinstance(fit, str)
            else {}
        )
        if isinstance(fit, str):
            rows.append({"label": labels.get(key) or _default_label(key), "kind": "failed"})
            continue
        coef = {r["term"]: r for r in fit.to_frame().iter_rows(named=True)}

        def level_row(label: str, term: str, kind: str, extra: dict, coef=coef) -> dict:
            r = coef.get(term, {})
            return {
                "label": label,
                "kind": kind,
                "term": term,
                "hr": r.get("hr"),
                "conf_low": r.get("hr_conf_low"),
                "conf_high": r.get("hr_conf_high"),
                "p_value": r.get("p_value"),
                **extra,
            }

        design = fit.design or ()
        for term in design:
            if key is not None and term.column != key:
                continue
            label = labels.get(term.column) or _default_label(term.column)
            if term.kind == "numeric":
                rows.append(level_row(label, term.column, "numeric", counts))
                continue
            rows.append({"label": label, "kind": "variable", **counts})
            for level in levels.get(term.column) or term.levels:
                if level == term.reference:
                    rows.append({"label": level, "kind": "reference"})
                else:
                    rows.append(level_row(level, f"{term.column}:{level}", "level", {}))
        if not design:  # no fitted model attached: one row per coefficient
            rows += [level_row(t, t, "numeric", counts) for t in fit.terms]
    return pl.DataFrame(rows, schema=_ROW_SCHEMA)


def _tick_label(value: float, _position: int) -> str:
    """A hazard-ratio tick as written (0.25, 1, 4): module level, so figures pickle."""
    return f"{value:g}"


def _log_ticks(ax: Any, xlim: tuple[float, float]) -> None:
    """Round hazard ratios as ticks on the log axis (0.25, 0.5, 1, 2, 4, ...), no minor ones."""
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

    candidates = [0.01, 0.02, 0.05, 0.1, 0.2, 0.25, 0.5, 1, 2, 4, 5, 10, 20, 50, 100]
    ticks = [t for t in candidates if xlim[0] <= t <= xlim[1]]
    if len(ticks) > 7:
        ticks = [t for t in ticks if t in (0.01, 0.1, 0.25, 0.5, 1, 2, 4, 10, 100)]
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_major_formatter(FuncFormatter(_tick_label))
    ax.xaxis.set_minor_locator(NullLocator())


class ForestPlotDisplay:
    """Hazard ratios with CIs, one row per term, with their numbers beside them.

    Parameters
    ----------
    rows : frame of `forest_rows` (``label, kind, term, hr, conf_low, conf_high, p_value,
        n_obs, n_events``).
    n_obs, n_events : the model's counts, printed under the plot (one multivariable model).

    Notes
    -----
    `plot` keeps the artists: ``ax_``, ``figure_``, ``points_`` (one square per estimated
    term, in ``terms_`` order), ``ci_lines_``, ``reference_line_``, ``texts_`` (column ->
    list of Text), ``row_labels_``.
    """

    def __init__(
        self,
        *,
        rows: pl.DataFrame,
        title: str = "",
        xlabel: str = "Hazard ratio (95% CI, log scale)",
        n_obs: float | None = None,
        n_events: float | None = None,
        suppressor: Suppressor | None = None,
        p_alpha: float | None = 0.05,
        colour: str = "#0072B2",
    ) -> None:
        self.rows = rows
        self.title = title
        self.xlabel = xlabel
        self.n_obs = n_obs
        self.n_events = n_events
        self.suppressor = suppressor or Suppressor()
        self.p_alpha = p_alpha
        self.colour = colour

    @classmethod
    def from_result(
        cls,
        result: Any,
        *,
        labels: Mapping[str, str] | None = None,
        levels: Mapping[str, Sequence[str]] | None = None,
        ax: Any = None,
        **kwargs: Any,
    ) -> ForestPlotDisplay:
        """Draw a `CoxResult`, or ``{covariate: CoxResult}`` univariable models (N, events
        per variable)."""
        single = not isinstance(result, Mapping)
        if single:
            kwargs.setdefault("n_obs", result.n_obs)
            kwargs.setdefault("n_events", result.n_events)
        rows = forest_rows(result, labels=labels, levels=levels)
        return cls(rows=rows, **kwargs).plot(ax=ax)

    def plot(self, ax: Any = None, *, xlim: tuple[float, float] | None = None) -> ForestPlotDisplay:
        """Draw the rows top to bottom; texts sit left and right of the axes."""
        from matplotlib.transforms import blended_transform_factory

        plt = pyplot()
        frame = self.rows
        n = frame.height
        show_n = frame["n_obs"].is_not_null().any()
        if ax is None:
            height = 0.22 * n + 1.1 + (0.3 if self.title else 0.0)  # inches
            fig = plt.figure(figsize=(9.5, height))
            bottom, top = 0.6 / height, (0.45 + (0.3 if self.title else 0.0)) / height
            ax = fig.add_axes((0.40, bottom, 0.27, 1 - bottom - top))
        fig = ax.figure
        y = np.arange(n)[::-1].astype(float)
        text = blended_transform_factory(ax.transAxes, ax.transData)
        columns = {"label": -1.45, "n": -0.08, "hr": 1.06, "p": 1.78}
        self.texts_ = {k: [] for k in columns}
        top = n - 0.2
        headers = {"label": "Variable", "hr": "HR (95% CI)", "p": "p"}
        if show_n:
            headers["n"] = "N / events"
        for key, header in headers.items():
            ha = "right" if key == "n" else "left"
            ax.text(
                columns[key],
                top + 0.6,
                header,
                transform=text,
                ha=ha,
                va="bottom",
                fontsize=8,
                fontweight="bold",
            )
        estimated = frame.with_row_index("row").filter(
            pl.col("hr").is_not_null() & pl.col("hr").is_finite()
        )
        self.terms_ = estimated["term"].to_list()
        rows_y = y[estimated["row"].to_numpy()]
        hr = estimated["hr"].to_numpy()
        low = estimated["conf_low"].fill_null(np.nan).to_numpy()
        high = estimated["conf_high"].fill_null(np.nan).to_numpy()
        self.ci_lines_ = ax.hlines(rows_y, low, high, color=self.colour, lw=1.2)
        self.points_ = ax.scatter(hr, rows_y, marker="s", s=22, color=self.colour, zorder=3)
        self.reference_line_ = ax.axvline(1.0, color="grey", lw=0.8, linestyle="--")
        ax.set_xscale("log")
        finite = np.concatenate([low[np.isfinite(low)], high[np.isfinite(high)], hr, [1.0]])
        if xlim is None and finite.size:
            xlim = (float(finite.min()) / 1.15, float(finite.max()) * 1.15)
        if xlim is not None:
            ax.set_xlim(*xlim)
            _log_ticks(ax, xlim)
        self._row_texts(ax, y, columns, text, show_n)
        ax.set_ylim(-0.7, n + 0.3)
        ax.set_yticks([])
        for side in ("left", "right", "top"):
            ax.spines[side].set_visible(False)
        ax.set_xlabel(self.xlabel, fontsize=8)
        ax.tick_params(axis="x", labelsize=7)
        ax.grid(axis="x", alpha=0.3, which="both")
        self._footer(ax)
        if self.title:
            fig.suptitle(self.title, fontsize=10, x=0.01, ha="left", va="top", y=0.99)
        self.ax_, self.figure_ = ax, fig
        return self

    def _row_texts(self, ax: Any, y: np.ndarray, columns: dict, text: Any, show_n: bool) -> None:
        """Label, N / events, HR (95% CI) and p of each row, at the row's height."""
        self.row_labels_ = []
        for i, r in enumerate(self.rows.iter_rows(named=True)):
            heading = r["kind"] in ("variable", "numeric", "failed")
            label = r["label"] if heading else f"   {r['label']}"
            self.row_labels_.append(r["label"])
            self.texts_["label"].append(
                ax.text(
                    columns["label"],
                    y[i],
                    label,
                    transform=text,
                    va="center",
                    fontsize=8,
                    fontweight="bold" if heading else "normal",
                )
            )
            if show_n and not is_missing(r["n_obs"]):
                counts = f"{self.suppressor.count(r['n_obs'])} / "
                counts += self.suppressor.count(r["n_events"])
                self.texts_["n"].append(
                    ax.text(
                        columns["n"],
                        y[i],
                        counts,
                        transform=text,
                        ha="right",
                        va="center",
                        fontsize=8,
                    )
                )
            if r["kind"] == "reference":
                hr_text, p = "reference", None
            elif r["kind"] == "failed":
                hr_text, p = "not estimated", None
            elif r["hr"] is None:
                continue
            else:
                hr_text = fmt_estimate_ci(r["hr"], r["conf_low"], r["conf_high"])
                p = r["p_value"]
            self.texts_["hr"].append(
                ax.text(columns["hr"], y[i], hr_text, transform=text, va="center", fontsize=8)
            )
            if p is not None:
                bold = self.p_alpha is not None and not is_missing(p) and p < self.p_alpha
                self.texts_["p"].append(
                    ax.text(
                        columns["p"],
                        y[i],
                        fmt_p(p),
                        transform=text,
                        va="center",
                        fontsize=8,
                        fontweight="bold" if bold else "normal",
                    )
                )

    def _footer(self, ax: Any) -> None:
        """The model's N and events under the plot."""
        footer = []
        if self.n_obs is not None:
            footer.append(f"N = {self.suppressor.count(self.n_obs)}")
        if self.n_events is not None:
            footer.append(f"events = {self.suppressor.count(self.n_events)}")
        if footer:
            ax.annotate(
                "; ".join(footer),
                xy=(-1.45, 0),
                xycoords="axes fraction",
                xytext=(0, -14),
                textcoords="offset points",
                fontsize=7,
                va="top",
            )
