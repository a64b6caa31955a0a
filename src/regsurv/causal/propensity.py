"""Propensity scores for K >= 2 treatment groups: the multinomial logistic model, fitted exactly.

`PropensityModel` is a scikit-learn style estimator (parameters in ``__init__``, ``fit`` returns
``self``, fitted attributes end in ``_``). Categorical covariates (polars ``Enum``/``Categorical``,
strings, booleans) are dummy-coded against their first level (``Enum`` order; sorted values for
strings, as R's ``factor``) or the level named in ``reference``; numeric covariates enter as they
are. The reference treatment group is the first level of the treatment column.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl
from scipy import stats

from regsurv._display import HtmlDisplay
from regsurv._frames import json_columns, to_polars
from regsurv.causal._multinom import class_probabilities, fit_multinomial

__all__ = ["PropensityModel", "PropensityWarning"]


class PropensityWarning(UserWarning):
    """Empty cells, separation or non-convergence in the propensity model."""


@dataclass(frozen=True, slots=True)
class _Term:
    column: str
    levels: tuple[str, ...] | None  # None: numeric, used as is
    reference: str | None

    @property
    def names(self) -> list[str]:
        if self.levels is None:
            return [self.column]
        return [f"{self.column}:{lv}" for lv in self.levels if lv != self.reference]


def _levels_of(series: pl.Series) -> tuple[str, ...] | None:
    """Ordered levels of a categorical column, None for a numeric one."""
    dtype = series.dtype
    if isinstance(dtype, pl.Enum):
        return tuple(dtype.categories.to_list())
    if dtype == pl.Categorical or dtype == pl.String:
        return tuple(sorted(series.drop_nulls().cast(pl.String).unique().to_list()))
    if dtype == pl.Boolean:
        return ("false", "true")
    if dtype.is_numeric():
        return None
    raise TypeError(
        f"covariate {series.name!r} has type {dtype}; use a numeric, Boolean, String or Enum column"
    )


def level_codes(series: pl.Series, levels: Sequence[str]) -> tuple[np.ndarray, str | None, int]:
    """Codes 0..L-1 of ``series`` in ``levels`` order (Booleans as "false"/"true"), plus the
    first value outside ``levels`` and its row count (None, 0 when all are known)."""
    dtype = series.dtype
    if isinstance(dtype, pl.Enum) and tuple(dtype.categories.to_list()) == tuple(levels):
        return series.to_physical().to_numpy().astype(np.int64), None, 0
    labels = series.cast(pl.String)
    coded = labels.cast(pl.Enum(list(levels)), strict=False)
    unknown = coded.is_null() & labels.is_not_null()
    if unknown.any():
        value = labels.filter(unknown)[0]
        return np.empty(0, dtype=np.int64), value, int((labels == value).sum())
    return coded.to_physical().to_numpy().astype(np.int64), None, 0


def _check_complete(frame: pl.DataFrame, columns: Sequence[str]) -> None:
    for col in columns:
        if col not in frame.columns:
            raise ValueError(f"column {col!r} not found in the data ({frame.height} rows)")
        n_null = frame[col].null_count()
        if n_null:
            raise ValueError(
                f"column {col!r} has {n_null} missing values in {frame.height} rows; "
                "the propensity model needs complete cases (filter them first)"
            )
        if frame[col].dtype.is_float():
            n_nan = int(frame[col].is_nan().sum())
            if n_nan:
                raise ValueError(f"column {col!r} has {n_nan} NaN values in {frame.height} rows")


def treatment_classes(series: pl.Series) -> tuple[str, ...]:
    """Treatment levels (``Enum`` order, else sorted values); the first is the reference."""
    levels = _levels_of(series)
    if levels is None:
        levels = tuple(str(v) for v in sorted(series.drop_nulls().unique().to_list()))
    return levels


def treatment_codes(series: pl.Series, classes: Sequence[str]) -> np.ndarray:
    """Integer codes 0..K-1 of ``series`` in the order of ``classes``."""
    codes, value, count = level_codes(series, classes)
    if value is not None:
        raise ValueError(
            f"column {series.name!r} has value {value!r} ({count} rows) outside its levels "
            f"{list(classes)}"
        )
    return codes


#: Rows from which a categorical-only model is fitted on its distinct (pattern, group) pairs.
GROUP_FROM_ROWS = 4096


class PropensityModel(HtmlDisplay):
    """Multinomial logistic propensity model ``P(treatment = k | covariates)``, exact MLE.

    Parameters
    ----------
    covariates : column names of the model's covariates.
    reference : optional ``{column: level}`` overriding the first level as the dummy reference.
    method : ``"multinomial"`` (the only method; K = 2 gives the binary logistic model).
    tol, max_iter : Newton–Raphson stops when max|step| < ``tol``.

    Fitted attributes: ``classes_`` (treatment levels, reference first), ``feature_names_``
    (``"column:level"`` for dummies, the column name for numeric covariates), ``coef_``
    (K-1, p) and its ``std_error_`` (K-1, p), ``intercept_`` and its ``intercept_std_error_``
    (K-1,) (scikit-learn's layout: the intercept apart), ``covariance_`` (of the (K-1)(p+1)
    parameters, row by row of ``[intercept_, coef_]``), ``loglik_``, ``n_iter_``, ``converged_``,
    ``n_obs_``, ``warnings_``.
    """

    def __init__(
        self,
        covariates: Sequence[str],
        *,
        reference: Mapping[str, str] | None = None,
        method: str = "multinomial",
        tol: float = 1e-10,
        max_iter: int = 100,
    ) -> None:
        self.covariates = covariates
        self.reference = reference
        self.method = method
        self.tol = tol
        self.max_iter = max_iter

    # -- design -----------------------------------------------------------------------------
    def _build_terms(self, frame: pl.DataFrame) -> list[_Term]:
        reference = dict(self.reference or {})
        unknown = set(reference) - set(self.covariates)
        if unknown:
            raise ValueError(f"reference names columns that are not covariates: {sorted(unknown)}")
        terms = []
        for col in self.covariates:
            levels = _levels_of(frame[col])
            ref = None
            if levels is not None:
                ref = reference.get(col, levels[0])
                if ref not in levels:
                    raise ValueError(
                        f"reference level {ref!r} of {col!r} is not among its levels {list(levels)}"
                    )
            terms.append(_Term(col, levels, ref))
        return terms

    def _design(self, frame: pl.DataFrame, terms: Sequence[_Term]) -> np.ndarray:
        """Model matrix, intercept first, column-major (filled column by column)."""
        X = np.empty((frame.height, 1 + sum(len(t.names) for t in terms)), order="F")
        X[:, 0] = 1.0
        j = 1
        for term in terms:
            series = frame[term.column]
            if term.levels is None:
                X[:, j] = series.cast(pl.Float64).to_numpy()
                j += 1
                continue
            codes, value, count = level_codes(series, term.levels)
            if value is not None:
                raise ValueError(
                    f"covariate {term.column!r} has level {value!r} ({count} rows) not seen in fit"
                )
            for k, level in enumerate(term.levels):
                if level != term.reference:
                    X[:, j] = codes == k
                    j += 1
        return X

    @staticmethod
    def _distinct_rows(
        X: np.ndarray, terms: Sequence[_Term], codes: np.ndarray, n_classes: int
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """(a row, count) of each distinct (covariate pattern, treatment) pair, in key order,
        when every covariate is categorical and the pairs are at most half the rows, else None.

        The multinomial likelihood, score and information are sums over rows, so the fit on
        the distinct pairs with their counts as frequency weights is the same MLE (sums taken
        in another order: the last digits may differ) at a fraction of the work; a registry's
        categorical covariates take a few thousand patterns over 10⁵ rows. The pattern key is
        read off the design: a term's dummies are one-hot (all 0 at its reference level), so
        X[:, 1:] @ place, with each dummy's place value in a mixed radix over the terms, is the
        pattern's number (integers below 2⁵², exact in floating point). Below
        `GROUP_FROM_ROWS` rows the row-by-row fit takes milliseconds: not tried."""
        n = X.shape[0]
        if n < GROUP_FROM_ROWS or any(term.levels is None for term in terms):
            return None
        place = np.empty(X.shape[1] - 1)
        end, radix = place.size, 1
        for term in reversed(terms):
            width = len(term.levels) - 1
            place[end - width : end] = radix * np.arange(1, width + 1)
            end, radix = end - width, radix * len(term.levels)
        if radix * n_classes >= 2**52:
            return None
        key = np.rint(X[:, 1:] @ place).astype(np.int64) * n_classes + codes
        radix *= n_classes
        if radix <= 8 * n:  # a count per possible key: no sort
            count = np.bincount(key, minlength=radix)
            seen = np.flatnonzero(count)
            row_of_key = np.empty(radix, dtype=np.int64)
            row_of_key[key] = np.arange(n)  # any row of a key: they are equal
            first, count = row_of_key[seen], count[seen]
        else:
            _, first, count = np.unique(key, return_index=True, return_counts=True)
        if 2 * len(first) > n:
            return None
        return first, count.astype(float)

    # -- fit / predict ----------------------------------------------------------------------
    def fit(self, data: Any, *, treatment: str) -> PropensityModel:
        """Fit the model to ``data`` (polars or pandas) with groups in column ``treatment``."""
        if self.method != "multinomial":
            raise ValueError(f"method must be 'multinomial', got {self.method!r}")
        frame = to_polars(data)
        _check_complete(frame, [treatment, *self.covariates])
        classes = treatment_classes(frame[treatment])
        if len(classes) < 2:
            raise ValueError(f"treatment {treatment!r} has fewer than 2 groups: {list(classes)}")
        codes = treatment_codes(frame[treatment], classes)
        counts = np.bincount(codes, minlength=len(classes))
        empty = [c for c, k in zip(classes, counts, strict=True) if k == 0]
        if empty:
            raise ValueError(
                f"treatment {treatment!r} level {empty[0]!r} has 0 rows of {frame.height}"
            )

        terms = self._build_terms(frame)
        X = self._design(frame, terms)
        names = [name for term in terms for name in term.names]
        keep, messages = self._check_columns(X, names, codes, classes, treatment)
        X_fit = X if keep.all() else X[:, keep]
        distinct = self._distinct_rows(X, terms, codes, len(classes))
        if distinct is None:
            fit = fit_multinomial(X_fit, codes, len(classes), tol=self.tol, max_iter=self.max_iter)
        else:
            rows, count = distinct
            fit = fit_multinomial(
                X_fit[rows], codes[rows], len(classes), tol=self.tol, max_iter=self.max_iter,
                weight=count,
            )  # fmt: skip
        if not fit.converged:
            messages.append(
                f"Newton-Raphson did not converge in {fit.n_iter} iterations "
                f"(last max|step| {fit.max_abs_step:.3g}); coefficients may be infinite"
            )
        if np.any(fit.probabilities.min(axis=1) < 1e-10):
            messages.append("fitted probabilities numerically 0 or 1 occurred (separation)")

        n_free, p = len(classes) - 1, X.shape[1]
        coef = np.full((n_free, p), np.nan)
        coef[:, keep] = fit.coef
        free_idx = np.flatnonzero(np.tile(keep, n_free))
        cov = np.full((n_free * p, n_free * p), np.nan)
        try:
            cov[np.ix_(free_idx, free_idx)] = np.linalg.inv(fit.information)
        except np.linalg.LinAlgError:
            messages.append("the information matrix is singular; standard errors are NaN")
        variance = np.diag(cov).copy()
        negative = variance < 0  # a numerically singular information inverted
        if negative.any():
            variance[negative] = np.nan
            messages.append(
                f"the information matrix is numerically singular (separation?); "
                f"{int(negative.sum())} standard error(s) are NaN"
            )

        for message in messages:
            warnings.warn(message, PropensityWarning, stacklevel=2)
        self.treatment_ = treatment
        self.classes_ = np.array(classes, dtype=object)
        self.terms_ = tuple(terms)
        self.feature_names_ = np.array(names, dtype=object)
        self.intercept_ = coef[:, 0]
        self.coef_ = coef[:, 1:]
        self.covariance_ = cov
        std_error = np.sqrt(variance).reshape(n_free, p)
        self.intercept_std_error_ = std_error[:, 0]
        self.std_error_ = std_error[:, 1:]
        self.loglik_ = fit.loglik
        self.n_iter_ = fit.n_iter
        self.converged_ = fit.converged
        self.n_obs_ = frame.height
        self.warnings_ = tuple(messages)
        return self

    @staticmethod
    def _check_columns(
        X: np.ndarray,
        names: Sequence[str],
        codes: np.ndarray,
        classes: Sequence[str],
        treatment: str,
    ) -> tuple[np.ndarray, list[str]]:
        """Constant columns (not estimable: left out) and 0/1 columns with no 1s or only 1s in
        some treatment group (empty cell: the MLE is infinite)."""
        n = X.shape[0]
        keep = np.ones(X.shape[1], dtype=bool)
        sizes = np.bincount(codes, minlength=len(classes))
        messages = []
        for j, name in enumerate(names, start=1):
            col = X[:, j]
            low, high = col.min(), col.max()
            if low == high:
                keep[j] = False
                messages.append(
                    f"covariate {name!r} is constant ({low:g}) in all {n} rows; "
                    "its coefficient is not estimable and is set to NaN"
                )
                continue
            if low != 0.0 or high != 1.0 or not np.all((col == 0.0) | (col == 1.0)):
                continue
            ones = np.bincount(codes, weights=col, minlength=len(classes))
            for k, cls in enumerate(classes):
                if ones[k] == 0 or ones[k] == sizes[k]:
                    which = "no" if ones[k] == 0 else "only"
                    messages.append(
                        f"empty cell: {treatment} group {cls!r} has {which} rows with "
                        f"{name!r} ({int(ones.sum())} such rows overall); the estimate is "
                        "infinite (separation)"
                    )
        return keep, messages

    def _check_fitted(self) -> None:
        if not hasattr(self, "coef_"):
            raise ValueError("PropensityModel is not fitted yet; call fit(data, treatment=...)")

    def design_matrix(self, data: Any) -> np.ndarray:
        """The model matrix (intercept first) of ``data`` with the levels found in ``fit``."""
        self._check_fitted()
        frame = to_polars(data)
        _check_complete(frame, list(self.covariates))
        return self._design(frame, self.terms_)

    def predict_proba(self, data: Any) -> np.ndarray:
        """(n, K) fitted probabilities, columns in ``classes_`` order."""
        X = self.design_matrix(data)
        coef = np.column_stack((self.intercept_, self.coef_))
        finite = ~np.isnan(coef[0])
        if finite.all():
            return class_probabilities(X, coef)
        return class_probabilities(X[:, finite], coef[:, finite])

    def summary(self, conf_level: float = 0.95) -> pl.DataFrame:
        """Coefficient table: group, term, estimate, std_error, statistic (Wald z), p_value, CI."""
        self._check_fitted()
        terms = ["(Intercept)", *self.feature_names_]
        est = np.column_stack((self.intercept_, self.coef_))
        se = np.column_stack((self.intercept_std_error_, self.std_error_))
        z = est / se
        crit = stats.norm.ppf(0.5 + conf_level / 2)
        rows = len(self.classes_) - 1
        return pl.DataFrame(
            {
                "group": np.repeat(self.classes_[1:].astype(str), len(terms)),
                "term": np.tile(np.array(terms, dtype=str), rows),
                "estimate": est.ravel(),
                "std_error": se.ravel(),
                "statistic": z.ravel(),
                "p_value": 2 * stats.norm.sf(np.abs(z.ravel())),
                "conf_low": (est - crit * se).ravel(),
                "conf_high": (est + crit * se).ravel(),
            }
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe parameters and fit (coefficient table, log-likelihood, convergence)."""
        self._check_fitted()
        table = json_columns(self.summary())
        return {
            "method": self.method,
            "treatment": self.treatment_,
            "classes": [str(c) for c in self.classes_],
            "covariates": list(self.covariates),
            "coefficients": table,
            "loglik": self.loglik_,
            "n_iter": self.n_iter_,
            "converged": self.converged_,
            "n_obs": self.n_obs_,
            "warnings": list(self.warnings_),
        }

    def __repr__(self) -> str:
        if not hasattr(self, "coef_"):
            return f"PropensityModel(covariates={list(self.covariates)!r}, method={self.method!r})"
        return (
            f"PropensityModel({len(self.classes_)} groups, {len(self.feature_names_)} terms, "
            f"n={self.n_obs_}, loglik={self.loglik_:.6g}, converged={self.converged_})"
        )
