"""The generator's parameters: the calibration file shipped beside the default study
(`regsurv/studies/<study>.synth.toml`), loaded once and validated lightly."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import numpy as np

from regsurv.synth._study import exposure_levels, parameters_path

GROUPS = exposure_levels()
# Row classes: the first criterion of the paper a row fails, or the cohort group it lands in.
CLASSES = (
    "other_site",
    "non_sarcoma_histology",
    "pediatric",
    "not_stage_iv",
    "stage_iv_no_sp",
    "prior_malignancy",
    "incomplete_treatment",
    "incomplete_survival",
    "cohort_sp_alone",
    "cohort_metastasectomy",
    "cohort_non_surgical_adjuvant",
)
COHORT_CLASSES = CLASSES[8:]
COHORT_LIKE_CLASSES = CLASSES[5:]


@dataclass(frozen=True, slots=True)
class Categorical:
    """A categorical distribution: labels with probabilities summing to one."""

    labels: tuple[str, ...]
    probs: np.ndarray

    @classmethod
    def from_weights(cls, weights: dict[str, float]) -> Categorical:
        p = np.asarray(list(weights.values()), dtype=float)
        if (p < 0).any() or p.sum() <= 0:
            raise ValueError(f"weights must be non-negative with a positive sum: {weights}")
        return cls(tuple(weights), p / p.sum())

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """`n` indices into `labels`."""
        return rng.choice(len(self.labels), size=n, p=self.probs)


@dataclass(frozen=True, slots=True)
class GroupTable:
    """Per-group counts of a categorical covariate (rows = labels, columns = the three groups)."""

    labels: tuple[str, ...]
    counts: np.ndarray = field(repr=False)

    @classmethod
    def from_toml(cls, table: dict[str, list[int]]) -> GroupTable:
        return cls(tuple(table), np.asarray(list(table.values()), dtype=float))

    def probs(self, group: int) -> np.ndarray:
        column = self.counts[:, group]
        return column / column.sum()

    def draw(self, rng: np.random.Generator, group: np.ndarray) -> np.ndarray:
        """One index into `labels` per row, drawn with the row's group's proportions."""
        out = np.empty(group.shape[0], dtype=np.int64)
        for g in range(len(GROUPS)):
            rows = np.flatnonzero(group == g)
            out[rows] = rng.choice(len(self.labels), size=rows.size, p=self.probs(g))
        return out


@cache
def load_parameters() -> dict[str, Any]:
    """The raw parameter file (a nested dict, as in the calibration file)."""
    text = parameters_path().read_text("utf-8")
    params = tomllib.loads(text)
    classes = params["population"]["classes"]
    if tuple(classes) != CLASSES:
        raise ValueError(f"[population.classes] must list {CLASSES}, got {tuple(classes)}")
    return params


def class_counts(rows: int) -> dict[str, int]:
    """Rows per class for a file of `rows` rows (largest-remainder rounding of the scaled counts).

    At the reference size (82,987) the counts are those of the parameter file; `other_site` takes
    the remainder.
    """
    if rows < 1:
        raise ValueError(f"rows must be at least 1, got {rows}")
    population = load_parameters()["population"]
    fixed = {k: v for k, v in population["classes"].items() if k != "other_site"}
    reference = population["reference_rows"]
    shares = np.asarray([v / reference for v in fixed.values()])
    shares = np.append(shares, 1.0 - shares.sum())
    exact = shares * rows
    counts = np.floor(exact).astype(np.int64)
    remainder = rows - counts.sum()
    order = np.argsort(-(exact - counts), kind="stable")
    counts[order[:remainder]] += 1
    names = [*fixed, "other_site"]
    by_name = dict(zip(names, counts.tolist(), strict=True))
    return {name: by_name[name] for name in CLASSES}
