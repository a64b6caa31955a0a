"""Benchmark: the whole IPTW analysis at registry scale (run by hand, never from pytest).

Multinomial propensity model (exact Newton–Raphson MLE) + stabilized normalized weights +
balance table + IPTW Cox (Efron, robust SE) on a synthetic 3-group cohort, next to statsmodels
``MNLogit`` (Newton) and scikit-learn ``LogisticRegression`` (multinomial, lbfgs) fitted to the
same design in the same run. Target: the whole IPTW analysis at 1,000,000 rows under 30 s.

    python benchmarks/bench_iptw.py                      # 1,000,000 rows x 30 covariates
    python benchmarks/bench_iptw.py --rows 100000 --skip-sklearn
"""

from __future__ import annotations

import argparse
import os
import platform
import time
import warnings

import numpy as np
import polars as pl

from regsurv.causal import PropensityModel, balance_table, iptw_weights
from regsurv.survival.cox import cox_ph


def make_cohort(n: int, n_covariates: int, seed: int = 20240101) -> tuple[pl.DataFrame, list[str]]:
    """Synthetic cohort: a third numeric covariates, the rest 3-level categoricals (Enum);
    treatment from a multinomial logit on them; Weibull survival in integer months (ties)."""
    rng = np.random.default_rng(seed)
    n_num = n_covariates // 3
    n_cat = n_covariates - n_num
    columns: dict[str, object] = {}
    linear = np.zeros((n, 2))
    for j in range(n_num):
        x = rng.normal(size=n)
        columns[f"x{j}"] = x
        linear += np.outer(x, rng.normal(0, 0.15, 2))
    levels = ["a", "b", "c"]
    for j in range(n_cat):
        code = rng.choice(3, size=n, p=[0.5, 0.3, 0.2])
        columns[f"c{j}"] = pl.Series(np.array(levels)[code]).cast(pl.Enum(levels))
        effects = np.vstack([np.zeros(2), rng.normal(0, 0.2, (2, 2))])
        linear += effects[code]
    eta = np.column_stack([np.zeros(n), linear + np.array([-0.5, 0.6])])
    prob = np.exp(eta - eta.max(axis=1, keepdims=True))
    prob /= prob.sum(axis=1, keepdims=True)
    group = (rng.random(n)[:, None] > np.cumsum(prob, axis=1)).sum(axis=1)
    arms = ["SP alone", "Metastasectomy", "Non-surgical adjuvant"]
    hazard = np.exp(np.array([0.0, -0.8, -0.6])[group] + 0.3 * linear[:, 0])
    t_event = 28.0 * rng.weibull(0.75, n) / hazard ** (1 / 0.75)
    t_censor = rng.uniform(1, 120, n)
    columns["treatment"] = pl.Series(np.array(arms)[group]).cast(pl.Enum(arms))
    columns["os_months"] = np.floor(np.minimum(t_event, t_censor))
    columns["death"] = (t_event <= t_censor).astype(np.int8)
    covariates = [f"x{j}" for j in range(n_num)] + [f"c{j}" for j in range(n_cat)]
    return pl.DataFrame(columns), covariates


def timed(label: str, fn, results: dict[str, float]):
    """Run ``fn``; record wall time, print wall and CPU time (CPU = this process, all threads:
    on a shared, loaded machine it is the better measure of the work done)."""
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    results[label] = time.perf_counter() - wall
    cpu = time.process_time() - cpu
    CPU[label] = cpu
    print(f"  {label:<52s} wall {results[label]:7.2f} s  cpu {cpu:7.2f} s", flush=True)
    return out


CPU: dict[str, float] = {}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--covariates", type=int, default=30)
    parser.add_argument("--skip-statsmodels", action="store_true")
    parser.add_argument("--skip-sklearn", action="store_true")
    args = parser.parse_args()

    print(
        f"bench_iptw: {args.rows:,} rows x {args.covariates} covariates, 3 groups | "
        f"Python {platform.python_version()}, numpy {np.__version__}, polars {pl.__version__}, "
        f"{os.cpu_count()} CPUs (load {os.getloadavg()[0]:.1f}), "
        f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}"
    )
    frame, covariates = make_cohort(args.rows, args.covariates)
    print(f"  events {int(frame['death'].sum()):,}, distinct times {frame['os_months'].n_unique()}")
    t: dict[str, float] = {}
    model = timed(
        "regsurv PropensityModel.fit (Newton MLE)",
        lambda: PropensityModel(covariates).fit(frame, treatment="treatment"),
        t,
    )
    ps = timed("regsurv predict_proba", lambda: model.predict_proba(frame), t)
    weights = timed("regsurv iptw_weights (stabilized, normalized)",
                    lambda: iptw_weights(ps, frame["treatment"]), t)  # fmt: skip
    balance = timed(
        "regsurv balance_table (before/after)",
        lambda: balance_table(frame, treatment="treatment", covariates=covariates, weights=weights),
        t,
    )
    weighted = frame.with_columns(w=weights.values)
    cox = timed(
        "regsurv cox_ph IPTW (Efron, robust SE)",
        lambda: cox_ph(weighted, time="os_months", event="death", covariates=["treatment"],
                       weights="w", robust=True),
        t,
    )  # fmt: skip
    core = [k for k in t if "balance" not in k]
    print(
        f"  {'IPTW analysis: PS + weights + Cox (target < 30 s)':<52s} "
        f"wall {sum(t[k] for k in core):7.2f} s  cpu {sum(CPU[k] for k in core):7.2f} s"
    )
    print(
        f"  {'  ... with the balance table':<52s} wall {sum(t.values()):7.2f} s  "
        f"cpu {sum(CPU.values()):7.2f} s"
    )
    print(
        f"  PS: {model.n_iter_} Newton iterations, converged={model.converged_}; "
        f"weights ESS {weights.ess:,.0f}; max |SMD| after {balance.max_abs_smd:.3f}; "
        f"HR {np.round(cox.hazard_ratio, 4).tolist()}, robust SE "
        f"{np.round(cox.robust_std_error, 5).tolist()}"
    )

    X = model.design_matrix(frame)
    codes = frame["treatment"].to_physical().to_numpy()  # Enum codes = level order
    ours = np.column_stack((model.intercept_, model.coef_))
    if not args.skip_statsmodels:
        import statsmodels.api as sm

        res = timed(
            "statsmodels MNLogit.fit (newton, tol 1e-8)",
            lambda: sm.MNLogit(codes, X).fit(method="newton", maxiter=100, disp=False),
            t,
        )
        diff = np.max(np.abs(np.asarray(res.params).T - ours))
        print(f"    max |coef difference| vs regsurv: {diff:.2e}")
    if not args.skip_sklearn:
        from sklearn.linear_model import LogisticRegression

        def fit_sklearn():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return LogisticRegression(penalty=None, max_iter=1000, tol=1e-8).fit(
                    X[:, 1:], codes
                )

        clf = timed("scikit-learn LogisticRegression (lbfgs, multinomial)", fit_sklearn, t)
        # softmax coefficients are identified up to a shift: compare against class 0
        sk = np.column_stack((clf.intercept_, clf.coef_))
        diff = np.max(np.abs((sk[1:] - sk[0]) - ours))
        print(f"    max |coef difference| vs regsurv: {diff:.2e} (n_iter {clf.n_iter_[0]})")


if __name__ == "__main__":
    main()
