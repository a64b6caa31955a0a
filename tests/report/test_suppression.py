"""Cell suppression that survives subtraction: the algorithm, its audit and the report."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from regsurv.report.format import Suppressor
from regsurv.report.suppression import (
    CountTable,
    DisclosureError,
    audit,
    check,
    check_threshold,
    determined,
    flow_count,
    flow_excluded,
    grid_table,
    naive_mask,
    required_width,
    suppress,
    threshold_for,
)

# a 3 x 3 table whose only small cell (3) is the row total minus the other cells
SMALL_CORNER = [[3, 50, 60], [40, 45, 70], [30, 20, 90]]


def test_naive_suppression_is_undone_by_subtraction():
    table = grid_table("t", SMALL_CORNER)
    bad = determined(naive_mask(table, 11))
    assert [(i.cell, i.low, i.high) for i in bad] == [((0, 0), 3.0, 3.0)]
    with pytest.raises(DisclosureError, match="can be recomputed"):
        check(naive_mask(table, 11))


def test_complementary_suppression_protects_the_small_cell():
    mask = suppress(grid_table("t", SMALL_CORNER), 11)
    assert mask.primary == {(0, 0)}
    assert mask.complementary  # a row and a column partner at least
    rows = {c[0] for c in mask.hidden}
    cols = {c[1] for c in mask.hidden}
    assert len(rows) >= 2 and len(cols) >= 2  # a rectangle: every margin has two hidden cells
    (corner,) = [i for i in audit(mask) if i.cell == (0, 0)]
    assert corner.width >= required_width(11)
    assert determined(mask) == []
    check(mask)


def test_removing_a_complementary_cell_is_detected():
    mask = suppress(grid_table("t", SMALL_CORNER), 11)
    for cell in mask.complementary:
        weakened = mask.without(cell)
        assert determined(weakened), cell
        with pytest.raises(DisclosureError):
            check(weakened)


def test_zero_is_published_and_never_a_complement():
    counts = [[0, 40, 2], [25, 30, 33], [18, 0, 27]]
    mask = suppress(grid_table("z", counts), 11)
    assert (0, 0) not in mask.hidden and (2, 1) not in mask.hidden
    assert mask.primary == {(0, 2)}
    assert mask.text((0, 2)) == "<11"
    assert all(mask.text(c) == "*" for c in mask.complementary)
    shown = [c for c in mask.table.values if c not in mask.hidden]
    assert shown and all(mask.text(c) is None for c in shown)
    assert determined(mask) == []


def test_two_small_cells_in_one_row_still_need_a_column_partner():
    # row 0: 4 + 6 = 10 hides the total too, but each column still reveals its small cell
    counts = [[4, 6, 80], [50, 60, 70], [30, 40, 20]]
    table = grid_table("r", counts)
    assert determined(naive_mask(table, 11))
    assert determined(suppress(table, 11)) == []


def test_small_difference_of_published_numbers_is_protected():
    """Numbers at risk 100, 95, 60: the 5 patients leaving between the first two times are a
    small count that no published cell holds."""
    t = CountTable("km")
    n = [t.cell(("risk", k), v) for k, v in enumerate([100, 95, 60])]
    t.add_difference(n[0], n[1], "left01")
    t.add_difference(n[1], n[2], "left12")
    assert [i.cell for i in determined(naive_mask(t, 11))] == ["left01"]
    mask = suppress(t, 11)
    assert mask.hidden & {n[0], n[1]}
    assert determined(mask) == []


def test_flow_chain_is_protected():
    """n_before - n_excluded = n_after, chained: a small exclusion is hidden with a partner."""
    t = CountTable("flow")
    t.cell(flow_count(0), 500)
    values = [(120, 380), (4, 376), (300, 76)]
    for k, (excluded, after) in enumerate(values, start=1):
        t.cell(flow_excluded(k), excluded)
        t.cell(flow_count(k), after)
        t.add_sum(flow_count(k - 1), (flow_excluded(k), flow_count(k)))
    mask = suppress(t, 11)
    assert flow_excluded(2) in mask.primary
    assert determined(mask) == []


def test_unprotectable_table_is_an_error():
    """1 + 1 = 2 below 3: the sum of two cells of at least 1 that is below 3 pins both."""
    t = CountTable("tiny")
    t.cell("x", 1)
    t.cell("y", 1)
    t.cell("total", 2)
    t.add_sum("total", ("x", "y"))
    with pytest.raises(DisclosureError, match="no suppression pattern protects"):
        suppress(t, 3)


def test_inconsistent_equation_is_refused():
    t = CountTable("bad")
    t.cell("x", 1)
    t.cell("total", 3)
    with pytest.raises(ValueError, match="parts sum to 1"):
        t.add_sum("total", ("x",))


def test_threshold_must_be_at_least_two():
    for bad in (0, 1, -3):
        with pytest.raises(ValueError, match="at least 2"):
            check_threshold(bad)
    assert check_threshold(2) == 2 and check_threshold(None) is None
    assert threshold_for(None, synthetic=False) == 11
    assert threshold_for(None, synthetic=True) is None
    assert threshold_for(5, synthetic=False) == 5


def test_text_scrubber_hides_counts_in_messages():
    s = Suppressor(11)
    assert s.text("has 0 rows of 5") == "has 0 rows of <11"
    assert s.text("3 of 50 rows missing") == "<11 of 50 rows missing"
    assert s.text("level(s) with a single row: A") == "level(s) with fewer than 11 rows: A"
    assert s.text("n = 4, events = 12") == "n = <11, events = 12"
    assert s.text("1,234 rows") == "1,234 rows"


def _tables():
    small = st.one_of(st.integers(0, 10), st.integers(11, 80))
    return st.integers(2, 4).flatmap(
        lambda r: st.integers(2, 4).flatmap(
            lambda c: st.lists(st.lists(small, min_size=c, max_size=c), min_size=r, max_size=r)
        )
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(counts=_tables(), threshold=st.sampled_from([5, 11]))
def test_property_no_hidden_cell_is_determined(counts, threshold):
    table = grid_table("p", counts)
    try:
        mask = suppress(table, threshold)
    except DisclosureError:  # nothing left to hide: refused, never published
        return
    assert determined(mask) == []
    values = table.values
    for cell, v in values.items():
        if 0 < v < threshold:
            assert cell in mask.primary
        if v == 0:
            assert cell not in mask.hidden
    assert all(values[c] >= threshold for c in mask.complementary)


@pytest.mark.parametrize("value", ["0", "1", "-5"])
def test_cli_refuses_a_threshold_below_two(value, tmp_path):
    import subprocess
    import sys

    out = tmp_path / "out"
    done = subprocess.run(
        [sys.executable, "-m", "regsurv.cli", "run", "--out", str(out), "--suppress-below", value],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert lines == [
        f"error: --suppress-below must be at least 2 (counts 1..N-1 are hidden), got {value}"
    ]
    assert not out.exists()


_MASK_OF_NAMED_TABLE = """
from regsurv.report.suppression import CountTable, suppress
counts = [[8, 60, 1, 60], [3, 5, 35, 5], [8, 0, 20, 8], [3, 20, 3, 8], [1, 5, 2, 3]]
t = CountTable("named")
names = [[t.cell(f"r{i}c{j}", v) for j, v in enumerate(row)] for i, row in enumerate(counts)]
for i, row in enumerate(names):
    t.add_sum(t.cell(f"r{i}", sum(counts[i])), row)
for j in range(4):
    t.add_sum(t.cell(f"c{j}", sum(r[j] for r in counts)), [row[j] for row in names])
t.add_sum(t.cell("T", sum(map(sum, counts))), [f"r{i}" for i in range(5)])
m = suppress(t, 11)
print(sorted(m.primary), sorted(m.complementary))
"""


def test_the_mask_does_not_depend_on_string_hashing():
    """Cells named by strings: the same mask under any PYTHONHASHSEED (reproducible reports)."""
    import os
    import subprocess
    import sys

    masks = {
        subprocess.run(
            [sys.executable, "-c", _MASK_OF_NAMED_TABLE],
            env={**os.environ, "PYTHONHASHSEED": str(seed)},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in range(6)
    }
    assert len(masks) == 1, masks
