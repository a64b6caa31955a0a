"""The `[propensity]` section of a study file: the propensity model, weights and balance check."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = ["PropensitySpec"]


class PropensitySpec(BaseModel):
    """How the study weights its treatment groups (IPTW) and judges balance.

    ``covariates`` enter the multinomial propensity model and the balance table; rows with a
    missing covariate are dropped first only when ``complete_cases`` is true (the paper: "all cases
    with non-missing covariates were included"), otherwise a missing value is an error.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    treatment: str = "treatment"
    covariates: tuple[str, ...] = Field(min_length=1)
    balance_covariates: tuple[str, ...] | None = None  # None: the model covariates
    reference: dict[str, str] = Field(default_factory=dict)
    method: Literal["multinomial"] = "multinomial"
    complete_cases: bool = True
    estimand: Literal["ATE", "ATO"] = "ATE"
    stabilized: bool = True
    normalize: bool = True
    trim: float | tuple[float, float] | None = None
    balance_rule: Literal["max_pairwise", "average_pairwise", "vs_pooled"] = "max_pairwise"
    balance_denominator: Literal["pooled_weighted", "pooled_unweighted"] = "pooled_weighted"
    balance_threshold: float = Field(0.1, gt=0)
    ties: Literal["efron", "breslow"] = "efron"
    conf_type: Literal["log-log", "log", "plain"] = "log-log"
    n_boot: int = Field(0, ge=0)  # 0: robust (infinitesimal jackknife) variance only

    @field_validator("covariates", "balance_covariates")
    @classmethod
    def _unique(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if value is not None and len(set(value)) != len(value):
            dupes = sorted({v for v in value if value.count(v) > 1})
            raise ValueError(f"covariates listed twice: {dupes}")
        return value

    @field_validator("trim")
    @classmethod
    def _trim_range(cls, value: float | tuple[float, float] | None):
        if value is None:
            return value
        low, high = (value, 1.0 - value) if isinstance(value, float) else value
        if not 0.0 <= low < high <= 1.0:
            raise ValueError(f"trim quantiles must satisfy 0 <= low < high <= 1, got {value!r}")
        return value

    @model_validator(mode="after")
    def _reference_names_covariates(self) -> PropensitySpec:
        unknown = sorted(set(self.reference) - set(self.covariates))
        if unknown:
            raise ValueError(f"reference names columns that are not covariates: {unknown}")
        if self.treatment in self.covariates:
            raise ValueError(f"the treatment column {self.treatment!r} is also a covariate")
        return self

    @property
    def balance_columns(self) -> tuple[str, ...]:
        """Covariates of the balance table (the model covariates unless listed separately)."""
        return self.balance_covariates or self.covariates
