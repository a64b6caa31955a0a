"""Study-file sections owned by the pipeline: `[survival]` (what to estimate) and `[report]`
(titles and the paper comparison). Validated strictly: an unknown key is an error."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CurveSpec(_Strict):
    """One Kaplan–Meier figure with its summary table and log-rank test."""

    id: str = Field(description="figure file stem, e.g. 'fig2b'")
    title: str
    group: str = Field(description="analysis column whose levels are the curves")
    table: str = Field(description="key of the summary table, e.g. 'supp_table2'")
    table_title: str


class CoxModelSpec(_Strict):
    covariates: list[str]
    reference: dict[str, str] = Field(default_factory=dict)


class SurvivalSpec(_Strict):
    time: str = "os_years"
    event: str = "death"
    time_label: str = "Years since diagnosis"
    landmarks: list[float] = Field(default=[1.0, 2.0, 5.0], description="times for OS estimates")
    at_risk_times: list[float] = Field(default=[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
    curves: list[CurveSpec]
    univariable: CoxModelSpec
    multivariable: CoxModelSpec


class ReportSpec(_Strict):
    title: str
    subtitle: str = ""
    targets: str | None = Field(
        default=None, description="published figures (TOML beside the study file) to compare with"
    )
    target_terms: dict[str, str] = Field(
        default_factory=dict,
        description="targets' Table 3 term prefixes -> analysis columns (e.g. age -> age_group)",
    )
    target_levels: dict[str, str] = Field(
        default_factory=dict,
        description="targets' level names -> analysis levels where they differ (e.g. '1' -> 'Yes')",
    )
