"""Figures draw exactly the numbers they are given (structure, not pixels)."""

from __future__ import annotations

import numpy as np
import polars as pl

from regsurv.report.figures import KaplanMeierDisplay
from regsurv.report.format import Suppressor
from regsurv.survival import kaplan_meier

DATA = pl.DataFrame(
    {
        "time": [1.0, 1, 2, 3, 3, 4, 5, 6, 7, 8, 2, 4],
        "event": [1, 0, 1, 1, 1, 0, 1, 0, 1, 1, 1, 1],
        "arm": ["a"] * 6 + ["b"] * 6,
    }
)


def test_km_display_draws_the_estimates_and_numbers_at_risk():
    km = kaplan_meier(DATA, time="time", event="event", group="arm")
    at_risk = km.at([0, 2, 4, 6])
    disp = KaplanMeierDisplay(curves=km.to_frame(), at_risk=at_risk).plot()
    for name, curve in km.items():
        y = np.asarray(disp.lines_[name].get_ydata())
        np.testing.assert_array_equal(y[1:], curve.estimate)
        assert y[0] == 1.0
    shown = sorted(int(t.get_text()) for t in disp.risk_texts_)
    assert shown == sorted(int(n) for n in at_risk["n_risk"].to_list())


def test_km_display_suppresses_small_numbers_at_risk():
    km = kaplan_meier(DATA, time="time", event="event", group="arm")
    disp = KaplanMeierDisplay(
        curves=km.to_frame(), at_risk=km.at([0, 2, 4]), suppressor=Suppressor(11)
    ).plot()
    texts = {t.get_text() for t in disp.risk_texts_}
    assert texts <= {"<11", "0"}
