"""`collect_cohort`: the cohort and flow of `build_cohort`, collected in one pass."""

from __future__ import annotations

import polars as pl
import pytest

from regsurv.cohort import build_cohort, study_fields
from regsurv.cohort.collect import collect_cohort, collect_criteria
from regsurv.cohort.criteria import Criterion, apply_criteria
from regsurv.io import scan_puf, write_puf
from regsurv.pipeline.spec import load_study


@pytest.fixture(scope="module")
def synthetic() -> pl.DataFrame:
    from regsurv.synth.generate import synthetic_puf

    return synthetic_puf(seed=0, rows=30_000)


def _same(lazy_and_flow, frame_and_flow) -> None:
    (lazy, flow), (frame, flow_now) = lazy_and_flow, frame_and_flow
    assert frame.equals(lazy.collect())
    assert flow_now.n_start == flow.n_start and flow_now.steps == flow.steps


@pytest.mark.parametrize("columns", [None, "study"])
def test_one_pass_gives_the_cohort_and_flow_of_build_cohort(synthetic, columns, tmp_path) -> None:
    spec = load_study()
    lf = scan_puf(write_puf(synthetic, tmp_path / "puf.parquet", format="parquet"))
    fields = study_fields(spec.cohort, lf.collect_schema().names()) if columns else None
    copies = tuple(synthetic["PUF_CASE_ID"].head(3))
    doubled = pl.concat([lf, lf.filter(pl.col("PUF_CASE_ID").is_in(copies))])
    for data, ids in ((lf, ()), (doubled, copies)):
        now = collect_cohort(data, spec, duplicate_ids=ids, columns=fields)
        _same(build_cohort(data, spec, duplicate_ids=ids), now)
        assert now[0].height > 100
    assert any(s.id == "duplicate_record" and s.n_excluded == 3 for s in now[1].steps)


def test_a_column_the_variables_need_is_never_dropped(synthetic) -> None:
    spec = load_study()
    now = collect_cohort(synthetic, spec, columns=["PUF_CASE_ID", "AGE"])  # too few: all kept
    _same(build_cohort(synthetic, spec), now)


def test_null_tests_are_kept_out_as_apply_criteria_does() -> None:
    frame = pl.DataFrame({"x": [1, None, 3, 4, None, 6], "y": [1, 1, None, 0, 1, 1]})
    criteria = (
        Criterion("x", "x above 1", pl.col("x") > 1, ("x",)),
        Criterion("y", "y is 1", pl.col("y") == 1, ("y",)),
    )
    lazy, flow = apply_criteria(frame, criteria)
    kept, flow_now = collect_criteria(frame, criteria)
    assert kept.equals(lazy.collect()) and flow_now.steps == flow.steps
    assert kept["x"].to_list() == [6]
    assert [s.n_excluded for s in flow.steps] == [1, 1]


def test_small_batches_from_many_threads_are_each_counted_once() -> None:
    """polars calls the counting function from several threads at once; with batches of a
    few hundred rows every row is still counted exactly once (unlocked read-add-write updates
    lost about 1 kept row in 140 here)."""
    n = 400_000
    frame = pl.DataFrame({"a": pl.int_range(n, eager=True) % 7, "b": pl.int_range(n, eager=True)})
    criteria = [
        Criterion("a_small", "a < 5", pl.col("a") < 5),
        Criterion("b_even", "b even", pl.col("b") % 2 == 0),
    ]
    expected = apply_criteria(frame.lazy(), criteria)[1]
    for _ in range(3):
        with pl.Config(streaming_chunk_size=256):
            kept, flow = collect_criteria(frame.lazy(), criteria)
        assert flow.n_start == n and flow.steps == expected.steps
        assert kept.height == expected.n_final
