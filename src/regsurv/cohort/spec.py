"""The `[cohort]` section of a study file: criteria, named definitions and options, as data.

A condition is a small tree of TOML tables, never an expression string:

* leaves on one PUF field: ``{ field = "AGE", ge = 18 }`` with exactly one of ``in``, ``not_in``,
  ``between = [low, high]`` (inclusive), ``ge``, ``le``, ``is_blank = true`` or
  ``in_recode = "histology"`` (the code is mapped by that recode table);
* combinators: ``{ all_of = [...] }``, ``{ any_of = [...] }``, ``{ not = {...} }``;
* references: ``{ option = "strict_m1" }`` (a boolean option of `[cohort.options]`) and
  ``{ use = "definitive_surgery" }`` (a condition of `[cohort.definitions]`, or the built-in
  ``radiation_qualifies``, which applies the radiation options).

Logic is three-valued (Kleene): a blank or out-of-dictionary code makes a leaf unknown, and an
unknown row never satisfies a criterion. Every field and code is checked against the PUF data
dictionary (`regsurv.io.dictionary`) when the spec is validated.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    field_validator,
    model_validator,
)

from regsurv.cohort._dictionary import FieldInfo, get_dictionary

BUILTIN_DEFINITIONS = ("radiation_qualifies",)
RADIATION_FIELDS = ("RAD_TREAT_VOL", "RAD_REGIONAL_DOSE_CGY", "RAD_BOOST_DOSE_CGY")
COLUMN_NAME = r"^[A-Za-z][A-Za-z0-9_]*$"
_LEAF_OPS = ("in_", "not_in", "between", "ge", "le", "is_blank", "in_recode")
_OP_NAMES = {"in_": "in"}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


Code = str | int | float


class FieldCondition(_Strict):
    """A test on one PUF field; exactly one operator."""

    field: str
    in_: tuple[Code, ...] | None = Field(None, alias="in")
    not_in: tuple[Code, ...] | None = None
    between: tuple[float, float] | None = None
    ge: float | None = None
    le: float | None = None
    is_blank: bool | None = None
    in_recode: str | None = None

    @model_validator(mode="after")
    def _one_operator(self) -> FieldCondition:
        used = [op for op in _LEAF_OPS if getattr(self, op) is not None]
        names = ", ".join(_OP_NAMES.get(op, op) for op in _LEAF_OPS)
        if len(used) != 1:
            raise ValueError(f"condition on field {self.field!r} needs exactly one of {names}")
        for op in ("in_", "not_in"):
            if getattr(self, op) is not None and not getattr(self, op):
                raise ValueError(f"empty '{_OP_NAMES.get(op, op)}' list for field {self.field!r}")
        if self.between is not None and self.between[0] > self.between[1]:
            raise ValueError(f"between {list(self.between)} for field {self.field!r}: low > high")
        if self.is_blank is False:
            raise ValueError(f"is_blank must be true for field {self.field!r} (use not)")
        return self

    @property
    def operator(self) -> str:
        op = next(op for op in _LEAF_OPS if getattr(self, op) is not None)
        return _OP_NAMES.get(op, op)


class AllOf(_Strict):
    all_of: tuple[Condition, ...] = Field(min_length=1)


class AnyOf(_Strict):
    any_of: tuple[Condition, ...] = Field(min_length=1)


class Not(_Strict):
    not_: Condition = Field(alias="not")


class OptionRef(_Strict):
    option: str


class UseRef(_Strict):
    use: str


def _condition_kind(value: Any) -> str | None:
    keys = set(value) if isinstance(value, dict) else set(type(value).model_fields)
    for key, tag in (
        ("field", "field"),
        ("all_of", "all_of"),
        ("any_of", "any_of"),
        ("not", "not"),
        ("not_", "not"),
        ("option", "option"),
        ("use", "use"),
    ):
        if key in keys:
            return tag
    return None


Condition = Annotated[
    Annotated[FieldCondition, Tag("field")]
    | Annotated[AllOf, Tag("all_of")]
    | Annotated[AnyOf, Tag("any_of")]
    | Annotated[Not, Tag("not")]
    | Annotated[OptionRef, Tag("option")]
    | Annotated[UseRef, Tag("use")],
    Discriminator(
        _condition_kind,
        custom_error_type="condition",
        custom_error_message="a condition needs one of the keys field, all_of, any_of, not, "
        "option, use",
    ),
]

AllOf.model_rebuild()
AnyOf.model_rebuild()
Not.model_rebuild()


class CriterionSpec(_Strict):
    """One inclusion step: rows satisfying `where` stay; the others are excluded here."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    label: str = Field(min_length=1, description="flow-diagram text for the excluded rows")
    where: Condition
    when: str | None = Field(None, description="boolean option that switches this step on")


class CohortOptions(_Strict):
    """The judgment calls of the study (spec `ncdb_puf_fields.md` §3), each with its default."""

    include_peripheral_nerve_sites: bool = False  # add C47.1/C47.2 to C49.1/C49.2
    strict_m1: bool = False  # stage IV and a recorded distant metastasis (M1)
    local_excision_is_definitive: bool = True  # surgery code 25 counts as definitive SP
    surgery_nos_is_definitive: bool = False  # surgery code 90 (NOS) counts as definitive SP
    exclude_class_of_case_00: bool = False  # diagnosed here, all treatment elsewhere
    radiation_volumes: tuple[str, ...] = ("31",)  # RAD_TREAT_VOL: 31 = soft tissue
    radiation_min_dose_cgy: int = Field(4500, ge=0)  # R needs a dose strictly above this
    radiation_dose_rule: Literal["regional_plus_boost", "regional_only"] = "regional_plus_boost"
    exclude_nonqualifying_radiation: bool = False  # False: such radiation counts as "no R"
    histology_8830: Literal["undifferentiated", "fibrohistiocytic"] = "undifferentiated"
    unknown_race: Literal["missing", "other"] = "missing"
    unknown_insurance: Literal["missing", "not_insured"] = "missing"
    area_vintage: Literal["12", "00"] = "12"  # MED_INC_QUAR_xx / NO_HSD_QUAR_xx / UR_CD_03|13


class GroupLevel(_Strict):
    """One level of an exposure group: the flag patterns (flag -> value) that put a row in it."""

    label: str = Field(min_length=1)
    when: tuple[dict[str, bool], ...] = Field(min_length=1, description="any of these patterns")

    @field_validator("when", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, dict) else value


class GroupSpec(_Strict):
    """`[cohort.groups.NAME]`: an exposure variable built from the flags.

    Either ``levels`` (ordered labelled flag patterns; a flag combination that matches two levels
    is a study error) or ``combination_of`` (the names of the true flags joined by "+", e.g.
    "A+B+D"; ``levels`` then lists the labels in display order). A row with an unknown flag,
    or whose flags match no level, has no group: with ``unassigned = "exclude"`` it leaves the
    cohort at a flow step of its own; with ``"missing"`` it stays with a missing group.
    """

    label: str = ""
    levels: tuple[GroupLevel | str, ...] = Field(min_length=2)
    combination_of: tuple[str, ...] | None = None
    reference: str
    unassigned: Literal["exclude", "missing"] = "exclude"
    exclusion_label: str | None = None

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(lvl if isinstance(lvl, str) else lvl.label for lvl in self.levels)

    @property
    def flags(self) -> tuple[str, ...]:
        """The flags the group reads, in first-use order."""
        if self.combination_of is not None:
            return self.combination_of
        seen: dict[str, None] = {}
        for level in self.levels:
            for pattern in level.when:  # type: ignore[union-attr]
                seen.update(dict.fromkeys(pattern))
        return tuple(seen)

    def level_of(self, values: dict[str, bool]) -> list[str]:
        """The levels a complete flag assignment falls in (for the partition check)."""
        if self.combination_of is not None:
            label = "+".join(f for f in self.combination_of if values[f])
            return [label] if label in self.labels else []
        return [
            lvl.label  # type: ignore[union-attr]
            for lvl in self.levels
            if any(all(values[f] == v for f, v in p.items()) for p in lvl.when)  # type: ignore[union-attr]
        ]

    def check(self, where: str, flags: dict[str, Any]) -> None:
        """Levels unique, the reference one of them, flags defined, no flag combination in two
        levels."""
        import itertools

        labels = self.labels
        if len(set(labels)) != len(labels):
            raise ValueError(f"{where}.levels: a label is listed twice: {list(labels)}")
        if self.reference not in labels:
            raise ValueError(f"{where}.reference: {self.reference!r} is not one of {list(labels)}")
        kinds = {isinstance(lvl, str) for lvl in self.levels}
        if kinds != {self.combination_of is not None}:
            raise ValueError(
                f"{where}.levels: labels (with combination_of) or {{label, when}} tables "
                "(without), not both"
            )
        for flag in self.flags:
            if flag not in flags:
                raise ValueError(f"{where}: unknown flag {flag!r}; flags: {', '.join(flags)}")
        for combo in itertools.product((False, True), repeat=len(self.flags)):
            values = dict(zip(self.flags, combo, strict=True))
            hits = self.level_of(values)
            if len(hits) > 1:
                shown = ", ".join(f"{f}={str(v).lower()}" for f, v in values.items())
                raise ValueError(
                    f"{where}: flags {shown} match two levels, {hits[0]!r} and {hits[1]!r}"
                )
        if self.combination_of is not None:
            possible = {
                "+".join(f for f, on in zip(self.flags, c, strict=True) if on)
                for c in itertools.product((False, True), repeat=len(self.flags))
            }
            impossible = [lvl for lvl in labels if lvl not in possible]
            if impossible:
                raise ValueError(
                    f"{where}.levels: {impossible[0]!r} is no combination of {list(self.flags)}"
                )


class BandLevel(_Strict):
    label: str = Field(min_length=1)
    where: Condition


class BandSpec(_Strict):
    """`[cohort.bands.NAME]`: a categorical variable from conditions on PUF fields (age bands,
    year bands, recodes): each row gets the first level whose condition holds, else missing."""

    label: str = ""
    levels: tuple[BandLevel, ...] = Field(min_length=2)
    reference: str

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(lvl.label for lvl in self.levels)


class CohortSpec(_Strict):
    """`[cohort]`: ordered criteria, named definitions, options, and the study's variables:
    flags (Boolean), exposure groups built from them and bands."""

    criteria: tuple[CriterionSpec, ...] = Field(min_length=1)
    definitions: dict[str, Condition] = Field(default_factory=dict)
    options: CohortOptions = CohortOptions()
    flags: dict[str, Condition] = Field(default_factory=dict)
    groups: dict[str, GroupSpec] = Field(default_factory=dict)
    bands: dict[str, BandSpec] = Field(default_factory=dict)
    start_days: dict[str, str] = Field(
        default_factory=dict,
        description="flag -> PUF field of days from diagnosis to its start (FLAG_start_days)",
    )
    exposure: str | None = Field(
        None, description="the group counted in the flow; default the first"
    )

    @property
    def exposure_group(self) -> str | None:
        """The group whose sizes the flow shows (`exposure`, else the first group)."""
        return self.exposure or next(iter(self.groups), None)

    @field_validator("criteria")
    @classmethod
    def _unique_ids(cls, criteria: tuple[CriterionSpec, ...]) -> tuple[CriterionSpec, ...]:
        seen: set[str] = set()
        for criterion in criteria:
            if criterion.id in seen:
                raise ValueError(f"duplicate criterion id {criterion.id!r}")
            seen.add(criterion.id)
        return criteria

    @model_validator(mode="after")
    def _check_variables(self) -> CohortSpec:
        from regsurv.cohort.derive import BUILTIN_COLUMNS

        taken = set(BUILTIN_COLUMNS)
        for section in ("flags", "groups", "bands"):
            for name in getattr(self, section):
                if not re.fullmatch(COLUMN_NAME, name):
                    raise ValueError(f"cohort.{section}.{name}: not a valid column name")
                if name in taken:
                    raise ValueError(f"cohort.{section}.{name}: the column {name!r} exists already")
                taken.add(name)
        for name, group in self.groups.items():
            group.check(f"cohort.groups.{name}", self.flags)
        for name, band in self.bands.items():
            if band.reference not in band.labels:
                raise ValueError(
                    f"cohort.bands.{name}.reference: {band.reference!r} is not one of "
                    f"{list(band.labels)}"
                )
            if len(set(band.labels)) != len(band.labels):
                raise ValueError(f"cohort.bands.{name}.levels: a label is listed twice")
        if self.exposure is not None and self.exposure not in self.groups:
            raise ValueError(f"cohort.exposure: {self.exposure!r} is not a group of cohort.groups")
        self._check_start_days(taken)
        return self

    def _check_start_days(self, taken: set[str]) -> None:
        """`[cohort.start_days]`: each key a flag, each value a days-from-diagnosis PUF field
        (an integer ``*_DAYS`` field of the dictionary), the column ``FLAG_start_days`` new."""
        dictionary = get_dictionary()
        for flag, name in self.start_days.items():
            where = f"cohort.start_days.{flag}"
            if flag not in self.flags:
                known = ", ".join(self.flags) or "none"
                raise ValueError(f"{where}: {flag!r} is not a flag of cohort.flags ({known})")
            info = dictionary.field(name, where=where)
            if info.type != "integer" or not name.endswith("_DAYS"):
                raise ValueError(
                    f"{where}: {name} is not a days-from-diagnosis field (an integer *_DAYS "
                    "field of the PUF dictionary, e.g. DX_CHEMO_STARTED_DAYS)"
                )
            column = start_days_column(flag)
            if column in taken:
                raise ValueError(f"{where}: the column {column!r} exists already")
            taken.add(column)

    def conditions(self) -> Iterator[tuple[str, Any]]:
        """Every condition of the cohort with its key path."""
        for criterion in self.criteria:
            yield f"cohort.criteria[{criterion.id}].where", criterion.where
        for section in ("definitions", "flags"):
            for name, condition in getattr(self, section).items():
                yield f"cohort.{section}.{name}", condition
        for name, band in self.bands.items():
            for level in band.levels:
                yield f"cohort.bands.{name}.levels[{level.label}].where", level.where

    @model_validator(mode="after")
    def _check_against_dictionary(self) -> CohortSpec:
        dictionary = get_dictionary()
        bool_options = {
            name for name, value in self.options.model_dump().items() if isinstance(value, bool)
        }
        vol = dictionary.field("RAD_TREAT_VOL")
        for code in self.options.radiation_volumes:
            vol.check_code(code, where="cohort.options.radiation_volumes")
        for criterion in self.criteria:
            where = f"cohort.criteria[{criterion.id}]"
            if criterion.when is not None and criterion.when not in bool_options:
                raise ValueError(f"{where}.when: {criterion.when!r} is not a boolean option")
        for where, condition in self.conditions():
            chain = (where.rsplit(".", 1)[1],) if where.startswith("cohort.definitions.") else ()
            self._check(condition, where, dictionary, bool_options, chain)
        return self

    @staticmethod
    def _check_leaf(cond: FieldCondition, where: str, dictionary) -> None:
        from regsurv.cohort.recodes import RECODE_NAMES

        info: FieldInfo = dictionary.field(cond.field, where=where)
        if cond.in_recode is not None and cond.in_recode not in RECODE_NAMES:
            raise ValueError(f"{where}: unknown recode {cond.in_recode!r}")
        for values in (cond.in_, cond.not_in):
            for value in values or ():
                info.check_code(value, where=where)
        if (cond.between or cond.ge is not None or cond.le is not None) and not info.numeric:
            raise ValueError(
                f"{where}: '{cond.operator}' needs a numeric field; {cond.field} is coded "
                f"(use in / not_in)"
            )

    def _check(self, cond, where, dictionary, bool_options, chain) -> None:
        if isinstance(cond, FieldCondition):
            self._check_leaf(cond, where, dictionary)
        elif isinstance(cond, AllOf | AnyOf):
            for i, sub in enumerate(cond.all_of if isinstance(cond, AllOf) else cond.any_of):
                self._check(sub, f"{where}[{i}]", dictionary, bool_options, chain)
        elif isinstance(cond, Not):
            self._check(cond.not_, where + ".not", dictionary, bool_options, chain)
        elif isinstance(cond, OptionRef):
            if cond.option not in bool_options:
                raise ValueError(f"{where}: {cond.option!r} is not a boolean cohort option")
        elif isinstance(cond, UseRef):
            if cond.use in BUILTIN_DEFINITIONS:
                if "radiation_given" not in self.definitions:
                    raise ValueError(f"{where}: {cond.use!r} needs a definition 'radiation_given'")
                return
            if cond.use not in self.definitions:
                raise ValueError(f"{where}: unknown definition {cond.use!r}")
            if cond.use in chain:
                raise ValueError(f"{where}: definition {cond.use!r} refers to itself")
            self._check(
                self.definitions[cond.use], where, dictionary, bool_options, (*chain, cond.use)
            )

    def fields(self) -> tuple[str, ...]:
        """PUF fields that the criteria, definitions, flags and bands read, in first-use order."""
        seen: dict[str, None] = {}
        for _, condition in self.conditions():
            for name in iter_fields(condition, self.definitions):
                seen.setdefault(name)
        return tuple(seen)


def start_days_column(flag: str) -> str:
    """The analysis column of a flag's start day (`[cohort.start_days]`)."""
    return f"{flag}_start_days"


def iter_fields(cond: Any, definitions: dict[str, Any], _depth: int = 0) -> Iterator[str]:
    """Field names a condition reads (following `use` references)."""
    if isinstance(cond, FieldCondition):
        yield cond.field
    elif isinstance(cond, AllOf):
        for sub in cond.all_of:
            yield from iter_fields(sub, definitions, _depth)
    elif isinstance(cond, AnyOf):
        for sub in cond.any_of:
            yield from iter_fields(sub, definitions, _depth)
    elif isinstance(cond, Not):
        yield from iter_fields(cond.not_, definitions, _depth)
    elif isinstance(cond, UseRef) and cond.use == "radiation_qualifies":
        yield from RADIATION_FIELDS
        yield from iter_fields(UseRef(use="radiation_given"), definitions, _depth + 1)
    elif isinstance(cond, UseRef) and cond.use in definitions and _depth < 16:
        yield from iter_fields(definitions[cond.use], definitions, _depth + 1)
