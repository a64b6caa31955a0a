"""Analyses as typed records: the profile reaches every fitted object, per-analysis overrides
change the numbers, every study key has an effect, failures are typed."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from regsurv.pipeline.analyses import KINDS, AnalysisFailure, run_analysis
from regsurv.pipeline.runner import run_study

from .conftest import context


def _fitted(record):
    """(what, conf_type or ties) of every fitted object of a record."""
    kind = record.kind
    if kind == "km":
        yield "conf_type", record.curves.conf_type
    elif kind == "cox":
        yield "ties", record.model.ties
    elif kind == "cox_univariable":
        yield from (("ties", m.ties) for m in record.models.values())
    elif kind == "iptw":
        yield "conf_type", record.survival.curves.conf_type
        yield "ties", record.survival.cox.ties
    elif kind == "matching":
        yield "conf_type", record.survival.km.conf_type
        yield "ties", record.survival.cox.ties


@pytest.mark.slow
def test_profile_r_reaches_every_fitted_object(tmp_path):
    results = run_study(out_dir=tmp_path / "out", profile="r")
    seen = set()
    for record in results.analyses.values():
        assert not record.failed, record
        for what, value in _fitted(record):
            assert value == {"ties": "efron", "conf_type": "log"}[what], (record.spec.id, what)
            seen.add(record.kind)
    assert seen == {"km", "cox", "cox_univariable", "iptw", "matching"}


def test_records_are_frozen(sarcoma):
    spec, _ = sarcoma
    record = run_analysis(context(sarcoma), spec.analysis("fig2b"))
    with pytest.raises(AttributeError):
        record.median = None


def _override(spec, analysis_id, **changes):
    return spec.analysis(analysis_id).model_copy(update=changes)


def test_km_conf_type_override_changes_the_limits(sarcoma):
    spec, _ = sarcoma
    ctx = context(sarcoma)
    base = run_analysis(ctx, spec.analysis("fig2b"))
    plain = run_analysis(ctx, _override(spec, "fig2b", conf_type="plain"))
    assert plain.curves.conf_type == "plain" and base.curves.conf_type == "log-log"
    assert np.allclose(base.median["median"], plain.median["median"])
    assert not np.allclose(base.landmarks["conf_low"], plain.landmarks["conf_low"])


def test_cox_ties_override_changes_the_estimates(sarcoma):
    spec, _ = sarcoma
    ctx = context(sarcoma)  # profile sas: Breslow
    base = run_analysis(ctx, spec.analysis("table3"))
    efron = run_analysis(ctx, _override(spec, "table3", ties="efron"))
    assert (base.model.ties, efron.model.ties) == ("breslow", "efron")
    assert not np.allclose(base.model.estimate, efron.model.estimate)


def test_iptw_and_matching_overrides(sarcoma):
    spec, _ = sarcoma
    ctx = context(sarcoma)
    iptw = run_analysis(ctx, _override(spec, "iptw", ties="efron", conf_type="log"))
    assert iptw.survival.cox.ties == "efron" and iptw.survival.curves.conf_type == "log"
    matched = run_analysis(ctx, _override(spec, "matched", ties="efron", conf_type="plain"))
    assert matched.survival.cox.ties == "efron" and matched.survival.km.conf_type == "plain"


def test_n_boot_puts_bootstrap_intervals_in_the_record(sarcoma):
    spec, _ = sarcoma
    record = run_analysis(context(sarcoma), _override(spec, "iptw", n_boot=20, random_state=3))
    boot = record.bootstrap
    assert boot is not None and boot.n_boot == 20
    assert boot.terms == record.survival.cox.terms
    assert np.all(boot.conf_low < boot.estimate) and np.all(boot.estimate < boot.conf_high)
    assert run_analysis(context(sarcoma), _override(spec, "iptw", n_boot=0)).bootstrap is None


def test_bootstrap_reports_its_replicates_to_the_progress_callback(sarcoma):
    spec, _ = sarcoma
    calls: list[tuple[str, int, int]] = []
    ctx = dataclasses.replace(context(sarcoma), on_progress=lambda *a: calls.append(a))
    run_analysis(ctx, _override(spec, "iptw", n_boot=20, random_state=3))
    assert calls and all(label == "iptw: bootstrap" for label, _, _ in calls)
    done = [d for _, d, _ in calls]
    total = calls[-1][2]  # the replicates, then the jackknife fits of the BCa acceleration
    assert total >= 20 and done[-1] == total and done == sorted(done)


def test_complete_cases_false_fails_on_missing_covariates(sarcoma):
    spec, _ = sarcoma
    record = run_analysis(context(sarcoma), _override(spec, "iptw", complete_cases=False))
    assert isinstance(record, AnalysisFailure) and record.kind == "iptw"
    assert "missing" in record.reason.lower()


def test_a_data_failure_is_a_typed_record(sarcoma):
    spec, _ = sarcoma
    bad = _override(spec, "table3", reference={"treatment": "no such level"})
    record = run_analysis(context(sarcoma), bad)
    assert isinstance(record, AnalysisFailure)
    assert (record.id, record.kind, record.title) == ("table3", "cox", bad.title)
    assert record.error_type and record.message.startswith(record.error_type)


def test_every_kind_has_a_renderer():
    from regsurv.report import RENDERERS

    assert set(RENDERERS) == set(KINDS)
