"""The `[matching]` section of a study file: propensity-score matching and the matched analysis.

The propensity model (treatment column, covariates) is the `[propensity]` section's unless
``treatment``/``covariates`` are given here. ``method = "rassen"`` or ``"vector"`` builds matched
triplets (`regsurv.causal.match_triplets`); ``"nearest"`` matches two groups
(`regsurv.causal.match_nearest`, ``groups = [control, treated]``).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = ["MatchingSpec"]

_NEAREST_ONLY = {
    "ratio": 1,
    "replace": False,
    "distance": "logit",
    "caliper_scale": "sd_logit",
}


class MatchingSpec(BaseModel):
    """How the study matches its treatment groups and analyses the matched sample."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    method: Literal["rassen", "vector", "nearest"] = "rassen"
    treatment: str | None = None  # None: the [propensity] treatment column
    covariates: tuple[str, ...] | None = None  # None: the [propensity] covariates
    groups: tuple[str, ...] | None = None  # nearest: [control, treated]; triplets: all three
    reference_group: str | None = None  # triplets: the group visited (None: the smallest)
    caliper: float | None = Field(0.2, gt=0)  # SD of the logit PS; None (no caliper): nearest
    caliper_scale: Literal["sd_logit", "sd", "raw"] = "sd_logit"  # nearest only
    distance: Literal["logit", "ps"] = "logit"  # nearest only
    ratio: int = Field(1, ge=1)  # nearest only
    replace: bool = False  # nearest only
    order: Literal["data", "largest", "smallest", "random"] = "data"
    n_candidates: int = Field(8, ge=1)  # rassen
    n_clusters: int = Field(5, ge=1)  # vector
    random_state: int | None = None
    balance_rule: Literal["max_pairwise", "average_pairwise", "vs_pooled"] = "max_pairwise"
    balance_denominator: Literal["pooled_weighted", "pooled_unweighted"] = "pooled_unweighted"
    balance_threshold: float = Field(0.1, gt=0)
    ties: Literal["efron", "breslow"] = "efron"
    survival_reference: str | None = None  # Cox reference group (None: the first group)

    @field_validator("covariates", "groups")
    @classmethod
    def _unique(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if value is not None and len(set(value)) != len(value):
            dupes = sorted({v for v in value if value.count(v) > 1})
            raise ValueError(f"listed twice: {dupes}")
        return value

    @model_validator(mode="after")
    def _options_fit_the_method(self) -> MatchingSpec:
        if self.method == "nearest":
            if self.groups is not None and len(self.groups) != 2:
                raise ValueError(
                    f"method 'nearest' matches 2 groups [control, treated], got {list(self.groups)}"
                )
            if self.reference_group is not None:
                raise ValueError(
                    "reference_group is for triplets; 'nearest' uses groups = [control, treated]"
                )
            return self
        if self.groups is not None and len(self.groups) != 3:
            raise ValueError(f"method {self.method!r} matches 3 groups, got {list(self.groups)}")
        if self.caliper is None:
            raise ValueError(f"method {self.method!r} needs a caliper (SD of the logit PS)")
        if self.order not in ("data", "random"):
            raise ValueError(f"order {self.order!r} is for 'nearest'; triplets: 'data' or 'random'")
        for name, default in _NEAREST_ONLY.items():
            if getattr(self, name) != default:
                raise ValueError(f"{name} is an option of method 'nearest', not {self.method!r}")
        if (
            self.groups is not None
            and self.reference_group is not None
            and self.reference_group not in self.groups
        ):
            raise ValueError(
                f"reference_group {self.reference_group!r} is not in groups {list(self.groups)}"
            )
        return self
