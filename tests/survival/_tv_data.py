"""Data of the time-varying fixtures (tests/reference/r/R/10_time_varying.R, TV_PREP) and a
field-by-field comparison of a cox_ph fit with R's cox_extract record."""

from __future__ import annotations

from functools import cache

import numpy as np
import polars as pl

from regsurv.survival import CoxResult
from regsurv.testing import assert_close, load_reference, reference_data_path

TV_LEVELS = {"sex": ["Female", "Male"], "stage": ["II", "III", "IV"]}


def tv_analyses() -> dict:
    return load_reference("simtv_a__time_varying")["analyses"]


def heart_analyses() -> dict:
    return load_reference("heart__time_varying")["analyses"]


@cache
def heart() -> pl.DataFrame:
    return pl.read_csv(reference_data_path("heart"), null_values="NA")


@cache
def simtv_raw() -> pl.DataFrame:
    """simtv_a.csv as written (every row, months == 0 included)."""
    frame = pl.read_csv(reference_data_path("simtv_a"), null_values="NA")
    return frame.with_columns(pl.col(c).cast(pl.Enum(v)) for c, v in TV_LEVELS.items())


@cache
def simtv() -> pl.DataFrame:
    """TV_PREP's ``tv``: months > 0, ever_tx."""
    return (
        simtv_raw()
        .filter(pl.col("months") > 0)
        .with_columns(ever_tx=pl.col("tx_days").is_not_null().cast(pl.Int64))
    )


@cache
def simtv_split_reference() -> pl.DataFrame:
    """R's tmerge split (fixture table) joined with the baseline covariates."""
    table = pl.DataFrame(tv_analyses()["split"]["result"]["table"], strict=False).cast(
        {"tstart": pl.Float64, "tstop": pl.Float64}
    )
    return table.join(simtv().select("id", "age", "sex", "stage"), on="id", how="left")


def assert_cox_matches(result: CoxResult, record: dict) -> None:
    """Every coxph field of the fixture record (tiers as tests/survival/test_cox_reference)."""
    r = record["result"]
    assert result.n_obs == r["n"]
    assert result.n_events == r["nevent"]
    assert result.iterations == r["iter"]
    assert result.robust == r["robust"]
    coefs = r["coefficients"]
    assert len(result.terms) == len(coefs["term"])
    se_r = np.array(coefs["se"], dtype=float)
    assert_close(result.estimate / se_r, np.array(coefs["coef"]) / se_r, tier="optimizer")
    assert_close(result.std_error, se_r, tier="optimizer")
    if r["robust"]:
        assert_close(result.robust_std_error, coefs["robust_se"], tier="optimizer")
        assert_close(result.naive_var, np.array(r["naive_var"]["values"]), tier="optimizer")
    assert_close(result.var, np.array(r["var"]["values"]), tier="optimizer")
    frame = result.to_frame()
    assert_close(frame["hr_conf_low"], coefs["lower95"], tier="optimizer")
    assert_close(frame["hr_conf_high"], coefs["upper95"], tier="optimizer")
    assert_close(frame["statistic"], coefs["z"], tier="optimizer")
    assert_close(result.loglik_null, r["loglik_null"], tier="software")
    assert_close(result.loglik, r["loglik_final"], tier="software")
    for ours, theirs in [
        ("likelihood_ratio", "lr_test"),
        ("wald", "wald_test"),
        ("score", "score_test"),
        ("robust_score", "robust_score_test"),
    ]:
        if r[theirs] is None:
            assert ours not in result.tests
            continue
        assert result.tests[ours]["df"] == r[theirs]["df"]
        assert_close(result.tests[ours]["statistic"], r[theirs]["statistic"], tier="optimizer")
    conc = r["concordance"]
    for ours, theirs in [
        ("concordant", "concordant"),
        ("discordant", "discordant"),
        ("tied_x", "tied.x"),
        ("tied_y", "tied.y"),
        ("tied_xy", "tied.xy"),
        ("concordance", "concordance"),
        ("std_error", "std"),
    ]:
        assert_close(result.concordance[ours], conc[theirs], tier="software", err_msg=ours)
