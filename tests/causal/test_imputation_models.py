"""The imputation's logistic models against statsmodels' own on random data (loglike, score,
Hessian, rank, whole fits), the chain's design matrix against one rebuilt from its data, and
completed sets identical to those from statsmodels' own derivatives."""

from __future__ import annotations

import numpy as np
import pandas as pd
import polars as pl
import pytest
from statsmodels.discrete.discrete_model import Logit, MNLogit

from regsurv.causal import _imputation_models as models
from regsurv.causal import multiple_imputation
from regsurv.causal._imputation_models import FastLogit, FastMNLogit, full_column_rank
from regsurv.causal._multinom import BLOCK_ROWS
from regsurv.causal.imputation import _chained_equations
from regsurv.testing import reference_data_path

N_ROWS = 9000  # more than two row blocks of the information, not a multiple of a block


def _design(n: int = N_ROWS, seed: int = 1) -> np.ndarray:
    """Intercept, 6 dummies, 3 normal columns (K = 10)."""
    rng = np.random.default_rng(seed)
    dummies = rng.random((n, 6)) < [0.5, 0.3, 0.2, 0.6, 0.1, 0.4]
    return np.column_stack([np.ones(n), dummies, rng.normal(size=(n, 3))]).astype(float)


def _levels(x: np.ndarray, n_levels: int, seed: int = 2) -> np.ndarray:
    rng = np.random.default_rng(seed)
    eta = np.column_stack([np.zeros(len(x)), x @ rng.normal(0, 0.5, (x.shape[1], n_levels - 1))])
    prob = np.exp(eta - eta.max(axis=1, keepdims=True))
    prob /= prob.sum(axis=1, keepdims=True)
    return (rng.random(len(x))[:, None] > np.cumsum(prob, axis=1)[:, :-1]).sum(axis=1)


def _relative(ours: np.ndarray, theirs: np.ndarray) -> float:
    return float(np.max(np.abs(np.asarray(ours) - theirs)) / np.max(np.abs(theirs)))


def test_chunks_cover_more_than_one_pass():
    assert 2 * BLOCK_ROWS < N_ROWS and N_ROWS % BLOCK_ROWS


@pytest.mark.parametrize("n_levels", [3, 4])
def test_mnlogit_derivatives_equal_statsmodels(n_levels):
    x = _design()
    y = _levels(x, n_levels)
    ours, theirs = FastMNLogit(y, x), MNLogit(y, x)
    rng = np.random.default_rng(3)
    for params in (rng.normal(0, 0.4, x.shape[1] * (n_levels - 1)), np.zeros(10 * (n_levels - 1))):
        h = theirs.hessian(params)
        assert _relative(ours.hessian(params), h) < 1e-10
        assert _relative(ours.score(params), theirs.score(params)) < 1e-10
        assert abs(ours.loglike(params) / theirs.loglike(params) - 1) < 1e-12
        np.testing.assert_array_equal(ours.hessian(params), ours.hessian(params).T)
    # the kept probabilities follow the parameters (a changed entry is not a stale cache hit)
    params = rng.normal(0, 0.4, x.shape[1] * (n_levels - 1))
    ours.score(params)
    params[-1] += 0.5
    assert _relative(ours.score(params), theirs.score(params)) < 1e-10


def test_logit_hessian_equals_statsmodels():
    x = _design()
    y = _levels(x, 2).astype(float)
    ours, theirs = FastLogit(y, x), Logit(y, x)
    for params in (np.random.default_rng(4).normal(0, 0.4, x.shape[1]), np.zeros(x.shape[1])):
        assert _relative(ours.hessian(params), theirs.hessian(params)) < 1e-10
        assert _relative(ours.score(params), theirs.score(params)) < 1e-12
        np.testing.assert_array_equal(ours.predict(params), theirs.predict(params))
        np.testing.assert_array_equal(ours.predict(params, x[:5]), theirs.predict(params, x[:5]))
    params[0] += 0.5  # changed in place: not a stale kept value
    np.testing.assert_array_equal(ours.predict(params), theirs.predict(params))


@pytest.mark.parametrize(
    ("fast", "plain", "n_levels"), [(FastMNLogit, MNLogit, 4), (FastLogit, Logit, 2)]
)
def test_newton_fit_is_statsmodels_fit(fast, plain, n_levels):
    x = _design()
    y = _levels(x, n_levels).astype(float)
    ours, theirs = fast(y, x).fit(disp=0), plain(y, x).fit(disp=0)
    assert ours.mle_retvals["iterations"] == theirs.mle_retvals["iterations"]
    assert _relative(ours.params, theirs.params) < 1e-10
    assert _relative(ours.cov_params(), theirs.cov_params()) < 1e-10


def test_column_names_are_statsmodels_names():
    x = _design()
    y = _levels(x, 3)
    for data in (x, x[:, ::-1].copy(), x[:, 1:]):  # constant first, last, none
        ours, theirs = FastMNLogit(y, data), MNLogit(y, data)
        assert ours.data.xnames == theirs.data.xnames
        assert list(ours.data.cov_names) == list(theirs.data.cov_names)
    assert FastLogit(y == 1, x).data.xnames == Logit(y == 1, x).data.xnames


def test_rank_from_the_gram_matrix_or_statsmodels_qr():
    x = _design()
    assert full_column_rank(x.T @ x)
    y = _levels(x, 3)
    assert FastMNLogit(y, x).df_model == MNLogit(y, x).df_model == 2 * 9
    assert not FastMNLogit(y, x)._check_rank  # proven: no QR
    twin = np.column_stack([x, x[:, 1]])  # a repeated column: rank 10 of 11 columns
    assert not full_column_rank(twin.T @ twin)
    assert not full_column_rank(np.full((3, 3), np.nan))
    deficient = FastMNLogit(y, twin)
    assert deficient._check_rank  # not proven: statsmodels' QR decides
    assert deficient.df_model == MNLogit(y, twin).df_model == 2 * 9


def _incomplete() -> tuple[pl.DataFrame, list[str]]:
    """The R reference's incomplete data (insurance, grade, margins missing) with ages removed
    from every 9th row, so a numeric column (OLS, predictive mean matching) is imputed too."""
    data = pl.read_csv(reference_data_path("sim3arm_a_mi_incomplete"), null_values="NA")
    data = data.with_columns(
        pl.when(pl.col("id") % 9 == 0).then(None).otherwise(pl.col("age")).alias("age")
    )
    return data, ["arm", "insurance", "sex", "race", "grade", "age", "sizegrp", "margins"]


def test_the_kept_design_matrix_is_the_one_rebuilt_from_the_data():
    data, columns = _incomplete()
    encoded, categorical = {}, {}
    for c in columns:
        if c == "age":
            encoded[c] = data[c].cast(pl.Float64).to_numpy()
        else:
            levels = sorted(data[c].drop_nulls().unique().to_list())
            categorical[c] = len(levels)
            codes = {level: float(k) for k, level in enumerate(levels)}
            codes = data[c].replace_strict(codes, default=None, return_dtype=pl.Float64)
            encoded[c] = codes.to_numpy()
    encoded["event"] = data["vital_status"].cast(pl.Float64).to_numpy()
    table = pd.DataFrame(encoded)
    incomplete = [c for c in columns if data[c].null_count()]
    assert "age" in incomplete and "grade" in incomplete
    predictors = {c: [o for o in [*columns, "event"] if o != c] for c in incomplete}
    chain = _chained_equations()(table, categorical, predictors, rng=np.random.default_rng(5))
    for vname in chain._cycle_order:  # new values in every imputed row, as an update stores them
        chain._store_changes(vname, np.arange(len(chain.ix_miss[vname])) % 2 + 0.0)
    for vname in incomplete:
        parts = [np.ones(len(table))]
        for name in predictors[vname]:
            values = chain.data[name].to_numpy(dtype=float)
            k = categorical.get(name)
            parts.append(values if k is None else values[:, None] == np.arange(1, k))
        full = np.column_stack(parts).astype(float)
        endog, exog_obs, exog_miss, _, _ = chain.get_split_data(vname)
        np.testing.assert_array_equal(exog_obs, full[chain.ix_obs[vname]])
        np.testing.assert_array_equal(exog_miss, full[chain.ix_miss[vname]])
        np.testing.assert_array_equal(endog, chain.data[vname].to_numpy()[chain.ix_obs[vname]])


@pytest.mark.slow
def test_completed_sets_equal_those_from_statsmodels_derivatives(monkeypatch):
    data, columns = _incomplete()
    options = {"columns": columns, "time": "os_months", "event": "vital_status"}
    options |= {"m": 2, "max_iter": 3, "random_state": 11}
    fast = multiple_imputation(data, **options)
    for name in ("loglike", "score", "hessian"):
        monkeypatch.delattr(FastMNLogit, name)
    monkeypatch.delattr(FastLogit, "hessian")
    monkeypatch.delattr(models._GramRank, "initialize")
    assert FastMNLogit.hessian is MNLogit.hessian
    plain = multiple_imputation(data, **options)
    assert fast.imputed == plain.imputed and "age" in fast.imputed
    for a, b in zip(fast.completed, plain.completed, strict=True):
        assert a.equals(b)
