"""Figures draw exactly the numbers they are given (structure, not pixels)."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from regsurv.report.figures import KaplanMeierDisplay, pyplot
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


def _fit_data() -> pl.DataFrame:
    rng = np.random.default_rng(3)
    n = 200
    arm = rng.choice(["A", "B", "C"], n)
    time = rng.exponential(4 / (1 + (arm == "B") + 2 * (arm == "C")))
    censor = rng.uniform(0, 10, n)
    return pl.DataFrame(
        {
            "time": np.minimum(time, censor).round(2),
            "event": (time <= censor).astype(int),
            "arm": arm,
            "age": rng.normal(60, 8, n).round(),
            "w": rng.uniform(0.5, 2.5, n),
        }
    )


def test_km_censor_marks_sit_on_the_censoring_times():
    km = kaplan_meier(DATA, time="time", event="event", group="arm")
    disp = KaplanMeierDisplay.from_result(km, breaks=[0, 2, 4, 6])
    for name, curve in km.items():
        censored = curve.n_censor > 0
        marks = disp.censor_marks_[name]
        np.testing.assert_array_equal(marks.get_xdata(), curve.time[censored])
        np.testing.assert_array_equal(marks.get_ydata(), curve.estimate[censored])
    assert all(len(m.get_xdata()) for m in disp.censor_marks_.values())


def test_km_from_result_risk_table_p_value_and_median_lines():
    from regsurv.survival import logrank_test

    data = _fit_data()
    km = kaplan_meier(data, time="time", event="event", group="arm")
    lr = logrank_test(data, time="time", event="event", group="arm")
    disp = KaplanMeierDisplay.from_result(
        km, logrank=lr, breaks=[0, 2, 4, 6, 8], plot_kwargs={"median_lines": True}
    )
    at = km.at([0, 2, 4, 6, 8])
    assert sorted(int(t.get_text().replace(",", "")) for t in disp.risk_texts_) == sorted(
        int(n) for n in at["n_risk"]
    )
    assert disp.p_text_.get_text().startswith("Log-rank p")
    med = km.median()
    for r in med.iter_rows(named=True):
        if np.isfinite(r["median"]):
            horizontal, vertical = disp.median_lines_[r["group"]]
            assert vertical.get_xdata()[0] == r["median"]
            assert horizontal.get_ydata()[0] == 0.5


def test_weighted_km_risk_table_shows_rounded_weighted_numbers_on_a_given_axes():
    data = _fit_data()
    km = kaplan_meier(data, time="time", event="event", group="arm", weights="w")
    plt = pyplot()
    fig, (left, _) = plt.subplots(1, 2)
    disp = KaplanMeierDisplay.from_result(
        km, breaks=[0, 3, 6], ax=left, palette={"A": "#000000"}, labels={"A": "Arm A"}
    )
    assert disp.ax_ is left and disp.risk_ax_ is not None and disp.figure_ is fig
    at = km.at([0, 3, 6])
    shown = sorted(int(t.get_text().replace(",", "")) for t in disp.risk_texts_)
    assert shown == sorted(round(n) for n in at["n_risk"])
    assert disp.lines_["A"].get_color() == "#000000"
    assert disp.lines_["A"].get_label() == "Arm A"
    plt.close(fig)


def test_forest_plot_has_one_point_per_term_at_its_hazard_ratio():
    from regsurv.report.forest_plot import ForestPlotDisplay
    from regsurv.survival import cox_ph

    data = _fit_data()
    fit = cox_ph(data, time="time", event="event", covariates=["arm", "age"])
    disp = ForestPlotDisplay.from_result(fit, labels={"arm": "Arm"})
    assert disp.terms_ == list(fit.terms)
    offsets = disp.points_.get_offsets()
    assert len(offsets) == len(fit.terms)
    np.testing.assert_allclose(offsets[:, 0], fit.hazard_ratio)
    assert disp.row_labels_ == ["Arm", "A", "B", "C", "Age"]
    assert "reference" in [t.get_text() for t in disp.texts_["hr"]]
    uni = {c: cox_ph(data, time="time", event="event", covariates=[c]) for c in ("arm", "age")}
    disp = ForestPlotDisplay.from_result(uni)
    assert [t.get_text() for t in disp.texts_["n"]] == [f"{f.n_obs} / {f.n_events:.0f}" for f in
                                                        uni.values()]  # fmt: skip


def test_love_plot_several_adjustments_signed_and_labelled():
    from regsurv.causal import balance_table
    from regsurv.report.love_plot import LovePlotDisplay

    data = _fit_data().with_columns(pl.col("arm").replace({"C": "B"}))
    raw = balance_table(data, treatment="arm", covariates=["age"])
    iptw = balance_table(data, treatment="arm", covariates=["age"], weights=data["w"])
    half = balance_table(data, treatment="arm", covariates=["age"], weights=data["w"] / 2 + 0.5)
    disp = LovePlotDisplay.from_result(
        {"IPTW": iptw, "Matched": half}, labels={"age": "Age, years"}, signed=True
    )
    assert disp.labels_ == ["Age, years"]
    assert disp.points_["before"].get_offsets()[0, 0] == raw.smd_before[0, 0]
    assert disp.points_["IPTW"].get_offsets()[0, 0] == iptw.smd_after[0, 0]
    assert disp.points_["Matched"].get_offsets()[0, 0] == half.smd_after[0, 0]
    three = balance_table(_fit_data(), treatment="arm", covariates=["age"])
    with pytest.raises(ValueError, match="signed SMD needs one comparison"):
        LovePlotDisplay(balance=three, signed=True).plot()


def _km_figure():
    km = kaplan_meier(DATA, time="time", event="event", group="arm")
    return KaplanMeierDisplay(curves=km.to_frame(), at_risk=km.at([0, 2, 4])).plot().figure_


def _digests(folder):
    import hashlib

    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_figure_batch_writes_the_same_files_as_in_place(tmp_path):
    """Worker processes write byte-identical PNG, SVG and PDF (SVG ids salted: every run)."""
    from regsurv.report.figures import FigureBatch, save_figure

    save_figure(_km_figure(), tmp_path / "inline", "km")
    save_figure(_km_figure(), tmp_path / "again", "km")
    with FigureBatch(workers=2) as batch:
        assert batch.parallel
        paths = save_figure(_km_figure(), tmp_path / "batch", "km")
        save_figure(_km_figure(), tmp_path / "batch", "km2", ("png",))
    assert all(p.is_file() for p in paths)
    inline = _digests(tmp_path / "inline")
    assert inline == _digests(tmp_path / "again")
    batch = _digests(tmp_path / "batch")
    assert {k: v for k, v in batch.items() if k.startswith("km.")} == inline
    assert batch["km2.png"] == inline["km.png"]


def test_figure_batch_raises_a_workers_error_and_one_worker_writes_in_place(tmp_path):
    from regsurv.report.figures import FigureBatch, save_figure

    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(OSError), FigureBatch(workers=2):
        save_figure(_km_figure(), blocker / "under_a_file", "km")
    with FigureBatch(workers=1) as batch:
        assert not batch.parallel
        (path,) = save_figure(_km_figure(), tmp_path / "one", "km", ("svg",))
        assert path.is_file()  # written before the block ends
