"""The study file: one TOML document validated by `StudySpec` (unknown keys are errors).

Each section is owned by the stage that uses it (docs/contracts.md, "Study file"); this module
assembles them. `load_study` turns any validation failure into a one-line `UsageError` (a
ValueError) naming the key path, e.g.
``cohort.criteria[adult].where: field 'AGEE' is not in the PUF dictionary``.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from regsurv.causal.matching_spec import MatchingSpec
from regsurv.causal.spec import PropensitySpec
from regsurv.cohort.spec import CohortSpec
from regsurv.describe.spec import TablesSpec
from regsurv.errors import UsageError
from regsurv.pipeline.sections import ReportSpec, SurvivalSpec
from regsurv.studies import study_path


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
    tables: TablesSpec | None = None
    propensity: PropensitySpec | None = None
    matching: MatchingSpec | None = None
    survival: SurvivalSpec | None = None
    report: ReportSpec | None = None


def _location(loc: tuple, raw: dict) -> str:
    """Dotted key path; a criterion is named by its id (``cohort.criteria[adult].where``)."""
    parts: list[str] = []
    node: object = raw
    for part in loc:
        if str(part).startswith("function-"):
            continue
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
