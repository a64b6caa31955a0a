"""The study report end to end: outputs, provenance, HTML in a browser, Word tables, the paper
comparison, suppression, atomic writes and the command line."""

from __future__ import annotations

import csv
import hashlib
import html
import json
import re
import shutil
import socket
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from regsurv.cli import app
from regsurv.pipeline import runner
from regsurv.pipeline.runner import EXIT_OUTPUT, run_study
from regsurv.report.format import COUNT_COLUMNS

SECTIONS = (
    "data",
    "flow",
    "table1",
    "table2",
    "utilization",
    "fig2a",
    "fig2b",
    "fig3",
    "supp_table4",
    "table3",
    "iptw",
    "matched",
    "tv_cox",
    "landmark_m",
    "paper_comparison",
)
TABLES = (
    "flow",
    "table1",
    "table2",
    "utilization_trend",
    "supp_table1",
    "supp_table2",
    "supp_table3",
    "supp_table4",
    "table3",
    "supp_table5",
    "iptw_weights",
    "iptw_cox",
    "iptw_bootstrap",
    "matched_balance",
    "matched_cox",
    "tv_cox_flow",
    "tv_cox_timing",
    "tv_cox",
    "landmark_m_flow",
    "landmark_m",
    "evalues",
    "rmst",
    "mi",
    "paper_comparison",
)
FIGURES = (
    "fig1_flow",
    "fig2a",
    "fig2b",
    "fig3",
    "forest_table3",
    "love_plot_iptw",
    "km_iptw",
    "love_plot_matched",
    "km_matched",
    "km_landmark_m_0_25",
    "km_landmark_m_0_5",
)


def test_every_output_is_written(study_run):
    results, out = study_run
    assert not results.errors, results.errors
    for name in ("report.html", "report.docx", "results.json", "manifest.json"):
        assert (out / name).stat().st_size > 0, name
    for key in TABLES:
        assert (out / "tables" / f"{key}.csv").is_file(), key
    for key in FIGURES:
        for ext in ("png", "svg", "pdf"):
            assert (out / "figures" / f"{key}.{ext}").stat().st_size > 0, f"{key}.{ext}"
    assert not list(out.parent.glob(".report.*")), "temporary folder left behind"


def test_png_figures_are_300_dpi(study_run):
    from PIL import Image

    _, out = study_run
    with Image.open(out / "figures" / "fig2b.png") as im:
        assert round(im.info["dpi"][0]) == 300


def test_manifest_records_provenance(study_run):
    results, out = study_run
    m = json.loads((out / "manifest.json").read_text())
    data = results.source.path
    assert m["input"]["file"] == data.name
    assert m["input"]["sha256"] == hashlib.sha256(data.read_bytes()).hexdigest()
    assert m["input"]["synthetic"] is True
    assert m["study_file"]["as_given"] == results.study_path.read_text()
    assert m["study_resolved"]["cohort"]["options"]["radiation_min_dose_cgy"] == 4500
    assert m["options"] == {
        "profile": "sas",
        "ties": "breslow",
        "conf_type": "log-log",
        "normalize_weights": True,
        "suppress_below": None,
    }
    assert set(runner.STEPS) <= set(m["step_seconds"])
    assert {"regsurv", "polars", "numpy", "python"} <= set(m["package_versions"])
    assert m["started"] <= m["finished"]


def test_results_json_holds_every_estimate(study_run):
    results, out = study_run
    r = json.loads((out / "results.json").read_text())
    assert r["synthetic_data"] is True
    assert r["cohort"]["n_final"] == results.cohort.height
    a = r["analyses"]
    assert list(a) == [spec.id for spec in results.spec.analyses]
    assert {k for k, v in a.items() if v["kind"] == "km"} == {"fig2a", "fig2b", "fig3"}
    assert a["fig2b"]["logrank"]["df"] == 2
    terms = a["table3"]["model"]
    assert "treatment:Metastasectomy" in json.dumps(terms)
    assert set(a["iptw"]) >= {"weights", "balance", "iptw"}
    assert set(a["matched"]) >= {"n_matched", "balance", "survival"}
    assert abs(sum(row["sum"] for row in a["iptw"]["weights"][:-1]) - a["iptw"]["n_obs"]) < 1e-6


def test_html_is_self_contained(study_run):
    _, out = study_run
    page = (out / "report.html").read_text()
    assert "<script" not in page.lower()
    for attr in re.findall(r'(?:src|href)="([^"]*)"', page):
        assert attr.startswith(("data:", "#")), attr
    assert "@import" not in page and "url(" not in page
    for section in SECTIONS:
        assert f'<section id="{section}">' in page, section
    assert page.count("data:image/png;base64,") == len(FIGURES)
    assert "SYNTHETIC DATA" in page


def test_html_renders_in_chromium_without_network_requests(study_run, tmp_path):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    _, out = study_run
    netlog = tmp_path / "netlog.json"
    proc = subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-features=NetworkTimeServiceQuerying,OptimizationHints,MediaRouter",
            f"--user-data-dir={tmp_path / 'profile'}",
            f"--log-net-log={netlog}",
            "--virtual-time-budget=3000",
            "--dump-dom",
            (out / "report.html").as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    dom = proc.stdout
    assert proc.returncode == 0, proc.stderr[-2000:]
    for section in SECTIONS:
        assert f'id="{section}"' in dom, section
    assert dom.count("<img") == len(FIGURES)
    assert dom.count("<table") == len(TABLES)
    text = html.unescape(re.sub(r"<[^>]+>", " ", dom))
    assert not re.search(r"\bp = <", text) and "p < 0.001" in text
    table3 = dom.split('id="tbl-table3"', 1)[1].split("</table>", 1)[0]
    assert "<strong>" in table3 and "<sup>a</sup>" in table3  # bold p < 0.05, type-3 footnote
    assert "<th>Test</th>" not in dom
    urls = set(re.findall(r'"url":"([^"]+)"', netlog.read_text()))
    # Chromium's own background services (clock sync, component updates) talk to Google hosts
    # whatever page is open; anything else that leaves came from the report.
    browser_own = re.compile(r"^https?://[^/]*\.(google\.com|googleapis\.com|gstatic\.com)/")
    leaving = {
        u
        for u in urls
        if u.startswith(("http:", "https:", "ws:", "wss:", "ftp:")) and not browser_own.match(u)
    }
    assert not leaving, leaving


def test_docx_has_real_word_tables(study_run):
    import docx

    _, out = study_run
    d = docx.Document(str(out / "report.docx"))
    assert len(d.tables) == len(TABLES)
    assert len(d.inline_shapes) == len(FIGURES)
    headers = [tuple(c.text for c in t.rows[0].cells) for t in d.tables]
    assert ("Variable", "HR (95% CI)", "p-value") in headers
    table3 = next(t for t in d.tables if any("1 (reference)" in c.text for c in t.columns[1].cells))
    assert any("Metastasectomy" in c.text for c in table3.columns[0].cells)


def _comparison(out: Path) -> list[dict[str, str]]:
    with (out / "tables" / "paper_comparison.csv").open() as f:
        return list(csv.DictReader(f))


def test_paper_comparison_hazard_ratios_within_published_intervals(study_run):
    """The generator's truth is the paper's estimates, so the whole chain must land inside the
    paper's CIs: both treatment HRs of Table 3 and of the IPTW analysis, and >= 90% of all
    Table 3 HRs (synthetic seed 0, the default; not chosen to pass)."""
    _, out = study_run
    rows = _comparison(out)
    within = {r["Quantity"]: r["Within paper CI"] for r in rows}
    for group in ("Metastasectomy", "Non-surgical adjuvant therapies"):
        assert within[f"table3 HR treatment:{group}"] == "yes"
        assert within[f"iptw HR treatment:{group}"] == "yes"
    table3 = [v for k, v in within.items() if k.startswith("table3 HR") and v in ("yes", "no")]
    assert len(table3) >= 20
    assert sum(v == "yes" for v in table3) >= 0.9 * len(table3)


def test_report_refuses_a_non_empty_folder_without_force(tmp_path):
    (tmp_path / "keep.txt").write_text("mine")
    result = CliRunner().invoke(app, ["run", "--out", str(tmp_path)])
    assert result.exit_code == EXIT_OUTPUT
    assert "not empty" in result.output and "Traceback" not in result.output
    assert (tmp_path / "keep.txt").read_text() == "mine"


def test_failed_run_leaves_no_half_written_report(tmp_path, monkeypatch):
    def broken(results, out_dir, *, targets=None):
        (out_dir / "report.html").write_text("half")
        raise OSError("disk full")

    monkeypatch.setattr("regsurv.report.write_report", broken)
    out = tmp_path / "report"
    with pytest.raises(runner.StudyError, match="disk full"):
        run_study(out_dir=out)
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []


def test_missing_puf_is_a_one_line_error(tmp_path):
    result = CliRunner().invoke(
        app, ["run", "--data", str(tmp_path / "nope.dat"), "--out", str(tmp_path / "o")]
    )
    assert result.exit_code == runner.EXIT_INPUT
    assert "not found" in result.output
    assert len(result.output.strip().splitlines()) == 1


@pytest.fixture
def no_network(monkeypatch):
    """Refuse every connection but local IPC (the figure workers' Unix sockets)."""

    def refuse(*args, **kwargs):
        raise AssertionError("regsurv tried to open a network connection")

    def local_only(real):
        def connect(sock, address, *args, **kwargs):
            if sock.family != socket.AF_UNIX:
                refuse()
            return real(sock, address, *args, **kwargs)

        return connect

    monkeypatch.setattr(socket.socket, "connect", local_only(socket.socket.connect))
    monkeypatch.setattr(socket.socket, "connect_ex", local_only(socket.socket.connect_ex))
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


COUNT_HEADERS = re.compile(r"^(N|Events|Before|Excluded|After|Patients)\b|\(n = ")


def _small_count_cells(cells: list[str], threshold: int) -> list[str]:
    """Cells that show a count below `threshold` (plain or as 'n (pct)')."""
    bad = []
    for cell in cells:
        m = re.fullmatch(r"([\d,]+)(?: \([\d.]+\))?", cell.strip())
        if m:
            n = int(m.group(1).replace(",", ""))
            if 0 < n < threshold:
                bad.append(cell)
    return bad


@pytest.mark.slow
def test_suppressed_run_with_profile_r_and_no_network(tmp_path, no_network):
    """`--suppress-below 11` hides every count below 11 in every output; the run opens no
    socket; profile 'r' is named in the notes."""
    out = tmp_path / "report"
    result = CliRunner().invoke(
        app, ["run", "--out", str(out), "--profile", "r", "--suppress-below", "11"]
    )
    assert result.exit_code == 0, result.output
    assert "SYNTHETIC" in result.output

    import docx

    d = docx.Document(str(out / "report.docx"))
    for t in d.tables:
        header = [c.text for c in t.rows[0].cells]
        for j, name in enumerate(header):
            if COUNT_HEADERS.search(name):
                cells = [row.cells[j].text for row in t.rows[1:]]
                assert not _small_count_cells(cells, 11), (name, _small_count_cells(cells, 11))
    assert "<11" in "".join(c.text for t in d.tables for row in t.rows for c in row.cells)

    for path in (out / "tables").glob("*.csv"):
        with path.open() as f:
            for row in csv.DictReader(f):
                for col in ("n", "n_obs", "n_events", "n_risk", "n_event", "n_excluded", "n_after"):
                    value = row.get(col)
                    if value not in (None, "", "*") and not value.startswith("<"):
                        assert not 0 < float(value) < 11, (path.name, col, value)

    def walk(node, key=None):
        if isinstance(node, dict):
            for k, v in node.items():
                yield from walk(v, k)
        elif isinstance(node, list):
            for v in node:
                yield from walk(v, key)
        else:
            yield key, node

    r = json.loads((out / "results.json").read_text())
    count_keys = COUNT_COLUMNS | {"n_start", "n_final", "n_dropped", "n_sets", "group_sizes"}
    for key, value in walk(r):
        if key in count_keys and isinstance(value, (int, float)) and not isinstance(value, bool):
            assert not 0 < value < 11, (key, value)
    tables = [a["table"] for a in r["analyses"].values() if a["kind"] == "summary_table"]
    for table in tables:  # a percentage beside a hidden count is hidden too
        rows = table["rows"]
        for n, pct in zip(rows["n"], rows["percent"], strict=True):
            if n == "<11":
                assert pct is None

    page = (out / "report.html").read_text()
    assert "Profile &#x27;r&#x27;: Efron ties" in page
    text = html.unescape(re.sub(r"<[^>]+>", " ", page.split("<body>", 1)[1]))
    for m in re.finditer(r"(?:\bn = |events = )(\d[\d,]*)", text):
        assert not 0 < int(m.group(1).replace(",", "")) < 11, m.group(0)
    assert "<11" in text


def test_two_group_nearest_matching_runs_from_the_study_file(study_run):
    """`[matching] method = "nearest"` matches [control, treated] with MatchIt's greedy rule."""
    from regsurv.pipeline.analyses import MatchingAnalysisSpec, StepContext, matching_step

    results, _ = study_run
    spec = MatchingAnalysisSpec(
        kind="matching",
        id="pairs",
        title="Pairs",
        propensity="iptw",
        method="nearest",
        groups=("SP alone", "Metastasectomy"),
    )
    context = StepContext(
        cohort=results.cohort,
        outcome=results.spec.outcome,
        profile=results.profile,
        seed=0,
        specs={a.id: a for a in results.spec.analyses},
    )
    record = matching_step(context, spec)
    matching = record.matching
    assert set(matching.n_matched()) == {"SP alone", "Metastasectomy"}
    counts = matching.n_matched()
    assert counts["SP alone"] == counts["Metastasectomy"] > 0
    assert record.survival.cox.terms == ("treatment:Metastasectomy",)


def test_a_failed_curve_replaces_only_its_own_section(tmp_path, monkeypatch):
    """One analysis that fails (here: the histology curves) is explained in its section; the
    others are computed and shown."""
    import regsurv.survival as survival

    real = survival.kaplan_meier

    def flaky(data, **kwargs):
        if kwargs.get("group") == "histology":
            raise ValueError("histology 'Vascular' has 3 rows")
        return real(data, **kwargs)

    monkeypatch.setattr(survival, "kaplan_meier", flaky)
    results = run_study(out_dir=tmp_path / "report", suppress_below=11)
    assert set(results.errors) == {"fig3"}
    failure = results.analyses["fig3"]
    assert failure.failed and failure.kind == "km" and "has 3 rows" in failure.reason
    assert not results.analyses["fig2a"].failed and not results.analyses["fig2b"].failed
    page = (tmp_path / "report" / "report.html").read_text()
    fig3 = page.split('<section id="fig3">', 1)[1].split("</section>", 1)[0]
    assert "could not be computed" in fig3 and "&lt;11 rows" in fig3
    assert 'id="fig-fig2b"' in page and not results.analyses["table3"].failed


def test_unwritable_output_is_exit_code_5(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = CliRunner().invoke(app, ["run", "--out", str(blocker / "report")])
    assert result.exit_code == EXIT_OUTPUT, result.output
