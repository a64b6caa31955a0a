"""The cohort stage's view of the PUF data dictionary (`regsurv.io.dictionary`).

The dictionary is the one place that lists fields and codes; this adapter adds the questions
the cohort asks of it: is this a known field, is this a valid code (or number) for it, and which
values of a column are unusable (outside the dictionary, sentinels, out of range).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Any

import polars as pl

NUMERIC_TYPES = frozenset({"integer", "decimal"})


@dataclass(frozen=True, slots=True)
class FieldInfo:
    """One PUF field: type, codes (code -> label, ranges expanded), sentinels, limits.

    `open_codes` fields (histology, site, TNM) list only some codes; any value matching
    `pattern` is valid there.
    """

    name: str
    type: str
    codes: dict[str, str]
    sentinels: frozenset[str] = frozenset()
    open_codes: bool = False
    pattern: str | None = None
    min: float | None = None
    max: float | None = None

    @property
    def numeric(self) -> bool:
        return self.type in NUMERIC_TYPES

    def is_valid_code(self, value: str) -> bool:
        if value in self.codes:
            return True
        if self.open_codes:
            return self.pattern is None or re.match(self.pattern, value) is not None
        return not self.codes

    def check_code(self, value: Any, *, where: str) -> None:
        """Raise a one-line ValueError if `value` cannot occur in this field."""
        if self.numeric:
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"{where}: {self.name} is numeric; {value!r} is not a number")
            return
        if not isinstance(value, str):
            raise ValueError(
                f"{where}: {self.name} is a coded field; write the code {value!r} as a "
                f"zero-padded string"
            )
        if not self.is_valid_code(value):
            raise ValueError(f"{where}: code {value!r} is not in the dictionary for {self.name}")

    def sentinel_values(self) -> list[int | float]:
        """Numeric sentinels (unknown / not applicable) as numbers; empty for coded fields."""
        if not self.numeric:
            return []
        out: list[int | float] = []
        for value in self.sentinels:
            try:
                number = float(value)
            except ValueError:
                continue
            out.append(int(number) if self.type == "integer" else number)
        return sorted(out)

    def column(self) -> pl.Expr:
        """The raw column in the dictionary's polars type (String, Int64 or Float64)."""
        dtype = {"integer": pl.Int64, "decimal": pl.Float64}.get(self.type, pl.String)
        return pl.col(self.name).cast(dtype, strict=False)

    def usable(self) -> pl.Expr:
        """The column with unusable values set to null.

        Coded fields: values outside the dictionary (for open fields: not matching `pattern`).
        Numeric fields: sentinels and values outside [min, max].
        """
        col = self.column()
        if self.numeric:
            bad = col.is_in(self.sentinel_values())
            if self.min is not None:
                bad = bad | (col < self.min)
            if self.max is not None:
                bad = bad | (col > self.max)
            return pl.when(bad).then(None).otherwise(col)
        if self.open_codes:
            if self.pattern is None:
                return col
            return pl.when(col.str.contains(self.pattern)).then(col)
        if self.codes:
            return pl.when(col.is_in(list(self.codes))).then(col)
        return col


@dataclass(frozen=True, slots=True)
class CohortDictionary:
    fields: dict[str, FieldInfo]

    def field(self, name: str, *, where: str = "cohort") -> FieldInfo:
        try:
            return self.fields[name]
        except KeyError:
            raise ValueError(f"{where}: field {name!r} is not in the PUF dictionary") from None


def field_info(field: Any) -> FieldInfo:
    """Adapt one `regsurv.io.dictionary.PufField` (ranges already expanded into codes)."""
    return FieldInfo(
        name=str(field.name),
        type=str(field.type),
        codes=dict(field.codes),
        sentinels=frozenset(str(s) for s in field.sentinels),
        open_codes=bool(field.open_codes),
        pattern=field.pattern,
        min=field.minimum,
        max=field.maximum,
    )


@cache
def get_dictionary() -> CohortDictionary:
    """The PUF dictionary shipped with `regsurv.io`, wrapped for the cohort stage."""
    from regsurv.io.dictionary import load_dictionary

    puf = load_dictionary()
    return CohortDictionary({name: field_info(field) for name, field in puf.fields.items()})
