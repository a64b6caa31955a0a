"""The categorical imputation models of `regsurv.causal.imputation`: statsmodels' ``Logit`` and
``MNLogit`` with the same Newton fit (start values, steps, ridge, convergence rule, covariance
from the last Hessian), and derivatives computed with fewer passes over the rows.

* ``MNLogit.hessian`` loops over the (J-1)^2 blocks, each a GEMM of an N x K weighted copy of
  X; here it is minus the propensity model's information (`regsurv.causal._multinom.
  multinomial_information`: the distinct blocks over row blocks that stay in cache, the
  diagonal ones by SYRK), and the probabilities of the last parameters are reused by the score,
  the Hessian and the log-likelihood (statsmodels' Newton evaluates all three at the same point).
* ``Logit.hessian`` is the same with two levels.
* the rank check of the model (a pivoted QR of X, 2 N K^2 flops) is skipped where
  `full_column_rank` proves the answer from the K x K Gram matrix.

The matrices equal statsmodels' to rounding (``tests/causal/test_imputation_models.py``).
Imported only when an imputation runs (statsmodels is slow to import).
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

import numpy as np
from statsmodels.discrete.discrete_model import Logit, MNLogit

from regsurv.causal._multinom import multinomial_information

__all__ = ["FastLogit", "FastMNLogit", "full_column_rank"]

RANK_RATIO = 1e-4  # sigma_min / sigma_max above which X has full rank beyond doubt


def full_column_rank(gram: np.ndarray) -> bool:
    """True when X, with Gram matrix ``gram`` = X'X (K x K), has rank K beyond rounding doubt.

    statsmodels' rank (``tools.matrix_rank``, pivoted QR X P = Q R) counts the |r_kk| above
    K eps |r_11|. Every |r_kk| >= sigma_min(X) (r_kk is the last diagonal entry of the R factor
    of a subset of the columns, whose smallest singular value is at least sigma_min(X)) and
    |r_11| (the largest column norm) <= sigma_max(X); so sigma_min / sigma_max > 1e-4, i.e.
    lambda_min(X'X) > 1e-8 lambda_max(X'X), far above K eps and the rounding of the eigenvalues
    of X'X (about N eps lambda_max), gives rank K. False means "not proven".
    """
    if not np.all(np.isfinite(gram)):
        return False
    eigenvalues = np.linalg.eigvalsh(gram)
    return bool(eigenvalues[-1] > 0 and eigenvalues[0] > RANK_RATIO**2 * eigenvalues[-1])


class _GramRank:
    """The model's Gram matrix X'X (one SYRK), and two costs of statsmodels' model set-up
    avoided where the answer is known:

    * the rank check (a pivoted QR of X, 2 N K^2 flops), where `full_column_rank` proves rank K
      from the Gram matrix: ``df_model`` / ``df_resid`` are those the QR would give;
    * the names of the columns of a bare array (``statsmodels.base.data._make_exog_names``
      takes the variance of every column to find the constant), where column 0 is exactly 1:
      then its variance is exactly 0, the smallest, and the names are const, x1, ..., x{K-1}.
    """

    exog: np.ndarray
    data: Any
    _check_rank: bool

    @cached_property
    def gram(self) -> np.ndarray:
        """X'X."""
        x = np.asarray(self.exog, dtype=float)
        return x.T @ x

    def initialize(self) -> None:
        """statsmodels' ``initialize``, without the QR where the Gram matrix proves full rank."""
        x = self.exog
        tall = x.ndim == 2 and x.shape[0] >= x.shape[1]
        if self._check_rank and tall and full_column_rank(self.gram):
            self._check_rank = False  # statsmodels then takes rank = K, the QR's answer
        bare = isinstance(self.data.orig_exog, np.ndarray)
        if bare and x.ndim == 2 and x.shape[1] and np.all(x[:, 0] == 1.0):
            self.data.xnames = ["const", *(f"x{i:d}" for i in range(1, x.shape[1]))]
        super().initialize()  # type: ignore[misc]


class FastMNLogit(_GramRank, MNLogit):
    """``MNLogit`` whose ``loglike``, ``score`` and ``hessian`` share the probabilities of the
    last parameters and whose Hessian is the multinomial information by row blocks.

    With p_i = (p_i1, ..., p_i,J-1) the probabilities of the non-base levels of row i,

        H = -sum_i kron(diag(p_i) - p_i p_i', x_i x_i'),
        block (j, l) = -X' diag(p_j (1[j = l] - p_l)) X,

    parameters ordered equation by equation (statsmodels' order): minus the information of the
    propensity model's kernel (`multinomial_information`, the same formula). At the start values
    of statsmodels' Newton (all parameters 0) every row has p_j = 1/J and the blocks are
    -p_j (1[j = l] - p_l) X'X, from the Gram matrix.
    """

    _last_key: bytes | None = None
    _last_prob: np.ndarray | None = None

    def _prob(self, params: np.ndarray) -> np.ndarray:
        """statsmodels' ``cdf(X B)`` (N x J), kept for the last ``params``."""
        beta = np.asarray(params, dtype=float).reshape(self.K, -1, order="F")
        key = beta.tobytes(order="F")
        if key != self._last_key or self._last_prob is None:
            self._last_prob = self.cdf(np.dot(self.exog, beta))
            self._last_key = key
        return self._last_prob

    def loglike(self, params: np.ndarray) -> float:
        """sum_i sum_j d_ij log p_ij (statsmodels' formula)."""
        return np.sum(self.wendog * np.log(self._prob(params)))

    def score(self, params: np.ndarray) -> np.ndarray:
        """(D - P)' X flattened equation by equation, D the level dummies (statsmodels')."""
        firstterm = self.wendog[:, 1:] - self._prob(params)[:, 1:]
        return np.dot(firstterm.T, self.exog).flatten()

    def hessian(self, params: np.ndarray) -> np.ndarray:
        """The (J-1)K x (J-1)K Hessian of the log-likelihood (formula in the class docstring)."""
        if not np.any(params):  # p_i = 1/J in every row: the blocks from the Gram matrix
            p = 1.0 / self.J
            levels = self.J - 1
            return -np.kron(p * (np.eye(levels) - p), self.gram)
        return -multinomial_information(self.exog, self._prob(params))


class FastLogit(_GramRank, Logit):
    """``Logit`` whose Hessian -X' diag(L (1 - L)) X, L the fitted probabilities, is one SYRK
    of X scaled by sqrt(L (1 - L)) over row blocks (statsmodels: a weighted copy and a GEMM);
    at the Newton start (all parameters 0, L = 1/2) it is -X'X / 4 from the Gram matrix. The
    fitted probabilities of the last parameters are kept: statsmodels' Newton asks for them
    three times per step (Hessian, score, the perfect-prediction check)."""

    _last_key: bytes | None = None
    _last_fitted: np.ndarray | None = None

    def predict(
        self,
        params: np.ndarray,
        exog: np.ndarray | None = None,
        which: str = "mean",
        offset: np.ndarray | None = None,
    ) -> np.ndarray:
        """statsmodels' ``predict``; L = 1 / (1 + exp(-X b)) of the model's rows is kept."""
        if exog is not None or offset is not None or which != "mean":
            return super().predict(params, exog=exog, which=which, offset=offset)
        key = np.asarray(params, dtype=float).tobytes()
        if key != self._last_key or self._last_fitted is None:
            self._last_fitted = super().predict(params)
            self._last_key = key
        return self._last_fitted

    def hessian(self, params: np.ndarray) -> np.ndarray:
        """-sum_i L_i (1 - L_i) x_i x_i' (the two-level multinomial information)."""
        if not np.any(params) and getattr(self, "offset", None) is None:
            return -0.25 * self.gram
        fitted = self.predict(params)
        return -multinomial_information(self.exog, np.column_stack((1.0 - fitted, fitted)))
