"""Stage boundaries, enforced on the source (house style §0.1).

Data flows one way: io -> cohort -> describe -> survival -> causal -> report -> pipeline -> cli.
Numerics modules never import io, report or plotting libraries; only io reads files.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "regsurv"

ORDER = [
    "testing",
    "studies",
    "io",
    "cohort",
    "describe",
    "survival",
    "causal",
    "synth",
    "report",
    "pipeline",
    "cli",
]
NUMERICS = {"describe", "survival", "causal"}
FORBIDDEN_IN_NUMERICS = {"matplotlib", "regsurv.io", "regsurv.report", "docx", "great_tables"}
# synth may call cohort and io (it checks itself against the study's criteria); nothing else
# imports synth
# except pipeline and cli (the default data source).
ALLOWED_EXTRA = {"synth": {"io", "cohort", "testing"}}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _modules() -> list[tuple[str, Path]]:
    return [
        (p.relative_to(SRC).parts[0], p)
        for p in SRC.rglob("*.py")
        if len(p.relative_to(SRC).parts) > 1
    ]


@pytest.mark.parametrize(("stage", "path"), _modules(), ids=lambda v: str(v))
def test_stage_imports_flow_one_way(stage: str, path: Path) -> None:
    rank = ORDER.index(stage)
    for name in _imports(path):
        if name.startswith("regsurv."):
            target = name.split(".")[1]
            if target not in ORDER or target == stage:
                continue
            allowed = ORDER.index(target) < rank and (
                target != "synth" or stage in {"pipeline", "cli"}
            )
            allowed = allowed or target in ALLOWED_EXTRA.get(stage, set())
            assert allowed, f"{path.relative_to(SRC)} (stage {stage}) imports {name}"


@pytest.mark.parametrize(
    "path", [p for s, p in _modules() if s in NUMERICS], ids=lambda p: str(p.relative_to(SRC))
)
def test_numerics_never_import_io_report_or_plotting(path: Path) -> None:
    bad = {
        n
        for n in _imports(path)
        if any(n == f or n.startswith(f + ".") for f in FORBIDDEN_IN_NUMERICS)
    }
    assert not bad, f"{path.relative_to(SRC)} imports {sorted(bad)}"


def test_architecture_check_catches_a_violation(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import matplotlib.pyplot as plt\nfrom regsurv.io import read_puf\n")
    found = _imports(bad)
    assert "matplotlib.pyplot" in found and "regsurv.io" in found
