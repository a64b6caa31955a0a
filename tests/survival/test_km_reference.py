"""Kaplan–Meier against R ``survfit`` (tests/reference/r): every curve of every fixture.

Each survfit call recorded in the fixtures is parsed (data, time, event, group, weights,
conf.type, robust) and rerun here; every row of every curve is compared field by field, then
the medians (summary(fit)$table) and summary(fit, times =) with and without extend.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from regsurv.survival import kaplan_meier
from regsurv.testing import assert_close, load_reference
from survival._r_data import r_dataset

KM_FILES = [
    "lung__km",
    "veteran__km",
    "colon__km",
    "sim3arm_a__km",
    "sim3arm_a__iptw_survival",
    "edge__median",
    "edge__time_zero",
    "edge__all_censored",
    "edge__zero_events_group",
    "edge__weights_ties",
]
SURVFIT = re.compile(
    r"survfit\(Surv\((?P<time>\w+), (?P<event>\w+)\) ~ (?P<group>\w+), data = (?P<data>.+?)"
    r"(?:, weights = (?P<weights>\w+))?, conf\.type = '(?P<conf>[-\w]+)'"
    r"(?:, robust = (?P<robust>TRUE|FALSE))?\)$"
)


def km_cases():
    for file in KM_FILES:
        ref = load_reference(file)
        for key, analysis in ref["analyses"].items():
            if "call" in analysis and analysis["call"].startswith("survfit("):
                yield pytest.param(ref["dataset"], analysis, id=f"{file}:{key}")


def _fit(dataset: str, analysis: dict):
    m = SURVFIT.match(analysis["call"])
    assert m, analysis["call"]
    robust = {"TRUE": True, "FALSE": False, None: None}[m["robust"]]
    frame = r_dataset(dataset, m["data"])
    group = None if m["group"] == "1" else m["group"]
    return kaplan_meier(
        frame,
        time=m["time"],
        event=m["event"],
        group=group,
        weights=m["weights"],
        robust=robust,
        conf_type=m["conf"],
    )


def _label(stratum: str) -> str:
    return stratum.split("=", 1)[1] if "=" in stratum else stratum


@pytest.mark.parametrize(("dataset", "analysis"), list(km_cases()))
def test_km_matches_r(dataset, analysis):
    assert_km_matches(_fit(dataset, analysis), analysis)


def assert_km_matches(result, analysis: dict) -> None:
    """Every curve row, the median table, the quantiles and summary(fit, times =) of R's
    survfit record ``analysis`` (km_extract in R/00_common.R)."""
    r = analysis["result"]
    assert r["conf.type"] == result.conf_type
    assert [_label(s) for s in r["curves"]] == list(result.curves)
    robust = result.variance == "robust"
    for stratum, curve_ref in r["curves"].items():
        curve = result.curves[_label(stratum)]
        table = curve_ref["table"]
        msg = f"{analysis['call']} [{stratum}]"
        for ours, theirs in [("time", "time"), ("n_risk", "n.risk"), ("n_event", "n.event")]:
            assert_close(getattr(curve, ours), table[theirs], tier="exact", err_msg=msg + ours)
        assert_close(curve.n_censor, table["n.censor"], tier="software", err_msg=msg)
        assert_close(curve.estimate, table["surv"], tier="software", err_msg=msg + " surv")
        # R's std.err is the SE of -log S, except for robust fits where it is the SE of S
        std_error = curve.std_error if robust else curve.std_error_log
        assert_close(std_error, table["std.err"], tier="software", err_msg=msg + " std.err")
        assert_close(curve.conf_low, table["lower"], tier="software", err_msg=msg + " lower")
        assert_close(curve.conf_high, table["upper"], tier="software", err_msg=msg + " upper")

    summary = r["summary_table"]
    col = {name: i for i, name in enumerate(summary["colnames"])}
    medians = result.median()
    assert medians["group"].to_list() == [_label(s) for s in summary["rownames"]]
    values = np.array(
        [[np.nan if v is None else v for v in row] for row in summary["values"]], dtype=float
    )
    assert_close(medians["n_obs"], values[:, col["records"]], tier="exact")
    assert_close(medians["n_events"], values[:, col["events"]], tier="software")
    assert_close(medians["median"], values[:, col["median"]], tier="software")
    assert_close(medians["conf_low"], values[:, col["0.95LCL"]], tier="software")
    assert_close(medians["conf_high"], values[:, col["0.95UCL"]], tier="software")
    for label, med in zip(medians["group"], medians["median"], strict=True):
        if np.isnan(med):
            assert any("median not reached" in w and label in w for w in result.warnings) or (
                result.group is None and any("median not reached" in w for w in result.warnings)
            )

    quantiles = result.quantile([0.25, 0.5, 0.75])
    for ours, theirs in (("quantile", "quantile"), ("conf_low", "lower"), ("conf_high", "upper")):
        block = r["quantiles"][theirs]
        assert block["colnames"] == ["25", "50", "75"]
        expected_q = [[np.nan if v is None else v for v in row] for row in block["values"]]
        assert_close(quantiles[ours], np.ravel(expected_q), tier="software", err_msg=ours)

    for key, extend in (("at_times", False), ("at_times_extend_TRUE", True)):
        if key not in r:
            continue
        expected = r[key]["table"]
        got = result.at(r[key]["times"], extend=extend)
        assert got["group"].to_list() == [_label(s) for s in expected["stratum"]]
        msg = f"{analysis['call']} {key}"
        assert_close(got["time"], expected["time"], tier="exact", err_msg=msg)
        assert_close(got["n_risk"], expected["n.risk"], tier="software", err_msg=msg)
        assert_close(got["n_event"], expected["n.event"], tier="software", err_msg=msg)
        assert_close(got["n_censor"], expected["n.censor"], tier="software", err_msg=msg)
        assert_close(got["estimate"], expected["surv"], tier="software", err_msg=msg)
        assert_close(got["std_error"], expected["std.err"], tier="software", err_msg=msg)
        assert_close(got["conf_low"], expected["lower"], tier="software", err_msg=msg)
        assert_close(got["conf_high"], expected["upper"], tier="software", err_msg=msg)


def test_every_km_fixture_is_covered():
    ids = [p.id for p in km_cases()]
    # 4 lung, 4 veteran, 2 colon, 6 sim3arm_a, 3 IPTW-weighted, 13 edge cases
    assert len(ids) == 32
    assert all(SURVFIT.match(p.values[1]["call"]) for p in km_cases())
