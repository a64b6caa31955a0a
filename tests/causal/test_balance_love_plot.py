"""LovePlotDisplay draws the BalanceTable's numbers (structure, not pixels)."""

from __future__ import annotations

import numpy as np
import polars as pl

from regsurv.causal.balance import balance_table
from regsurv.report.love_plot import LovePlotDisplay
from regsurv.testing import assert_close

FRAME = pl.DataFrame(
    {
        "g": ["a", "a", "a", "b", "b", "b", "c", "c"],
        "sex": ["F", "M", "M", "F", "F", "M", "F", "M"],
        "age": [50.0, 61.0, 47.0, 70.0, 66.0, 58.0, 40.0, 52.0],
    }
)
W = np.array([1.0, 2.0, 0.5, 1.5, 1.0, 0.7, 1.2, 0.9])


def test_points_are_the_table_values():
    import matplotlib.pyplot as plt

    bal = balance_table(FRAME, treatment="g", covariates=["sex", "age"], weights=W)
    disp = LovePlotDisplay.from_balance(bal, title="Balance")
    before = disp.points_["before"].get_offsets()
    after = disp.points_["after"].get_offsets()
    assert disp.labels_ == ["sex: F", "sex: M", "age"]
    assert_close(before[:, 0], bal.estimate_before, tier="exact")
    assert_close(after[:, 0], bal.estimate_after, tier="exact")
    assert_close(before[:, 1], [2, 1, 0], tier="exact")  # first row on top
    assert disp.threshold_line_.get_xdata()[0] == 0.1
    assert disp.ax_.get_title() == "Balance"
    plt.close(disp.figure_)


def test_unweighted_table_and_sorting():
    import matplotlib.pyplot as plt

    bal = balance_table(FRAME, treatment="g", covariates=["sex", "age"])
    disp = LovePlotDisplay(balance=bal).plot(sort=True)
    assert disp.points_["after"] is None
    xs = disp.points_["before"].get_offsets()[:, 0]
    assert np.all(np.diff(xs) <= 0)  # largest |SMD| on top
    assert "max pairwise" in disp.ax_.get_xlabel()
    plt.close(disp.figure_)
