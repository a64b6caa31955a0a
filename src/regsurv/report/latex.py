"""LaTeX rendering of a formatted `Table`: booktabs rules, ``threeparttable`` notes.

Needs ``\\usepackage{booktabs,threeparttable}`` (and ``pdflscape`` for wide tables, which are
wrapped in ``landscape``). Bold cells, footnote marks and decimal alignment (``\\phantom{0}``
for each figure space) are kept, unlike great_tables' LaTeX output, which drops styles.
"""

from __future__ import annotations

from regsurv.report.document import FIGURE_SPACE, Table

_SPECIAL = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "<": r"\textless{}",
    ">": r"\textgreater{}",
    "–": "--",
    "—": "---",
    "≥": r"$\geq$",
    "≤": r"$\leq$",
    "−": "$-$",
    "∞": r"$\infty$",
    FIGURE_SPACE: r"\phantom{0}",
}


def escape(text: str) -> str:
    """`text` with LaTeX's special characters escaped."""
    return "".join(_SPECIAL.get(ch, ch) for ch in text)


def _cell(t: Table, i: int, j: int, text: str) -> str:
    indent = j == 0 and text.startswith("  ")
    body = escape(text[2:] if indent else text)
    if (i, j) in t.bold_cells or (j == 0 and i in t.heading_rows):
        body = rf"\textbf{{{body}}}"
    mark = t.mark(i, j)
    if mark:
        body += rf"\textsuperscript{{{escape(mark)}}}"
    return (r"\quad " if indent else "") + body


def render_table(t: Table) -> str:
    """The table as a ``table`` float (caption, label ``tab:<key>``, notes)."""
    spec = "".join("r" if t.alignment(j) == "right" else "l" for j in range(len(t.header)))
    lines = [
        r"\begin{table}[!htbp]",
        r"\centering",
        r"\begin{threeparttable}",
        rf"\caption{{{escape(t.title)}}}\label{{tab:{t.key}}}",
        rf"\begin{{tabular}}{{{spec}}}",
        r"\toprule",
    ]
    if t.spanners:
        cells, rules, j = [], [], 0
        for label, first, last in sorted(t.spanners, key=lambda s: s[1]):
            cells.extend([""] * (first - j))
            cells.append(rf"\multicolumn{{{last - first + 1}}}{{c}}{{{escape(label)}}}")
            rules.append(rf"\cmidrule(lr){{{first + 1}-{last + 1}}}")
            j = last + 1
        cells.extend([""] * (len(t.header) - j))
        lines.append(" & ".join(cells) + r" \\")
        lines.append(" ".join(rules))
    lines.append(" & ".join(escape(h) for h in t.header) + r" \\")
    lines.append(r"\midrule")
    for i, row in enumerate(t.display_rows()):
        lines.append(" & ".join(_cell(t, i, j, c) for j, c in enumerate(row)) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}"]
    notes = [*t.footnotes, *([t.note] if t.note else [])]
    if notes:
        lines.append(r"\begin{tablenotes}\footnotesize")
        for note in notes:
            mark, _, rest = note.partition(" ")
            if len(mark) == 1 and mark.isalpha() and rest:
                lines.append(rf"\item[{mark}] {escape(rest)}")
            else:
                lines.append(rf"\item {escape(note)}")
        lines.append(r"\end{tablenotes}")
    lines += [r"\end{threeparttable}", r"\end{table}"]
    body = "\n".join(lines)
    if t.wide:
        body = "\\begin{landscape}\n" + body + "\n\\end{landscape}"
    return body + "\n"
