"""Study files shipped with regsurv (TOML; copy one and pass it with ``--study FILE``)."""

from __future__ import annotations

import tomllib
from importlib.resources import files
from pathlib import Path
from typing import Any

DEFAULT_STUDY = "sts_metastasectomy"


def study_path(name: str = DEFAULT_STUDY) -> Path:
    """Path of the shipped study file `name` (without ``.toml``)."""
    path = Path(str(files(__name__) / f"{name}.toml"))
    if not path.is_file():
        raise ValueError(f"no shipped study {name!r}; available: {', '.join(available_studies())}")
    return path


def available_studies() -> tuple[str, ...]:
    """Names of the shipped study files."""
    folder = Path(str(files(__name__)))
    return tuple(
        sorted(p.stem for p in folder.glob("*.toml") if not p.stem.endswith((".targets", ".synth")))
    )


def load_targets(name: str = DEFAULT_STUDY) -> dict[str, Any]:
    """The published figures shipped beside study `name` (``<name>.targets.toml``)."""
    path = Path(str(files(__name__) / f"{name}.targets.toml"))
    with path.open("rb") as f:
        return tomllib.load(f)
