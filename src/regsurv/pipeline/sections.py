"""Study-file sections owned by the pipeline: `[report]` (titles and the published figures to
compare with). Validated strictly: an unknown key is an error."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ReportSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    title: str
    subtitle: str = ""
    targets: str | None = Field(
        default=None,
        description="published figures to compare with (TOML; a path relative to the study file)",
    )
