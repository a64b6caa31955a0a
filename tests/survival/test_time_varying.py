"""split_at_treatment (tmerge + tdc) and landmark against the simtv_a fixture (row by row and
the counts exactly), the fits on them against R, property tests and bad input."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from regsurv.survival import cox_ph, kaplan_meier, landmark, logrank_test, split_at_treatment
from regsurv.testing import assert_close
from survival._tv_data import assert_cox_matches, simtv, simtv_raw, tv_analyses
from survival.test_km_reference import assert_km_matches


def _split():
    return split_at_treatment(
        simtv_raw(), id="id", time="months", event="status", start_days={"tx": "tx_days"}
    )


def test_split_matches_tmerge_row_by_row() -> None:
    expected = tv_analyses()["split"]["result"]
    result = _split()
    table = result.to_frame()
    assert result.n_obs == expected["n_rows"]
    assert result.n_subjects == expected["n_id"]
    ref = expected["table"]
    assert table["id"].to_list() == ref["id"]
    assert table["status"].to_list() == ref["death"]
    assert table["tx"].to_list() == ref["tx"]
    # JSON keeps 15 significant digits (README), so the split times compare at that precision
    assert_close(table["tstart"], ref["tstart"], tier="software")
    assert_close(table["tstop"], ref["tstop"], tier="software")
    assert result.n_input == simtv_raw().height
    assert result.n_excluded_no_time_at_risk == simtv_raw().height - simtv().height
    counts = result.treatments[0]
    assert counts.never + counts.at_start + counts.during_follow_up + counts.after_follow_up == (
        result.n_subjects
    )
    assert counts.during_follow_up == result.n_obs - result.n_subjects
    assert result.to_dict()["treatments"][0]["name"] == "tx"


@pytest.mark.parametrize("key", ["tv_cox__efron", "tv_cox_cluster__breslow"])
def test_cox_on_our_split_matches_r(key: str) -> None:
    ties = "breslow" if "breslow" in key else "efron"
    cluster = "id" if "cluster" in key else None
    fit = cox_ph(_split().to_frame(), start="tstart", stop="tstop", event="status",
                 covariates=["tx", "age", "sex", "stage"], ties=ties, cluster=cluster)  # fmt: skip
    assert_cox_matches(fit, tv_analyses()[key]["fit"])


@pytest.mark.parametrize("at", [3, 6])
def test_landmark_matches_r(at: int) -> None:
    result = landmark(
        simtv_raw(), at=at, id="id", time="months", event="status", start_days={"tx": "tx_days"}
    )
    analyses = tv_analyses()
    counts = analyses[f"landmark{at}_n"]["result"]
    assert result.n_obs == counts["n"]
    assert result.treated["tx"] == counts["treated"]
    assert (
        result.n_excluded_event_or_censored_by_landmark
        == (counts["excluded_died_or_censored_by_L"])
    )
    flow = result.flow()
    assert flow["n_remaining"][-1] == result.n_obs
    assert flow["n_excluded"].sum() + result.n_obs == result.n_input
    frame = result.to_frame()
    fit = cox_ph(frame, time="months", event="status", covariates=["tx", "age", "sex", "stage"],
                 ties="breslow")  # fmt: skip
    assert_cox_matches(fit, analyses[f"landmark{at}_cox"]["fit"])
    km = kaplan_meier(frame, time="months", event="status", group="tx")
    assert_km_matches(km, analyses[f"landmark{at}_km"])
    lr = logrank_test(frame, time="months", event="status", group="tx")
    ref = analyses[f"landmark{at}_logrank"]["result"]
    assert_close(lr.statistic, ref["chisq"], tier="software")
    assert_close(lr.to_frame()["observed"], ref["observed"], tier="exact")


@settings(max_examples=40, deadline=None)
@given(
    subjects=st.lists(
        st.tuples(
            st.integers(0, 40),  # months of follow-up
            st.booleans(),  # event
            st.one_of(st.none(), st.integers(0, 1500)),  # days to treatment 1
            st.one_of(st.none(), st.integers(0, 1500)),  # days to treatment 2
        ),
        min_size=1,
        max_size=25,
    )
)
def test_split_then_collapse_gives_back_each_follow_up(subjects) -> None:
    frame = pl.DataFrame(
        {
            "id": list(range(len(subjects))),
            "months": [float(s[0]) for s in subjects],
            "status": [int(s[1]) for s in subjects],
            "chemo_days": [s[2] for s in subjects],
            "rad_days": [s[3] for s in subjects],
        },
        schema_overrides={"chemo_days": pl.Int64, "rad_days": pl.Int64},
    )
    result = split_at_treatment(frame, id="id", time="months", event="status",
                                start_days=["chemo_days", "rad_days"])  # fmt: skip
    rows = result.to_frame()
    kept = frame.filter(pl.col("months") > 0)
    assert result.n_subjects == kept.height
    assert result.n_excluded_no_time_at_risk == frame.height - kept.height
    collapsed = rows.group_by("id").agg(
        pl.col("tstart").min().alias("first_start"), pl.col("tstop").max(),
        pl.col("status").sum(), pl.col("tstart").sort().alias("starts"),
        pl.col("tstop").sort().alias("stops"),
    ).sort("id")  # fmt: skip
    assert collapsed["id"].to_list() == kept["id"].to_list()
    assert collapsed["first_start"].to_list() == [0.0] * kept.height
    assert collapsed["tstop"].to_list() == kept["months"].to_list()
    assert collapsed["status"].to_list() == kept["status"].to_list()
    for starts, stops in zip(collapsed["starts"], collapsed["stops"], strict=True):
        assert starts.to_list()[1:] == stops.to_list()[:-1]  # contiguous: no gap, no overlap
    assert (rows["tstop"] > rows["tstart"]).all()
    for name, column in (("tx_chemo_days", "chemo_days"), ("tx_rad_days", "rad_days")):
        joined = rows.join(kept.select("id", column), on="id")
        switch = joined[column].cast(pl.Float64).to_numpy() / 30.4375  # numpy: as R divides
        expected = ~np.isnan(switch) & (switch <= joined["tstart"].to_numpy())
        assert joined[name].to_list() == expected.astype(int).tolist()


def _frame(**columns) -> pl.DataFrame:
    base = {"id": [1, 2, 3], "months": [10.0, 5.0, 0.0], "status": [1, 0, 1]}
    return pl.DataFrame(base | columns)


def test_treatment_after_follow_up_is_counted_not_an_error() -> None:
    result = split_at_treatment(_frame(d=[400, 30, None]), id="id", time="months",
                                event="status", start_days="d")  # fmt: skip
    counts = result.treatments[0]
    assert (counts.after_follow_up, counts.during_follow_up, counts.never) == (1, 1, 0)
    assert result.n_excluded_no_time_at_risk == 1 and result.n_subjects == 2
    assert result.to_frame()["tx_d"].to_list() == [0, 0, 1]
    assert any("no time at risk" in w for w in result.warnings)


def test_negative_days_are_a_one_line_error() -> None:
    with pytest.raises(ValueError, match=r"start_days column 'd': 1 rows are negative days"):
        split_at_treatment(_frame(d=[-3, 30, None]), id="id", time="months", event="status",
                           start_days="d")  # fmt: skip


def test_days_in_the_wrong_unit_are_a_one_line_error() -> None:
    with pytest.raises(ValueError, match=r"all 2 values are over 10 years of days"):
        landmark(_frame(d=[20100105, 20100302, None]), at=3, id="id", time="months",
                 event="status", start_days="d")  # fmt: skip


def test_duplicated_ids_and_missing_columns_are_errors() -> None:
    frame = _frame(d=[1, 2, 3]).with_columns(pl.lit(1).alias("id"))
    with pytest.raises(ValueError, match=r"id column 'id': 3 rows share an id"):
        split_at_treatment(frame, id="id", time="months", event="status", start_days="d")
    with pytest.raises(ValueError, match=r"start_days column 'x' not found"):
        split_at_treatment(_frame(d=[1, 2, 3]), id="id", time="months", event="status",
                           start_days="x")  # fmt: skip


def test_missing_rows_are_counted() -> None:
    frame = _frame(d=[1, 2, 3]).with_columns(
        pl.Series("months", [10.0, None, 4.0], dtype=pl.Float64)
    )
    result = landmark(frame, at=3, id="id", time="months", event="status", start_days="d")
    assert result.n_excluded_missing == 1 and result.n_obs == 2
    assert result.treated == {"tx_d": 2}
    assert_close(result.to_frame()["months"], [7.0, 1.0], tier="exact")
    assert result.flow()["n_excluded"].sum() + result.n_obs == 3
