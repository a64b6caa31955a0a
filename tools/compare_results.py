"""Compare two results.json leaf by leaf: ``python tools/compare_results.py OLD NEW``.

The new layout (``analyses``: id -> {kind, title, ...}) is mapped back onto the old keys
(``tables``, ``trend``, ``kaplan_meier``, ``cox``, ``propensity``, ``matching``) so that every
leaf of the old file is compared; keys only in the new file are listed, not counted. Exit 1
when a leaf differs or is missing.
"""

from __future__ import annotations

import json
import math
import sys
from typing import Any

IGNORE = {"timings", "durations", "started", "finished", "path"}
META = {"kind", "title"}


def _of_kind(analyses: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [v for v in analyses.values() if v.get("kind") == kind]


def _strip(entry: dict[str, Any], *drop: str) -> dict[str, Any]:
    return {k: v for k, v in entry.items() if k not in META | set(drop)}


def remap(new: dict[str, Any]) -> dict[str, Any]:
    """The new layout under the old keys (identity for an old-layout file)."""
    if "analyses" not in new:
        return new
    a = new["analyses"]
    out = {k: v for k, v in new.items() if k != "analyses"}
    out["tables"] = {k: v["table"] for k, v in a.items() if v.get("kind") == "summary_table"}
    trend = _of_kind(a, "trend")
    out["trend"] = trend[0]["trend"] if trend else None
    out["kaplan_meier"] = {k: _strip(v) for k, v in a.items() if v.get("kind") == "km"}
    uni, mv = _of_kind(a, "cox_univariable"), _of_kind(a, "cox")
    out["cox"] = {
        "univariable": uni[0]["models"] if uni else {},
        "multivariable": mv[0]["model"] if mv else None,
    }
    if iptw := _of_kind(a, "iptw"):
        out["propensity"] = _strip(iptw[0], "bootstrap")
    if matching := _of_kind(a, "matching"):
        out["matching"] = _strip(matching[0])
    return out


def walk(old: Any, new: Any, path: str, diffs: list[str], extra: list[str]) -> None:
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(set(old) | set(new)):
            if key in IGNORE:
                continue
            if key not in new:
                diffs.append(f"{path}/{key}: missing in new")
            elif key not in old:
                extra.append(f"{path}/{key}")
            else:
                walk(old[key], new[key], f"{path}/{key}", diffs, extra)
    elif isinstance(old, list) and isinstance(new, list):
        if len(old) != len(new):
            diffs.append(f"{path}: length {len(old)} vs {len(new)}")
            return
        for i, (x, y) in enumerate(zip(old, new, strict=True)):
            walk(x, y, f"{path}[{i}]", diffs, extra)
    elif isinstance(old, float) and isinstance(new, float):
        if not (old == new or (math.isnan(old) and math.isnan(new))):
            diffs.append(f"{path}: {old!r} vs {new!r}")
    elif old != new:
        diffs.append(f"{path}: {old!r} vs {new!r}")


def leaves(node: Any) -> int:
    if isinstance(node, dict):
        return sum(leaves(v) for v in node.values())
    if isinstance(node, list):
        return sum(leaves(v) for v in node)
    return 1


def main(old_path: str, new_path: str) -> int:
    with open(old_path, encoding="utf-8") as f:
        old = remap(json.load(f))
    with open(new_path, encoding="utf-8") as f:
        new = remap(json.load(f))
    diffs: list[str] = []
    extra: list[str] = []
    walk(old, new, "", diffs, extra)
    for key in extra:
        sys.stdout.write(f"  (new key {key})\n")
    sys.stdout.write(f"{leaves(old)} leaves in old; {len(diffs)} differences\n")
    for line in diffs[:40]:
        sys.stdout.write(f"  {line}\n")
    return 1 if diffs else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
