"""Benchmark: 1,000 bootstrap replicates of the whole IPTW pipeline (run by hand, not by pytest).

Each replicate resamples the 1,124-patient synthetic sarcoma cohort, refits the multinomial
propensity model, the stabilized normalized weights, the weighted Cox model and the weighted
RMST (tau = the smallest last follow-up time of the groups); then a 100-group jackknife for the
BCa acceleration. Runs it in one process, with joblib's loky backend on 2 processes (target
<= 60 s on 2 cores) and on a Dask ``LocalCluster`` with 1, 2 and 4 worker processes (speed-up
against 1 worker), and checks that every run gives the same replicates and intervals.

    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_bootstrap.py [--n-boot 1000] [--workers 1 2 4]
        [--rows 10000000]   # registry scale: the 135,443-patient cohort of a 10M-row PUF

``--workers`` with no number skips the Dask runs (one process and loky only).
"""

from __future__ import annotations

import argparse
import os
import time

import joblib
import numpy as np
import polars as pl

from regsurv.causal import bootstrap_iptw_cox
from regsurv.cohort import build_cohort
from regsurv.io import scan_puf
from regsurv.pipeline.spec import load_study
from regsurv.synth import cached_synthetic_puf


def sarcoma_cohort(rows: int | None = None) -> tuple[pl.DataFrame, dict[str, object]]:
    """The default study's analytic cohort (complete cases of the PS model) and the arguments,
    from the synthetic PUF of ``rows`` rows (default: the shipped size)."""
    spec = load_study()
    puf = cached_synthetic_puf() if rows is None else cached_synthetic_puf(rows=rows)
    cohort, _ = build_cohort(scan_puf(puf), spec.cohort)
    ps, surv = spec.analysis("iptw"), spec.outcome
    columns = [ps.treatment, *ps.covariates, *ps.balance_columns, surv.time, surv.event]
    data = cohort.collect().drop_nulls(list(dict.fromkeys(columns)))
    args = {
        "time": surv.time,
        "event": surv.event,
        "treatment": ps.treatment,
        "covariates": list(ps.covariates),
        "reference": dict(ps.reference),
        "ties": "breslow",  # profile sas, as `regsurv run`
        "tau": "default",
    }
    return data, args


def run(label: str, data: pl.DataFrame, args: dict[str, object], **kwargs: object):
    """Wall time of one bootstrap, with this process's CPU time and the load average (on a
    shared machine the wall time of parallel runs measures the other users too)."""
    load = os.getloadavg()[0]
    start, cpu = time.perf_counter(), time.process_time()
    result = bootstrap_iptw_cox(data, **args, **kwargs)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    print(
        f"  {label:<34s} wall {seconds:7.1f} s  cpu (this process) {cpu:6.1f} s  "
        f"load average {load:5.1f}",
        flush=True,
    )
    return seconds, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-boot", type=int, default=1000)
    parser.add_argument("--workers", type=int, nargs="*", default=[1, 2, 4])
    parser.add_argument("--seed", type=int, default=20220107)
    parser.add_argument("--rows", type=int, default=None, help="synthetic PUF rows")
    options = parser.parse_args()
    from distributed import Client, LocalCluster

    data, args = sarcoma_cohort(options.rows)
    common = {"n_boot": options.n_boot, "random_state": options.seed}
    print(
        f"{data.height} patients, {options.n_boot} replicates + 100 jackknife fits; "
        f"{os.cpu_count()} CPUs, OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS')}"
    )
    sequential_s, reference = run("one process, n_jobs=1", data, args, n_jobs=1, **common)
    loky_s, loky = run("joblib loky, n_jobs=2", data, args, n_jobs=2, **common)
    same = np.array_equal(loky.replicates, reference.replicates, equal_nan=True)
    dask_s: dict[int, float] = {}
    for n_workers in options.workers:
        with (
            LocalCluster(
                n_workers=n_workers, threads_per_worker=1, processes=True, dashboard_address=None
            ) as cluster,
            Client(cluster),
            joblib.parallel_config(backend="dask"),
        ):
            dask_s[n_workers], result = run(
                f"dask LocalCluster, {n_workers} worker(s)", data, args, **common
            )
        same &= np.array_equal(result.replicates, reference.replicates, equal_nan=True)
        same &= np.array_equal(result.bca_conf_low, reference.bca_conf_low, equal_nan=True)
    print()
    print(reference.to_frame().select("term", "estimate", "conf_low", "conf_high",
                                      "bca_conf_low", "bca_conf_high"))  # fmt: skip
    n_fits = options.n_boot + 100
    print(f"\none process: {sequential_s:.1f} s, {1000 * sequential_s / n_fits:.1f} ms per fit")
    for label, seconds in (("one process", sequential_s), ("loky on 2 processes", loky_s)):
        rate = n_fits / seconds
        print(f"{label}: {rate:.1f} fits/s (replicates and jackknife fits alike); 1,000 "
              f"replicates + 100 jackknife fits: about {1100 / rate:.0f} s")  # fmt: skip
    print(f"loky on 2 processes: {loky_s:.1f} s (target <= 60 s): "
          f"{'met' if loky_s <= 60 else 'NOT met'}")  # fmt: skip
    base = dask_s.get(1)
    for n_workers, seconds in dask_s.items():
        speedup = f"{base / seconds:4.2f}x" if base else "n/a"
        print(f"dask {n_workers} worker(s): {seconds:6.1f} s  speed-up vs 1 worker {speedup}")
    print(f"same replicates and intervals on one process, loky and every Dask cluster: {same}")


if __name__ == "__main__":
    main()
