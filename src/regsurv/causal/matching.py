"""Propensity-score matching: greedy nearest neighbour (two groups) and matched triplets (three).

`match_nearest` reproduces MatchIt's ``method = "nearest"`` (1:k, greedy, with or without
replacement, caliper as ``std.caliper = TRUE``); `match_triplets` builds sets with one patient of
each of three groups on the generalized propensity score (Rassen et al. 2013) or by vector
matching (Lopez & Gutman 2017). Both return a `Matching`. `matched_balance` and
`matched_survival` analyse the matched sample with the balance and survival engines.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from regsurv._display import HtmlDisplay
from regsurv._frames import to_polars
from regsurv.causal._matching import (
    NO_MATCH,
    greedy_nearest,
    greedy_triplets,
    nearest_with_replacement,
    vector_matching,
)
from regsurv.causal.balance import BalanceTable, balance_table
from regsurv.survival import (
    LogrankResult,
    SurvivalCurves,
    kaplan_meier,
    logrank_test,
)
from regsurv.survival.cox import CoxResult, cox_ph

__all__ = [
    "MatchedSurvival",
    "Matching",
    "match_nearest",
    "match_triplets",
    "matched_balance",
    "matched_survival",
]

CALIPER_SCALES = ("sd_logit", "sd", "raw")
DISTANCES = ("logit", "ps")
ORDERS = ("data", "largest", "smallest", "random")
TRIPLET_METHODS = ("rassen", "vector")


@dataclass(frozen=True, slots=True, eq=False)
class Matching(HtmlDisplay):
    """Matched sets and the choices that made them (built by `match_nearest`/`match_triplets`).

    ``sets`` is (n_sets, m) row indices into the input, column j holding group ``set_groups[j]``
    (``-1`` = empty slot, e.g. fewer than ``ratio`` controls within the caliper). Matched set
    ids are 1..n_sets, numbered in row order of the set's first member (treated / reference
    unit); ``matched_set`` is that id per row, ``-1`` (null in frames) for unmatched rows; with
    replacement a reused control carries the id of the first set that took it. ``weights`` are
    matching weights (MatchIt: 1 for treated units, controls ``sum 1/(controls in its sets)``
    rescaled to sum to the number of matched controls; 0 = unmatched).
    """

    sets: np.ndarray
    set_groups: tuple[str, ...]
    matched_set: np.ndarray
    weights: np.ndarray
    group: np.ndarray
    classes: tuple[str, ...]
    n_obs: int
    method: str
    reference_group: str
    caliper: float | None
    caliper_scale: str | None
    distance: str
    order: str
    ratio: int
    replace: bool
    warnings: tuple[str, ...] = ()

    @property
    def n_sets(self) -> int:
        return int(self.sets.shape[0])

    @property
    def matched(self) -> np.ndarray:
        """Boolean mask of rows in the matched sample."""
        return self.weights > 0

    @property
    def n_unmatched(self) -> dict[str, int]:
        """Rows left out of the matched sample per group."""
        return {c: int(np.sum(~self.matched & (self.group == c))) for c in self.classes}

    def n_matched(self) -> dict[str, int]:
        """Rows in the matched sample per group."""
        return {c: int(np.sum(self.matched & (self.group == c))) for c in self.classes}

    def summary(self) -> pl.DataFrame:
        """Per group: n, n_matched, n_unmatched (MatchIt's ``nn`` table, one row per group)."""
        matched = self.n_matched()
        return pl.DataFrame(
            {
                "group": list(self.classes),
                "n": [int(np.sum(self.group == c)) for c in self.classes],
                "n_matched": [matched[c] for c in self.classes],
                "n_unmatched": [self.n_unmatched[c] for c in self.classes],
            }
        )

    def to_frame(self) -> pl.DataFrame:
        """One row per input row: ``row`` (index), ``group``, ``matched_set`` (null), ``weight``."""
        return pl.DataFrame(
            {
                "row": np.arange(self.n_obs, dtype=np.int64),
                "group": self.group.astype(str),
                "matched_set": pl.Series(self.matched_set).replace(NO_MATCH, None),
                "weight": self.weights,
            }
        )

    def sets_frame(self) -> pl.DataFrame:
        """One row per matched set: ``matched_set`` then the row index of each member (null)."""
        columns: dict[str, Any] = {"matched_set": np.arange(1, self.n_sets + 1, dtype=np.int64)}
        seen: dict[str, int] = {}
        for j, name in enumerate(self.set_groups):
            seen[name] = seen.get(name, 0) + 1
            label = name if self.set_groups.count(name) == 1 else f"{name}_{seen[name]}"
            columns[label] = pl.Series(self.sets[:, j]).replace(NO_MATCH, None)
        return pl.DataFrame(columns)

    def matched_data(self, data: Any) -> pl.DataFrame:
        """Rows of ``data`` in the matched sample with ``matched_set`` and ``weights`` added
        (R ``MatchIt::match.data``)."""
        frame = to_polars(data)
        if frame.height != self.n_obs:
            raise ValueError(
                f"data has {frame.height} rows but the matching was built on {self.n_obs} rows"
            )
        return frame.with_columns(
            pl.Series("matched_set", self.matched_set), pl.Series("weights", self.weights)
        ).filter(pl.col("weights") > 0)

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "classes": list(self.classes),
            "reference_group": self.reference_group,
            "n_obs": self.n_obs,
            "n_sets": self.n_sets,
            "n_matched": self.n_matched(),
            "n_unmatched": dict(self.n_unmatched),
            "caliper": self.caliper,
            "caliper_scale": self.caliper_scale,
            "distance": self.distance,
            "order": self.order,
            "ratio": self.ratio,
            "replace": self.replace,
            "warnings": list(self.warnings),
        }

    def __repr__(self) -> str:
        cal = "no caliper" if self.caliper is None else f"caliper {self.caliper:.4g}"
        return (
            f"Matching({self.method}, {self.n_sets} sets of {'/'.join(self.set_groups)}, "
            f"{cal}, unmatched {dict(self.n_unmatched)})"
        )


# -- input checks -------------------------------------------------------------------------------
def _labels_and_classes(
    treatment: Any, classes: Sequence[str] | None
) -> tuple[np.ndarray, tuple[str, ...]]:
    """Treatment labels as str and the class order (Enum levels, else sorted distinct labels)."""
    levels = None
    if isinstance(treatment, pl.Series):
        if treatment.null_count():
            raise ValueError(
                f"treatment {treatment.name!r} has {treatment.null_count()} missing values "
                f"in {treatment.len()} rows"
            )
        if isinstance(treatment.dtype, pl.Enum):
            levels = tuple(treatment.dtype.categories.to_list())
        labels = treatment.cast(pl.String).to_numpy().astype(str)
    else:
        arr = np.asarray(treatment)
        if arr.ndim != 1:
            raise ValueError(f"treatment must be one-dimensional, got shape {arr.shape}")
        missing = np.array([v is None or v != v for v in arr.tolist()], dtype=bool)
        if missing.any():
            raise ValueError(
                f"treatment has {int(missing.sum())} missing values in {arr.size} rows"
            )
        if arr.dtype == bool:
            arr = arr.astype(np.int8)
        labels = arr.astype(str)
    present = set(labels.tolist())
    if classes is None:
        classes = levels if levels is not None else tuple(sorted(present))
    classes = tuple(str(c) for c in classes)
    unknown = sorted(present - set(classes))
    if unknown:
        raise ValueError(
            f"treatment value {unknown[0]!r} ({int(np.sum(labels == unknown[0]))} rows) is not "
            f"in classes {list(classes)}"
        )
    return labels, classes


def _check_ps(ps: np.ndarray, n: int, what: str) -> None:
    if ps.shape[0] != n:
        raise ValueError(f"{what} has {ps.shape[0]} rows but treatment has {n}")
    bad = ~np.isfinite(ps) | (ps <= 0) | (ps >= 1)
    if bad.any():
        rows = int(bad.reshape(n, -1).any(axis=1).sum())
        raise ValueError(
            f"{what} must lie strictly between 0 and 1 (its logit is the distance): "
            f"{rows} of {n} rows do not"
        )


def _logit(p: np.ndarray) -> np.ndarray:
    return np.log(p) - np.log1p(-p)


def _rng(random_state: Any) -> np.random.Generator:
    return np.random.default_rng(random_state)


def _visit_order(rows: np.ndarray, key: np.ndarray, order: str, random_state: Any) -> np.ndarray:
    if order == "data":
        return rows
    if order == "largest":
        return rows[np.argsort(-key[rows], kind="stable")]
    if order == "smallest":
        return rows[np.argsort(key[rows], kind="stable")]
    return rows[_rng(random_state).permutation(rows.size)]


def _number_sets(sets: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Sets sorted by the row of their first member; per-row set id (1-based, -1 = none)."""
    sets = sets[np.argsort(sets[:, 0], kind="stable")]
    ids = np.broadcast_to(np.arange(1, sets.shape[0] + 1, dtype=np.int64)[:, None], sets.shape)
    ok = sets != NO_MATCH
    matched_set = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(matched_set, sets[ok], ids[ok])  # a reused row: the first set that took it
    matched_set[matched_set == np.iinfo(np.int64).max] = NO_MATCH
    return sets, matched_set


# -- two groups ---------------------------------------------------------------------------------
def match_nearest(
    ps: Any,
    treatment: Any,
    *,
    classes: Sequence[str] | None = None,
    caliper: float | None = 0.2,
    caliper_scale: str = "sd_logit",
    distance: str = "logit",
    ratio: int = 1,
    replace: bool = False,
    order: str = "data",
    random_state: Any = None,
) -> Matching:
    """Greedy 1:``ratio`` nearest-neighbour propensity-score matching of two groups (MatchIt).

    ``ps``: P(treated) per row, or an (n, 2) matrix whose second column is P(treated) (e.g.
    `PropensityModel.predict_proba`). The treated group is ``classes[1]`` (``classes`` default:
    Enum levels, else sorted labels, so 0/1 and False/True give treated = 1/True).

    Distance: ``"logit"`` = logit(ps) (MatchIt ``link = "linear.logit"``), ``"ps"`` = ps.
    Caliper (``None`` = none): ``"sd_logit"`` = ``caliper × sd(logit ps)`` applied to the logit
    difference whatever the distance (Austin 2011); ``"sd"`` = ``caliper × sd(distance)``
    (MatchIt ``std.caliper = TRUE``); ``"raw"`` = in distance units. SDs use all units, n − 1.

    Algorithm (MatchIt's documented nearest neighbour; `regsurv.causal._matching.greedy_nearest`):
    all units sorted by distance, stably; treated units visited in ``order`` (``"largest"`` /
    ``"smallest"`` distance first, ties in row order; ``"data"`` = row order; ``"random"`` seeded
    by ``random_state``); from the treated unit's sorted position the first still-available
    control to the left and to the right; a side beyond the caliper is dropped; the closer is
    taken, the left one on equal distance; the control becomes unavailable. ``ratio > 1`` runs
    ``ratio`` such passes. With ``replace=True`` every treated unit takes its ``ratio`` nearest
    controls within the caliper (visiting order is irrelevant).
    """
    if caliper_scale not in CALIPER_SCALES:
        raise ValueError(f"caliper_scale must be one of {CALIPER_SCALES}, got {caliper_scale!r}")
    if distance not in DISTANCES:
        raise ValueError(f"distance must be one of {DISTANCES}, got {distance!r}")
    if order not in ORDERS:
        raise ValueError(f"order must be one of {ORDERS}, got {order!r}")
    if int(ratio) != ratio or ratio < 1:
        raise ValueError(f"ratio must be a positive integer, got {ratio!r}")
    if caliper is not None and not (np.isfinite(caliper) and caliper > 0):
        raise ValueError(f"caliper must be a positive number or None, got {caliper!r}")
    labels, classes = _labels_and_classes(treatment, classes)
    if len(classes) != 2:
        raise ValueError(
            f"match_nearest needs exactly 2 treatment groups, got {len(classes)}: {list(classes)}"
        )
    n = labels.size
    P = np.asarray(ps, dtype=float)
    if P.ndim == 2 and P.shape[1] == 2:
        P = P[:, 1]
    if P.ndim != 1:
        raise ValueError(f"ps must be a vector or an (n, 2) matrix, got shape {P.shape}")
    _check_ps(P, n, "ps")
    treated = labels == classes[1]
    counts = {c: int(np.sum(labels == c)) for c in classes}
    for c, k in counts.items():
        if k == 0:
            raise ValueError(f"treatment group {c!r} has 0 rows of {n}")

    logit_ps = _logit(P)
    dist = logit_ps if distance == "logit" else P
    cal_coord = logit_ps if caliper_scale == "sd_logit" else dist
    width = None
    if caliper is not None:
        width = (
            float(caliper)
            if caliper_scale == "raw"
            else float(caliper) * float(np.std(cal_coord, ddof=1))
        )
    if replace:
        t_rows, controls = nearest_with_replacement(dist, treated, cal_coord, width, int(ratio))
    else:
        visit = _visit_order(np.flatnonzero(treated), dist, order, random_state)
        controls = greedy_nearest(dist, treated, visit, cal_coord, width, int(ratio))
        t_rows = visit
    has = (controls != NO_MATCH).any(axis=1)
    sets, matched_set = _number_sets(np.column_stack((t_rows, controls))[has], n)

    weights = np.zeros(n)
    weights[sets[:, 0]] = 1.0
    ctrl = sets[:, 1:]
    per_set = (ctrl != NO_MATCH).sum(axis=1)
    ok = ctrl != NO_MATCH
    np.add.at(weights, ctrl[ok], np.repeat(1.0 / per_set, ok.sum(axis=1)))
    used = np.unique(ctrl[ok])
    if used.size:
        weights[used] *= used.size / weights[used].sum()

    messages = []
    if sets.shape[0] == 0:
        messages.append("no treated unit found a control within the caliper")
    return Matching(
        sets=sets,
        set_groups=(classes[1],) + (classes[0],) * int(ratio),
        matched_set=matched_set,
        weights=weights,
        group=labels,
        classes=classes,
        n_obs=n,
        method="nearest",
        reference_group=classes[1],
        caliper=width,
        caliper_scale=None if caliper is None else caliper_scale,
        distance=distance,
        order="any" if replace else order,
        ratio=int(ratio),
        replace=bool(replace),
        warnings=tuple(messages),
    )


# -- three groups -------------------------------------------------------------------------------
def match_triplets(
    ps_matrix: Any,
    treatment: Any,
    *,
    classes: Sequence[str] | None = None,
    caliper: float = 0.2,
    reference_group: str | None = None,
    method: str = "rassen",
    order: str = "data",
    n_candidates: int = 8,
    n_clusters: int = 5,
    random_state: Any = None,
) -> Matching:
    """Matched sets with one patient of each of three treatment groups.

    ``ps_matrix`` (n, 3): generalized propensity scores, columns in ``classes`` order (e.g.
    `PropensityModel.predict_proba` with ``model.classes_``; default Enum levels, else sorted
    labels). ``reference_group`` (default: the smallest group, the first on ties) is the group
    whose patients are visited. Distances live in the space of the logit propensities, each
    ``logit p_k`` divided by its SD over all rows (n − 1), so ``caliper`` is in SD units.

    ``method="rassen"`` (default; Rassen et al., Pharmacoepidemiol Drug Saf 2013, nearest
    neighbours without replacement): a set is admissible when every pair of its members is within
    ``caliper`` SD on every ``logit p_k`` (k = 1..3). Reference patients are visited in
    ``order`` (``"data"`` = row order, ``"random"`` seeded by ``random_state``); each takes,
    among the ``n_candidates`` nearest (max-norm, cKDTree) still-available patients of each
    other group, the admissible pair with the smallest triangle perimeter (Euclidean, scaled
    logits; ties: the nearer candidates); if none, the search widens (doubling the candidates
    up to 8 × ``n_candidates``, then every admissible pair in the caliper ball); no admissible
    pair -> unmatched. Nobody is used twice, and the result is maximal (no admissible set
    remains among unmatched patients). Patients with identical scores (common with categorical
    covariates) share one position and are taken lowest row first; distinct positions at
    exactly equal distance are ranked in the order the k-d tree returns them (deterministic
    for a given input). Candidate lists are computed in batches (`_matching.greedy_triplets`).

    ``method="vector"`` (Lopez & Gutman, Stat Sci 2017): units outside the common support of all
    three scores are ineligible; for each other group t' the eligible units are clustered by
    k-means (``n_clusters``, seeded) on the logit score of the third group t'', and within a
    cluster each reference patient takes its nearest t' patient on ``logit p_ref`` within
    ``caliper × sd(logit p_ref)`` (SD over the eligible units), with replacement (patients of
    the other groups may serve several sets; their weights count the reuse, rescaled per
    group). Reference patients matched in both groups form the sets.
    """
    if method not in TRIPLET_METHODS:
        raise ValueError(f"method must be one of {TRIPLET_METHODS}, got {method!r}")
    if order not in ("data", "random"):
        raise ValueError(f"order must be 'data' or 'random', got {order!r}")
    if not (np.isfinite(caliper) and caliper > 0):
        raise ValueError(f"caliper must be a positive number, got {caliper!r}")
    if int(n_candidates) != n_candidates or n_candidates < 1:
        raise ValueError(f"n_candidates must be a positive integer, got {n_candidates!r}")
    labels, classes = _labels_and_classes(treatment, classes)
    if len(classes) != 3:
        raise ValueError(
            f"match_triplets needs exactly 3 treatment groups, got {len(classes)}: {list(classes)}"
        )
    n = labels.size
    P = np.asarray(ps_matrix, dtype=float)
    if P.ndim != 2 or P.shape[1] != 3:
        raise ValueError(f"ps_matrix must have shape (n, 3), got {P.shape}")
    _check_ps(P, n, "ps_matrix")
    group = np.full(n, -1, dtype=np.int64)
    for k, c in enumerate(classes):
        group[labels == c] = k
    counts = np.bincount(group, minlength=3)
    for c, k in zip(classes, counts, strict=True):
        if k == 0:
            raise ValueError(f"treatment group {c!r} has 0 rows of {n}")
    if reference_group is None:
        ref = int(np.argmin(counts))
    else:
        if str(reference_group) not in classes:
            raise ValueError(
                f"reference_group {reference_group!r} is not in classes {list(classes)}"
            )
        ref = classes.index(str(reference_group))
    others = tuple(k for k in range(3) if k != ref)
    logit_ps = _logit(P)
    rng = _rng(random_state)

    if method == "rassen":
        coords = logit_ps / np.std(logit_ps, axis=0, ddof=1)
        ref_rows = np.flatnonzero(group == ref)
        visit = ref_rows if order == "data" else ref_rows[rng.permutation(ref_rows.size)]
        raw = greedy_triplets(coords, group, visit, others, float(caliper), int(n_candidates))
        width = float(caliper)
    else:
        raw, width = vector_matching(logit_ps, group, ref, float(caliper), int(n_clusters), rng)
    complete = (raw != NO_MATCH).all(axis=1)
    sets, matched_set = _number_sets(raw[complete], n)

    weights = np.zeros(n)
    np.add.at(weights, sets.ravel(), 1.0)
    if method == "vector":  # reused patients: weight = number of sets, rescaled per group
        for k in others:
            used = np.unique(sets[:, others.index(k) + 1])
            if used.size:
                weights[used] *= used.size / weights[used].sum()
    messages = []
    if sets.shape[0] == 0:
        messages.append("no admissible matched set within the caliper")
    return Matching(
        sets=sets,
        set_groups=(classes[ref], classes[others[0]], classes[others[1]]),
        matched_set=matched_set,
        weights=weights,
        group=labels,
        classes=classes,
        n_obs=n,
        method=method,
        reference_group=classes[ref],
        caliper=width,
        caliper_scale="sd_logit",
        distance="logit",
        order=order,
        ratio=1,
        replace=method == "vector",
        warnings=tuple(messages),
    )


# -- analysis of the matched sample -------------------------------------------------------------
def _check_treatment_column(frame: pl.DataFrame, treatment: str, matching: Matching) -> None:
    if treatment not in frame.columns:
        raise ValueError(f"column {treatment!r} not found in the data ({frame.height} rows)")
    if frame.height != matching.n_obs:
        raise ValueError(
            f"data has {frame.height} rows but the matching was built on {matching.n_obs} rows"
        )
    labels = frame[treatment].cast(pl.String).fill_null("<null>").to_numpy().astype(str)
    differ = labels != matching.group
    if differ.any():
        raise ValueError(
            f"column {treatment!r} differs from the matching's groups in {int(differ.sum())} of "
            f"{frame.height} rows (first: row {int(np.argmax(differ))}); pass the data the "
            "matching was built on"
        )


def matched_balance(
    data: Any,
    matching: Matching,
    *,
    treatment: str,
    covariates: Sequence[str],
    rule: str = "max_pairwise",
    denominator: str = "pooled_unweighted",
    threshold: float = 0.1,
) -> BalanceTable:
    """Covariate balance before (all rows) and after matching (matching weights), by
    `regsurv.causal.balance_table`. ``denominator="pooled_unweighted"`` keeps the SDs of the full
    sample after matching (as MatchIt/cobalt); ``"pooled_weighted"`` uses the matched sample's."""
    frame = to_polars(data)
    _check_treatment_column(frame, treatment, matching)
    return balance_table(
        frame,
        treatment=treatment,
        covariates=covariates,
        weights=matching.weights,
        rule=rule,
        denominator=denominator,
        threshold=threshold,
    )


@dataclass(frozen=True, slots=True, eq=False)
class MatchedSurvival(HtmlDisplay):
    """Kaplan–Meier, log-rank and Cox (cluster-robust SE by matched set) in a matched sample."""

    km: SurvivalCurves
    logrank: LogrankResult
    cox: CoxResult
    n_obs: int
    n_sets: int
    weighted: bool
    method: str
    warnings: tuple[str, ...] = ()

    def to_frame(self) -> pl.DataFrame:
        """The Cox coefficients (hazard ratios vs the first group, robust SE by matched set)."""
        return self.cox.to_frame()

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "n_obs": self.n_obs,
            "n_sets": self.n_sets,
            "weighted": self.weighted,
            "km": self.km.to_dict(),
            "logrank": self.logrank.to_dict(),
            "cox": self.cox.to_dict(),
            "warnings": list(self.warnings),
        }

    def __repr__(self) -> str:
        hr = ", ".join(
            f"{t} HR {h:.3g}" for t, h in zip(self.cox.terms, self.cox.hazard_ratio, strict=True)
        )
        return f"MatchedSurvival(n={self.n_obs} in {self.n_sets} sets; {hr})"


def matched_survival(
    data: Any,
    matching: Matching,
    *,
    time: str,
    event: str,
    treatment: str,
    reference: str | None = None,
    ties: str = "efron",
    conf_level: float = 0.95,
) -> MatchedSurvival:
    """Survival comparison in the matched sample (R: ``md <- match.data(m)``, then
    ``survfit(Surv(time, event) ~ treatment, md)``, ``survdiff(...)`` and
    ``coxph(Surv(time, event) ~ treatment, md, robust = TRUE, cluster = subclass)``).

    ``reference``: the Cox reference group (default ``matching.classes[0]``, the control group
    of `match_nearest`); groups are ordered with it first. Matching weights are used
    (KM, log-rank, Cox case weights) only when they are not all 1 (ratio > 1, replacement).
    """
    frame = to_polars(data)
    _check_treatment_column(frame, treatment, matching)
    for name in ("matched_set", "weights"):
        if name in frame.columns:
            raise ValueError(f"data already has a column {name!r}; rename it before matching")
    md = matching.matched_data(frame)
    if reference is None:
        reference = matching.classes[0]
    if reference not in matching.classes:
        raise ValueError(f"reference {reference!r} is not in classes {list(matching.classes)}")
    levels = [reference, *(c for c in matching.classes if c != reference)]
    md = md.with_columns(pl.col(treatment).cast(pl.String).cast(pl.Enum(levels)))
    weighted = bool(np.any(md["weights"].to_numpy() != 1.0))
    w = "weights" if weighted else None
    km = kaplan_meier(md, time=time, event=event, group=treatment, weights=w, conf_level=conf_level)
    lr = logrank_test(md, time=time, event=event, group=treatment, weights=w)
    cox = cox_ph(
        md,
        time=time,
        event=event,
        covariates=[treatment],
        reference={treatment: reference},
        weights=w,
        cluster="matched_set",
        ties=ties,
        robust=True,
        conf_level=conf_level,
    )
    return MatchedSurvival(
        km=km,
        logrank=lr,
        cox=cox,
        n_obs=md.height,
        n_sets=matching.n_sets,
        weighted=weighted,
        method=f"matched ({matching.method}); Cox {ties}, robust SE clustered by matched set",
        warnings=tuple(km.warnings) + tuple(lr.warnings) + tuple(cox.warnings),
    )
