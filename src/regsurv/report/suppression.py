"""Cell suppression that survives subtraction: primary and complementary suppression of a
published count table, and the audit that proves no hidden cell can be recomputed.

Numbers in, masks out: this is disclosure control, not statistics.

**The rule (NCDB / CMS cell-size rule).** A count in ``1..N-1`` is *sensitive* and is never
published (shown ``<N``). Zero is published: the NCDB data-use agreement and the CMS cell
size suppression policy protect cells of 1 to N-1 patients; an empty cell describes no
patient, and hiding zeros would make every table mostly hidden without protecting anyone.

**A table is linear equations.** `CountTable` holds cells (named counts) and sum equations
``total = part_1 + ... + part_k`` (rows, columns, the Missing row, the overall column, the
totals; ``n_before = n_excluded + n_after`` of a flow step; ``n_risk(t_k) = n_risk(t_k+1) +
left(t_k, t_k+1)`` of numbers at risk). *Latent* cells are counts the table never prints but
that are differences of printed ones (the patients leaving the risk set between two times,
the censored patients ``N - events``, the non-missing denominator behind a column
percentage); a sensitive latent cell must be protected like a printed one.

The study report is one `CountTable` (`report_table`): a count printed in several tables (an
arm's size in the flow, Tables 1–2 and the Kaplan–Meier tables) is one cell, so no hidden count
can be recomputed across tables either.

**Algorithm** (`suppress`). (1) Primary: hide every printed sensitive cell. (2)
Complementary, greedy: while some equation has exactly one hidden cell and that cell is
sensitive or complementary, hide the smallest published non-zero cell of that equation.
(3) Audit (`audit`); for every cell it finds under-protected, hide the smallest published
non-zero cell of an equation through that cell (else of any equation linked to it), and go
back to (2). (4) A complementary cell the audit finds determined is published again (it was
revealed anyway). The loop ends when the audit passes; a table that cannot be protected
(nothing left to hide) raises `DisclosureError`.

**Audit criterion.** What an attacker knows is what is printed: published cells (fixed),
``<N`` cells (in ``[1, N-1]``), complementary cells (``*``: not small and not zero, so
``>= N``), latent cells (``>= 0``), and the equations. For each hidden cell,
`scipy.optimize.linprog` (HiGHS) gives the smallest and largest value it can take; the
feasible values are the integers of ``[lo, hi]`` (the LP relaxation, as tau-argus uses: an
outer bound of the integer solutions). A cell is **determined** when fewer than
``required_width(N) = max(2, ceil((N-1)/2))`` integers remain for a sensitive cell (for N =
11: five values, so the published table never narrows a ``<11`` cell to fewer than half of
its range; "at least 2 values" alone would let 1..N-1 shrink to a pair) or fewer than 2 for
a complementary cell. Each LP solution is a feasible table, so the spread of the solutions
seen proves most cells protected without their own two LPs (``exact=True`` solves them all).

**Not covered** (stated so that no one relies on it): quantities that are not linear in the
counts — p-values, SMDs, survival estimates, weighted sums — are not audited (the estimates
of a group whose N is below N are hidden instead); cells known to be equal from the data
dictionary rather than from a printed sum (e.g. two fields blank for the same patients) are
treated as unrelated.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from regsurv import errors

Cell = Hashable

#: The threshold of real (non-synthetic) data when the user gives none (NCDB's rule).
DEFAULT_THRESHOLD = 11
#: What a complementary (secondary) suppressed cell shows.
COMPLEMENTARY_MARK = "*"


class DisclosureError(errors.DisclosureError, ValueError):
    """A published table would let a suppressed count be recomputed (exit 7)."""


def check_threshold(threshold: int | None) -> int | None:
    """`threshold` if it is a valid ``--suppress-below`` (None or >= 2), else ValueError.

    1 would hide nothing and 0 or a negative number used to turn suppression off silently.
    """
    if threshold is not None and (isinstance(threshold, bool) or threshold < 2):
        raise ValueError(
            f"--suppress-below must be at least 2 (counts 1..N-1 are hidden), got {threshold}"
        )
    return threshold


def threshold_for(requested: int | None, synthetic: bool) -> int | None:
    """The ``--suppress-below`` of a run: the user's (checked), else `DEFAULT_THRESHOLD` for
    real data and none for the synthetic PUF (whose report reproduces the paper's numbers)."""
    check_threshold(requested)
    if requested is None and not synthetic:
        return DEFAULT_THRESHOLD
    return requested


def required_width(threshold: int) -> int:
    """Feasible integer values an attacker must be left with for a sensitive cell."""
    return max(2, math.ceil((threshold - 1) / 2))


@dataclass(slots=True)
class CountTable:
    """Counts of one published table and the sum equations that bind them.

    `values`: cell -> count (printed cells and `latent` ones); `sums`: (total, parts) with
    ``values[total] == sum(values[p] for p in parts)`` (checked).
    """

    key: str
    values: dict[Cell, float] = field(default_factory=dict)
    sums: list[tuple[Cell, tuple[Cell, ...]]] = field(default_factory=list)
    latent: set[Cell] = field(default_factory=set)
    #: (name asked for, value) -> the name used, when the asked name held another count.
    renamed: dict[tuple[Cell, float], Cell] = field(default_factory=dict)

    def cell(self, name: Cell, value: float, *, latent: bool = False) -> Cell:
        if name in self.values and self.values[name] != value:
            raise ValueError(
                f"{self.key}: cell {name!r} given twice ({self.values[name]}, {value})"
            )
        self.values[name] = float(value)
        if latent:
            self.latent.add(name)
        return name

    def add_sum(self, total: Cell, parts: Iterable[Cell]) -> None:
        parts = tuple(parts)
        got = sum(self.values[p] for p in parts)
        if abs(got - self.values[total]) > 1e-6:
            raise ValueError(
                f"{self.key}: {total!r} = {self.values[total]:g} but its parts sum to {got:g}"
            )
        self.sums.append((total, parts))

    def add_difference(self, whole: Cell, part: Cell, name: Cell) -> Cell:
        """A latent cell ``name = whole - part`` (and the equation ``whole = part + name``)."""
        self.cell(name, self.values[whole] - self.values[part], latent=True)
        self.add_sum(whole, (part, name))
        return name


@dataclass(frozen=True, slots=True)
class Interval:
    """What an attacker can conclude about one hidden cell."""

    cell: Cell
    value: float
    low: float
    high: float
    sensitive: bool

    @property
    def width(self) -> float:
        """Number of feasible integers (inf when unbounded)."""
        if self.low > self.high:  # nothing seen yet
            return 0
        if self.high == math.inf:
            return math.inf
        return math.floor(self.high + 1e-7) - math.ceil(self.low - 1e-7) + 1


@dataclass(frozen=True, slots=True)
class Mask:
    """Which cells of a `CountTable` are hidden, and why."""

    table: CountTable
    threshold: int
    primary: frozenset[Cell]
    complementary: frozenset[Cell]

    @property
    def hidden(self) -> frozenset[Cell]:
        return self.primary | self.complementary

    def text(self, cell: Cell) -> str | None:
        """``<N`` or ``*`` for a hidden cell, None for a published one."""
        if cell in self.primary:
            return f"<{self.threshold}"
        if cell in self.complementary:
            return COMPLEMENTARY_MARK
        return None

    def without(self, cell: Cell) -> Mask:
        """The same mask with one complementary cell published (to test the audit)."""
        return Mask(self.table, self.threshold, self.primary, self.complementary - {cell})

    def summary(self) -> dict[str, object]:
        return {
            "cells": len(self.table.values) - len(self.table.latent),
            "primary": len(self.primary),
            "complementary": len(self.complementary),
        }


def _sensitive(value: float, threshold: int) -> bool:
    return 0 < value < threshold


def _components(table: CountTable, hidden: set[Cell]) -> list[list[Cell]]:
    """Hidden cells linked through equations (each is an independent LP)."""
    parent = {c: c for c in hidden}

    def find(c: Cell) -> Cell:
        while parent[c] != c:
            parent[c] = parent[parent[c]]
            c = parent[c]
        return c

    for total, parts in table.sums:
        members = [c for c in (total, *parts) if c in hidden]
        for other in members[1:]:
            parent[find(other)] = find(members[0])
    groups: dict[Cell, list[Cell]] = {}
    for c in table.values:  # the table's order, not the set's: the same masks on every run
        if c in hidden:
            groups.setdefault(find(c), []).append(c)
    return list(groups.values())


def _bounds(table: CountTable, mask_primary: set[Cell], cell: Cell, threshold: int):
    if cell in table.latent:
        return (0.0, None)
    if cell in mask_primary:
        return (1.0, float(threshold - 1))
    return (float(threshold), None)  # complementary: published as neither small nor zero


def _component_intervals(
    table: CountTable,
    cells: list[Cell],
    primary: set[Cell],
    threshold: int,
    exact: bool,
) -> list[Interval]:
    """Intervals of the cells of one component. Not `exact`: a protected cell's interval is
    the spread of the LP solutions seen (inside the true one), enough to prove the width."""
    from scipy.optimize import linprog

    index = {c: i for i, c in enumerate(cells)}
    rows, rhs = [], []
    for total, parts in table.sums:
        terms = [(total, -1.0), *((p, 1.0) for p in parts)]
        if not any(c in index for c, _ in terms):
            continue
        row = np.zeros(len(cells))
        b = 0.0
        for c, coef in terms:
            if c in index:
                row[index[c]] += coef
            else:
                b -= coef * table.values[c]
        rows.append(row)
        rhs.append(b)
    a_eq = np.array(rows) if rows else None
    b_eq = np.array(rhs) if rows else None
    bounds = [_bounds(table, primary, c, threshold) for c in cells]
    # every LP solution is a feasible table: the spread of the values seen so far proves a
    # cell protected without solving its own two LPs (most cells, after a few solves)
    seen_low = np.full(len(cells), math.inf)
    seen_high = np.full(len(cells), -math.inf)
    need = required_width(threshold)

    def solve(objective: np.ndarray) -> float:
        res = linprog(objective, A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs")
        if res.status == 3:  # unbounded: only a maximum can be
            return -math.inf
        if res.status != 0:
            raise DisclosureError(f"{table.key}: the audit's LP failed ({res.message})")
        np.minimum(seen_low, res.x, out=seen_low)
        np.maximum(seen_high, res.x, out=seen_high)
        return float(res.fun)

    out = []
    for c in cells:
        value = table.values[c]
        sensitive = _sensitive(value, threshold)
        if c in table.latent and not sensitive:
            continue
        i = index[c]
        wanted = need if sensitive else 2
        seen = Interval(c, value, seen_low[i], seen_high[i], sensitive)
        if not exact and seen.width >= wanted:
            out.append(seen)
            continue
        objective = np.zeros(len(cells))
        objective[i] = 1.0
        low = solve(objective)
        seen = Interval(c, value, seen_low[i], seen_high[i], sensitive)
        if not exact and seen.width >= wanted:
            out.append(seen)
            continue
        high = -solve(-objective)
        out.append(Interval(c, value, low, high, sensitive))
    return out


def audit(mask: Mask, cache: dict | None = None, *, exact: bool = False) -> list[Interval]:
    """The attacker's interval of every hidden cell and every sensitive latent cell.

    `exact`: the smallest and largest value of each (two LPs per cell); otherwise a protected
    cell may get a narrower interval that already proves it protected (determined cells are
    always exact). `cache` (a dict kept by the caller) reuses the intervals of components that
    did not change.
    """
    table = mask.table
    hidden = set(mask.hidden) | table.latent
    primary = set(mask.primary)
    out: list[Interval] = []
    for component in _components(table, hidden):
        key = (
            frozenset(component),
            frozenset(c for c in component if c in primary),
        )
        if cache is not None and not exact and key in cache:
            out += cache[key]
            continue
        if len(component) == 1 and any(component[0] in (t, *p) for t, p in table.sums):
            c = component[0]  # alone in its equations: the subtraction gives it
            v = table.values[c]
            sensitive = _sensitive(v, mask.threshold)
            found = [] if c in table.latent and not sensitive else [Interval(c, v, v, v, sensitive)]
        else:
            found = _component_intervals(table, component, primary, mask.threshold, exact)
        if cache is not None and not exact:
            cache[key] = found
        out += found
    return out


def determined(mask: Mask, cache: dict | None = None, *, exact: bool = False) -> list[Interval]:
    """The hidden cells the published table pins down (see the module's audit criterion)."""
    need = required_width(mask.threshold)
    return [
        i
        for i in audit(mask, cache, exact=exact)
        if i.width < (need if i.sensitive else 2) and (i.sensitive or i.cell in mask.complementary)
    ]


def check(mask: Mask) -> None:
    """Raise `DisclosureError` naming the first determined cell (no value is printed)."""
    bad = determined(mask)
    if bad:
        names = ", ".join(repr(i.cell) for i in bad[:3])
        raise DisclosureError(
            f"table {mask.table.key!r}: {len(bad)} suppressed cell(s) can be recomputed from "
            f"the published ones ({names}); suppression below {mask.threshold} failed"
        )


def suppress(table: CountTable, threshold: int) -> Mask:
    """Primary plus complementary suppression of `table`, audited (see the module)."""
    check_threshold(threshold)
    state = _Suppression(table, threshold)
    cache: dict = {}
    for _ in range(4 * len(table.values) + 10):
        state.greedy()
        mask = state.mask()
        bad = determined(mask, cache)
        if not bad:
            return _publish_revealed(mask, cache)
        progressed = state.protect(bad)
        if not progressed and all(i.sensitive for i in bad):
            raise DisclosureError(
                f"table {table.key!r}: no suppression pattern protects its cells below "
                f"{threshold}; publish it with fewer rows or a coarser grouping"
            )
    raise DisclosureError(f"table {table.key!r}: complementary suppression did not converge")


class _Suppression:
    """The working state of `suppress`: the hidden cells and the candidates left to hide."""

    def __init__(self, table: CountTable, threshold: int) -> None:
        self.table, self.threshold, self.values = table, threshold, table.values
        self.primary = {
            c for c, v in self.values.items() if c not in table.latent and _sensitive(v, threshold)
        }
        self.complementary: set[Cell] = set()
        self.candidates = {
            c for c, v in self.values.items() if c not in table.latent and v >= threshold
        }
        self.by_cell: dict[Cell, list[int]] = {}
        for i, (total, parts) in enumerate(table.sums):
            for c in (total, *parts):
                self.by_cell.setdefault(c, []).append(i)

    def mask(self) -> Mask:
        return Mask(
            self.table, self.threshold, frozenset(self.primary), frozenset(self.complementary)
        )

    def needs(self, c: Cell) -> bool:
        """A hidden cell that must stay protected (sensitive, complementary or small latent)."""
        if c in self.primary or c in self.complementary:
            return True
        return c in self.table.latent and _sensitive(self.values[c], self.threshold)

    def hidden(self, c: Cell) -> bool:
        return c in self.primary or c in self.complementary or c in self.table.latent

    def smallest(self, equations: Iterable[int]) -> Cell | None:
        """The smallest published candidate of `equations` (ties by name), None if none."""
        sums = self.table.sums
        pool = {
            c
            for i in equations
            for c in (sums[i][0], *sums[i][1])
            if c in self.candidates and not self.hidden(c)
        }
        return min(pool, key=lambda c: (self.values[c], repr(c))) if pool else None

    def greedy(self) -> None:
        """Hide a partner in every equation with exactly one hidden cell that needs one."""
        changed = True
        while changed:
            changed = False
            for i, (total, parts) in enumerate(self.table.sums):
                members = [c for c in (total, *parts) if self.hidden(c)]
                if len(members) == 1 and self.needs(members[0]):
                    pick = self.smallest([i])
                    if pick is not None:  # else the audit decides whether it is protected
                        self.complementary.add(pick)
                        changed = True

    def protect(self, bad: Sequence[Interval]) -> bool:
        """React to the audit's determined cells; True when a cell was newly hidden."""
        progressed = False
        for interval in bad:
            if not interval.sensitive:  # a revealed complementary cell: publish it, for good
                self.complementary.discard(interval.cell)
                self.candidates.discard(interval.cell)
                continue
            pick = self.smallest(self.by_cell.get(interval.cell, []))
            if pick is None:
                pick = self.smallest(self._linked_equations(interval.cell))
            if pick is not None:
                self.complementary.add(pick)
                progressed = True
        return progressed

    def _linked_equations(self, cell: Cell) -> set[int]:
        """The equations of every hidden cell in `cell`'s component (to widen the search)."""
        hidden = {c for c in self.values if self.hidden(c)}
        return {
            i
            for comp in _components(self.table, hidden)
            if cell in comp
            for c in comp
            for i in self.by_cell.get(c, [])
        }


def _publish_revealed(mask: Mask, cache: dict) -> Mask:
    """Publish complementary cells whose value the table reveals anyway (re-audited)."""
    while True:
        revealed = [
            i.cell
            for i in audit(mask, cache)
            if i.cell in mask.complementary and not i.sensitive and i.width < 2
        ]
        if not revealed:
            return mask
        trial = Mask(mask.table, mask.threshold, mask.primary, mask.complementary - set(revealed))
        if determined(trial, cache):
            return mask
        mask = trial


def grid_table(key: str, counts: Sequence[Sequence[float]], *, margins: bool = True) -> CountTable:
    """The `CountTable` of an ``r x c`` table, with its margins when `margins`."""
    table = CountTable(key)
    matrix = np.asarray(counts, dtype=float)
    r, c = matrix.shape
    for i in range(r):
        for j in range(c):
            table.cell((i, j), matrix[i, j])
    if margins:
        for i in range(r):
            table.cell((i, "total"), matrix[i].sum())
            table.add_sum((i, "total"), [(i, j) for j in range(c)])
        for j in range(c):
            table.cell(("total", j), matrix[:, j].sum())
            table.add_sum(("total", j), [(i, j) for i in range(r)])
        table.cell(("total", "total"), matrix.sum())
        table.add_sum(("total", "total"), [("total", j) for j in range(c)])
        table.add_sum(("total", "total"), [(i, "total") for i in range(r)])
    return table


def naive_mask(table: CountTable, threshold: int) -> Mask:
    """Primary suppression only (what regsurv did before): for tests and comparisons."""
    primary = frozenset(
        c for c, v in table.values.items() if c not in table.latent and _sensitive(v, threshold)
    )
    return Mask(table, threshold, primary, frozenset())


__all__ = [
    "COMPLEMENTARY_MARK",
    "DEFAULT_THRESHOLD",
    "NONMISSING",
    "TOTAL",
    "CountHook",
    "CountTable",
    "DisclosureError",
    "Interval",
    "Mask",
    "at_risk",
    "audit",
    "check",
    "check_threshold",
    "count",
    "cox_cells",
    "cox_univariable_cells",
    "determined",
    "events",
    "flow_count",
    "flow_excluded",
    "grid_table",
    "group_size",
    "iptw_cells",
    "km_cells",
    "matching_cells",
    "naive_mask",
    "report_table",
    "required_width",
    "size",
    "summary_table_cells",
    "suppress",
    "threshold_for",
    "trend_cells",
]


# -- the cells of a study report -------------------------------------------------------------
# One `CountTable` holds every count the report publishes, each under one name wherever it is
# printed (the size of a treatment arm is the same cell in the flow, a summary table and the
# Kaplan–Meier tables), so that no suppressed count can be recomputed across tables either.

#: A kind's hook ``(table, record, results)``: add the counts one analysis record publishes
#: (and the sums that bind them) to the report's table.
CountHook = Callable[[CountTable, Any, Any], None]

TOTAL: Cell = ("total",)
#: The `level` of `count` that means "the non-missing patients" (the percentages' base).
NONMISSING = "<non-missing>"


def size(column: str, level: str) -> Cell:
    """Patients of the cohort with ``column == level``."""
    return ("size", column, level)


def count(group_column: str | None, group: str | None, variable: str, level: str | None) -> Cell:
    """Patients of one group (None: the whole cohort) with ``variable == level``; `level` None
    is the Missing row, `NONMISSING` the base of the column percentages."""
    if group_column is None:
        if level is None:
            return ("missing", variable)
        return ("nonmissing", variable) if level == NONMISSING else size(variable, level)
    if level is None:
        return ("missing", group_column, group, variable)
    if level == NONMISSING:
        return ("nonmissing", group_column, group, variable)
    return ("count", group_column, group, variable, level)


def group_size(group_column: str, group: str) -> Cell:
    return size(group_column, group) if group != "Overall" else TOTAL


def flow_count(step: int) -> Cell:
    """Records left after flow step `step` (0: the whole PUF)."""
    return ("flow", step)


def flow_excluded(step: int) -> Cell:
    return ("flow_excluded", step)


def events(key: Any, group: str) -> Cell:
    """Events of one Kaplan–Meier group (`key`: the curve's group column, or a sample's key)."""
    return ("events", key, group)


def at_risk(key: Any, group: str, time: float) -> Cell:
    return ("at_risk", key, group, float(time))


def cox_cell(analysis_id: str, what: str) -> Cell:
    """``n``, ``events`` or ``dropped`` of the Cox model of analysis `analysis_id`."""
    return ("cox", analysis_id, what)


def ps_cell(analysis_id: str, what: str, group: str | None = None) -> Cell:
    """Counts of a propensity (iptw) analysis: ``n``, ``dropped``, ``events``; with `group`
    the patients of one arm (``what="n"``; ``group="Overall"`` is ``n``)."""
    return ("ps", analysis_id, what) if group is None else ("ps", analysis_id, what, group)


def match_cell(analysis_id: str, what: str, group: str | None = None) -> Cell:
    """Counts of a matching analysis: ``sets``, ``n``, ``events``; per arm ``matched``,
    ``unmatched``, ``events``."""
    return ("match", analysis_id, what) if group is None else ("match", analysis_id, what, group)


def _add(table: CountTable, name: Cell, value: float, fallback: Cell) -> Cell:
    """`name`, or `fallback` when `name` already holds another value (not the same count)."""
    if name in table.values and table.values[name] != float(value):
        table.renamed[(name, float(value))] = fallback
        name = fallback
    return table.cell(name, value)


def _try_sum(table: CountTable, total: Cell, parts: Sequence[Cell]) -> None:
    """Add the equation when it holds (an equation that holds is known to an attacker)."""
    got = sum(table.values[p] for p in parts)
    if abs(got - table.values[total]) < 1e-6 and (total, tuple(parts)) not in table.sums:
        table.add_sum(total, parts)


def report_table(results: Any, hooks: Mapping[str, CountHook]) -> CountTable:
    """Every count the study report publishes, with the equations between them: the flow and
    the exposure groups, then each analysis through the `hooks` entry of its kind. A computed
    analysis whose kind has no hook is refused (its counts could not be audited)."""
    t = CountTable("report")
    flow = results.flow
    t.cell(flow_count(0), flow.n_start)
    steps = list(flow.to_frame().iter_rows(named=True))
    for k, r in enumerate(steps, start=1):
        after = TOTAL if k == len(steps) else flow_count(k)
        t.cell(after, r["n_after"])
        t.cell(flow_excluded(k), r["n_excluded"])
        t.add_sum(flow_count(k - 1), (flow_excluded(k), after))
    if not steps:
        t.cell(TOTAL, flow.n_final)
        t.add_sum(flow_count(0), (TOTAL,))
    exposure = results.spec.cohort.exposure_group
    if results.group_counts:
        groups = [size(exposure, g) for g in results.group_counts]
        for g, n in results.group_counts.items():
            _add(t, size(exposure, g), n, ("exposure", g))
        _try_sum(t, TOTAL, groups)
    for record in results.analyses.values():
        if record.failed:
            continue
        hook = hooks.get(record.kind)
        if hook is None:
            raise DisclosureError(
                f"analysis {record.spec.id!r}: kind {record.kind!r} registers no count cells, "
                "so its counts cannot be audited; run it without --suppress-below"
            )
        hook(t, record, results)
    return t


def summary_table_cells(t: CountTable, a: Any, results: Any) -> None:
    """A summary table: group sizes, each level's count per group and overall, the Missing
    row, the non-missing base of the column percentages; rows, columns and margins."""
    table = a.table
    col = table.group
    groups = [*table.groups, "Overall"]
    sizes = dict(zip(table.groups, table.group_sizes.tolist(), strict=True))
    sizes["Overall"] = float(sum(table.group_sizes))
    key = a.spec.id
    for g in groups:
        _add(t, group_size(col, g), sizes[g], (key, "size", g))
    _try_sum(t, TOTAL, [group_size(col, g) for g in table.groups])
    rows = table.rows
    for variable in table.variables:
        sub = rows.filter(rows["variable"] == variable)
        if sub.height == 0:
            continue
        kind = sub["kind"][0]
        names: dict[tuple[str, str | None], Cell] = {}
        for r in sub.iter_rows(named=True):
            g = r["group"]
            level = None if r["is_missing"] else r["level"]
            if kind == "continuous" and level is not None:
                continue
            gc = None if g == "Overall" else col
            names[(g, level)] = _add(
                t, count(gc, g, variable, level), r["n"], (key, variable, g, level)
            )
        levels = list(dict.fromkeys(lv for (_g, lv) in names if lv is not None))
        for g in groups:
            gc = None if g == "Overall" else col
            parts = [names[(g, lv)] for lv in levels if (g, lv) in names]
            base = sum(t.values[p] for p in parts)
            if kind == "continuous":
                base = sizes[g] - (t.values[names[(g, None)]] if (g, None) in names else 0.0)
            nonmissing = _add(
                t, count(gc, g, variable, NONMISSING), base, (key, variable, g, NONMISSING)
            )
            if kind == "continuous":
                t.latent.add(nonmissing)
            else:
                _try_sum(t, nonmissing, parts)
            if (g, None) not in names:  # no Missing row: none missing (the tests say 0)
                names[(g, None)] = _add(
                    t,
                    count(gc, g, variable, None),
                    sizes[g] - t.values[nonmissing],
                    (key, variable, g, None),
                )
            _try_sum(t, group_size(col, g), [nonmissing, names[(g, None)]])
        for lv in [*levels, None]:
            arms = [names.get((g, lv)) for g in table.groups]
            if (("Overall", lv) in names) and all(x is not None for x in arms):
                _try_sum(t, names[("Overall", lv)], arms)
        _try_sum(
            t,
            count(None, None, variable, NONMISSING),
            [count(col, g, variable, NONMISSING) for g in table.groups],
        )


def trend_cells(t: CountTable, a: Any, results: Any) -> None:
    """A trend test: patients and events per level (the non-events are latent)."""
    trend = a.trend
    v = trend.variable
    for level, n_obs, n_events in zip(trend.levels, trend.n_obs, trend.n_events, strict=True):
        whole = _add(t, size(v, level), n_obs, ("trend_n", a.spec.id, level))
        ev = _add(
            t,
            ("trend_events", v, trend.outcome, level),
            n_events,
            ("trend_events", a.spec.id, level),
        )
        t.add_difference(whole, ev, ("trend_non_events", a.spec.id, level))


def _survival_cells(
    t: CountTable,
    key: Any,
    summary: Any,
    at: Any,
    n_cell: Callable[[str], Cell],
    whole: Cell | None,
) -> None:
    """N, events and numbers at risk of the groups of one set of curves (`key` names their
    events and at-risk cells); the patients leaving the risk set between two printed times
    and the censored patients are latent cells."""
    times = sorted(set(at["time"].to_list())) if at is not None else []
    groups, total_events = [], []
    for r in summary.iter_rows(named=True):
        g = r["group"]
        n = _add(t, n_cell(g), r["n_obs"], ("km_n", key, g))
        groups.append(n)
        ev = _add(t, events(key, g), r["n_events"], ("km_events", key, g))
        total_events.append(ev)
        if ("censored", key, g) not in t.values:
            t.add_difference(n, ev, ("censored", key, g))
        if at is None:
            continue
        mine = at.filter(at["group"] == g)
        risk = dict(zip(mine["time"].to_list(), mine["n_risk"].to_list(), strict=True))
        previous = None
        for time in times:  # a time past the group's last row has nobody at risk
            cell = t.cell(at_risk(key, g, time), risk.get(time, 0.0))
            if previous is None:
                _try_sum(t, n, [cell])
            elif ("left", key, g, time) not in t.values:
                t.add_difference(previous, cell, ("left", key, g, time))
            previous = cell
    if whole is not None and whole in t.values:
        _try_sum(t, whole, groups)
    total = ("events_total", key)
    if total not in t.values:
        t.cell(total, sum(t.values[e] for e in total_events))
        t.add_sum(total, total_events)


def km_cells(t: CountTable, km: Any, results: Any) -> None:
    """A Kaplan–Meier analysis: N, events and numbers at risk of each group."""
    column = km.spec.group
    base = count(None, None, column, NONMISSING)
    _survival_cells(
        t,
        column,
        km.median,
        km.at_risk,
        lambda g: size(column, g),
        base if base in t.values else TOTAL,
    )


def _cox_counts(t: CountTable, n: Cell, dropped: Cell, ev: Cell, model: Any, key: Any) -> None:
    n = _add(t, n, model.n_obs, (key, "n"))
    dropped = _add(t, dropped, model.n_dropped, (key, "dropped"))
    _try_sum(t, TOTAL, [n, dropped])
    ev = _add(t, ev, model.n_events, (key, "events"))
    if (key, "censored") not in t.values:
        t.add_difference(n, ev, (key, "censored"))


def cox_univariable_cells(t: CountTable, a: Any, results: Any) -> None:
    """One Cox model per covariate: its N (the covariate's non-missing patients), dropped
    rows (its Missing row) and events."""
    for cov, res in a.models.items():
        _cox_counts(
            t,
            count(None, None, cov, NONMISSING),
            count(None, None, cov, None),
            ("cox_events", cov),
            res,
            ("cox_uv", a.spec.id, cov),
        )


def cox_cells(t: CountTable, a: Any, results: Any) -> None:
    """A multivariable Cox model: N, events, dropped rows."""
    i = a.spec.id
    _cox_counts(t, cox_cell(i, "n"), cox_cell(i, "dropped"), cox_cell(i, "events"), a.model, i)


def iptw_cells(t: CountTable, p: Any, results: Any) -> None:
    """A propensity analysis: complete cases, dropped rows, patients per arm, the weighted
    Cox model's events (its weighted sums are not counts and are not audited)."""
    i = p.spec.id
    n = t.cell(ps_cell(i, "n"), p.n_obs)
    dropped = t.cell(ps_cell(i, "dropped"), p.n_dropped)
    _try_sum(t, TOTAL, [n, dropped])
    arms = []
    for r in p.weights.summary().iter_rows(named=True):
        if r["group"] == "Overall":
            continue
        arms.append(
            _add(t, size(p.spec.treatment, r["group"]), r["n"], ps_cell(i, "n", r["group"]))
        )
    _try_sum(t, n, arms)
    _add(t, n, p.balance.n_obs, ps_cell(i, "balance"))
    cox = getattr(p.survival, "cox", None)
    if cox is not None and cox.n_obs == p.n_obs:
        t.add_difference(n, t.cell(ps_cell(i, "events"), cox.n_events), ps_cell(i, "censored"))


def matching_cells(t: CountTable, m: Any, results: Any) -> None:
    """A matching analysis: sets, matched and unmatched per arm, the matched sample's N,
    events and (unweighted) numbers at risk."""
    i = m.spec.id
    matching = m.matching
    sets = t.cell(match_cell(i, "sets"), matching.n_sets)
    propensity = results.analyses.get(m.spec.propensity)
    treatment = m.spec.treatment or (propensity.spec.treatment if propensity else None)
    for g, k in matching.n_matched().items():
        matched = t.cell(match_cell(i, "matched", g), k)
        _try_sum(t, sets, [matched])
        unmatched = t.cell(match_cell(i, "unmatched", g), matching.n_unmatched.get(g, 0))
        for arm in (ps_cell(m.spec.propensity, "n", g), size(str(treatment), g)):
            if arm in t.values:  # the arm's complete cases: matched + unmatched
                _try_sum(t, arm, [matched, unmatched])
    _add(t, ps_cell(m.spec.propensity, "n"), m.balance.n_obs, match_cell(i, "balance"))
    km = m.survival.km
    n = t.cell(match_cell(i, "n"), km.n_obs)
    _try_sum(t, n, [match_cell(i, "matched", g) for g in matching.n_matched()])
    if km.weighted:  # weighted curves: only the whole sample's events are counts
        t.add_difference(n, t.cell(match_cell(i, "events"), km.n_events), match_cell(i, "cens"))
        return
    key = ("matched", i)
    summary = km.median().select("group", "n_obs", "n_events")
    _survival_cells(
        t,
        key,
        summary,
        km.at(list(results.spec.outcome.at_risk_times)),
        lambda g: match_cell(i, "matched", g),
        n,
    )
