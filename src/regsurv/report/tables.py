"""Publication tables from regsurv's result objects (gtsummary's ``tbl_summary``,
``tbl_regression``/``tbl_uvregression`` + ``tbl_merge``, ``tbl_survfit``; cobalt's ``bal.tab``).

Numbers in, formatted table out: every function takes a result (`describe.summary_table`'s
`SummaryTable`, `survival.cox_ph`'s `CoxResult`, `survival.kaplan_meier`'s `SurvivalCurves`,
`causal.balance_table`'s `BalanceTable`) and returns a `document.Table`, the object the report
itself renders, so one table reads the same in ``to_html()`` (and Jupyter), ``to_docx()``,
``to_latex()`` and ``to_csv()``. Nothing here estimates anything: values come from the
results' own ``to_frame()``, ``median()``, ``at()``, ``type3()``.

Conventions, as gtsummary's: variable rows with their levels indented under them; p-values as
``<0.001`` or three decimals, bold when below ``p_alpha``; the test behind each p-value as a
footnote letter (one "Test" footnote, not a column); numbers decimal-aligned (figure-space
padding, so the alignment survives HTML, Word, LaTeX and a copy-paste); an overall column;
spanning headers over groups or models; small counts through a `Suppressor`-like object
(``count``, ``count_pct``, ``hides``, ``text``, and ``cell``/``cell_pct``/``cell_hidden``, which
name each count by its `regsurv.report.suppression` cell so that a planned suppressor applies
the report's complementary suppression; without a mask they are ``count``/``count_pct``).

**HTML: hand-written, not great_tables.** Measured here (great_tables 1.1, 80-row table):
great_tables takes ~80 ms per table and inlines ~26 KB of CSS per table (the report has 15),
its LaTeX output drops cell styles ("Styles are not yet supported in LaTeX output", so no bold
p-values), it has no Word output, and the report must be one offline file whose suppression,
bold cells and footnote marks follow the same rules in HTML, Word and LaTeX. The hand-written
renderer (`html.render_table`, `latex.render_table`, `docx.write_docx`) works from one
`Table`, renders a 60-row table in ~5 ms (great_tables: ~890 ms in the same run, a
loaded 2-core machine) and needs no dependency.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl

from regsurv.report.document import Table
from regsurv.report.format import Suppressor, fmt_estimate_ci, fmt_num, fmt_p, is_missing
from regsurv.report.suppression import NONMISSING, count, events, group_size, size

__all__ = [
    "format_balance",
    "format_regression",
    "format_summary",
    "format_survival",
    "p_text",
]

P_ALPHA = 0.05
_LETTERS = "abcdefghijklmnopqrstuvwxyz"


def p_text(p: float | None) -> str:
    """A p-value in running text: ``p < 0.001`` or ``p = 0.032`` (never ``p = <0.001``)."""
    shown = fmt_p(p)
    return f"p {shown[0]} {shown[1:]}" if shown.startswith("<") else f"p = {shown}"


class _Footnotes:
    """Footnote letters in order of first use: one letter per distinct text."""

    def __init__(self) -> None:
        self.letters: dict[str, str] = {}

    def letter(self, text: str) -> str:
        if text not in self.letters:
            self.letters[text] = _LETTERS[len(self.letters) % len(_LETTERS)]
        return self.letters[text]

    def lines(self) -> tuple[str, ...]:
        return tuple(f"{letter} {text}" for text, letter in self.letters.items())


def _bold_p(p: float | None, p_alpha: float | None) -> bool:
    return p_alpha is not None and not is_missing(p) and p < p_alpha


# -- Table 1 -------------------------------------------------------------------------------------


def format_summary(
    result: Any,
    *,
    key: str = "table1",
    title: str = "",
    labels: Mapping[str, str] | None = None,
    overall: bool = True,
    p_alpha: float | None = P_ALPHA,
    smd: bool = True,
    spanner: str | None = None,
    digits: int = 1,
    suppressor: Suppressor | None = None,
    notes: Sequence[str] = (),
) -> Table:
    """Table 1 of a `describe.summary_table` result (gtsummary ``tbl_summary`` + ``add_p``
    + ``add_overall`` + ``add_difference``-style SMD).

    Categorical cells are ``n (column %)``, missing values their own row (count only);
    continuous cells ``mean (SD)``. The p-value sits on the variable row with a footnote
    letter naming its test; it is bold when below ``p_alpha`` (``None``: never bold).
    ``spanner`` heads the group columns (e.g. ``"Treatment"``).
    """
    sup = suppressor or Suppressor()
    labels = dict(labels or {})
    sizes = dict(zip(result.groups, result.group_sizes.tolist(), strict=True))
    sizes["Overall"] = float(sum(result.group_sizes))
    groups = (["Overall"] if overall else []) + list(result.groups)
    header = (
        "Characteristic",
        *(f"{g} (n = {sup.cell(group_size(result.group, g), sizes[g])})" for g in groups),
        "p-value",
        *(["SMD"] if smd else []),
    )
    p_col = 1 + len(groups)
    tests = {r["variable"]: r for r in result.tests.iter_rows(named=True)}
    footnotes = _Footnotes()
    rows: list[tuple[str, ...]] = []
    headings: set[int] = set()
    bold: set[tuple[int, int]] = set()
    marks: list[tuple[int, int, str]] = []
    base = _nonmissing(result.rows)
    for variable in result.variables:
        t = tests.get(variable, {})
        sub = result.rows.filter(pl.col("variable") == variable)
        label = labels.get(variable) or (sub["label"][0] if sub.height else variable)
        i = len(rows)
        headings.add(i)
        explanation = t.get("test") or t.get("note")
        if explanation:
            marks.append((i, p_col, footnotes.letter(explanation)))
        if _bold_p(t.get("p_value"), p_alpha):
            bold.add((i, p_col))
        smd_cell = [fmt_num(t.get("smd_variable"), 3)] if smd else []
        rows.append((label, *[""] * len(groups), fmt_p(t.get("p_value")), *smd_cell))
        kind = sub["kind"][0] if sub.height else "categorical"
        for level in dict.fromkeys(sub["level"].to_list()):
            cells = {
                r["group"]: r
                for r in sub.filter(pl.col("level").eq_missing(level)).iter_rows(named=True)
            }
            out = []
            for g in groups:
                r = cells.get(g)
                col = None if g == "Overall" else result.group
                if r is None:
                    out.append("")
                elif kind == "continuous":
                    out.append(f"{fmt_num(r['mean'], digits)} ({fmt_num(r['sd'], digits)})")
                elif r["is_missing"]:
                    out.append(sup.cell(count(col, g, variable, None), r["n"]))
                else:
                    out.append(
                        sup.cell_pct(
                            count(col, g, variable, level),
                            r["n"],
                            r["percent"],
                            count(col, g, variable, NONMISSING),
                            base.get((variable, g)),
                            digits,
                        )
                    )
            level_smd = cells.get("Overall", {}).get("smd") if cells else None
            smd_cell = ([fmt_num(level_smd, 3) if level_smd is not None else ""]) if smd else []
            rows.append((f"  {level}", *out, "", *smd_cell))
    all_notes = [
        "Cells: n (column %); percentages exclude missing values, which are "
        "shown as their own row and left out of the tests.",
        *result.notes,
        f"SMD: largest absolute standardized difference over pairs of groups ({result.smd_rule})."
        if smd
        else "",
        *notes,
    ]
    return Table(
        key=key,
        title=title,
        header=header,
        rows=tuple(rows),
        note=" ".join(dict.fromkeys(n for n in all_notes if n)),
        tidy=_summary_tidy(result, sup),
        heading_rows=frozenset(headings),
        bold_cells=frozenset(bold),
        marks=tuple(marks),
        footnotes=footnotes.lines(),
        spanners=((spanner, 1 + int(overall), len(groups)),) if spanner else (),
        align=("left", *["decimal"] * (len(header) - 1)),
    )


def _nonmissing(rows: pl.DataFrame) -> dict[tuple[str, str], float]:
    """(variable, group) -> its non-missing patients (the base of the column percentages)."""
    frame = rows.filter(~pl.col("is_missing")).group_by("variable", "group").agg(pl.col("n").sum())
    return {(r["variable"], r["group"]): r["n"] for r in frame.iter_rows(named=True)}


def _summary_tidy(result: Any, sup: Any) -> pl.DataFrame:
    """The CSV export of a summary table with the report's suppression of its counts (when
    `sup` carries a mask): a column percentage goes with its count and its base, a row
    percentage with its count and the level's overall count."""
    frame = result.to_frame()
    if getattr(sup, "mask", None) is None:
        return frame
    col = result.group
    base_n = _nonmissing(result.rows)
    overall = {
        (r["variable"], r["level"]): r["n"]
        for r in frame.filter(pl.col("group") == "Overall").iter_rows(named=True)
    }
    names, base_hidden, row_hidden = [], [], []
    for r in frame.iter_rows(named=True):
        g, v = r["group"], r["variable"]
        gc = None if g == "Overall" else col
        level = None if r["is_missing"] else r["level"]
        names.append(count(gc, g, v, level))
        base_hidden.append(
            r["kind"] == "categorical"
            and sup.cell_hidden(count(gc, g, v, NONMISSING), base_n.get((v, g)))
        )
        row_hidden.append(
            sup.cell_hidden(count(None, None, v, level), overall.get((v, r["level"])))
        )
    cells = {"n": names}
    if "n_obs" in frame.columns:  # the tests' complete cases and missing rows per variable
        cells["n_obs"] = [count(None, None, v, NONMISSING) for v in frame["variable"]]
    if "n_missing" in frame.columns:
        cells["n_missing"] = [count(None, None, v, None) for v in frame["variable"]]
    return sup.mask_frame(frame, cells, {"percent": base_hidden, "row_percent": row_hidden})


# -- Cox models ----------------------------------------------------------------------------------

Model = Any  # a CoxResult, or a mapping covariate -> CoxResult | str (univariable models)


def _terms_of(model: Model) -> dict[str, Any]:
    """Design terms by covariate, from a fitted model or a mapping of them."""
    results = model.values() if isinstance(model, Mapping) else [model]
    return {t.column: t for r in results if not isinstance(r, str) for t in r.design}


def _covariates(model: Model) -> list[str]:
    if isinstance(model, Mapping):
        return list(model)
    if model.design:
        return [t.column for t in model.design]
    return list(dict.fromkeys(term.split(":", 1)[0] for term in model.terms))


def _default_label(column: str) -> str:
    return column.replace("_", " ").capitalize()


def format_regression(
    *models: Model,
    names: Sequence[str] | None = None,
    key: str = "regression",
    title: str = "",
    labels: Mapping[str, str] | None = None,
    levels: Mapping[str, Sequence[str]] | None = None,
    global_p: bool = True,
    show_n: bool | None = None,
    p_alpha: float | None = P_ALPHA,
    reference_text: str = "1 (reference)",
    digits: int = 2,
    suppressor: Suppressor | None = None,
    note: str | None = None,
) -> Table:
    """Hazard ratios of one or more Cox models side by side (gtsummary ``tbl_regression``,
    ``tbl_uvregression``, ``tbl_merge``; Table 3 style).

    Each model is a `CoxResult` (all its covariates) or a mapping ``covariate -> CoxResult``
    of univariable models (a value that is a string is the reason the model was not estimated).
    Factors get a variable row, then one row per level with the reference as
    ``reference_text``; with ``global_p`` the variable row holds the type-3 Wald p of all its
    levels jointly (``CoxResult.type3()``; gtsummary ``add_global_p``) for factors of three or
    more levels. ``show_n`` (default: for univariable mappings) adds N and Events columns; a
    single fitted model's N and events are in the spanner (several models) or the note.
    ``names`` label the models (spanners; default none for one model).
    """
    if not models:
        raise ValueError("format_regression needs at least one model")
    if names is not None and len(names) != len(models):
        raise ValueError(f"names has {len(names)} entries for {len(models)} models")
    sup = suppressor or Suppressor()
    spanned = names is not None or len(models) > 1
    names = list(names) if names is not None else [f"Model {k + 1}" for k in range(len(models))]
    with_n = [isinstance(m, Mapping) if show_n is None else show_n for m in models]
    layout = _RegressionRows(
        models,
        with_n=with_n,
        global_p=global_p,
        p_alpha=p_alpha,
        reference_text=reference_text,
        digits=digits,
        suppressor=sup,
    )
    spanners = layout.header(names)
    layout.add_covariates(dict(labels or {}), {k: list(v) for k, v in (levels or {}).items()})
    if note is None:
        note = _regression_note(models, spanned, sup)
    align = ["left"]
    for k in range(len(models)):
        align += ["decimal", "decimal"] + (["right", "right"] if with_n[k] else [])
    return Table(
        key=key,
        title=title,
        header=tuple(layout.columns),
        rows=tuple(tuple(r) for r in layout.rows),
        note=note,
        tidy=_regression_tidy(models, names if spanned else None, sup),
        heading_rows=frozenset(layout.headings),
        bold_cells=frozenset(layout.bold),
        marks=tuple(layout.marks),
        footnotes=layout.footnotes.lines(),
        spanners=tuple(spanners) if spanned else (),
        align=tuple(align),
    )


def _regression_note(models: Sequence[Model], spanned: bool, sup: Suppressor) -> str:
    single = [m for m in models if not isinstance(m, Mapping)]
    return (
        f"N = {sup.count(single[0].n_obs)}; events = {sup.count(single[0].n_events)}. "
        if len(single) == 1 and not spanned
        else ""
    ) + "HR: hazard ratio; Wald 95% CIs and p-values."


def _fitted(model: Model, column: str) -> Any:
    return model.get(column) if isinstance(model, Mapping) else model


class _RegressionRows:
    """The cells of `format_regression`: header, one row per numeric covariate, a variable
    row then level rows per factor, with bold p-values and footnote marks."""

    def __init__(
        self,
        models: Sequence[Model],
        *,
        with_n: list[bool],
        global_p: bool,
        p_alpha: float | None,
        reference_text: str,
        digits: int,
        suppressor: Suppressor,
    ) -> None:
        self.models = models
        self.with_n = with_n
        self.p_alpha = p_alpha
        self.reference_text = reference_text
        self.digits = digits
        self.sup = suppressor
        self.terms: dict[str, Any] = {}
        self.covariates: list[str] = []
        for m in models:
            for column, term in _terms_of(m).items():
                self.terms.setdefault(column, term)
            self.covariates += [c for c in _covariates(m) if c not in self.covariates]
        self.coefficient = [self._coefficients(m) for m in models]
        self.overall = [self._type3(m) if global_p else {} for m in models]
        self.footnotes = _Footnotes()
        self.columns: list[str] = ["Variable" if len(models) == 1 else "Characteristic"]
        self.first_col: list[int] = []
        self.rows: list[list[str]] = []
        self.headings: set[int] = set()
        self.bold: set[tuple[int, int]] = set()
        self.marks: list[tuple[int, int, str]] = []

    @staticmethod
    def _fits(model: Model) -> list[Any]:
        fits = model.values() if isinstance(model, Mapping) else [model]
        return [r for r in fits if r is not None and not isinstance(r, str)]

    def _coefficients(self, model: Model) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for r in self._fits(model):
            out.update({row["term"]: row for row in r.to_frame().iter_rows(named=True)})
        return out

    def _type3(self, model: Model) -> dict[str, float]:
        out: dict[str, float] = {}
        for r in self._fits(model):
            if r.design:
                tests = r.type3()
                out.update(zip(tests.terms, tests.p_value.tolist(), strict=True))
        return out

    def header(self, names: Sequence[str]) -> list[tuple[str, int, int]]:
        """Append each model's columns; return its spanner (label, first, last column)."""
        spanners = []
        for k, m in enumerate(self.models):
            self.first_col.append(len(self.columns))
            self.columns += ["HR (95% CI)", "p-value"] + (["N", "Events"] if self.with_n[k] else [])
            label = names[k]
            if not isinstance(m, Mapping):
                label += f" (N = {self.sup.count(m.n_obs)}; events = {self.sup.count(m.n_events)})"
            spanners.append((label, self.first_col[k], len(self.columns) - 1))
        return spanners

    def _blank(self, label: str) -> list[str]:
        return [label] + [""] * (len(self.columns) - 1)

    def _put_p(self, i: int, c: int, p: float | None, row: list[str]) -> None:
        row[c] = fmt_p(p)
        if _bold_p(p, self.p_alpha):
            self.bold.add((i, c))

    def _put_estimate(self, row: list[str], i: int, k: int, term: str) -> None:
        r = self.coefficient[k].get(term)
        if r is None:
            return
        c = self.first_col[k]
        row[c] = fmt_estimate_ci(r["hr"], r["hr_conf_low"], r["hr_conf_high"], self.digits)
        self._put_p(i, c + 1, r["p_value"], row)

    def _variable_row(self, column: str, label: str) -> list[str]:
        row = self._blank(label)
        for k, m in enumerate(self.models):
            r = _fitted(m, column)
            c = self.first_col[k]
            if isinstance(r, str):
                row[c] = f"not estimated: {self.sup.text(r)}"
            elif r is not None and self.with_n[k] and isinstance(m, Mapping):
                row[c + 2] = self.sup.cell(count(None, None, column, NONMISSING), r.n_obs)
                row[c + 3] = self.sup.cell(("cox_events", column), r.n_events)
        return row

    def add_covariates(self, labels: dict[str, str], levels: dict[str, list[str]]) -> None:
        for column in self.covariates:
            term = self.terms.get(column)
            i = len(self.rows)
            row = self._variable_row(column, labels.get(column) or _default_label(column))
            self.rows.append(row)
            if term is None or term.kind == "numeric":
                for k in range(len(self.models)):
                    self._put_estimate(row, i, k, column)
                if term is None:
                    self.headings.add(i)
                continue
            self.headings.add(i)
            self._overall_p(row, i, column, term)
            for level in levels.get(column) or list(term.levels):
                self._level_row(column, term, level)

    def _overall_p(self, row: list[str], i: int, column: str, term: Any) -> None:
        for k in range(len(self.models)):
            p = self.overall[k].get(column)
            if p is not None and len(term.levels) > 2:
                c = self.first_col[k] + 1
                self._put_p(i, c, p, row)
                self.marks.append((i, c, self.footnotes.letter(_TYPE3)))

    def _level_row(self, column: str, term: Any, level: str) -> None:
        i = len(self.rows)
        row = self._blank(f"  {level}")
        for k, m in enumerate(self.models):
            r = _fitted(m, column)
            if r is None or isinstance(r, str):
                continue
            if level == term.reference:
                row[self.first_col[k]] = self.reference_text
            else:
                self._put_estimate(row, i, k, f"{column}:{level}")
        self.rows.append(row)


_TYPE3 = "Overall p: type-3 Wald chi-square test of all levels jointly (SAS PHREG type 3)."


def _regression_tidy(
    models: Sequence[Model], names: Sequence[str] | None, sup: Any = None
) -> pl.DataFrame | None:
    masked = getattr(sup, "mask", None) is not None
    frames = []
    for k, m in enumerate(models):
        if isinstance(m, Mapping):
            parts = [
                r.to_frame().with_columns(
                    pl.lit(c).alias("model"),
                    pl.lit(
                        sup.cell_field(count(None, None, c, NONMISSING), r.n_obs)
                        if masked
                        else r.n_obs
                    ).alias("n_obs"),
                )
                for c, r in m.items()
                if r is not None and not isinstance(r, str)
            ]
            if not parts:
                continue
            frame = pl.concat(parts)
        else:
            frame = m.to_frame()
        if names is not None:
            frame = frame.with_columns(pl.lit(names[k]).alias("table_column"))
        frames.append(frame)
    return pl.concat(frames, how="diagonal") if frames else None


# -- survival ------------------------------------------------------------------------------------


def format_survival(
    curves: Any,
    *,
    times: Sequence[float] = (),
    key: str = "survival",
    title: str = "",
    logrank: Any = None,
    outcome: str = "OS",
    time_unit: str = "years",
    digits: int = 1,
    suppressor: Suppressor | None = None,
    note: str = "",
) -> Table:
    """Median and x-time survival with CIs per group (gtsummary ``tbl_survfit``), from a
    `SurvivalCurves` (its ``median()`` and ``at(times)``); survival in percent.

    A group whose size a suppressor hides shows no estimate (it would reveal the count);
    ``logrank`` (a `LogrankResult`) adds its chi-square and p to the note.
    """
    sup = suppressor or Suppressor()
    med = curves.median()
    at = curves.at(list(times)) if len(times) else None
    header = (
        "Group",
        "N",
        "Events",
        f"Median {outcome}, {time_unit} (95% CI)",
        *(f"{t:g}-{time_unit.rstrip('s')} {outcome}, % (95% CI)" for t in times),
    )
    rows = []
    for r in med.iter_rows(named=True):
        g = r["group"]
        cells = []
        for t in times:
            a = at.filter((pl.col("group") == g) & (pl.col("time") == t))
            if a.height == 0 or is_missing(a["estimate"][0]):
                cells.append("NA")
            else:
                v = a.row(0, named=True)
                cells.append(
                    fmt_estimate_ci(
                        100 * v["estimate"],
                        None if is_missing(v["conf_low"]) else 100 * v["conf_low"],
                        None if is_missing(v["conf_high"]) else 100 * v["conf_high"],
                        digits,
                    )
                )
        hidden = sup.hides(r["n_obs"])
        rows.append(
            (
                g,
                sup.cell(size(curves.group, g), r["n_obs"]),
                sup.cell(events(curves.group, g), r["n_events"]),
                "<suppressed>"
                if hidden
                else fmt_estimate_ci(r["median"], r["conf_low"], r["conf_high"], digits),
                *(["<suppressed>"] * len(times) if hidden else cells),
            )
        )
    tidy = med
    if at is not None:
        tidy = med.join(
            at.select("group", "time", "estimate", "conf_low", "conf_high").pivot(
                on="time", index="group", values=["estimate", "conf_low", "conf_high"]
            ),
            on="group",
            how="left",
        )
    parts = []
    if logrank is not None:
        parts.append(
            f"Log-rank test: chi-square {fmt_num(logrank.statistic, 2)}, df {logrank.df}, "
            f"{p_text(logrank.p_value)}."
        )
        tidy = tidy.with_columns(
            pl.lit(logrank.statistic).alias("logrank_statistic"),
            pl.lit(logrank.p_value).alias("logrank_p"),
        )
    parts.append("NA: not reached (no estimate or limit).")
    if note:
        parts.append(note)
    hidden_groups = [g for g, n in zip(med["group"], med["n_obs"], strict=True) if sup.hides(n)]
    if hidden_groups and hasattr(sup, "mask_groups"):
        tidy = sup.mask_groups(tidy, hidden_groups)
    if getattr(sup, "mask", None) is not None:
        tidy = sup.mask_frame(
            tidy,
            {
                "n_obs": [size(curves.group, g) for g in tidy["group"]],
                "n_events": [events(curves.group, g) for g in tidy["group"]],
            },
        )
    return Table(
        key=key,
        title=title,
        header=header,
        rows=tuple(rows),
        note=" ".join(parts),
        tidy=tidy,
        align=("left", "right", "right", *["decimal"] * (len(header) - 3)),
    )


# -- covariate balance ---------------------------------------------------------------------------


def _balance_label(variable: str, level: str | None, labels: Mapping[str, str]) -> str:
    name = labels.get(variable, variable)
    return name if level is None else f"{name}: {level}"


def format_balance(
    balance: Any,
    *,
    key: str = "balance",
    title: str = "",
    labels: Mapping[str, str] | None = None,
    after_label: str = "after weighting",
    threshold: float | None = None,
) -> Table:
    """|SMD| before and after adjustment per covariate level (cobalt ``bal.tab``), from a
    `BalanceTable`, or a mapping ``adjustment name -> BalanceTable`` for several adjustments
    side by side (unadjusted values from the first). "Balanced" refers to the last one."""
    labels = dict(labels or {})
    tables = dict(balance) if isinstance(balance, Mapping) else {after_label: balance}
    first = next(iter(tables.values()))
    limit = first.threshold if threshold is None else threshold
    frames = {name: t.to_frame() for name, t in tables.items()}
    base = next(iter(frames.values()))
    columns = {"|SMD| before" if len(tables) == 1 else "|SMD| unadjusted": base["smd_before"]}
    for name, frame in frames.items():
        columns[f"|SMD| {name}"] = frame["smd_after"]
    last = list(columns.values())[-1].to_list()
    rows = tuple(
        (
            _balance_label(v, lv, labels),
            *(fmt_num(col[i], 3) for col in columns.values()),
            "yes" if not is_missing(last[i]) and last[i] < limit else "no",
        )
        for i, (v, lv) in enumerate(zip(base["variable"], base["level"], strict=True))
    )
    tidy = base
    if len(tables) > 1:
        tidy = pl.concat([f.with_columns(pl.lit(n).alias("adjustment")) for n, f in frames.items()])
    return Table(
        key=key,
        title=title,
        header=("Covariate", *columns, f"Balanced (< {limit:g})"),
        rows=rows,
        tidy=tidy,
        note=f"Standardized mean differences, rule '{first.rule}' (largest absolute value over "
        f"pairs of groups for max_pairwise), denominator '{first.denominator}'. "
        f"Largest after: {fmt_num(list(tables.values())[-1].max_abs_smd, 3)}.",
        align=("left", *["decimal"] * len(columns), "left"),
    )
