"""Kernels of the descriptive tests (arrays in, dicts of numbers out), each R's computation.

* `chisq_test`: R ``chisq.test(table, correct=)`` — Yates only for 2×2:
  ``Σ (|O − E| − min(0.5, min|O − E|))² / E``.
* `fisher_2x2`: R ``fisher.test`` on a 2×2 table: two-sided p = Σ P(t) over tables with
  P(t) ≤ P(observed)·(1 + 1e-7); conditional MLE odds ratio and exact CI by R's own root
  finder (`_zeroin`, a port of R's ``R_zeroin2``, tol = eps^0.25) so the numbers are R's.
* `fisher_rxc_monte_carlo`: R ``fisher.test(simulate.p.value = TRUE, B =)``:
  p = (1 + #{simulated Σ −log x! ≤ observed / (1 + 64 eps)}) / (B + 1), tables drawn with fixed
  margins (``scipy.stats.random_table``, Patefield) from a seeded generator.
* `oneway_anova` (R ``aov`` / ``oneway.test(var.equal = TRUE)``), `welch_anova`
  (``oneway.test(var.equal = FALSE)``), `kruskal_wallis` (``kruskal.test``, ties corrected).
* `cochran_armitage`: chi-square test for trend in proportions (R ``prop.trend.test``):
  ``z = Σ s_i (x_i − n_i p) / sqrt(p (1 − p) (Σ n_i s_i² − (Σ n_i s_i)² / N))``, statistic z².
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from scipy import special, stats

_EPS = np.finfo(float).eps


def chisq_test(table: np.ndarray, *, correct: bool = True) -> dict[str, Any]:
    """Pearson chi-square of an r×c table of counts (no zero margins)."""
    x = np.asarray(table, dtype=float)
    n = x.sum()
    expected = np.outer(x.sum(axis=1), x.sum(axis=0)) / n
    yates = 0.0
    method = "Pearson's Chi-squared test"
    if correct and x.shape == (2, 2):
        yates = min(0.5, float(np.abs(x - expected).min()))
        if yates > 0:
            method += " with Yates' continuity correction"
    statistic = float(np.sum((np.abs(x - expected) - yates) ** 2 / expected))
    df = (x.shape[0] - 1) * (x.shape[1] - 1)
    warnings = ("Chi-squared approximation may be incorrect",) if (expected < 5).any() else ()
    return {
        "statistic": statistic,
        "df": float(df),
        "p_value": float(stats.chi2.sf(statistic, df)),
        "expected": expected,
        "method": method,
        "warnings": warnings,
    }


def small_expected(table: np.ndarray) -> bool:
    """The usual rule against the chi-square approximation: > 20% of cells expect < 5."""
    x = np.asarray(table, dtype=float)
    expected = np.outer(x.sum(axis=1), x.sum(axis=0)) / x.sum()
    return bool(np.mean(expected < 5) > 0.2)


# --- Fisher 2×2, following R's fisher.test line by line -------------------------------------


class _Hyper:
    """Non-central hypergeometric distribution of x[0, 0] given the margins (R's dnhyper etc.)."""

    def __init__(self, table: np.ndarray) -> None:
        x = np.asarray(table, dtype=float)
        self.x = x[0, 0]
        m, n, k = x[:, 0].sum(), x[:, 1].sum(), x[0, :].sum()
        self.lo, self.hi = max(0.0, k - n), min(k, m)
        self.support = np.arange(self.lo, self.hi + 1)
        self.logdc = stats.hypergeom.logpmf(self.support, m + n, m, k)

    def density(self, ncp: float) -> np.ndarray:
        d = self.logdc + math.log(ncp) * self.support
        d = np.exp(d - d.max())
        return d / d.sum()

    def mean(self, ncp: float) -> float:
        if ncp == 0:
            return self.lo
        if math.isinf(ncp):
            return self.hi
        return float(np.sum(self.support * self.density(ncp)))

    def cdf(self, q: float, ncp: float, upper: bool) -> float:
        if ncp == 1:
            d = np.exp(self.logdc)
            return float(d[self.support >= q].sum() if upper else d[self.support <= q].sum())
        if ncp == 0:
            return float(q <= self.lo) if upper else float(q >= self.lo)
        if math.isinf(ncp):
            return float(q <= self.hi) if upper else float(q >= self.hi)
        d = self.density(ncp)
        return float(d[self.support >= q].sum() if upper else d[self.support <= q].sum())


def _zeroin(f: Callable[[float], float], ax: float, bx: float, tol: float = _EPS**0.25) -> float:
    """Brent's root finder exactly as R's ``R_zeroin2`` (uniroot, maxiter 1000)."""
    a, b = ax, bx
    fa, fb = f(a), f(b)
    c, fc = a, fa
    if fa == 0.0:
        return a
    if fb == 0.0:
        return b
    for _ in range(1000):
        prev_step = b - a
        if abs(fc) < abs(fb):
            a, b, c = b, c, b
            fa, fb, fc = fb, fc, fb
        tol_act = 2 * _EPS * abs(b) + tol / 2
        new_step = (c - b) / 2
        if abs(new_step) <= tol_act or fb == 0.0:
            return b
        if abs(prev_step) >= tol_act and abs(fa) > abs(fb):
            cb = c - b
            if a == c:
                t1 = fb / fa
                p = cb * t1
                q = 1.0 - t1
            else:
                q, r, t2 = fa / fc, fb / fc, fb / fa
                p = t2 * (cb * q * (q - r) - (b - a) * (r - 1.0))
                q = (q - 1.0) * (r - 1.0) * (t2 - 1.0)
            if p > 0:
                q = -q
            else:
                p = -p
            if p < (0.75 * cb * q - abs(tol_act * q) / 2) and p < abs(prev_step * q / 2):
                new_step = p / q
        if abs(new_step) < tol_act:
            new_step = tol_act if new_step > 0 else -tol_act
        a, fa = b, fb
        b += new_step
        fb = f(b)
        if (fb > 0 and fc > 0) or (fb < 0 and fc < 0):
            c, fc = a, fa
    return b


def fisher_2x2(table: np.ndarray, *, conf_level: float = 0.95) -> dict[str, Any]:
    """R ``fisher.test`` on a 2×2 table: two-sided p, conditional MLE odds ratio and its CI."""
    h = _Hyper(table)
    x = h.x
    d = h.density(1.0)
    p_value = float(min(1.0, d[d <= d[int(x - h.lo)] * (1 + 1e-7)].sum()))

    def mle() -> float:
        if x == h.lo:
            return 0.0
        if x == h.hi:
            return math.inf
        mu = h.mean(1.0)
        if mu > x:
            return _zeroin(lambda t: h.mean(t) - x, 0.0, 1.0)
        if mu < x:
            return 1.0 / _zeroin(lambda t: h.mean(1.0 / t) - x, _EPS, 1.0)
        return 1.0

    def upper(alpha: float) -> float:
        if x == h.hi:
            return math.inf
        p = h.cdf(x, 1.0, upper=False)
        if p < alpha:
            return _zeroin(lambda t: h.cdf(x, t, upper=False) - alpha, 0.0, 1.0)
        if p > alpha:
            return 1.0 / _zeroin(lambda t: h.cdf(x, 1.0 / t, upper=False) - alpha, _EPS, 1.0)
        return 1.0

    def lower(alpha: float) -> float:
        if x == h.lo:
            return 0.0
        p = h.cdf(x, 1.0, upper=True)
        if p > alpha:
            return _zeroin(lambda t: h.cdf(x, t, upper=True) - alpha, 0.0, 1.0)
        if p < alpha:
            return 1.0 / _zeroin(lambda t: h.cdf(x, 1.0 / t, upper=True) - alpha, _EPS, 1.0)
        return 1.0

    alpha = (1 - conf_level) / 2
    return {
        "p_value": p_value,
        "estimate": mle(),
        "conf_low": lower(alpha),
        "conf_high": upper(alpha),
        "conf_level": conf_level,
        "method": "Fisher's exact test",
    }


def fisher_rxc_monte_carlo(
    table: np.ndarray, *, n_simulations: int, random_state: int | np.random.Generator
) -> dict[str, Any]:
    """R ``fisher.test(simulate.p.value = TRUE)``: Monte-Carlo p over tables with fixed margins."""
    x = np.asarray(table, dtype=np.int64)
    observed = -float(special.gammaln(x + 1.0).sum())
    rng = np.random.default_rng(random_state)
    tables = stats.random_table(x.sum(axis=1), x.sum(axis=0)).rvs(
        size=n_simulations, random_state=rng
    )
    simulated = -special.gammaln(tables + 1.0).sum(axis=(1, 2))
    hits = int(np.sum(simulated <= observed / (1 + 64 * _EPS)))
    return {
        "p_value": (1 + hits) / (n_simulations + 1),
        "method": f"Fisher's exact test (Monte Carlo, {n_simulations} tables)",
    }


# --- continuous -------------------------------------------------------------------------------


def oneway_anova(samples: list[np.ndarray]) -> dict[str, Any]:
    """One-way ANOVA F test with equal variances (R ``aov``): between/within sums of squares."""
    n = np.array([s.size for s in samples], dtype=float)
    means = np.array([s.mean() for s in samples])
    grand = np.concatenate(samples).mean()
    ss_between = float(np.sum(n * (means - grand) ** 2))
    ss_within = float(sum(np.sum((s - m) ** 2) for s, m in zip(samples, means, strict=True)))
    df1, df2 = len(samples) - 1, float(n.sum() - len(samples))
    statistic = (ss_between / df1) / (ss_within / df2)
    return {
        "statistic": float(statistic),
        "df": float(df1),
        "df_denominator": df2,
        "p_value": float(stats.f.sf(statistic, df1, df2)),
        "sum_sq": (ss_between, ss_within),
        "method": "One-way ANOVA (equal variances)",
    }


def welch_anova(samples: list[np.ndarray]) -> dict[str, Any]:
    """Welch's one-way test (R ``oneway.test(var.equal = FALSE)``)."""
    k = len(samples)
    n = np.array([s.size for s in samples], dtype=float)
    m = np.array([s.mean() for s in samples])
    v = np.array([s.var(ddof=1) for s in samples])
    w = n / v
    sw = w.sum()
    tmp = np.sum((1 - w / sw) ** 2 / (n - 1)) / (k * k - 1)
    grand = np.sum(w * m) / sw
    statistic = float(np.sum(w * (m - grand) ** 2) / ((k - 1) * (1 + 2 * (k - 2) * tmp)))
    df2 = float(1 / (3 * tmp))
    return {
        "statistic": statistic,
        "df": float(k - 1),
        "df_denominator": df2,
        "p_value": float(stats.f.sf(statistic, k - 1, df2)),
        "method": "Welch's one-way ANOVA (unequal variances)",
    }


def kruskal_wallis(samples: list[np.ndarray]) -> dict[str, Any]:
    """Kruskal–Wallis rank-sum test with the ties correction (R ``kruskal.test``)."""
    result = stats.kruskal(*samples)
    return {
        "statistic": float(result.statistic),
        "df": float(len(samples) - 1),
        "p_value": float(result.pvalue),
        "method": "Kruskal-Wallis rank-sum test",
    }


def cochran_armitage(events: np.ndarray, totals: np.ndarray, scores: np.ndarray) -> dict[str, Any]:
    """Chi-square test for trend in proportions (Cochran–Armitage; = R ``prop.trend.test``)."""
    x = np.asarray(events, dtype=float)
    n = np.asarray(totals, dtype=float)
    s = np.asarray(scores, dtype=float)
    N = n.sum()
    p = x.sum() / N
    numerator = float(np.sum(s * (x - n * p)))
    variance = p * (1 - p) * (np.sum(n * s * s) - np.sum(n * s) ** 2 / N)
    z = numerator / math.sqrt(variance) if variance > 0 else math.nan
    statistic = z * z
    return {
        "statistic": statistic,
        "z": z,
        "df": 1.0,
        "p_value": float(stats.chi2.sf(statistic, 1)) if math.isfinite(z) else math.nan,
        "method": "Cochran-Armitage test for trend (chi-square, R prop.trend.test)",
    }
