"""The NCDB PUF data dictionary (package data `data/puf_dictionary.toml`), loaded once.

Every field name, position, type, code list and sentinel of the Participant User File comes from
the TOML file; this module only turns it into frozen objects. Nothing else in regsurv hard-codes a
code list: ask `load_dictionary().fields[name]`.
"""

from __future__ import annotations

import itertools
import re
import tomllib
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any, Literal

FieldType = Literal["code", "integer", "decimal"]
SentinelKind = Literal["unknown", "not_applicable", "not_available"]
FIELD_TYPES: tuple[str, ...] = ("code", "integer", "decimal")
SENTINEL_KINDS: tuple[str, ...] = ("unknown", "not_applicable", "not_available")


@dataclass(frozen=True, slots=True)
class LayoutField:
    """One field of a fixed-width layout: 1-based inclusive columns `start`..`end`."""

    name: str
    start: int
    end: int

    @property
    def width(self) -> int:
        return self.end - self.start + 1


@dataclass(frozen=True, slots=True)
class Layout:
    """A fixed-width record layout: fields in column order and the record length (LRECL).

    A built-in layout's `record_length` is exact: every record has that length. A SAS program's
    ``LRECL=`` is a maximum (`record_length_is_maximum`, SAS's meaning: INFILE reads records up
    to LRECL characters), so records only need to reach the end of the last field and stay
    within LRECL. `record_length` None (a SAS program without ``LRECL=``): records need only
    reach the end of the last field.
    """

    name: str
    record_length: int | None
    fields: tuple[LayoutField, ...]
    label: str = ""
    record_length_is_maximum: bool = False

    def __post_init__(self) -> None:
        ordered = sorted(self.fields, key=lambda f: f.start)
        for left, right in itertools.pairwise(ordered):
            if right.start <= left.end:
                raise ValueError(
                    f"layout {self.name}: fields {left.name} ({left.start}-{left.end}) and "
                    f"{right.name} ({right.start}-{right.end}) overlap"
                )
        object.__setattr__(self, "fields", tuple(ordered))

    @property
    def last_end(self) -> int:
        """Column of the last field's last character."""
        return max(f.end for f in self.fields)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    def bad_record_length(self, lengths: Any) -> Any:
        """True where a record length (a polars Series or expression) does not fit the layout."""
        if self.record_length is None:
            return lengths < self.last_end
        if self.record_length_is_maximum:
            return (lengths < self.last_end) | (lengths > self.record_length)
        return lengths != self.record_length

    def expected_record_length(self) -> str:
        """The rule of `bad_record_length` in words, for error messages."""
        if self.record_length is None:
            return f"at least {self.last_end} characters"
        if self.record_length_is_maximum:
            return f"{self.last_end} to {self.record_length} characters"
        return f"{self.record_length} characters"

    def __repr__(self) -> str:
        return (
            f"Layout({self.name!r}, record_length={self.record_length}, {len(self.fields)} fields)"
        )


@dataclass(frozen=True, slots=True)
class PufField:
    """One PUF field: where it sits, how it converts and which codes it may hold."""

    name: str
    label: str
    type: FieldType
    releases: tuple[str, ...]
    positions: dict[str, tuple[int, int]]
    codes: dict[str, str]
    sentinels: dict[str, SentinelKind]
    required: bool = False
    open_codes: bool = False
    pattern: str | None = None
    code_width: int | None = None
    minimum: float | None = None
    maximum: float | None = None
    decimals: int | None = None
    note: str = ""
    _regex: re.Pattern[str] | None = field(default=None, repr=False, compare=False)

    @property
    def width(self) -> int:
        """Width in the newest built-in layout holding the field (0 when it has no position)."""
        if not self.positions:
            return 0
        start, end = self.positions[max(self.positions)]
        return end - start + 1

    @property
    def pad_width(self) -> int | None:
        """Width digit codes are zero-padded to ("1" -> "01" for RACE): `code_width`, else the
        common width of the listed codes; None for numbers, open-ended or mixed-width lists."""
        if self.is_numeric or self.open_codes:
            return None
        if self.code_width:
            return self.code_width
        widths = {len(code) for code in self.codes}
        return widths.pop() if len(widths) == 1 else None

    @property
    def is_numeric(self) -> bool:
        return self.type in ("integer", "decimal")

    @property
    def sentinel_values(self) -> dict[float, SentinelKind]:
        """Numeric sentinels (integer/decimal fields) keyed by their value."""
        return {float(code): kind for code, kind in self.sentinels.items() if code != ""}

    def code_is_valid(self, value: str) -> bool:
        """Whether a stripped, non-blank code value is allowed (listed, or matching `pattern`)."""
        if value in self.codes:
            return True
        return bool(self.open_codes and self._regex is not None and self._regex.match(value))

    def __repr__(self) -> str:
        return f"PufField({self.name!r}, {self.type}, {len(self.codes)} codes)"


@dataclass(frozen=True, slots=True)
class PufDictionary:
    """All PUF fields (`fields[name]`) and the built-in fixed-width layouts (`layouts[name]`)."""

    fields: dict[str, PufField]
    layouts: dict[str, Layout]
    releases: tuple[str, ...]

    def layout_for_record_length(self, record_length: int) -> Layout | None:
        """The built-in layout whose LRECL equals `record_length`, or None."""
        for layout in self.layouts.values():
            if layout.record_length == record_length:
                return layout
        return None

    def __repr__(self) -> str:
        return f"PufDictionary({len(self.fields)} fields, layouts {sorted(self.layouts)})"


def _expand_ranges(ranges: list[list[str]]) -> dict[str, str]:
    """``["01", "03", label]`` -> 01, 02, 03; a letter prefix stays (``["C490", "C496", ...]``)."""
    codes: dict[str, str] = {}
    for first, last, label in ranges:
        prefix = first.rstrip("0123456789")
        if last[: len(prefix)] != prefix or len(first) != len(last):
            raise ValueError(f"dictionary range {first!r}-{last!r}: ends differ in prefix or width")
        width = len(first) - len(prefix)
        for number in range(int(first[len(prefix) :]), int(last[len(prefix) :]) + 1):
            codes[prefix + str(number).zfill(width)] = label
    return codes


def _parse_field(name: str, raw: dict) -> PufField:
    kind = raw["type"]
    if kind not in FIELD_TYPES:
        raise ValueError(f"dictionary field {name}: type {kind!r} is not one of {FIELD_TYPES}")
    sentinels = dict(raw.get("sentinels", {}))
    bad = {k: v for k, v in sentinels.items() if v not in SENTINEL_KINDS}
    if bad:
        raise ValueError(f"dictionary field {name}: unknown sentinel kinds {bad}")
    codes = _expand_ranges(raw.get("ranges", []))
    codes.update(raw.get("codes", {}))
    pattern = raw.get("pattern")
    return PufField(
        name=name,
        label=raw.get("label", ""),
        type=kind,
        releases=tuple(raw.get("releases", ())),
        positions={k: (int(v[0]), int(v[1])) for k, v in raw.get("positions", {}).items()},
        codes=codes,
        sentinels=sentinels,
        required=bool(raw.get("required", False)),
        open_codes=bool(raw.get("open_codes", False)),
        pattern=pattern,
        code_width=raw.get("code_width"),
        minimum=raw.get("min"),
        maximum=raw.get("max"),
        decimals=raw.get("decimals"),
        note=raw.get("note", ""),
        _regex=re.compile(pattern) if pattern else None,
    )


@cache
def load_dictionary() -> PufDictionary:
    """Load the packaged PUF dictionary (cached: the same object on every call)."""
    text = resources.files("regsurv.io").joinpath("data/puf_dictionary.toml").read_text("utf-8")
    raw = tomllib.loads(text)
    fields = {name: _parse_field(name, spec) for name, spec in raw["fields"].items()}
    layouts = {}
    for layout_name, spec in raw["layouts"].items():
        members = tuple(
            LayoutField(f.name, *f.positions[layout_name])
            for f in fields.values()
            if layout_name in f.positions
        )
        layouts[layout_name] = Layout(
            name=layout_name,
            record_length=int(spec["record_length"]),
            fields=members,
            label=spec.get("label", ""),
        )
    return PufDictionary(fields=fields, layouts=layouts, releases=tuple(raw["releases"]))
