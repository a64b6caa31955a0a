"""Fig. 1: the inclusion flow diagram (CONSORT style), drawn from a `CohortFlow`.

Start box -> one exclusion box per criterion (to the right of the main line, with its count)
-> the included cohort -> one box per treatment group. matplotlib is imported lazily (Agg).
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from regsurv.report.figures import FORMATS, pyplot, save_figure


def _n(value: int) -> str:
    return f"n = {value:,}"


class CohortFlowDisplay:
    """Draw the inclusion flow of `regsurv.cohort.apply_criteria`.

    Holds data only; `plot` draws and stores the artists: `ax_`, `figure_`, `boxes_` (box id ->
    matplotlib Text: ``"start"``, each step id, ``"included"``, ``"group:<name>"``).
    """

    def __init__(
        self,
        *,
        flow: Any,
        groups: Mapping[str, int] | None = None,
        start_label: str = "NCDB PUF cases",
        included_label: str = "Included in the analysis",
        wrap: int = 42,
    ):
        self.flow = flow
        self.groups = dict(groups or {})
        self.start_label = start_label
        self.included_label = included_label
        self.wrap = wrap

    @classmethod
    def from_result(cls, flow: Any, groups: Mapping[str, int] | None = None, *, ax=None, **kw):
        """Build and draw in one call."""
        return cls(flow=flow, groups=groups, **kw).plot(ax=ax)

    def lines(self) -> list[str]:
        """The diagram as text, one box per line (for tests and the console)."""
        out = [f"{self.start_label} ({_n(self.flow.n_start)})"]
        out += [f"  excluded: {s.label} ({_n(s.n_excluded)})" for s in self.flow.steps]
        out.append(f"{self.included_label} ({_n(self.flow.n_final)})")
        out += [f"  {name} ({_n(n)})" for name, n in self.groups.items()]
        return out

    def _wrap(self, text: str) -> str:
        return "\n".join(textwrap.wrap(text, self.wrap)) or text

    def plot(self, ax=None) -> CohortFlowDisplay:
        plt = pyplot()
        steps: Sequence[Any] = self.flow.steps
        n_rows = len(steps) + 3  # start, steps, included, groups
        if ax is None:
            width = max(8.0, 2.8 * max(len(self.groups), 1))
            _, ax = plt.subplots(figsize=(width, 1.0 + 0.85 * n_rows))
        ax.set_xlim(0, 10)
        ax.set_ylim(-0.5, n_rows - 0.5)
        ax.axis("off")
        box = {"boxstyle": "square,pad=0.5", "facecolor": "white", "edgecolor": "black"}
        text_kw = {"ha": "center", "va": "center", "fontsize": 9, "bbox": box}
        main_x, side_x = 3.0, 5.2
        self.boxes_: dict[str, Any] = {}

        def y(row: int) -> float:
            return n_rows - 1 - row

        self.boxes_["start"] = ax.text(
            main_x, y(0), f"{self.start_label}\n{_n(self.flow.n_start)}", **text_kw
        )
        for i, step in enumerate(steps, start=1):
            self.boxes_[step.id] = ax.text(
                side_x,
                y(i),
                f"{self._wrap(step.label)}\n{_n(step.n_excluded)}",
                **{**text_kw, "fontsize": 8, "ha": "left"},
            )
            ax.annotate(
                "",
                xy=(side_x - 0.15, y(i)),
                xytext=(main_x, y(i)),
                arrowprops={"arrowstyle": "->", "color": "black"},
            )
        included_row = len(steps) + 1
        self.boxes_["included"] = ax.text(
            main_x, y(included_row), f"{self.included_label}\n{_n(self.flow.n_final)}", **text_kw
        )
        ax.annotate(
            "",
            xy=(main_x, y(included_row) + 0.3),
            xytext=(main_x, y(0) - 0.3),
            arrowprops={"arrowstyle": "->", "color": "black"},
        )
        if self.groups:
            k = len(self.groups)
            xs = [10 * (j + 0.5) / k for j in range(k)]
            for x, (name, n) in zip(xs, self.groups.items(), strict=True):
                self.boxes_[f"group:{name}"] = ax.text(
                    x, y(included_row + 1), f"{self._wrap(name)}\n{_n(n)}", **text_kw
                )
                ax.annotate(
                    "",
                    xy=(x, y(included_row + 1) + 0.3),
                    xytext=(main_x, y(included_row) - 0.3),
                    arrowprops={"arrowstyle": "->", "color": "black"},
                )
        self.ax_, self.figure_ = ax, ax.figure
        return self

    def save(self, stem: str | Path, formats: Sequence[str] = FORMATS) -> list[Path]:
        """Write the figure as ``<stem>.<format>`` for each format; returns the paths."""
        if not hasattr(self, "figure_"):
            self.plot()
        stem = Path(stem)
        return save_figure(self.figure_, stem.parent, stem.name, formats, close=False)

    def close(self) -> None:
        """Release the matplotlib figure."""
        if hasattr(self, "figure_"):
            pyplot().close(self.figure_)
