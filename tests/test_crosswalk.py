"""The "From R" and "From SAS" pages cite only regsurv names that exist: every call in their
regsurv column resolves to a public function or method, and every keyword it shows is one of
that function's parameters."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from regsurv import causal, cohort, describe, survival

DOCS = Path(__file__).resolve().parents[1] / "docs"
PAGES = ("from_r.md", "from_sas.md")
NAMESPACE = {
    name: getattr(module, name)
    for module in (survival, causal, describe, cohort)
    for name in module.__all__
}
# the object names the pages use for results, and their classes
OBJECTS = {
    "km": survival.SurvivalCurves,
    "fit": survival.CoxResult,
    "model": causal.PropensityModel,
    "split": survival.TreatmentSplit,
    **{name: obj for name, obj in NAMESPACE.items() if inspect.isclass(obj)},
}
# the crosswalk rows the issue asks for: R or SAS name -> the regsurv call it maps to
REQUIRED = {
    "from_r.md": {
        "survfit(": "kaplan_meier(",
        "coxph(": "cox_ph(",
        "tmerge(": "split_at_treatment(",
        "weightit(": "iptw_weights(",
        "bal.tab(": "balance_table(",
        "matchit(": "match_nearest(",
        "mice::pool(": "pool_cox(",
        "survRM2::rmst2(": "rmst(",
        "EValue::evalues.HR(": "evalue(",
    },
    "from_sas.md": {
        "METHOD=KM": "kaplan_meier(",
        "MODEL t*status(0)": "cox_ph(",
        "CONFTYPE=LOGLOG": "conf_type=",
        "TIES=BRESLOW": "ties=",
        "RMST(TAU=5)": "rmst(",
        "PROC MIANALYZE": "pool_cox(",
        "time-dependent covariate": "split_at_treatment(",
    },
}


def _cells(line: str) -> list[str]:
    """The cells of a markdown table row, splitting on | outside backticks."""
    cells, current, in_code = [], "", False
    for char in line.strip().strip("|"):
        if char == "`":
            in_code = not in_code
        if char == "|" and not in_code:
            cells.append(current.strip())
            current = ""
        else:
            current += char
    cells.append(current.strip())
    return cells


def _rows(page: str) -> list[list[str]]:
    lines = (DOCS / page).read_text(encoding="utf-8").splitlines()
    return [
        _cells(line)
        for line in lines
        if line.startswith("|") and not set(line) <= set("|- ") and len(_cells(line)) >= 2
    ]


def _top_level_args(text: str) -> list[str]:
    args, depth, current = [], 0, ""
    for char in text:
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        if char == "," and depth == 0:
            args.append(current.strip())
            current = ""
        else:
            current += char
    return [*args, current.strip()] if current.strip() else args


def _calls(code: str) -> list[tuple[str | None, str, list[str]]]:
    """(object, name, keyword names) of every call in `code` (object None for a function)."""
    found = []
    for match in re.finditer(r"(?:(\w+)\.)?(\w+)\(", code):
        start = match.end()
        depth, end = 1, start
        while end < len(code) and depth:
            depth += {"(": 1, ")": -1}.get(code[end], 0)
            end += 1
        keywords = [
            m.group(1)
            for arg in _top_level_args(code[start : end - 1])
            if (m := re.match(r"(\w+)=", arg))
        ]
        prefix = match.group(1)
        if match.start() > 0 and code[match.start() - 1] in ").]":
            continue  # a method of an expression (chained call): not checked
        found.append((prefix, match.group(2), keywords))
    return found


def _regsurv_code(page: str) -> list[str]:
    """The code spans of the regsurv column (the second) of every table row of `page`."""
    return [code for row in _rows(page) for code in re.findall(r"`([^`]+)`", row[1])]


def _resolve(prefix: str | None, name: str):
    if prefix is None:
        return NAMESPACE.get(name)
    owner = OBJECTS.get(prefix)
    return None if owner is None else getattr(owner, name, None)


@pytest.mark.parametrize("page", PAGES)
def test_every_call_the_crosswalk_cites_exists_with_its_keywords(page: str) -> None:
    checked, problems = 0, []
    for code in _regsurv_code(page):
        for prefix, name, keywords in _calls(code):
            if prefix is not None and prefix not in OBJECTS:
                continue  # data["t"], regsurv.describe.smd, ...
            target = _resolve(prefix, name)
            where = f"{prefix + '.' if prefix else ''}{name}"
            if target is None:
                problems.append(f"{where}: no such regsurv name (in `{code}`)")
                continue
            checked += 1
            signature = inspect.signature(target)
            params = signature.parameters
            if any(p.kind is p.VAR_KEYWORD for p in params.values()):
                continue
            problems += [
                f"{where}: no parameter {kw!r} (in `{code}`)" for kw in keywords if kw not in params
            ]
        for prefix, attribute in re.findall(r"\b(km|fit|model|split)\.(\w+)\b(?!\()", code):
            if not attribute.endswith("_") and not hasattr(OBJECTS[prefix], attribute):
                problems.append(f"{prefix}.{attribute}: no such attribute (in `{code}`)")
    assert problems == []
    assert checked >= 25


@pytest.mark.parametrize("page", PAGES)
def test_the_crosswalk_has_the_rows_users_look_for(page: str) -> None:
    rows = _rows(page)
    for source, target in REQUIRED[page].items():
        hits = [row for row in rows if source in row[0] and target in row[1]]
        assert hits, f"{page}: no row mapping {source!r} to {target!r}"


def test_the_parser_catches_a_wrong_name_and_a_wrong_keyword() -> None:
    calls = _calls('cox_ph(data, time="t", tie="efron", covariates=["a", "b"])')
    assert calls == [(None, "cox_ph", ["time", "tie", "covariates"])]
    assert "tie" not in inspect.signature(_resolve(None, "cox_ph")).parameters
    assert _resolve(None, "kaplan_meyer") is None
    assert _cells("| `a | b` | c |") == ["`a | b`", "c"]
