"""The Why page through AppTest: funnels of the run, completing every candidate, candidates shown by id, the sweep."""

from __future__ import annotations

import numpy as np
from streamlit.testing.v1 import AppTest

from samcompare_app.resources import shared_comparison_cache
from samcompare_app.why_view import parse_ids
from tests.app.conftest import make_fast, run_button, setting_names, texts


def open_why(at: AppTest) -> AppTest:
    at.switch_page("pages/why.py").run()
    assert not at.exception, at.exception
    return at


def test_without_a_run_the_page_says_what_to_do(app: AppTest) -> None:
    open_why(app)
    assert "Run a comparison first" in texts(app.info)


def strict_run(app: AppTest) -> AppTest:
    """The default comparison at 8 points per side with thresholds that leave candidates un-up-scaled."""
    shared_comparison_cache().clear()  # earlier tests may have completed this image's candidates
    make_fast(app, pred_iou_thresh=0.7, stability_score_thresh=0.8)
    run_button(app).click().run()
    assert not app.exception
    return app


def test_funnels_histograms_and_completion(app: AppTest) -> None:
    run = strict_run(app).session_state["comparison_run"]
    open_why(app)
    assert len(app.get("plotly_chart")) == 4  # a funnel per setting, two histograms
    assert "never up-scaled" in texts(app.info)
    funnels = [result.funnel for result in run.results]
    assert any((~f.computed).any() for f in funnels)
    complete = next(b for b in app.button if b.label.startswith("Compute stability and masks"))
    complete.click().run()
    assert not app.exception
    completed = app.session_state["why_completed_funnels"][run.run_id]
    assert all(f.computed.all() for f in completed)
    for before, after in zip(funnels, completed, strict=True):
        np.testing.assert_array_equal(before.fate_code, after.fate_code)  # fates do not change
    assert "never up-scaled" not in texts(app.info)
    assert "Every candidate's stability score and mask are known" in texts(app.caption)


def test_candidates_by_id_are_drawn_with_their_reasons(app: AppTest) -> None:
    run = strict_run(app).session_state["comparison_run"]
    open_why(app)
    funnel = run.results[0].funnel
    dropped = int(np.flatnonzero(funnel.fates == "box_nms")[0])
    kept = int(np.flatnonzero(funnel.fates == "kept")[0])
    field = next(w for w in app.text_input if w.key.startswith("why_ids_"))
    field.set_value(f"{dropped}, {kept}").run()
    assert not app.exception
    shown = texts(app.markdown)
    assert f"**#{dropped}** (box_nms): suppressed by" in shown
    assert f"**#{kept}** (kept): kept as mask" in shown
    assert len(app.main.image) == 1  # the selected candidates, labelled
    field.set_value("99999").run()
    assert "No candidate 99999" in texts(app.warning)


def test_sweep_and_adding_a_cell_to_the_comparison(app: AppTest) -> None:
    run = strict_run(app).session_state["comparison_run"]
    open_why(app)
    app.button(key="sweep_button").click().run()
    assert not app.exception
    outcome = app.session_state["why_sweeps"][(run.run_id, 0)]
    frame = outcome.grid.frame
    assert len(frame) >= 100 and {0.7, 0.8} <= set(frame["pred_iou_thresh"]) | set(frame["stability_score_thresh"])
    assert len(app.get("plotly_chart")) == 7  # + heatmap and two curves
    # The current setting's own cell holds the run's own mask count.
    own = frame[np.isclose(frame["pred_iou_thresh"], 0.7) & np.isclose(frame["stability_score_thresh"], 0.8)]
    assert int(own["masks"].iloc[0]) == len(run.results[0])
    app.selectbox(key="sweep_pick_iou").set_value(0.5)
    app.selectbox(key="sweep_pick_stability").set_value(0.6)
    app.run()
    app.button(key="sweep_add").click().run()
    assert not app.exception
    assert "Added “sweep: iou 0.5, stability 0.6”" in texts(app.success)
    app.switch_page("pages/compare.py").run()
    names = setting_names(app)
    assert names[-1] == "sweep: iou 0.5, stability 0.6" and len(names) == 3


def test_parse_ids() -> None:
    assert parse_ids("12, 40 #7", 50) == ([12, 40, 7], None)
    ids, problem = parse_ids("3 x 80", 50)
    assert ids == [3] and problem == "No candidate x, 80: ids run from 0 to 49."


def test_a_run_without_funnels_offers_to_rebuild_them(app: AppTest) -> None:
    """Runs reopened from History keep masks only: the page rebuilds the funnels from the candidates."""
    import dataclasses

    run = strict_run(app).session_state["comparison_run"]
    bare = dataclasses.replace(run, results=tuple(dataclasses.replace(r, funnel=None) for r in run.results))
    app.session_state["comparison_run"] = bare
    open_why(app)
    assert "carry no funnel" in texts(app.info)
    app.button(key=f"rebuild_{run.run_id}").click().run()
    assert not app.exception
    rebuilt = app.session_state["why_completed_funnels"][run.run_id]
    for result, funnel in zip(run.results, rebuilt, strict=True):
        np.testing.assert_array_equal(funnel.fate_code, result.funnel.fate_code)
    assert len(app.get("plotly_chart")) == 4
