"""bootstrap_iptw_cox through joblib: one process, loky and a Dask LocalCluster give the same
replicates and intervals for a random_state; BCa; RMST differences; progress callback."""

from __future__ import annotations

import distributed
import joblib
import numpy as np
import polars as pl
import pytest
from scipy import stats

from causal._iptw_data import PS_COVARIATES, sim3arm
from regsurv.causal import PropensityModel, iptw_weights
from regsurv.causal.bootstrap import _bca, bootstrap_iptw_cox
from regsurv.survival.cox import cox_ph
from regsurv.survival.rmst import rmst
from regsurv.testing import assert_close

ARGS = {
    "time": "os_months",
    "event": "vital_status",
    "treatment": "arm",
    "covariates": PS_COVARIATES,
    "n_boot": 8,
    "n_jackknife": 4,
    "random_state": 2026,
    "tau": 60,
}


@pytest.fixture(scope="module")
def sequential():
    progress: list[tuple[int, int]] = []
    result = bootstrap_iptw_cox(
        sim3arm(), **ARGS, n_jobs=1, on_progress=lambda d, t: progress.append((d, t))
    )
    return result, progress


def _same(a, b):
    assert_close(a.replicates, b.replicates, tier="exact")
    for field in ("conf_low", "conf_high", "bca_conf_low", "bca_conf_high", "std_error"):
        assert_close(getattr(a, field), getattr(b, field), tier="exact", err_msg=field)


def test_estimates_are_the_iptw_cox_and_the_iptw_rmst_differences(sequential):
    result, _ = sequential
    assert result.terms == (
        "arm:Metastasectomy",
        "arm:Non-surgical adjuvant",
        "rmst Metastasectomy - SP alone",
        "rmst Non-surgical adjuvant - SP alone",
    )
    assert result.measure[2:] == ("rmst_difference", "rmst_difference")
    data = sim3arm()
    ps = PropensityModel(PS_COVARIATES).fit(data, treatment="arm").predict_proba(data)
    w = iptw_weights(ps, data["arm"])
    direct = rmst(data.with_columns(w=w.values), time="os_months", event="vital_status",
                  group="arm", weights="w", tau=60)  # fmt: skip
    assert_close(result.estimate[2:], direct.contrast_estimate[:2], tier="exact")
    frame = result.to_frame()
    assert np.isnan(frame["hr"][2]) and frame["hr"][0] == pytest.approx(np.exp(result.estimate[0]))
    assert result.to_dict()["tau"] == 60.0


def test_progress_reaches_the_total_in_order(sequential):
    _, progress = sequential
    done = [d for d, _ in progress]
    assert done == sorted(done) and progress[-1] == (12, 12)  # 8 replicates + 4 jackknife fits


@pytest.mark.slow
def test_loky_gives_the_same_intervals(sequential):
    result, _ = sequential
    with joblib.parallel_config(backend="loky"):
        _same(bootstrap_iptw_cox(sim3arm(), **ARGS, n_jobs=2), result)


@pytest.mark.slow
def test_dask_local_cluster_gives_the_same_intervals(sequential):
    result, _ = sequential
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster),
        joblib.parallel_config(backend="dask"),
    ):
        on_dask = bootstrap_iptw_cox(sim3arm(), **ARGS)
    _same(on_dask, result)


def test_bca_equals_percentile_without_bias_or_skew():
    rng = np.random.default_rng(1)
    half = rng.normal(size=(500, 1))
    replicates = np.vstack((half, -half))  # symmetric about 0: z0 = Phi^-1(1/2) = 0
    jackknife = np.array([[-1.0], [1.0], [-2.0], [2.0]])  # symmetric: a = 0
    low, high, z0, a = _bca(replicates, np.array([0.0]), jackknife, 0.95)
    assert z0[0] == 0 and a[0] == 0
    assert_close([low[0], high[0]], np.quantile(replicates, [0.025, 0.975]), tier="exact")


def test_bca_agrees_with_scipy_on_a_skewed_mean():
    # same data, independent resamples: the two BCa intervals agree within Monte Carlo error
    rng = np.random.default_rng(11)
    x = rng.exponential(size=40)
    boots = x[rng.integers(0, x.size, (20000, x.size))].mean(axis=1)[:, None]
    jack = np.array([[np.delete(x, i).mean()] for i in range(x.size)])
    low, high, _, a = _bca(boots, np.array([x.mean()]), jack, 0.95)
    ref = stats.bootstrap(
        (x,), np.mean, n_resamples=20000, method="BCa", rng=12
    ).confidence_interval
    assert a[0] > 0  # right-skewed
    assert low[0] == pytest.approx(ref.low, rel=0.02) and high[0] == pytest.approx(
        ref.high, rel=0.02
    )


def test_bad_arguments():
    with pytest.raises(ValueError, match="n_jackknife must be at least 2, got 1"):
        bootstrap_iptw_cox(sim3arm(), **(ARGS | {"n_jackknife": 1}))
    with pytest.raises(ValueError, match="n_boot must be at least 2, got 1"):
        bootstrap_iptw_cox(sim3arm(), **(ARGS | {"n_boot": 1}))


def test_att_and_ps_trimming_options_reach_every_replicate_and_are_named():
    result = bootstrap_iptw_cox(
        sim3arm(), **(ARGS | {"n_boot": 3, "n_jackknife": 2, "tau": None}), n_jobs=1,
        estimand="ATT", target="SP alone", ps_trim="common_support",
    )  # fmt: skip
    data = sim3arm()
    ps = PropensityModel(PS_COVARIATES).fit(data, treatment="arm").predict_proba(data)
    w = iptw_weights(ps, data["arm"], estimand="ATT", target="SP alone", ps_trim="common_support")
    kept = data.with_columns(w=w.values).filter(pl.Series(w.kept))
    direct = cox_ph(kept, time="os_months", event="vital_status", covariates=["arm"], weights="w")
    assert_close(result.estimate, direct.estimate, tier="invariance")
    assert "weights ATT (target 'SP alone'), PS-trimmed by 'common_support'" in result.method
