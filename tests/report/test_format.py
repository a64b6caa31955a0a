"""Formatting and small-count suppression (report/format.py)."""

from __future__ import annotations

import math

import polars as pl
from hypothesis import given
from hypothesis import strategies as st

from regsurv.report.format import Suppressor, fmt_estimate_ci, fmt_p


def test_p_values_print_as_journals_do():
    assert fmt_p(0.0004) == "<0.001"
    assert fmt_p(0.0321) == "0.032"
    assert fmt_p(float("nan")) == "—"
    assert fmt_p(None) == "—"


def test_estimate_with_undefined_limit_says_na():
    assert fmt_estimate_ci(0.45, 0.34, 0.61) == "0.45 (0.34–0.61)"
    assert fmt_estimate_ci(1.9, 1.5, math.nan, 1) == "1.9 (1.5–NA)"


def test_suppressor_hides_small_counts_and_their_percentages():
    s = Suppressor(11)
    assert s.count(10) == "<11"
    assert s.count(11) == "11"
    assert s.count(0) == "0"
    assert s.count_pct(3, 1.2) == "<11"
    assert s.count_pct(30, 12.0) == "30 (12.0)"
    frame = pl.DataFrame({"level": ["a", "b"], "n": [3, 40], "percent": [7.0, 93.0]})
    out = s.frame(frame)
    assert out["n"].to_list() == ["<11", "40"]
    assert out["percent"].to_list() == ["<11", "93.0"]


def test_inactive_suppressor_changes_nothing():
    frame = pl.DataFrame({"n": [1, 2]})
    assert Suppressor(None).frame(frame).equals(frame)
    assert Suppressor(None).count(1) == "1"


def test_counts_in_free_text_are_suppressed():
    s = Suppressor(11)
    assert (
        s.text("AGE: 3 rows hold text; 1,200 rows ok") == "AGE: <11 rows hold text; 1,200 rows ok"
    )
    assert s.text("n = 4, events = 12") == "n = <11, events = 12"
    assert Suppressor(None).text("3 rows") == "3 rows"


@given(st.integers(min_value=2, max_value=50), st.lists(st.integers(0, 200), min_size=1))
def test_no_small_count_survives_suppression(threshold, counts):
    out = Suppressor(threshold).frame(pl.DataFrame({"n": counts}))["n"].to_list()
    for shown in out:
        assert shown.startswith("<") or int(shown) == 0 or int(shown) >= threshold
