"""The sarcoma report of a 300-patient synthetic PUF published with ``--suppress-below 11``:
the audit proves every hidden cell undetermined, and a run whose complementary suppression
is weakened on purpose fails with exit 7 and publishes nothing."""

from __future__ import annotations

import hashlib
import json
import warnings

import pytest
from typer.testing import CliRunner

from regsurv.cli import app
from regsurv.errors import ExitCode
from regsurv.report import format as report_format
from regsurv.report.build import count_hooks
from regsurv.report.suppression import (
    audit,
    determined,
    report_table,
    required_width,
    suppress,
)
from regsurv.synth import write_synthetic_puf

#: 22,150 PUF rows give a 300-patient analytic cohort (seed 0)
ROWS_FOR_300 = 22_150
THRESHOLD = 11


@pytest.fixture(scope="module")
def small_puf(tmp_path_factory):
    path = write_synthetic_puf(
        tmp_path_factory.mktemp("puf") / "p300.parquet", rows=ROWS_FOR_300, format="parquet"
    )
    return path, hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def suppressed_run(small_puf, tmp_path_factory):
    from regsurv.pipeline.runner import run_study

    out = tmp_path_factory.mktemp("run") / "report"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # separation warnings of the small arms' PS models
        results = run_study(data=small_puf[0], out_dir=out, suppress_below=THRESHOLD)
    return results, out


def test_300_patient_report_hides_every_small_cell_undetermined(suppressed_run):
    results, out = suppressed_run
    assert results.cohort.height == 300
    published = json.loads((out / "results.json").read_text(encoding="utf-8"))
    summary = published["suppression"]
    assert summary["audit"] == "passed" and summary["threshold"] == THRESHOLD
    assert summary["primary"] > 0 and summary["complementary"] > 0

    mask = suppress(report_table(results, count_hooks()), THRESHOLD)
    assert (len(mask.primary), len(mask.complementary)) == (
        summary["primary"],
        summary["complementary"],
    )
    intervals = {i.cell: i for i in audit(mask, exact=True)}  # two LPs per hidden cell
    assert set(mask.hidden) <= set(intervals)  # and the latent (never printed) small cells
    for cell, interval in intervals.items():  # a small cell keeps half of 1..10 possible
        if interval.sensitive:
            assert interval.width >= required_width(THRESHOLD), cell
    for cell in mask.complementary:
        assert intervals[cell].width >= 2, cell
    assert determined(mask, exact=True) == []


def test_removing_a_complementary_cell_fails_the_run(
    small_puf, suppressed_run, tmp_path, monkeypatch
):
    results, _ = suppressed_run
    mask = suppress(report_table(results, count_hooks()), THRESHOLD)
    needed = next(c for c in sorted(mask.complementary, key=repr) if determined(mask.without(c)))
    real_suppress = report_format.suppress

    def weakened(table, threshold):
        return real_suppress(table, threshold).without(needed)

    monkeypatch.setattr(report_format, "suppress", weakened)
    out = tmp_path / "report"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = CliRunner().invoke(
            app, ["run", "--data", str(small_puf[0]), "--out", str(out), "--suppress-below", "11"]
        )
    assert result.exit_code == ExitCode.DISCLOSURE, result.output
    lines = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "can be recomputed" in lines[0], result.output
    assert "Traceback" not in result.output
    assert not out.exists() and list(tmp_path.iterdir()) == []  # nothing published or staged
    assert hashlib.sha256(small_puf[0].read_bytes()).hexdigest() == small_puf[1]


def test_sensitivity_sections_are_audited_and_show_no_unaudited_count(suppressed_run):
    results, out = suppressed_run
    published = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert published["suppression"]["audit"] == "passed"
    for key, kind in (("evalues", "evalue"), ("rmst", "rmst"), ("mi", "imputation")):
        assert not results.analyses[key].failed, results.analyses[key]
        assert published["analyses"][key]["kind"] == kind
    table = report_table(results, count_hooks())
    rmst = results.analyses["rmst"].results["unweighted"]
    km = results.analyses["fig2b"].median  # the same groups' Kaplan-Meier events
    for g, to_tau, total in zip(rmst.groups, rmst.n_events, km["n_events"], strict=True):
        # events up to tau share the KM events' cell when none come after tau
        name = ("events", "treatment", g) if to_tau == total else ("rmst_events", "rmst", g)
        assert table.values[name] == to_tau, g
    assert ("mi", "mi", "n") in table.values
    html = (out / "report.html").read_text(encoding="utf-8")
    assert 'id="evalues"' in html and 'id="rmst"' in html and 'id="mi"' in html


_TIME_COUNT_KEYS = {"never", "at_start", "during_follow_up", "after_follow_up", "n_before",
                    "n_excluded", "n_after", "n_obs", "n_events", "n_input", "n_final",
                    "n_subjects", "treated", "treated_after_landmark", "M", "C", "R",
                    "n_excluded_event_or_censored_by_landmark"}  # fmt: skip


def _small_counts(node, key=None):
    """Published counts 1..10 under the count keys of the time analyses."""
    if isinstance(node, dict):
        return [x for k, v in node.items() for x in _small_counts(v, k)]
    if isinstance(node, list):
        return [x for v in node for x in _small_counts(v, key)]
    small = isinstance(node, int) and not isinstance(node, bool) and 0 < node < THRESHOLD
    return [(key, node)] if small and key in _TIME_COUNT_KEYS else []


def test_time_analyses_are_in_the_audited_report(suppressed_run):
    results, out = suppressed_run
    published = json.loads((out / "results.json").read_text(encoding="utf-8"))
    table = report_table(results, count_hooks())
    mask = suppress(table, THRESHOLD)
    for key in ("tv_cox", "landmark_m"):
        entry = published["analyses"][key]
        assert "failed" not in entry, entry
        assert _small_counts(entry) == []
    timing = [c for c in table.values if c[:2] == ("time", "tv_cox")]
    assert ("time", "tv_cox", "intervals") in table.values and len(timing) > 20
    assert any(c in mask.hidden for c in timing)  # the 300-patient timing has small cells
    html = (out / "report.html").read_text(encoding="utf-8")
    assert 'id="tv_cox"' in html and 'id="landmark_m"' in html
