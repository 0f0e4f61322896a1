"""Auto-tune on the Evaluate page through AppTest: against a sample's ground truth, and against marks alone."""

from __future__ import annotations

import numpy as np
from PIL import Image
from streamlit.testing.v1 import AppTest

from samcompare.samples import HELDOUT_DIR
from tests.app.conftest import make_fast, run_button, setting_names, texts
from tests.app.test_evaluate_page import png, select_rows

EVALUATE = "pages/evaluate.py"


def test_tune_against_the_samples_ground_truth_then_add_and_check(app: AppTest) -> None:
    make_fast(app, pred_iou_thresh=0.7, stability_score_thresh=0.8)
    run_button(app).click().run()
    app.switch_page(EVALUATE).run()
    assert not app.exception
    app.number_input(key="tune_trials").set_value(20)
    app.button(key="tune_button").click().run()
    assert not app.exception
    result = next(iter(app.session_state["tune_results"].values()))
    assert len(result.trials) == 20 and result.best(1)[0].value >= result.base.value
    assert "Best F1 at IoU 0.5" in texts(app.markdown)
    best = result.best(1)[0]
    app.button(key=f"tune_check_{app.session_state['comparison_run'].run_id}_{best.number}").click().run()
    assert "Official generator: f1_50" in texts(app.success) and "(the same)" in texts(app.success)
    name = f"tuned f1_50 #{best.number}"
    assert any(e.label.startswith(f"1. {name}: f1_50") for e in app.expander)  # the name listed is the name added
    app.button(key=f"tune_add_{app.session_state['comparison_run'].run_id}_{best.number}").click().run()
    assert f"Added “{name}”" in texts(app.success)
    app.switch_page("pages/compare.py").run()
    assert setting_names(app)[-1] == name


def test_widening_the_search_shows_its_price_and_asks_first(app: AppTest) -> None:
    make_fast(app)
    run_button(app).click().run()
    app.switch_page(EVALUATE).run()
    app.multiselect(key="tune_space_points").set_value([16]).run()
    assert "This search decodes new work first" in texts(app.warning)
    assert app.button(key="tune_button").disabled
    app.checkbox(key="tune_confirm").check().run()
    assert not app.button(key="tune_button").disabled


def test_without_ground_truth_marks_drive_the_search(app: AppTest) -> None:
    scene = np.asarray(Image.open(HELDOUT_DIR / "scene_02.png").convert("RGB"))
    app.segmented_control(key="image_source").set_value("Upload").run()
    app.file_uploader(key="image_upload").set_value(("mine.png", png(scene), "image/png")).run()
    make_fast(app, pred_iou_thresh=0.0, stability_score_thresh=0.0)
    run_button(app).click().run()
    app.switch_page(EVALUATE).run()
    assert "Auto-tune needs ground truth for this image, or marked masks" in texts(app.info)
    run = app.session_state["comparison_run"]
    select_rows(app, 0, [0, 1])
    app.button(key=f"mark_good_{run.run_id}_0").click().run()
    assert [o for o in app.selectbox(key="tune_objective").options] == ["agreement with the marks"]
    app.number_input(key="tune_trials").set_value(10)
    app.button(key="tune_button").click().run()
    assert not app.exception
    result = next(iter(app.session_state["tune_results"].values()))
    assert result.objective.kind == "agreement" and result.best(1)[0].value == 1.0
