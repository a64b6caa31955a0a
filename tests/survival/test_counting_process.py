"""Counting-process (start, stop] input of cox_ph and kaplan_meier: invariances (hypothesis)
and bad input."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from regsurv.survival import cox_ph, kaplan_meier
from regsurv.testing import assert_close, reference_data_path


def _lung() -> pl.DataFrame:
    lung = pl.read_csv(reference_data_path("lung"), null_values="NA")
    return lung.select(
        "rowid", "time", (pl.col("status") - 1).alias("status"), "age", "sex"
    ).with_columns(pl.col("time").cast(pl.Float64))


def _split_at(frame: pl.DataFrame, cuts: np.ndarray) -> pl.DataFrame:
    """Every subject's (0, time] cut at each cut inside it; the event stays on the last piece."""
    pieces = []
    for row in frame.iter_rows(named=True):
        inner = np.unique(cuts[(cuts > 0) & (cuts < row["time"])])
        bounds = np.concatenate(([0.0], inner, [row["time"]]))
        k = len(bounds) - 1
        pieces.append(
            pl.DataFrame(
                {
                    "rowid": [row["rowid"]] * k,
                    "tstart": bounds[:-1],
                    "tstop": bounds[1:],
                    "status": [0] * (k - 1) + [row["status"]],
                    "age": [row["age"]] * k,
                    "sex": [row["sex"]] * k,
                }
            )
        )
    return pl.concat(pieces)


@settings(max_examples=12, deadline=None)
@given(
    cuts=st.lists(st.integers(1, 900), min_size=1, max_size=6),
    ties=st.sampled_from(["efron", "breslow"]),
)
def test_splitting_a_subject_at_arbitrary_times_gives_the_same_cox_fit(cuts, ties) -> None:
    lung = _lung()
    cut_times = np.array(cuts, dtype=float)
    split = _split_at(lung, cut_times)
    plain = cox_ph(lung, time="time", event="status", covariates=["age", "sex"], ties=ties)
    pieces = cox_ph(split, start="tstart", stop="tstop", event="status",
                    covariates=["age", "sex"], ties=ties, cluster="rowid")  # fmt: skip
    assert_close(pieces.estimate, plain.estimate, tier="invariance")
    assert_close(pieces.std_error, plain.std_error, tier="invariance")
    assert_close(pieces.loglik, plain.loglik, tier="invariance")
    assert_close(pieces.tests["score"]["statistic"], plain.tests["score"]["statistic"],
                 tier="invariance")  # fmt: skip
    # the robust variance clustered by subject equals the per-row robust variance unsplit
    robust = cox_ph(lung, time="time", event="status", covariates=["age", "sex"], ties=ties,
                    robust=True)  # fmt: skip
    assert_close(pieces.var, robust.var, tier="invariance")
    for key in ("concordant", "discordant", "tied_x", "tied_y", "concordance", "std_error"):
        assert_close(pieces.concordance[key], plain.concordance[key], tier="invariance")
    assert_close(pieces.zph().statistic, plain.zph().statistic, tier="invariance")
    assert_close(pieces.type3("lr").statistic, plain.type3("lr").statistic, tier="invariance")
    # residuals summed over a subject's pieces, and the baseline hazard at x = 0, are unchanged
    rowid = split["rowid"].to_numpy()
    for kind in ("martingale", "score"):
        summed = pl.DataFrame({"rowid": rowid}).hstack(pieces.residuals(kind))
        summed = summed.group_by("rowid").sum().sort("rowid").drop("rowid").to_numpy()
        assert_close(summed, plain.residuals(kind).to_numpy(), tier="invariance", err_msg=kind)
    events = plain.baseline_hazard(centered=False)
    split_hazard = pieces.baseline_hazard(centered=False).join(events, on="time", how="semi")
    assert_close(split_hazard["hazard"], events["hazard"], tier="invariance")


@settings(max_examples=25, deadline=None)
@given(
    rows=st.lists(
        st.tuples(st.integers(0, 8), st.integers(1, 6), st.booleans(), st.floats(0.5, 3.0)),
        min_size=1,
        max_size=30,
    ),
    weighted=st.booleans(),
)
def test_km_with_delayed_entry_is_the_risk_set_product(rows, weighted) -> None:
    """S(t) = Π_{event times s <= t} (1 − d_s / Y_s), Y_s = Σ w over rows with start < s <= stop."""
    start = np.array([r[0] for r in rows], dtype=float)
    stop = start + np.array([r[1] for r in rows], dtype=float)
    event = np.array([r[2] for r in rows], dtype=float)
    w = np.array([r[3] for r in rows]) if weighted else np.ones(len(rows))
    frame = pl.DataFrame({"t0": start, "t1": stop, "e": event, "w": w})
    curve = kaplan_meier(frame, start="t0", stop="t1", event="e",
                         weights="w" if weighted else None, robust=False)["all"]  # fmt: skip
    times = np.unique(stop)
    at_risk = np.array([w[(start < s) & (stop >= s)].sum() for s in times])
    deaths = np.array([w[(stop == s) & (event > 0)].sum() for s in times])
    assert_close(curve.time, times, tier="exact")
    assert_close(curve.n_risk, at_risk, tier="exact")
    assert_close(curve.estimate, np.cumprod(1 - deaths / at_risk), tier="exact")


def test_start_at_zero_equals_the_time_path() -> None:
    lung = _lung().with_columns(tstart=pl.lit(0.0))
    a = cox_ph(lung, time="time", event="status", covariates=["age", "sex"])
    b = cox_ph(lung, start="tstart", stop="time", event="status", covariates=["age", "sex"])
    assert_close(b.estimate, a.estimate, tier="invariance")
    assert_close(b.var, a.var, tier="invariance")
    km_a = kaplan_meier(lung, time="time", event="status", group="sex")
    km_b = kaplan_meier(lung, start="tstart", stop="time", event="status", group="sex")
    assert_close(km_b.to_frame()["estimate"], km_a.to_frame()["estimate"], tier="exact")


BAD = pl.DataFrame(
    {
        "id": [1, 1, 2, 3],
        "t0": [0.0, 4.0, 0.0, 2.0],
        "t1": [5.0, 8.0, 3.0, 2.0],
        "e": [0, 1, 1, 0],
        "x": [0.0, 1.0, 1.0, 0.0],
    }
)


def test_stop_not_after_start_is_a_one_line_error() -> None:
    with pytest.raises(ValueError, match=r"stop column 't1' <= start column 't0' in 1 of 4 rows"):
        cox_ph(BAD, start="t0", stop="t1", event="e", covariates=["x"])
    with pytest.raises(ValueError, match=r"stop column 't1' <= start column 't0' in 1 rows"):
        kaplan_meier(BAD, start="t0", stop="t1", event="e")


def test_overlapping_intervals_of_one_id_are_a_one_line_error() -> None:
    frame = BAD.filter(pl.col("id") != 3)
    with pytest.raises(ValueError, match=r"id column 'id': 1 rows start before the previous"):
        cox_ph(frame, start="t0", stop="t1", event="e", covariates=["x"], id="id")


def test_start_stop_argument_errors() -> None:
    frame = BAD.filter(pl.col("id") != 3)
    with pytest.raises(ValueError, match="not both"):
        cox_ph(frame, time="t1", start="t0", stop="t1", event="e", covariates=["x"])
    with pytest.raises(ValueError, match="stop= needs start="):
        kaplan_meier(frame, stop="t1", event="e")
    with pytest.raises(ValueError, match="robust variance of a"):
        kaplan_meier(frame, start="t0", stop="t1", event="e", robust=True)
    weighted = frame.with_columns(w=pl.Series([0.5, 1.5, 2.5]))
    curves = kaplan_meier(weighted, start="t0", stop="t1", event="e", weights="w")
    assert curves.variance == "greenwood"
    assert any("Greenwood variance with the weighted counts" in w for w in curves.warnings)
