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
REQUIRED_DEFINITIONS = ("definitive_surgery", "metastasectomy", "chemotherapy", "radiation_given")
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


class CohortSpec(_Strict):
    """`[cohort]`: ordered criteria, named definitions (treatment flags) and options."""

    criteria: tuple[CriterionSpec, ...] = Field(min_length=1)
    definitions: dict[str, Condition]
    options: CohortOptions = CohortOptions()

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
    def _check_against_dictionary(self) -> CohortSpec:
        missing = [name for name in REQUIRED_DEFINITIONS if name not in self.definitions]
        if missing:
            raise ValueError(f"cohort.definitions lacks {', '.join(missing)}")
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
            self._check(criterion.where, where + ".where", dictionary, bool_options, ())
        for name, condition in self.definitions.items():
            self._check(condition, f"cohort.definitions.{name}", dictionary, bool_options, (name,))
        return self

    def _check(self, cond, where, dictionary, bool_options, chain) -> None:
        from regsurv.cohort.recodes import RECODE_NAMES

        if isinstance(cond, FieldCondition):
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
                return
            if cond.use not in self.definitions:
                raise ValueError(f"{where}: unknown definition {cond.use!r}")
            if cond.use in chain:
                raise ValueError(f"{where}: definition {cond.use!r} refers to itself")
            self._check(
                self.definitions[cond.use], where, dictionary, bool_options, (*chain, cond.use)
            )

    def fields(self) -> tuple[str, ...]:
        """PUF fields that the criteria and definitions read, in first-use order."""
        seen: dict[str, None] = {}
        for criterion in self.criteria:
            for name in iter_fields(criterion.where, self.definitions):
                seen.setdefault(name)
        for condition in self.definitions.values():
            for name in iter_fields(condition, self.definitions):
                seen.setdefault(name)
        return tuple(seen)


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
