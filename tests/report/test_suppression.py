"""Cell suppression that survives subtraction: the algorithm, its audit and the report."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from regsurv.report.format import COUNT_COLUMNS, Suppressor
from regsurv.report.results_json import results_to_json
from regsurv.report.suppression import (
    NONMISSING,
    TOTAL,
    CountTable,
    DisclosureError,
    Mask,
    audit,
    check,
    check_threshold,
    count,
    determined,
    events,
    flow_count,
    flow_excluded,
    grid_table,
    group_size,
    naive_mask,
    report_table,
    required_width,
    size,
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


# -- the study report ----------------------------------------------------------------------------

ROWS_FOR_300 = 22_150  # synthetic PUF rows whose cohort has exactly 300 patients (seed 1)


@pytest.fixture(scope="module")
def small_run(tmp_path_factory: pytest.TempPathFactory):
    from regsurv.pipeline.runner import run_study
    from regsurv.synth import write_synthetic_puf

    folder = tmp_path_factory.mktemp("sup300")
    puf = write_synthetic_puf(
        folder / "puf_synthetic_300.parquet", rows=ROWS_FOR_300, seed=1, format="parquet"
    )
    out = folder / "report"
    results = run_study(data=puf, out_dir=out, suppress_below=11)
    assert results.cohort.height == 300
    return results, out, puf


def _published_cells(published: dict, raw: dict, results) -> list[tuple[object, object, float]]:
    """(cell name, what results.json shows, the true count) for every count it publishes."""
    out = []

    def add(name, shown, true):
        if true is not None:
            out.append((name, shown, float(true)))

    pc, rc = published["cohort"], raw["cohort"]
    add(flow_count(0), pc["n_start"], rc["n_start"])
    add(TOTAL, pc["n_final"], rc["n_final"])
    last = len(rc["flow"])
    for k, (p, r) in enumerate(zip(pc["flow"], rc["flow"], strict=True), start=1):
        add(flow_count(k - 1), p["n_before"], r["n_before"])
        add(flow_excluded(k), p["n_excluded"], r["n_excluded"])
        add(TOTAL if k == last else flow_count(k), p["n_after"], r["n_after"])
    for g, n in results.group_counts.items():
        add(size("treatment", g), pc["groups"][g], n)
    for key, pt in published["tables"].items():
        rt = raw["tables"][key]
        col = rt["group"]
        for g, p, r in zip(rt["groups"], pt["group_sizes"], rt["group_sizes"], strict=True):
            add(group_size(col, g), p, r)
        rows = rt["rows"]
        for i, r in enumerate(rows["n"]):
            g, v = rows["group"][i], rows["variable"][i]
            level = None if rows["is_missing"][i] else rows["level"][i]
            gc = None if g == "Overall" else col
            add(count(gc, g, v, level), pt["rows"]["n"][i], r)
        tests = rt["tests"]
        for i, v in enumerate(tests["variable"]):
            add(count(None, None, v, NONMISSING), pt["tests"]["n_obs"][i], tests["n_obs"][i])
            add(count(None, None, v, None), pt["tests"]["n_missing"][i], tests["n_missing"][i])
    columns = {c.id: c.group for c in results.spec.survival.curves}
    for key, km in published["kaplan_meier"].items():
        raw_km, column = raw["kaplan_meier"][key], columns[key]
        for p, r in zip(km["summary"], raw_km["summary"], strict=True):
            add(size(column, r["group"]), p["n_obs"], r["n_obs"])
            add(events(column, r["group"]), p["n_events"], r["n_events"])
        for g, r in raw_km["curves"]["curves"].items():  # the curves repeat N and events
            if g not in km["curves"]["curves"]:  # a group below N: no curve at all
                continue
            add(size(column, g), km["curves"]["curves"][g]["n_obs"], r["n_obs"])
            add(events(column, g), km["curves"]["curves"][g]["n_events"], r["n_events"])
        lr_raw, lr = raw_km["logrank"], km["logrank"]
        for i, g in enumerate(lr_raw["groups"]):
            add(size(column, g), lr["n"][i], lr_raw["n"][i])
            add(events(column, g), lr["observed"][i], lr_raw["observed"][i])
    for cov, p in published["cox"]["univariable"].items():
        r = raw["cox"]["univariable"][cov]
        add(count(None, None, cov, NONMISSING), p["n_obs"], r["n_obs"])
        add(count(None, None, cov, None), p["n_dropped"], r["n_dropped"])
        add(("cox_events", cov), p["n_events"], r["n_events"])
    p, r = published["cox"]["multivariable"], raw["cox"]["multivariable"]
    for key, name in (("n_obs", "n"), ("n_events", "events"), ("n_dropped", "dropped")):
        add(("cox_mv", name), p[key], r[key])
    p, r = published["propensity"], raw["propensity"]
    add(("ps", "n"), p["n_obs"], r["n_obs"])
    add(("ps", "dropped"), p["n_dropped"], r["n_dropped"])
    for pw, rw in zip(p["weights"], r["weights"], strict=True):
        add(("ps_n", rw["group"]), pw["n"], rw["n"])
    p, r = published["matching"], raw["matching"]
    add(("match", "sets"), p["n_sets"], r["n_sets"])
    for g in r["n_matched"]:
        add(("match", "matched", g), p["n_matched"][g], r["n_matched"][g])
        add(("match", "unmatched", g), p["n_unmatched"][g], r["n_unmatched"][g])
    p, r = published["trend"], raw["trend"]
    for i, level in enumerate(r["levels"]):
        add(size(r["variable"], level), p["n_obs"][i], r["n_obs"][i])
        add(
            ("trend_events", r["variable"], r["outcome"], level), p["n_events"][i], r["n_events"][i]
        )
    return out


def _mask_from_outputs(results, out: Path) -> tuple[Mask, Mask, int]:
    """The mask an attacker reads off results.json (cells it does not hold: as planned)."""
    planned = Suppressor(11).planned(results).mask
    table = planned.table
    published = json.loads((out / "results.json").read_text())
    raw = json.loads(results_to_json(results, Suppressor(None)))
    primary, complementary = set(planned.primary), set(planned.complementary)
    checked = 0
    for name, shown, true in _published_cells(published, raw, results):
        cell = name if table.values.get(name) == true else table.renamed.get((name, true))
        assert cell is not None, name
        checked += 1
        primary.discard(cell)
        complementary.discard(cell)
        if shown == "<11":
            primary.add(cell)
        elif shown == "*":
            complementary.add(cell)
        else:
            assert float(shown) == true, (name, shown, true)
    return planned, Mask(table, 11, frozenset(primary), frozenset(complementary)), checked


def test_report_of_300_patients_has_no_determined_cell(small_run):
    """Acceptance: every suppressed cell of the published report is undetermined."""
    results, out, _ = small_run
    planned, read, checked = _mask_from_outputs(results, out)
    assert checked > 250
    assert read.primary == planned.primary and read.complementary == planned.complementary
    assert len(read.primary) > 20 and len(read.complementary) > 10
    assert determined(read) == []
    assert determined(read, exact=True) == []  # two LPs per hidden cell: the full certificate
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["suppression"]["audit"] == "passed"
    assert manifest["options"]["suppress_below"] == 11
    for path in (out / "tables").glob("*.csv"):  # no small count in any published table
        frame = pl.read_csv(path, infer_schema=False)
        for column in COUNT_COLUMNS & set(frame.columns):
            for value in frame[column].drop_nulls():
                if value not in ("*", "<11"):
                    assert not 0 < float(value) < 11, (path.name, column, value)
    page = (out / "report.html").read_text()
    assert "recomputed by subtraction" in page


def test_checker_fails_when_a_complementary_cell_is_removed(small_run, tmp_path, monkeypatch):
    """Acceptance: drop one complementary cell of Table 1 and the checker (and the run) fails."""
    import regsurv.report.format as fmt
    from regsurv.pipeline.runner import EXIT_OUTPUT, StudyError, run_study

    results, _, puf = small_run
    planned = Suppressor(11).planned(results).mask
    in_table1 = [c for c in planned.complementary if c[0] == "count"]
    weakened = next(
        m for m in (planned.without(c) for c in sorted(in_table1, key=repr)) if determined(m)
    )
    with pytest.raises(DisclosureError, match="can be recomputed"):
        check(weakened)

    monkeypatch.setattr(fmt, "suppress", lambda table, threshold: weakened)
    out = tmp_path / "weakened"
    with pytest.raises(StudyError, match="can be recomputed") as info:
        run_study(data=puf, out_dir=out, suppress_below=11)
    assert info.value.exit_code == EXIT_OUTPUT
    assert "\n" not in str(info.value)
    assert not out.exists()
    assert not list(tmp_path.glob(".weakened*"))  # no half-written report


def test_report_table_equations_hold(small_run):
    results, _, _ = small_run
    table = report_table(results)
    values = table.values
    for total, parts in table.sums:
        assert values[total] == pytest.approx(sum(values[p] for p in parts))
    assert np.isfinite(list(values.values())).all()


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
