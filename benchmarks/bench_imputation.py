"""Benchmark: multiple imputation at registry scale (run by hand, never from pytest).

`multiple_imputation` as shipped next to the plain statsmodels path it replaced (the peer,
kept here: ``MICEData`` with statsmodels' own ``Logit`` / ``MNLogit`` derivatives, rank QR and
column names, the design rebuilt for every fit and split) on the same data in the same run,
then a check that both give the same completed sets (every imputed code, every value).

Data: the shipped study's cohort of the synthetic PUF of ``--puf-rows`` rows (10,000,000: the
135,443 patients of a registry-size PUF; generated once and cached) or a cohort saved as Parquet
(``--cohort``), with the columns the study's ``mi`` analysis imputes; with neither, a synthetic
cohort of ``--rows`` patients with categorical covariates of 2-8 levels, four of them incomplete.
The study runs m = 5, max_iter = 5.

    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_imputation.py --puf-rows 10000000
    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_imputation.py --puf-rows 10000000 --rows 30000
    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_imputation.py --rows 135443
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from functools import cache
from pathlib import Path
from typing import Any
from unittest import mock

import numpy as np
import polars as pl

from regsurv.causal import imputation
from regsurv.causal.imputation import multiple_imputation


@cache
def _peer_chained_equations() -> type:
    """The chained equations before issue 18 (regsurv 1e3f803), statsmodels' models as they
    come."""
    from statsmodels.discrete.discrete_model import MNLogit
    from statsmodels.imputation.mice import MICEData

    class _ChainedEquations(MICEData):
        def __init__(self, data: Any, categorical: dict[str, int], predictors, **kwargs) -> None:
            self.categorical = categorical
            self.predictors = predictors
            super().__init__(data, **kwargs)

        def _design(self, vname: str) -> tuple[np.ndarray, np.ndarray]:
            parts = [np.ones((self.data.shape[0], 1))]
            for name in self.predictors[vname]:
                values = self.data[name].to_numpy(dtype=float)
                k = self.categorical.get(name)
                parts.append(
                    values[:, None] if k is None else values[:, None] == np.arange(1, k)[None, :]
                )
            return self.data[vname].to_numpy(dtype=float), np.column_stack(parts).astype(float)

        def get_fitting_data(self, vname: str):
            endog, exog = self._design(vname)
            rows = self.ix_obs[vname]
            return endog[rows], exog[rows], {}, dict(self.fit_kwds[vname])

        def get_split_data(self, vname: str):
            endog, exog = self._design(vname)
            obs, miss = self.ix_obs[vname], self.ix_miss[vname]
            return endog[obs], exog[obs], exog[miss], {}, {}

        def _perturb_gaussian(self, vname: str) -> None:
            if vname not in self.categorical or self.categorical[vname] == 2:
                super()._perturb_gaussian(vname)
                return
            endog, exog, init_kwds, fit_kwds = self.get_fitting_data(vname)
            model = MNLogit(endog, exog, **init_kwds)
            result = model.fit(**fit_kwds)
            mean = np.asarray(result.params).ravel(order="F")
            draw = self.rng.multivariate_normal(mean=mean, cov=np.asarray(result.cov_params()))
            self.models[vname], self.results[vname] = model, result
            self.params[vname] = draw.reshape(np.shape(result.params), order="F")

        def impute(self, vname: str) -> None:
            if vname not in self.categorical:
                self.impute_pmm(vname)
                return
            _, _, exog_miss, _, _ = self.get_split_data(vname)
            if exog_miss.shape[0] == 0:
                return
            prob = np.asarray(self.models[vname].predict(self.params[vname], exog_miss))
            if prob.ndim == 1:
                prob = np.column_stack((1.0 - prob, prob))
            u = self.rng.random(prob.shape[0])
            codes = (u[:, None] > np.cumsum(prob, axis=1)[:, :-1]).sum(axis=1)
            self._store_changes(vname, codes.astype(float))

    return _ChainedEquations


_CHAIN = imputation._chain  # the shipped chain (main() patches the module's name to the peer)


def peer_chain(encoded, predictors, categorical, max_iter, seed):
    """One chain of the peer: `regsurv.causal.imputation._chain` with the pre-change chained
    equations and statsmodels' own ``Logit`` / ``MNLogit``."""
    from statsmodels.discrete.discrete_model import Logit, MNLogit

    from regsurv.causal import _imputation_models

    with (
        mock.patch.object(imputation, "_chained_equations", _peer_chained_equations),
        mock.patch.object(_imputation_models, "FastLogit", Logit),
        mock.patch.object(_imputation_models, "FastMNLogit", MNLogit),
    ):
        return _CHAIN(encoded, predictors, categorical, max_iter, seed)


def study_cohort(puf_rows: int) -> pl.DataFrame:
    """The shipped study's cohort of the cached synthetic PUF of ``puf_rows`` rows."""
    from regsurv.pipeline.runner import build_study_cohort, resolve_source
    from regsurv.pipeline.spec import load_study
    from regsurv.synth import cached_synthetic_puf

    spec = load_study(None)
    source = resolve_source(cached_synthetic_puf(rows=puf_rows), None, spec.study.seed)
    return build_study_cohort(spec, source).cohort


def study_input(cohort: pl.DataFrame, rows: int | None) -> tuple[pl.DataFrame, dict[str, Any]]:
    """The rows and the options the shipped study's ``mi`` step passes to
    `multiple_imputation` (`regsurv.pipeline.analyses_sensitivity.imputation_step`)."""
    from regsurv.pipeline.analyses import StepContext
    from regsurv.pipeline.analyses_sensitivity import _imputation_columns
    from regsurv.pipeline.profiles import get_profile
    from regsurv.pipeline.spec import load_study

    spec = load_study(None)
    if rows:
        cohort = cohort.head(rows)
    ctx = StepContext(
        cohort=cohort,
        outcome=spec.outcome,
        profile=get_profile("sas"),
        seed=spec.study.seed,
        specs={a.id: a for a in spec.analyses},
        records={},
        n_jobs=1,
    )
    mi = ctx.specs["mi"]
    imputed, complete = _imputation_columns(ctx, [ctx.specs[link] for link in mi.of])
    o = ctx.outcome
    options = {
        "columns": imputed,
        "time": o.time,
        "event": o.event,
        "predictors": [c for c in complete if c not in (o.time, o.event)],
        "m": mi.m,
        "max_iter": mi.max_iter,
        "random_state": mi.random_state if mi.random_state is not None else ctx.seed,
    }
    return cohort.drop_nulls(complete), options


def synthetic_input(n: int, seed: int = 20240101) -> tuple[pl.DataFrame, dict[str, Any]]:
    """Ten categorical covariates (2-8 levels) related to a 3-level treatment, four of them
    missing at random in 2-20% of the rows; exponential survival in months."""
    rng = np.random.default_rng(seed)
    sizes = [2, 2, 3, 2, 3, 3, 4, 4, 8, 2]
    missing = {5: 0.2, 6: 0.1, 9: 0.13, 2: 0.02}
    treatment = rng.choice(3, size=n, p=[0.5, 0.3, 0.2])
    columns: dict[str, Any] = {}
    linear = np.zeros(n)
    for j, k in enumerate(sizes):
        shift = rng.normal(0, 0.5, (3, k))
        logits = shift[treatment]
        prob = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        code = (rng.random(n)[:, None] > np.cumsum(prob, axis=1)[:, :-1]).sum(axis=1)
        linear += rng.normal(0, 0.2, k)[code]
        levels = [f"l{i}" for i in range(k)]
        values = pl.Series(np.array(levels)[code]).cast(pl.Enum(levels))
        if j in missing:
            values = values.scatter(np.flatnonzero(rng.random(n) < missing[j]), None)
        columns[f"c{j}"] = values
    arms = ["a", "b", "c"]
    columns["treatment"] = pl.Series(np.array(arms)[treatment]).cast(pl.Enum(arms))
    t_event = rng.exponential(40.0 * np.exp(-linear))
    t_censor = rng.uniform(1, 120, n)
    columns["os_months"] = np.ceil(np.minimum(t_event, t_censor))
    columns["death"] = (t_event <= t_censor).astype(np.int8)
    options = {
        "columns": [f"c{j}" for j in range(len(sizes))],
        "time": "os_months",
        "event": "death",
        "predictors": ["treatment"],
        "m": 5,
        "max_iter": 5,
        "random_state": 0,
    }
    return pl.DataFrame(columns), options


def timed(fn) -> tuple[float, float, Any]:
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return time.perf_counter() - wall, time.process_time() - cpu, out


def differences(ours, peer) -> int:
    """Imputed cells that differ: codes not identical, numbers beyond 1e-12 relative."""
    count = 0
    for a, b in zip(ours.completed, peer.completed, strict=True):
        assert a.columns == b.columns and a.schema == b.schema
        for column in ours.imputed:
            x, y = a[column], b[column]
            if x.dtype.is_numeric():
                u, v = x.cast(pl.Float64).to_numpy(), y.cast(pl.Float64).to_numpy()
                same = np.isclose(u, v, rtol=1e-12, atol=0) | (np.isnan(u) & np.isnan(v))
                count += int((~same).sum())
            else:
                count += int((x != y).sum())
        other = [c for c in a.columns if c not in ours.imputed]
        count += 0 if a.select(other).equals(b.select(other)) else 1
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--puf-rows", type=int, default=None, help="synthetic PUF rows")
    parser.add_argument("--cohort", type=Path, default=None, help="a study cohort (Parquet)")
    parser.add_argument("--rows", type=int, default=None, help="first rows only (default all)")
    parser.add_argument("--skip-peer", action="store_true")
    args = parser.parse_args()
    if args.cohort is not None or args.puf_rows is not None:
        cohort = pl.read_parquet(args.cohort) if args.cohort else study_cohort(args.puf_rows)
        data, options = study_input(cohort, args.rows)
        source = "the study cohort (its mi columns)"
    else:
        data, options = synthetic_input(args.rows or 135_443)
        source = "synthetic cohort"
    print(
        f"bench_imputation: {data.height:,} rows, {source}, m = {options['m']}, "
        f"max_iter = {options['max_iter']} | Python {platform.python_version()}, "
        f"numpy {np.__version__}, {os.cpu_count()} CPUs (load {os.getloadavg()[0]:.1f}), "
        f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}",
        flush=True,
    )
    imputation._chained_equations()  # statsmodels imported before either is timed
    ours, ours_cpu, imputed = timed(lambda: multiple_imputation(data, **options))
    print(f"  {imputed!r}")
    print(f"  {'regsurv multiple_imputation':<44s} wall {ours:7.2f} s  cpu {ours_cpu:7.2f} s")
    if args.skip_peer:
        return
    with mock.patch.object(imputation, "_chain", peer_chain):
        peer, peer_cpu, plain = timed(lambda: multiple_imputation(data, **options))
    print(f"  {'statsmodels MICEData path (peer)':<44s} wall {peer:7.2f} s  cpu {peer_cpu:7.2f} s")
    print(f"  ratio regsurv / peer: wall {ours / peer:.2f}  cpu {ours_cpu / peer_cpu:.2f}")
    n_diff = differences(imputed, plain)
    print(f"  completed sets: {n_diff} differences in {len(imputed.completed)} sets")
    if n_diff:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
