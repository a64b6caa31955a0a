"""No study key validates and is then ignored: running an analysis (its step and its report
section) reads every key of its spec."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from regsurv.pipeline.analyses import KINDS, run_analysis
from regsurv.report.build import RENDERERS, RenderContext
from regsurv.report.document import Section
from regsurv.report.format import Suppressor

from .conftest import context

# Keys read by the runner or the report's frame rather than by the analysis itself.
FRAME_KEYS = {"kind", "id", "title"}


def _tracked(spec):
    """A copy of `spec` that records which of its fields are read (attribute or dump)."""
    cls = type(spec)
    fields = set(cls.model_fields)
    seen: set[str] = set()

    class Tracked(cls):  # type: ignore[misc, valid-type]
        def __getattribute__(self, name):
            if name in fields:
                seen.add(name)
            return super().__getattribute__(name)

        def model_dump(self, *args, **kwargs):
            seen.update(fields - set(kwargs.get("exclude") or ()))
            return super().model_dump(*args, **kwargs)

    tracked = Tracked.model_validate(spec.model_dump())
    seen.clear()  # reads by the validators do not count
    return tracked, seen


def _fields_read(sarcoma, tmp_path, spec) -> set[str]:
    study, cohort = sarcoma
    tracked, seen = _tracked(spec)
    ctx = context(sarcoma)
    record = run_analysis(ctx, tracked)
    assert not record.failed, record
    results = SimpleNamespace(
        cohort=cohort.cohort, spec=study, profile=ctx.profile, analyses={record.spec.id: record}
    )
    render = RenderContext(results, tmp_path, Suppressor(None))
    RENDERERS[record.kind].section(Section(spec.id, spec.title), record, render)
    return seen


CASES = {
    "summary_table": ("table1", {}),
    "trend": ("utilization", {}),
    "km": ("fig2b", {}),
    "cox_univariable": ("supp_table4", {}),
    "cox": ("table3", {}),
    "iptw": ("iptw", {"n_boot": 4}),
    "matching": ("matched", {}),
    "evalue": ("evalues", {}),
    "rmst": ("rmst", {"tau": 5.0}),
    "imputation": ("mi", {"m": 2, "max_iter": 1}),
    "time_varying_cox": ("tv_cox", {"ties": "efron"}),
    "landmark": ("landmark_m", {"ties": "efron", "conf_type": "log"}),
    "matching_nearest": (
        "matched",
        {"method": "nearest", "groups": ("SP alone", "Metastasectomy"), "reference_group": None},
    ),
}
# Keys that only one method of matching reads (the other method's case covers them).
METHOD_KEYS = {
    "matching": {"ratio", "replace", "distance", "caliper_scale", "groups"},
    "matching_nearest": {"reference_group", "n_candidates", "n_clusters"},
}


@pytest.mark.slow
@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_every_key_of_an_analysis_is_read(sarcoma, tmp_path, case):
    analysis_id, changes = CASES[case]
    spec = sarcoma[0].analysis(analysis_id).model_copy(update=changes)
    read = _fields_read(sarcoma, tmp_path, spec)
    unread = set(type(spec).model_fields) - read - FRAME_KEYS - METHOD_KEYS.get(case, set())
    assert not unread, f"{spec.kind} keys validated but never used: {sorted(unread)}"


def test_every_kind_is_covered():
    assert {case.split("_nearest")[0] for case in CASES} == set(KINDS)
