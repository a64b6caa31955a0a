"""The study file: one TOML document validated by `StudySpec` (unknown keys are errors).

``[study]``, ``[cohort]`` (owned by `regsurv.cohort`), ``[outcome]``, the list ``[[analyses]]``
(one entry per table, figure or model; `regsurv.pipeline.analyses.KINDS`) and ``[report]``.
`load_study` turns any validation failure into a one-line `UsageError` (a ValueError, exit 2)
naming the key path, e.g. ``cohort.criteria[adult].where: field 'AGEE' is not in the PUF
dictionary``.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Annotated, Any, Union

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from regsurv.cohort.spec import CohortSpec
from regsurv.errors import UsageError
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
            for key, link, kinds in analysis.links():
                if seen.get(link) not in kinds or link == analysis.id:
                    raise ValueError(
                        f"analyses[{analysis.id}].{key}: {link!r} is not the id of an earlier "
                        f"{' or '.join(kinds)} analysis"
                    )
        return self

    @model_validator(mode="after")
    def _names_exist(self) -> StudySpec:
        """Every column, level and reference level an analysis names exists in the cohort,
        with the kind it needs (a group or reference column categorical, the time numeric);
        the error names the key path (``analyses[table3].covariates[2]``)."""
        from regsurv.cohort import analysis_columns
        from regsurv.cohort.recodes import column_levels

        columns = set(analysis_columns(self.cohort))
        levels = column_levels(self.cohort)
        self._outcome_columns_exist(columns, levels)
        for analysis in self.analyses:
            self._analysis_names_exist(analysis, columns, levels)
        return self

    def _outcome_columns_exist(self, columns: set[str], levels: dict[str, Any]) -> None:
        """outcome.time is a numeric analysis column, outcome.event a Boolean or 0/1 one."""
        for key in ("time", "event"):
            if getattr(self.outcome, key) not in columns:
                raise ValueError(
                    f"outcome.{key}: {getattr(self.outcome, key)!r} is not an analysis column"
                )
        if levels.get(self.outcome.time):
            raise ValueError(
                f"outcome.time: {self.outcome.time!r} is categorical; the time needs a numeric "
                "column (e.g. os_years)"
            )
        if levels.get(self.outcome.event):
            raise ValueError(
                f"outcome.event: {self.outcome.event!r} is categorical; the event needs a "
                "Boolean or 0/1 column (e.g. death)"
            )

    def _analysis_names_exist(
        self, analysis: Any, columns: set[str], levels: dict[str, Any]
    ) -> None:
        """The columns, group columns, reference levels and levels `analysis` names exist."""
        where = f"analyses[{analysis.id}]"
        analysis.check_study(self, where)  # a kind's own checks (flags, unit)
        for key, column in _named_columns(analysis):
            if column not in columns:
                raise ValueError(f"{where}.{key}: {column!r} is not an analysis column")
        for key in _GROUP_KEYS.get(analysis.kind, ()):
            column = getattr(analysis, key)
            if column is None and analysis.kind == "matching":  # the iptw model's treatment
                column = self.analysis(analysis.propensity).treatment
            if column not in levels:
                raise ValueError(
                    f"{where}.{key}: {column!r} is numeric; it needs a categorical or "
                    "Boolean column"
                )
        for column in analysis.references():
            if column not in analysis.columns():
                raise ValueError(
                    f"{where}.reference.{column}: {column!r} is not a covariate of this analysis"
                )
            if not levels.get(column):
                raise ValueError(
                    f"{where}.reference.{column}: {column!r} has no levels (numeric or "
                    "Boolean); a reference level needs a categorical column"
                )
        for key, column, level in _named_levels(analysis, self):
            known = levels.get(column)
            if column not in columns:
                raise ValueError(f"{where}.{key}: {column!r} is not an analysis column")
            if known is not None and level not in known:
                raise ValueError(
                    f"{where}.{key}: {level!r} is not a level of {column} ({', '.join(known)})"
                )
        analysis.check_links(self, where)  # its names against the analyses it links

    def analysis(self, analysis_id: str) -> Any:
        """The analysis spec with this id."""
        for analysis in self.analyses:
            if analysis.id == analysis_id:
                return analysis
        raise KeyError(analysis_id)


#: Keys naming the column whose levels split an analysis (must be categorical or Boolean).
_GROUP_KEYS = {
    "summary_table": ("group",),
    "trend": ("variable", "outcome"),
    "km": ("group",),
    "iptw": ("treatment",),
    "matching": ("treatment",),
    "rmst": ("group",),
}


def _named_columns(analysis: Any) -> list[tuple[str, str]]:
    """(key path, column) of every column an analysis reads (`columns()`), the key found among
    its fields: ``group``, ``covariates[2]``, ``rows[4].column``."""
    fields = [name for name in type(analysis).model_fields if name not in ("id", "title", "kind")]

    def key_of(column: str) -> str:
        for name in fields:
            value = getattr(analysis, name)
            if value == column:
                return name
            if isinstance(value, tuple):
                for i, item in enumerate(value):
                    if item == column:
                        return f"{name}[{i}]"
                    if getattr(item, "column", None) == column:
                        return f"{name}[{i}].column"
        return "columns"

    return [(key_of(column), column) for column in analysis.columns()]


def _named_levels(analysis: Any, study: StudySpec) -> list[tuple[str, str, str]]:
    """(key path, column, level) of every level an analysis names: references, table levels,
    trend positive, matching groups and reference group."""
    named = [(f"reference.{c}", c, level) for c, level in analysis.references().items()]
    for i, row in enumerate(getattr(analysis, "rows", ())):
        named += [
            (f"rows[{i}].levels[{j}]", row.column, str(level))
            for j, level in enumerate(row.levels or ())
        ]
    if analysis.kind == "trend" and analysis.positive is not None:
        named.append(("positive", analysis.outcome, analysis.positive))
    if analysis.kind == "matching":
        treatment = analysis.treatment or study.analysis(analysis.propensity).treatment
        named += [(f"groups[{i}]", treatment, g) for i, g in enumerate(analysis.groups or ())]
        named += [
            (key, treatment, getattr(analysis, key))
            for key in ("survival_reference", "reference_group")
            if getattr(analysis, key) is not None
        ]
    return named


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
    """Read and validate a study file (default: the shipped `sts_metastasectomy.toml`).

    Raises `regsurv.errors.UsageError` (a ValueError, exit 2) with one line naming the key path.
    """
    path = Path(path) if path is not None else study_path()
    if path.is_dir():
        raise UsageError(f"{path}: is a directory, not a study file (--study)")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"{path}: study file not found") from None
    except UnicodeDecodeError as exc:
        raise UsageError(f"{path}: study file is not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise UsageError(f"{path}: study file cannot be read ({exc.strerror})") from None
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path}: not valid TOML: {exc}") from None
    try:
        return StudySpec.model_validate(raw)
    except ValidationError as exc:
        raise UsageError(f"{path}: {_one_line(exc, raw)}") from None
