"""Multinomial logistic regression by Newton–Raphson (arrays in, arrays out).

The model: for K classes with class 0 the reference, ``log P(y=k | x) / P(y=0 | x) = x' b_k``
(k = 1..K-1, ``x`` including the intercept column). The log-likelihood is
``sum_i log p_i(y_i)``; its gradient for class block k is ``X' (Y_k - P_k)`` and the observed
information (negative Hessian) block (a, b) is ``X' diag(P_a (1[a=b] - P_b)) X``. Newton steps
are taken with step halving until the log-likelihood does not decrease, and iteration stops when
the largest absolute step is below ``tol``. Frequency weights ``w_i`` (a row standing for w_i
identical rows) multiply each row's terms: ``sum_i w_i log p_i(y_i)``, ``X' W (Y_k - P_k)``,
``X' diag(w P_a (1[a=b] - P_b)) X``: the exact maximum likelihood estimate, as in the
reference ``mlogit_newton`` of tests/reference/r/R/07_propensity_iptw.R (nnet::multinom's BFGS
stops earlier, about 1e-5 away in probability).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, slots=True, eq=False)
class MultinomFit:
    """Kernel output. ``coef`` is (K-1, p) for the non-reference classes; ``information`` is the
    observed information in block order (class 1 columns, class 2 columns, ...)."""

    coef: np.ndarray
    information: np.ndarray
    probabilities: np.ndarray
    loglik: float
    n_iter: int
    converged: bool
    max_abs_step: float
    max_abs_gradient: float


def _log_probabilities(X: np.ndarray, coef: np.ndarray) -> np.ndarray:
    """(n, K) log probabilities, reference class first, by a stable log-sum-exp.

    Computed in a (K, n) array and returned as its transposed view: the max and the sum over
    the K classes are then element-wise passes over n (numpy's reductions along a short
    contiguous axis are several times slower); the same additions in the same order, so the
    same bits.
    """
    eta = np.empty((coef.shape[0] + 1, X.shape[0]))
    eta[0] = 0.0
    eta[1:] = (X @ coef.T).T
    eta -= eta.max(axis=0)
    eta -= np.log(np.exp(eta).sum(axis=0))
    return eta.T


def class_probabilities(X: np.ndarray, coef: np.ndarray) -> np.ndarray:
    """(n, K) probabilities, reference class first."""
    return np.exp(_log_probabilities(X, coef))


def _evaluate(
    X: np.ndarray, codes: np.ndarray, coef: np.ndarray, weight: np.ndarray | None
) -> tuple[float, np.ndarray]:
    """Log-likelihood and (n, K) probabilities at ``coef``."""
    log_p = _log_probabilities(X, coef)
    own = log_p[np.arange(X.shape[0]), codes]
    return float(own.sum() if weight is None else own @ weight), np.exp(log_p, out=log_p)


#: Rows per block of the information's passes over X (4096 x p doubles stay in cache).
BLOCK_ROWS = 4096


def multinomial_information(
    X: np.ndarray, P: np.ndarray, weight: np.ndarray | None = None
) -> np.ndarray:
    """Observed information: block (a, b) = X' diag(w P_a (1[a=b] - P_b)) X, a, b >= 1.

    Summed over blocks of `BLOCK_ROWS` rows scaled into one reused buffer (no n x p
    temporary per class pair); a diagonal block is Z'Z with Z = sqrt(w P_a (1 - P_a)) X, which
    numpy hands to BLAS ``syrk`` (half the work).
    """
    n, p = X.shape
    n_free = P.shape[1] - 1
    info = np.zeros((n_free * p, n_free * p))
    buffer = np.empty_like(X[:BLOCK_ROWS])  # X's layout: one block is the old full product
    for first in range(0, n, BLOCK_ROWS):
        rows = X[first : first + BLOCK_ROWS]
        probs = P[first : first + BLOCK_ROWS, 1:]
        mass = probs if weight is None else probs * weight[first : first + BLOCK_ROWS, None]
        scaled = buffer[: len(rows)]
        for a in range(n_free):
            np.multiply(rows, np.sqrt(mass[:, a] * (1.0 - probs[:, a]))[:, None], out=scaled)
            info[a * p : (a + 1) * p, a * p : (a + 1) * p] += scaled.T @ scaled
            for b in range(a + 1, n_free):
                np.multiply(rows, (-mass[:, a] * probs[:, b])[:, None], out=scaled)
                info[a * p : (a + 1) * p, b * p : (b + 1) * p] += rows.T @ scaled
    for a in range(n_free):
        for b in range(a + 1, n_free):
            info[b * p : (b + 1) * p, a * p : (a + 1) * p] = info[
                a * p : (a + 1) * p, b * p : (b + 1) * p
            ].T
    return info


def fit_multinomial(
    X: np.ndarray,
    codes: np.ndarray,
    n_classes: int,
    *,
    tol: float = 1e-10,
    max_iter: int = 100,
    max_halvings: int = 40,
    stall: int = 5,
    reuse_below: float = 1e-3,
    weight: np.ndarray | None = None,
) -> MultinomFit:
    """Maximum likelihood fit of the multinomial logit of ``codes`` (0..K-1, 0 = reference) on
    ``X`` (n, p; the first column is the intercept) by damped Newton–Raphson; ``weight``:
    frequency weights (n,), e.g. the counts of distinct (row, class) pairs.

    Starts from the intercept-only solution ``log(n_k / n_0)``; converged when max|step| < tol.
    Under separation the log-likelihood creeps to its supremum while coefficients run off; the
    loop then stops (not converged) after ``stall`` iterations gaining < 1e-13 relative.
    Once a step is below ``reuse_below`` the information matrix is kept (chord steps: the
    gradient is exact, so the limit is still the exact MLE, at a fraction of the cost); the
    returned information is recomputed at the solution.
    """
    p = X.shape[1]
    n_free = n_classes - 1
    counts = np.bincount(codes, weights=weight, minlength=n_classes).astype(float)
    coef = np.zeros((n_free, p))
    coef[:, 0] = np.log(counts[1:] / counts[0])
    Y = (codes[:, None] == np.arange(1, n_classes)[None, :]).astype(float)
    if weight is not None:
        Y *= weight[:, None]
    ll, P = _evaluate(X, codes, coef, weight)
    converged = False
    step_size = np.inf
    grad_max = np.inf
    info = np.eye(n_free * p)
    it = stalled = 0
    for it in range(1, max_iter + 1):  # noqa: B007 - the count is reported
        fitted = P[:, 1:] if weight is None else P[:, 1:] * weight[:, None]
        grad = (X.T @ (Y - fitted)).T.ravel()  # block order: class 1 columns, class 2 ...
        grad_max = float(np.max(np.abs(grad)))
        if step_size >= reuse_below:
            info = multinomial_information(X, P, weight)
        try:
            step = np.linalg.solve(info, grad)
        except np.linalg.LinAlgError:
            step = np.linalg.lstsq(info, grad, rcond=None)[0]
        step = step.reshape(n_free, p)
        scale = 1.0
        for _ in range(max_halvings):
            trial = coef + scale * step
            ll_trial, P_trial = _evaluate(X, codes, trial, weight)
            if ll_trial >= ll - 1e-12 * (abs(ll) + 1.0):
                break
            scale /= 2.0
        stalled = stalled + 1 if ll_trial - ll < 1e-13 * (abs(ll) + 1.0) else 0
        coef, ll, P = trial, ll_trial, P_trial
        step_size = float(np.max(np.abs(scale * step)))
        if step_size < tol:
            converged = True
            break
        if stalled >= stall:
            break
    info = multinomial_information(X, P, weight)
    return MultinomFit(
        coef=coef,
        information=info,
        probabilities=P,
        loglik=ll,
        n_iter=it,
        converged=converged,
        max_abs_step=step_size,
        max_abs_gradient=grad_max,
    )
