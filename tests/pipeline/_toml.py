"""Write a parsed study back as TOML (tables, arrays, strings, numbers, booleans)."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, int | float):
        return repr(v)
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    return "{ " + ", ".join(f'"{k}" = {_value(x)}' for k, x in v.items()) + " }"


def write_study(path: Path, raw: dict[str, Any]) -> str:
    """`raw` as a TOML file at `path`; returns the path as a string."""
    lines = [f'"{k}" = {_value(v)}' for k, v in raw.items() if isinstance(v, list)]
    for section, body in raw.items():
        if isinstance(body, list):
            continue
        lines.append(f"[{section}]")
        lines += [f'"{k}" = {_value(v)}' for k, v in body.items()]
    Path(path).write_text("\n".join(lines), encoding="utf-8")
    return str(path)
