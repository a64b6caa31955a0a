"""Fixed-width layouts: the built-in PUF shapes, NCDB's SAS load programs, and the choice between.

A layout is resolved in this order (documented in docs/contracts.md):

1. `layout=` given: a built-in name ("2013", "2016"), a `Layout`, or the path of a SAS program;
2. a SAS program `<stem>.sas` beside the `.dat` file (NCDB ships one with every PUF; it is the
   authority for that exact file, so it wins over guessing);
3. the built-in layout whose record length (LRECL) equals the first record's length
   (389 -> PUF 2013 shape, 410 -> PUF 2016 shape).
"""

from __future__ import annotations

import re
from pathlib import Path

from regsurv.io.dictionary import Layout, LayoutField, load_dictionary
from regsurv.io.errors import PufError

_COMMENT = re.compile(r"/\*.*?\*/", re.DOTALL)
_INPUT_BLOCK = re.compile(r"\bINPUT\b(.*?);", re.IGNORECASE | re.DOTALL)
_AT_ITEM = re.compile(r"@\s*(\d+)\s+([A-Za-z_]\w*)\s+(\$?)\s*[A-Za-z]*?(\d+)\.(\d*)")
_COLUMN_ITEM = re.compile(r"\b([A-Za-z_]\w*)\s+(\$?)\s*(\d+)\s*-\s*(\d+)")
_LRECL = re.compile(r"\bLRECL\s*=\s*(\d+)", re.IGNORECASE)


def parse_sas_layout(path: str | Path) -> Layout:
    """Read field positions from the `INPUT` block of a SAS load program.

    Accepts NCDB's pointer style (``@83 PRIMARY_SITE $4.``) and column style
    (``PRIMARY_SITE $ 83-86``). ``LRECL=``, when present, is the longest record accepted (as
    SAS reads it: records may be shorter, down to the end of the last field).
    """
    path = Path(path)
    if not path.is_file():
        raise PufError(f"{path}: SAS program not found")
    text = _COMMENT.sub(" ", path.read_text(encoding="latin-1"))
    blocks = [match.group(1) for match in _INPUT_BLOCK.finditer(text)]
    if not blocks:
        raise PufError(f"{path}: no INPUT statement in the SAS program; cannot read positions")
    fields: list[LayoutField] = []
    for body in blocks:  # the first INPUT naming positions (the word may occur in labels)
        fields = [
            LayoutField(name.upper(), int(start), int(start) + int(width) - 1)
            for start, name, _dollar, width, _decimals in _AT_ITEM.findall(body)
        ] or [
            LayoutField(name.upper(), int(start), int(end))
            for name, _dollar, start, end in _COLUMN_ITEM.findall(body)
        ]
        if fields:
            break
    if not fields:
        raise PufError(f"{path}: the INPUT statement names no field positions (@start NAME $w.)")
    lrecl = _LRECL.search(text)
    last_end = max(f.end for f in fields)
    if lrecl and int(lrecl.group(1)) < last_end:
        raise PufError(
            f"{path}: LRECL={lrecl.group(1)} is shorter than the INPUT fields, which end at "
            f"column {last_end}"
        )
    try:
        return Layout(
            name=path.name,
            record_length=int(lrecl.group(1)) if lrecl else None,
            fields=tuple(fields),
            label=f"SAS program {path.name}",
            record_length_is_maximum=True,
        )
    except ValueError as err:
        raise PufError(f"{path}: {err}") from None


def sas_program(layout: Layout, data_name: str) -> str:
    """A SAS load program for a fixed-width file, every field read as character (as NCDB's)."""
    lines = [
        f"/* SAS load program for {data_name} (layout {layout.name}), written by regsurv. */",
        "/* Every field is read as character, as in NCDB's own programs. */",
        "DATA NCDBPUF;",
        f"  INFILE '{data_name}' LRECL={layout.record_length or layout.last_end} TRUNCOVER;",
        "  INPUT",
        *(f"    @{f.start} {f.name} ${f.width}." for f in layout.fields),
        "  ;",
        "RUN;",
        "",
    ]
    return "\n".join(lines)


def _first_record_length(path: Path) -> int:
    with path.open("rb") as handle:
        for raw in handle:
            line = raw.rstrip(b"\r\n")
            if line.startswith(b"\xef\xbb\xbf"):
                line = line[3:]
            if line:
                return len(line.decode("utf-8", errors="replace"))
    raise PufError(f"{path}: empty file (no records)")


def resolve_layout(path: Path, layout: str | Path | Layout | None) -> Layout:
    """The layout of fixed-width file `path` (see the module docstring for the order)."""
    builtin = load_dictionary().layouts
    if isinstance(layout, Layout):
        return layout
    if layout is not None:
        if str(layout) in builtin:
            return builtin[str(layout)]
        return parse_sas_layout(layout)
    sibling = path.with_suffix(".sas")
    if sibling.is_file():
        return parse_sas_layout(sibling)
    length = _first_record_length(path)
    found = load_dictionary().layout_for_record_length(length)
    if found is None:
        known = ", ".join(f"{lay.record_length} = PUF {name}" for name, lay in builtin.items())
        raise PufError(
            f"{path}: record length {length} matches no built-in layout ({known}); "
            "give the NCDB SAS load program with --layout"
        )
    return found
