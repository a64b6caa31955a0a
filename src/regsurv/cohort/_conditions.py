"""Compile condition trees of the study file to polars expressions (three-valued logic).

A leaf on a blank value, a code outside the dictionary or a numeric sentinel is unknown (null);
`all_of` / `any_of` / `not` follow Kleene logic (polars `all_horizontal`, `any_horizontal`, `~`).
The caller turns unknown into "fails" with ``fill_null(False)``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import polars as pl

from regsurv.cohort._dictionary import CohortDictionary, FieldInfo
from regsurv.cohort.spec import (
    AllOf,
    AnyOf,
    CohortOptions,
    FieldCondition,
    GroupSpec,
    Not,
    OptionRef,
    UseRef,
)

MAX_VALID_DOSE_CGY = 88887  # 88888 = not applicable, 99999 = unknown (spec §2c)


def _leaf(cond: FieldCondition, info: FieldInfo, options: CohortOptions) -> pl.Expr:
    if cond.is_blank:
        return info.column().is_null()
    value = info.usable()
    if cond.in_ is not None or cond.not_in is not None:
        if info.numeric:  # sentinel values may be named explicitly (AGE in [999])
            raw = info.column()
            value = pl.when(raw.is_in(info.sentinel_values())).then(raw).otherwise(value)
        if cond.in_ is not None:
            return value.is_in(list(cond.in_))
        return ~value.is_in(list(cond.not_in))
    if cond.between is not None:
        return value.is_between(cond.between[0], cond.between[1], closed="both")
    if cond.ge is not None:
        return value >= cond.ge
    if cond.le is not None:
        return value <= cond.le
    from regsurv.cohort.recodes import recode_codes

    return value.is_in(recode_codes(cond.in_recode, options))


def radiation_dose_cgy(options: CohortOptions, dictionary: CohortDictionary) -> pl.Expr:
    """Total dose to the recorded volume in cGy under `options.radiation_dose_rule`.

    ``regional_only``: RAD_REGIONAL_DOSE_CGY. ``regional_plus_boost``: regional + boost (the
    boost excludes the regional dose, spec §2c); a boost sentinel adds 0. A regional sentinel
    (88888, 99999) or blank gives an unknown dose.
    """
    regional = dictionary.field("RAD_REGIONAL_DOSE_CGY").usable()
    regional = pl.when(regional <= MAX_VALID_DOSE_CGY).then(regional)
    if options.radiation_dose_rule == "regional_only":
        return regional.cast(pl.Float64)
    boost = dictionary.field("RAD_BOOST_DOSE_CGY").usable()
    boost = pl.when(boost <= MAX_VALID_DOSE_CGY).then(boost).otherwise(0)
    return (regional + boost).cast(pl.Float64)


def radiation_qualifies(
    options: CohortOptions, dictionary: CohortDictionary, radiation_given: pl.Expr
) -> pl.Expr:
    """R: radiation given, to a volume in `radiation_volumes`, with a dose strictly above
    `radiation_min_dose_cgy`. Unknown (null) when the volume qualifies but the dose is unknown."""
    volume = dictionary.field("RAD_TREAT_VOL").usable()
    in_volume = volume.is_in(list(options.radiation_volumes))
    dose_ok = radiation_dose_cgy(options, dictionary) > options.radiation_min_dose_cgy
    return pl.all_horizontal(radiation_given, in_volume, dose_ok)


class ConditionCompiler:
    """Turns conditions of one `CohortSpec` into expressions (definitions compiled once)."""

    def __init__(self, definitions: dict[str, Any], options: CohortOptions, dictionary):
        self.definitions = definitions
        self.options = options
        self.dictionary = dictionary
        self._cache: dict[str, pl.Expr] = {}

    def use(self, name: str) -> pl.Expr:
        if name not in self._cache:
            if name == "radiation_qualifies":
                expr = radiation_qualifies(
                    self.options, self.dictionary, self.use("radiation_given")
                )
            else:
                expr = self.compile(self.definitions[name])
            self._cache[name] = expr
        return self._cache[name]

    def compile(self, cond: Any) -> pl.Expr:
        if isinstance(cond, FieldCondition):
            return _leaf(cond, self.dictionary.field(cond.field), self.options)
        if isinstance(cond, AllOf):
            return pl.all_horizontal([self.compile(c) for c in cond.all_of])
        if isinstance(cond, AnyOf):
            return pl.any_horizontal([self.compile(c) for c in cond.any_of])
        if isinstance(cond, Not):
            return ~self.compile(cond.not_)
        if isinstance(cond, OptionRef):
            return pl.lit(bool(getattr(self.options, cond.option)), dtype=pl.Boolean)
        if isinstance(cond, UseRef):
            return self.use(cond.use)
        raise TypeError(f"not a condition: {type(cond).__name__}")


def group_expr(name: str, group: GroupSpec, flag: Callable[[str], pl.Expr]) -> pl.Expr:
    """The group column from its flags (`flag(name)`: the flag's column or its compiled
    condition): null unless every flag it reads is known."""
    known = pl.all_horizontal([flag(f).is_not_null() for f in group.flags])
    if group.combination_of is not None:
        label = pl.concat_str(
            [pl.when(flag(f)).then(pl.lit(f)) for f in group.combination_of],
            separator="+",
            ignore_nulls=True,
        )
        value = pl.when(known & label.is_in(list(group.labels))).then(label)
    else:
        value = None
        for level in group.levels:
            hit = pl.any_horizontal(
                [
                    pl.all_horizontal([flag(f) == v for f, v in pattern.items()])
                    for pattern in level.when
                ]
            )
            value = (pl if value is None else value).when(known & hit).then(pl.lit(level.label))
    return value.otherwise(pl.lit(None, pl.String)).cast(pl.Enum(list(group.labels))).alias(name)
