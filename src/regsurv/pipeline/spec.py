"""The study file: one TOML document validated by `StudySpec` (unknown keys are errors).

``[study]``, ``[cohort]`` (owned by `regsurv.cohort`), ``[outcome]``, the list ``[[analyses]]``
(one entry per table, figure or model; `regsurv.pipeline.analyses.KINDS`) and ``[report]``.
`load_study` turns any validation failure into a one-line ValueError naming the key path,
e.g. ``cohort.criteria[adult].where: field 'AGEE' is not in the PUF dictionary``.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Annotated, Any, Union

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from regsurv.cohort.spec import CohortSpec
from regsurv.pipeline.analyses import KINDS, OutcomeSpec
from regsurv.pipeline.sections import ReportSpec
from regsurv.studies import study_path

AnalysisSpec = Annotated[
    Union[tuple(kind.spec for kind in KINDS.values())],  # noqa: UP007 (built from the registry)
    Field(discriminator="kind"),
]


class StudyInfo(BaseModel):
    """`[study]`: what the study is and where it comes from."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    title: str
    reference: str = ""
    puf: str = ""
    seed: int = Field(default=0, description="seed of the synthetic PUF and of random choices")


class StudySpec(BaseModel):
    """A whole study file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    study: StudyInfo
    cohort: CohortSpec
    outcome: OutcomeSpec = OutcomeSpec()
    analyses: tuple[AnalysisSpec, ...] = ()
    report: ReportSpec

    @model_validator(mode="after")
    def _ids_and_links(self) -> StudySpec:
        seen: dict[str, str] = {}
        for i, analysis in enumerate(self.analyses):
            keys = [analysis.id, *(getattr(analysis, k, None) or () for k in ("table",))]
            for key in (k for k in keys if isinstance(k, str)):
                if key in seen:
                    raise ValueError(f"analyses[{analysis.id}]: id {key!r} is used twice")
                seen[key] = analysis.kind
            link = getattr(analysis, "propensity", None)
            if link is not None and seen.get(link) != "iptw":
                raise ValueError(
                    f"analyses[{analysis.id}].propensity: {link!r} is not the id of an earlier "
                    f"iptw analysis (analysis {i + 1})"
                )
        return self

    @model_validator(mode="after")
    def _names_exist(self) -> StudySpec:
        """Every column, level and reference level an analysis names exists in the cohort."""
        from regsurv.cohort import analysis_columns
        from regsurv.cohort.recodes import column_levels

        columns = set(analysis_columns(self.cohort))
        levels = column_levels(self.cohort)
        for key in ("time", "event"):
            if getattr(self.outcome, key) not in columns:
                raise ValueError(
                    f"outcome.{key}: {getattr(self.outcome, key)!r} is not an analysis column"
                )
        for analysis in self.analyses:
            where = f"analyses[{analysis.id}]"
            for column in analysis.columns():
                if column not in columns:
                    raise ValueError(f"{where}: {column!r} is not an analysis column")
            for column, level in _named_levels(analysis, self):
                known = levels.get(column)
                if column not in columns:
                    raise ValueError(f"{where}.reference: {column!r} is not an analysis column")
                if known is not None and level not in known:
                    raise ValueError(
                        f"{where}: {level!r} is not a level of {column} ({', '.join(known)})"
                    )
        return self

    def analysis(self, analysis_id: str) -> Any:
        """The analysis spec with this id."""
        for analysis in self.analyses:
            if analysis.id == analysis_id:
                return analysis
        raise KeyError(analysis_id)


def _named_levels(analysis: Any, study: StudySpec) -> list[tuple[str, str]]:
    """(column, level) pairs an analysis names: references, table levels, trend positive,
    matching groups and reference group."""
    pairs = list(analysis.references().items())
    for row in getattr(analysis, "rows", ()):
        pairs += [(row.column, str(level)) for level in row.levels or ()]
    if analysis.kind == "trend" and analysis.positive is not None:
        pairs.append((analysis.outcome, analysis.positive))
    if analysis.kind == "matching":
        treatment = analysis.treatment or study.analysis(analysis.propensity).treatment
        named = [*(analysis.groups or ()), analysis.survival_reference, analysis.reference_group]
        pairs += [(treatment, level) for level in named if level is not None]
    return pairs


def _location(loc: tuple, raw: dict) -> str:
    """Dotted key path; a criterion is named by its id (``cohort.criteria[adult].where``)."""
    parts: list[str] = []
    node: object = raw
    for part in loc:
        if str(part).startswith("function-"):
            continue
        if isinstance(node, dict) and node.get("kind") == part and part not in node:
            continue  # the tag of a discriminated union
        if isinstance(part, int) and isinstance(node, list) and part < len(node):
            node = node[part]
            name = node.get("id") if isinstance(node, dict) else None
            parts[-1] += f"[{name}]" if isinstance(name, str) else f"[{part}]"
            continue
        node = node.get(part) if isinstance(node, dict) else None
        parts.append(str(part))
    return ".".join(parts)


def _one_line(error: ValidationError, raw: dict) -> str:
    first = error.errors()[0]
    loc = _location(first["loc"], raw)
    message = first["msg"].removeprefix("Value error, ")
    if first["type"] == "extra_forbidden":
        message = "unknown key"
    elif first["type"] == "missing":
        message = "required key missing"
    if loc and message.startswith(loc.split(".")[0] + "."):
        loc = ""  # the message names its own key path
    more = f" (and {error.error_count() - 1} more)" if error.error_count() > 1 else ""
    return f"{loc}: {message}{more}" if loc else f"{message}{more}"


def load_study(path: str | Path | None = None) -> StudySpec:
    """Read and validate a study file (default: the shipped `sts_metastasectomy.toml`)."""
    path = Path(path) if path is not None else study_path()
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"{path}: study file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path}: not valid TOML: {exc}") from None
    try:
        return StudySpec.model_validate(raw)
    except ValidationError as exc:
        raise ValueError(f"{path}: {_one_line(exc, raw)}") from None
