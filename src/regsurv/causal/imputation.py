"""Multiple imputation of covariates by chained equations, for survival analyses.

The chained-equations machinery is statsmodels' ``MICEData`` (the cycle over incomplete
variables, Gaussian perturbation of each conditional model's parameters from its estimated
sampling distribution, predictive mean matching). statsmodels is chosen over scikit-learn's
``IterativeImputer`` because its conditional models are proper regression models with a
covariance matrix to draw from (a "proper" imputation, Rubin 1987), because it takes a model
class per variable, and because it draws from a ``numpy.random.Generator`` (``rng``).
``IterativeImputer`` fits one regressor to every column and has no way to impute a
categorical variable by a categorical model.

Each variable is imputed as R ``mice`` does by default:

* numeric: linear regression (``OLS``) and predictive mean matching (mice ``pmm``);
* categorical (polars ``Enum``/``Categorical``/``String``/``Boolean``): a logistic (2 levels)
  or multinomial logistic (more) model whose parameters are drawn from their normal
  approximation, and a level drawn from its predicted probabilities (mice ``logreg`` /
  ``polyreg``). Categorical predictors enter every model as dummies of their levels.

The outcome enters each imputation model through the Nelson–Aalen cumulative hazard at the
row's own time and the event indicator, not the time itself (White & Royston 2009, Stat Med
28:1982). The m completed sets come from m independent chains, each from its own stream
spawned from ``random_state`` (`numpy.random.SeedSequence`), after ``max_iter`` cycles (mice's
``maxit``), so they are reproducible and do not depend on each other.

At registry scale the time is the Newton fits of the categorical models: they are statsmodels'
``Logit`` / ``MNLogit`` fits (same start values, steps and convergence rule, so the same
parameters and draws) with faster derivatives (`regsurv.causal._imputation_models`), and the
design of every variable is kept in one matrix updated in place rather than rebuilt per fit.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
import polars as pl
from joblib import Parallel, delayed

from regsurv._display import HtmlDisplay
from regsurv._frames import to_polars
from regsurv.survival.km import kaplan_meier

__all__ = ["Imputations", "multiple_imputation", "nelson_aalen_at_times"]

HAZARD_COLUMN = "nelson_aalen"


@dataclass(frozen=True, slots=True, eq=False)
class Imputations(HtmlDisplay):
    """m completed data sets (`multiple_imputation` builds it); feed ``completed`` to
    `regsurv.causal.mi_cox` / `mi_iptw_cox`."""

    completed: tuple[pl.DataFrame, ...]
    imputed: tuple[str, ...]  # the columns that had missing values
    n_missing: dict[str, int]
    n_complete_rows: int  # rows complete in every imputed column before imputation
    m: int
    max_iter: int
    method: str
    warnings: tuple[str, ...] = ()

    def __iter__(self):
        return iter(self.completed)

    def __len__(self) -> int:
        return self.m

    def to_frame(self) -> pl.DataFrame:
        """One row per imputed column: column, n_missing, share of rows."""
        n = self.completed[0].height
        return pl.DataFrame(
            {
                "column": list(self.imputed),
                "n_missing": [self.n_missing[c] for c in self.imputed],
                "fraction_missing": [self.n_missing[c] / n for c in self.imputed],
            },
            schema={"column": pl.String, "n_missing": pl.Int64, "fraction_missing": pl.Float64},
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "m": self.m,
            "max_iter": self.max_iter,
            "n_obs": self.completed[0].height,
            "n_complete_rows": self.n_complete_rows,
            "n_missing": dict(self.n_missing),
            "warnings": list(self.warnings),
        }

    def __repr__(self) -> str:
        return (
            f"Imputations(m={self.m}, n_obs={self.completed[0].height}, "
            f"imputed={list(self.imputed)})"
        )


def nelson_aalen_at_times(data: Any, *, time: str, event: str) -> np.ndarray:
    """Nelson–Aalen cumulative hazard H(t_i) at each row's own time (mice ``nelsonaalen``)."""
    (curve,) = kaplan_meier(data, time=time, event=event).values()
    hazard = np.cumsum(curve.n_event / curve.n_risk)
    times = to_polars(data)[time].cast(pl.Float64).to_numpy()
    return hazard[np.searchsorted(curve.time, times)]


@cache
def _chained_equations() -> type:
    """The ``MICEData`` subclass (statsmodels imported on first use: it is slow to import and
    only imputation needs it)."""
    from statsmodels.imputation.mice import MICEData

    class _ChainedEquations(MICEData):
        """``MICEData`` with categorical variables (integer codes) imputed by a categorical draw.

        The design matrices are built here from the current codes (an intercept, the numeric
        predictors, dummies of the categorical ones) instead of by patsy formulas, which spent most
        of the time re-detecting the categorical columns on every update. One matrix holds the
        columns of every variable (``_columns``); a variable's design is its predictors' columns,
        gathered once per update, and `_store_changes` rewrites only the imputed rows of the
        imputed variable's columns. The logistic models are `FastLogit` / `FastMNLogit` (the
        statsmodels fits with faster derivatives).
        """

        def __init__(
            self,
            data: Any,
            categorical: dict[str, int],
            predictors: dict[str, list[str]],
            **kwargs: Any,
        ) -> None:
            self.categorical = categorical  # column -> number of levels
            self.predictors = predictors  # imputed column -> its predictor columns
            super().__init__(data, **kwargs)
            names = list(dict.fromkeys(n for names in predictors.values() for n in names))
            self._slots: dict[str, np.ndarray] = {}  # column -> its columns in _columns
            width = 1  # column 0: the intercept
            for name in names:
                k = self.categorical.get(name)
                self._slots[name] = np.arange(width, width + (1 if k is None else k - 1))
                width += self._slots[name].size
            self._columns = np.ones((self.data.shape[0], width))
            for name in names:
                self._columns[:, self._slots[name]] = self._encode(name, slice(None))
            self._split: tuple[str, tuple[np.ndarray, np.ndarray, np.ndarray]] | None = None

        def _encode(self, name: str, rows: Any) -> np.ndarray:
            """The design columns of ``name`` at ``rows``: its value, or dummies of codes 1..k-1."""
            values = self.data[name].to_numpy(dtype=float)[rows]
            k = self.categorical.get(name)
            return values[:, None] if k is None else values[:, None] == np.arange(1, k)[None, :]

        def _split_design(self, vname: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            """(endog of the observed rows, their design, the design of the missing rows),
            gathered from ``_columns`` and kept until the data change."""
            if self._split is None or self._split[0] != vname:
                columns = np.concatenate([[0], *(self._slots[n] for n in self.predictors[vname])])
                obs, miss = self.ix_obs[vname], self.ix_miss[vname]
                endog = self.data[vname].to_numpy(dtype=float)[obs]
                exog_obs, exog_miss = (
                    self._columns[np.ix_(obs, columns)],
                    self._columns[np.ix_(miss, columns)],
                )
                self._split = (vname, (endog, exog_obs, exog_miss))
            return self._split[1]

        def _store_changes(self, col: str, vals: Any) -> None:
            super()._store_changes(col, vals)
            self._split = None
            if col in self._slots and len(self.ix_miss[col]):
                rows = self.ix_miss[col]
                self._columns[np.ix_(rows, self._slots[col])] = self._encode(col, rows)

        def get_fitting_data(self, vname: str):
            endog, exog, _ = self._split_design(vname)
            return endog, exog, {}, dict(self.fit_kwds[vname])

        def get_split_data(self, vname: str):
            endog, exog_obs, exog_miss = self._split_design(vname)
            return endog, exog_obs, exog_miss, {}, {}

        def _perturb_gaussian(self, vname: str) -> None:
            if vname not in self.categorical:
                super()._perturb_gaussian(vname)
                return
            endog, exog, init_kwds, fit_kwds = self.get_fitting_data(vname)
            model = self.model_class[vname](endog, exog, **init_kwds)
            result = model.fit(**fit_kwds)
            mean = np.asarray(result.params).ravel(order="F")  # cov_params: equation by equation
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
            if prob.ndim == 1:  # Logit: P(level 1)
                prob = np.column_stack((1.0 - prob, prob))
            u = self.rng.random(prob.shape[0])
            codes = (u[:, None] > np.cumsum(prob, axis=1)[:, :-1]).sum(axis=1)
            self._store_changes(vname, codes.astype(float))

    return _ChainedEquations


def _levels(series: pl.Series) -> tuple[str, ...] | None:
    dtype = series.dtype
    if isinstance(dtype, pl.Enum):
        return tuple(dtype.categories.to_list())
    if dtype in (pl.Categorical, pl.String):
        return tuple(sorted(series.drop_nulls().cast(pl.String).unique().to_list()))
    if dtype == pl.Boolean:
        return ("false", "true")
    if dtype.is_numeric():
        return None
    raise TypeError(f"column {series.name!r} has type {dtype}; use numeric, String or Enum")


def _chain(
    encoded: Any,
    predictors: dict[str, list[str]],
    categorical: dict[str, int],
    max_iter: int,
    seed: np.random.SeedSequence,
) -> Any:
    from statsmodels.regression.linear_model import OLS
    from statsmodels.tools.sm_exceptions import ConvergenceWarning, PerfectSeparationWarning

    from regsurv.causal._imputation_models import FastLogit, FastMNLogit

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", PerfectSeparationWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        chain = _chained_equations()(
            encoded, categorical, predictors, rng=np.random.default_rng(seed)
        )
        for column in predictors:
            k = categorical.get(column)
            model_class = OLS if k is None else (FastLogit if k == 2 else FastMNLogit)
            fit_kwds = {} if k is None else {"disp": 0, "maxiter": 100}
            chain.set_imputer(column, model_class=model_class, fit_kwds=fit_kwds)
        chain.update_all(max_iter)
        return chain.data.copy()


def multiple_imputation(
    data: Any,
    *,
    columns: Sequence[str],
    time: str,
    event: str,
    predictors: Sequence[str] = (),
    m: int = 5,
    max_iter: int = 10,
    random_state: int | np.random.SeedSequence | None = None,
    n_jobs: int | None = 1,
    on_progress: Callable[[int, int], None] | None = None,
) -> Imputations:
    """m completed copies of ``data`` with the missing values of ``columns`` imputed.

    ``columns``: covariates of the Cox and propensity models (every one is a predictor of the
    others); ``predictors``: further complete columns used as predictors only. The outcome enters
    through the Nelson–Aalen hazard and ``event`` (see the module docstring); ``time``,
    ``event`` and the other columns are returned untouched. ``n_jobs``: joblib workers running
    the m chains (the active backend, e.g. Dask); each chain has its own seed, so the result
    does not depend on it. ``on_progress(done, m)`` is called as the chains finish, in order.
    """
    if m < 2:
        raise ValueError(f"multiple imputation needs m >= 2 completed data sets, got m = {m}")
    if max_iter < 1:
        raise ValueError(f"max_iter must be at least 1, got {max_iter}")
    frame = to_polars(data)
    used = list(dict.fromkeys([*columns, *predictors]))
    for name in [*used, time, event]:
        if name not in frame.columns:
            raise ValueError(f"column {name!r} not found in the data ({frame.width} columns)")
    for name in (time, event):
        if frame[name].null_count():
            raise ValueError(
                f"column {name!r} has {frame[name].null_count()} missing values; the outcome "
                "cannot be imputed (drop those rows first)"
            )
    n = frame.height
    n_missing = {c: int(frame[c].null_count()) for c in used}
    for c in used:
        if frame[c].dtype.is_float():
            n_missing[c] += int(frame[c].is_nan().sum())
        if n_missing[c] == n:
            raise ValueError(f"column {c!r} is missing in every row ({n}); it cannot be imputed")
    incomplete = [c for c in used if n_missing[c]]
    not_imputable = [c for c in incomplete if c not in columns]
    if not_imputable:
        raise ValueError(
            f"predictor {not_imputable[0]!r} has {n_missing[not_imputable[0]]} missing values; "
            "list it in columns to impute it"
        )

    import pandas as pd  # statsmodels' MICEData works on pandas frames

    levels = {c: _levels(frame[c]) for c in used}
    categorical = {c: len(lv) for c, lv in levels.items() if lv is not None}
    for c, k in categorical.items():
        if k < 2:
            raise ValueError(f"column {c!r} has {k} observed level; it cannot be a covariate")
    safe = {c: f"v{j}" for j, c in enumerate(used)}  # names that cannot clash
    encoded: dict[str, np.ndarray] = {}
    for c in used:
        series = frame[c]
        if levels[c] is None or series.dtype == pl.Boolean:  # Booleans: codes 0/1 already
            encoded[safe[c]] = series.cast(pl.Float64).fill_nan(None).to_numpy()
        else:
            to_code = {level: float(k) for k, level in enumerate(levels[c])}
            codes = series.cast(pl.String).replace_strict(
                to_code, default=None, return_dtype=pl.Float64
            )
            encoded[safe[c]] = codes.to_numpy()
    encoded["hazard"] = nelson_aalen_at_times(frame, time=time, event=event)
    encoded["event"] = frame[event].cast(pl.Float64).to_numpy()
    table = pd.DataFrame(encoded)

    predictors = {
        safe[c]: [*(safe[o] for o in used if o != c), "hazard", "event"] for c in incomplete
    }
    if not isinstance(random_state, np.random.SeedSequence):
        random_state = np.random.SeedSequence(random_state)
    seeds = random_state.spawn(m)
    codes = {safe[c]: k for c, k in categorical.items()}
    chains = Parallel(n_jobs=n_jobs, return_as="generator")(
        delayed(_chain)(table, predictors, codes, max_iter, seed) for seed in seeds
    )
    completed = []
    for done, filled in enumerate(chains, start=1):
        if on_progress is not None:
            on_progress(done, m)
        replaced = []
        for c in incomplete:
            values = filled[safe[c]].to_numpy()
            if c in categorical:
                labels = np.array(levels[c], dtype=object)[values.astype(np.int64)]
                new = pl.Series(c, labels.tolist(), dtype=pl.String)
                new = new == "true" if frame[c].dtype == pl.Boolean else new.cast(frame[c].dtype)
            else:
                new = pl.Series(c, values).cast(frame[c].dtype)
            replaced.append(new)
        completed.append(frame.with_columns(replaced))
    n_complete_rows = int(
        frame.select(pl.all_horizontal([pl.col(c).is_not_null() for c in used])).to_series().sum()
    )
    return Imputations(
        completed=tuple(completed),
        imputed=tuple(incomplete),
        n_missing={c: n_missing[c] for c in incomplete},
        n_complete_rows=n_complete_rows,
        m=m,
        max_iter=max_iter,
        method=(
            f"multiple imputation by chained equations (statsmodels MICEData; pmm for numeric, "
            f"logistic / multinomial draws for categorical; Nelson-Aalen hazard and event as "
            f"outcome predictors), m = {m}, {max_iter} cycles"
        ),
    )
