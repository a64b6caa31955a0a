"""Recode tables (data files in `regsurv/cohort/data/`) turned into polars expressions.

Each categorical analysis variable maps every dictionary code of its PUF field either to a level
or, explicitly, to null (``missing``); a value outside the dictionary maps to null. Levels are a
polars `Enum` in the paper's display order, and every variable names its reference level.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from typing import Any

import polars as pl

from regsurv.cohort._dictionary import get_dictionary
from regsurv.cohort.spec import CohortOptions

TNM_LEVELS = {"T": ("0", "1", "2", "3", "4"), "N": ("0", "1", "2", "3"), "M": ("0", "1")}


@dataclass(frozen=True, slots=True)
class Recode:
    """One code -> level table. `field` is a tuple of candidate PUF columns (first present)."""

    name: str
    field: tuple[str, ...]
    levels: tuple[str, ...]
    reference: str
    mapping: dict[str, str]
    missing: frozenset[str]
    boolean: bool = False

    def dtype(self) -> pl.DataType:
        return pl.Boolean() if self.boolean else pl.Enum(list(self.levels))

    def expr(self, columns: set[str] | None = None) -> pl.Expr:
        """The recoded column named after the variable."""
        source = self.source(columns)
        mapping: dict[str, Any] = (
            {code: level == "true" for code, level in self.mapping.items()}
            if self.boolean
            else self.mapping
        )
        return (
            pl.col(source)
            .cast(pl.String)
            .replace_strict(mapping, default=None, return_dtype=self.dtype())
            .alias(self.name)
        )

    def source(self, columns: set[str] | None = None) -> str:
        if columns is None or len(self.field) == 1:
            return self.field[0]
        for name in self.field:
            if name in columns:
                return name
        raise ValueError(
            f"{self.name} needs one of the fields {', '.join(self.field)}, which the data lacks"
        )


@cache
def _tables() -> dict[str, Any]:
    data = files("regsurv.cohort") / "data"
    tables = tomllib.loads((data / "recodes.toml").read_text(encoding="utf-8"))
    tables["histology"] = tomllib.loads((data / "histology.toml").read_text(encoding="utf-8"))
    return tables


RECODE_NAMES = (
    "sex",
    "race",
    "insurance",
    "charlson_deyo",
    "facility_type",
    "facility_location",
    "histology",
    "grade",
    "tumor_size",
    "margins",
    "lymph_nodes_examined",
    "nodes_pathologically_positive",
    "lvi",
    "income_quartile",
    "education_quartile",
    "urban_rural",
)


def _expand(table: dict[str, Any]) -> dict[str, str]:
    mapping: dict[str, str] = {}
    for level, codes in table.get("map", {}).items():
        for code in codes:
            mapping[code] = level
    for first, last, level in table.get("ranges", ()):
        for number in range(int(first), int(last) + 1):
            mapping.setdefault(str(number).zfill(len(first)), level)
    return mapping


def _by_label(table: dict[str, Any], field: str) -> dict[str, str]:
    """Codes mapped through the dictionary label of each code (facility location)."""
    divisions = table["divisions"]
    mapping = {}
    for code, label in get_dictionary().field(field).codes.items():
        if code in table.get("missing", ()):
            continue
        if label not in divisions:
            raise ValueError(f"{field} code {code!r} has label {label!r}, which maps to no region")
        mapping[code] = divisions[label]
    return mapping


def _field(table: dict[str, Any], options: CohortOptions) -> tuple[str, ...]:
    field = table["field"]
    if isinstance(field, str):
        return (field,)
    if isinstance(field, list):
        return tuple(field)
    return (field[str(getattr(options, field["option"]))],)


def get_recode(name: str, options: CohortOptions | None = None) -> Recode:
    """The recode `name` with the `[cohort.options]` that move codes applied."""
    options = options or CohortOptions()
    table = _tables()[name]
    fields = _field(table, options)
    mapping = _by_label(table, fields[0]) if table.get("by_label") else _expand(table)
    missing = set(table.get("missing", ()))
    if name == "race" and options.unknown_race == "other":
        mapping["99"], missing = "Other", missing - {"99"}
    if name == "insurance" and options.unknown_insurance == "not_insured":
        mapping["9"], missing = "Not insured", missing - {"9"}
    if name == "histology" and options.histology_8830 == "fibrohistiocytic":
        mapping["8830"] = "Fibroblastic or myofibroblastic or fibrohistiocytic"
    return Recode(
        name=name,
        field=fields,
        levels=tuple(table["levels"]),
        reference=str(table["reference"]),
        mapping=mapping,
        missing=frozenset(missing),
        boolean=bool(table.get("boolean", False)),
    )


def recode_codes(name: str, options: CohortOptions | None = None) -> list[str]:
    """Codes that `name` maps to a level (for the `in_recode` condition)."""
    return sorted(get_recode(name, options).mapping)


def column_levels(spec: Any) -> dict[str, tuple[str, ...] | None]:
    """The levels of every categorical analysis column of `spec` (a `CohortSpec`), None for
    Boolean columns; numeric columns are not listed."""
    levels: dict[str, tuple[str, ...] | None] = {
        name: None for name in (*spec.flags, "nodes_clinically_positive")
    }
    levels |= {name: g.labels for name, g in spec.groups.items()}
    levels |= {name: b.labels for name, b in spec.bands.items()}
    for name in RECODE_NAMES:
        recode = get_recode(name, spec.options)
        levels[name] = None if recode.boolean else recode.levels
    for prefix in ("clinical", "pathologic"):
        for axis in "TNM":
            levels[f"{prefix}_{axis.lower()}"] = TNM_LEVELS[axis]
    return levels


def tnm_expr(field: str, axis: str, name: str) -> pl.Expr:
    """AJCC T/N/M category from a registrar TNM code: the c/p prefix is dropped and the first
    digit kept (``p1A`` -> ``1``); X, 88, ``is``, other digits and blank -> null."""
    levels = TNM_LEVELS[axis]
    digit = rf"^\s*[cp]?([{levels[0]}-{levels[-1]}])"
    return (
        pl.col(field).cast(pl.String).str.extract(digit, 1).cast(pl.Enum(list(levels))).alias(name)
    )


def reference_levels(spec: Any = None) -> dict[str, str]:
    """Reference level of every categorical analysis variable (for Cox models): the study's
    groups and bands (`spec`, a `CohortSpec`), the recodes and the TNM categories."""
    options = spec.options if spec is not None else None
    refs: dict[str, str] = {}
    if spec is not None:
        refs |= {name: g.reference for name, g in spec.groups.items()}
        refs |= {name: b.reference for name, b in spec.bands.items()}
    for name in RECODE_NAMES:
        recode = get_recode(name, options)
        if not recode.boolean:
            refs[name] = recode.reference
    for prefix in ("clinical", "pathologic"):
        for axis in "TNM":
            refs[f"{prefix}_{axis.lower()}"] = "0"
    return refs
