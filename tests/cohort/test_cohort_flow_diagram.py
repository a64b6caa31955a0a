"""Fig. 1 (CONSORT flow): structure of the drawing, not pixels; the three file formats."""

from __future__ import annotations

from regsurv.cohort import CohortFlow, FlowStep
from regsurv.report.flow_diagram import CohortFlowDisplay

FLOW = CohortFlow(
    n_start=82987,
    steps=(
        FlowStep("extremity_site", "Primary site not extremity", 82987, 47806, 35181),
        FlowStep("definitive_surgery", "Stage IV without definitive surgery", 35181, 34057, 1124),
    ),
)
GROUPS = {"SP alone": 331, "Metastasectomy": 186, "Non-surgical adjuvant therapies": 607}


def test_boxes_carry_labels_and_counts():
    display = CohortFlowDisplay.from_result(FLOW, GROUPS)
    texts = {key: box.get_text() for key, box in display.boxes_.items()}
    display.close()
    assert texts["start"] == "NCDB PUF cases\nn = 82,987"
    assert texts["extremity_site"] == "Primary site not extremity\nn = 47,806"
    assert texts["definitive_surgery"] == "Stage IV without definitive surgery\nn = 34,057"
    assert texts["included"] == "Included in the analysis\nn = 1,124"
    assert texts["group:Metastasectomy"] == "Metastasectomy\nn = 186"
    assert list(texts) == [
        "start",
        "extremity_site",
        "definitive_surgery",
        "included",
        "group:SP alone",
        "group:Metastasectomy",
        "group:Non-surgical adjuvant therapies",
    ]
    # exclusion boxes sit beside the main line, in flow order, above the included box
    ys = [display.boxes_[k].get_position()[1] for k in texts]
    assert ys[0] > ys[1] > ys[2] > ys[3] > ys[4]


def test_text_rendering():
    assert CohortFlowDisplay(flow=FLOW, groups=GROUPS).lines() == [
        "NCDB PUF cases (n = 82,987)",
        "  excluded: Primary site not extremity (n = 47,806)",
        "  excluded: Stage IV without definitive surgery (n = 34,057)",
        "Included in the analysis (n = 1,124)",
        "  SP alone (n = 331)",
        "  Metastasectomy (n = 186)",
        "  Non-surgical adjuvant therapies (n = 607)",
    ]


def test_saves_png_svg_pdf(tmp_path):
    display = CohortFlowDisplay(flow=FLOW)
    paths = display.save(tmp_path / "fig1")
    display.close()
    assert [p.name for p in paths] == ["fig1.png", "fig1.svg", "fig1.pdf"]
    assert paths[0].read_bytes()[:4] == b"\x89PNG"
    assert b"<svg" in paths[1].read_bytes()[:400]
    assert paths[2].read_bytes()[:4] == b"%PDF"
