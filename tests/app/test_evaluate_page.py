"""The Evaluate page through AppTest: no run yet, a sample's own ground truth, uploads good and bad, and marks."""

from __future__ import annotations

import io
import re

import numpy as np
from PIL import Image
from streamlit.testing.v1 import AppTest

from samcompare.evaluation import Marks, evaluate_run, marks_from_run, metrics_columns
from samcompare.results.exports.label_map import label_map_png_bytes
from samcompare.samples import HELDOUT_DIR, sample_ground_truth
from tests.app.conftest import make_fast, run_button, texts

EVALUATE = "pages/evaluate.py"


def frame_with(app: AppTest, column: str):  # noqa: ANN201 - the AppTest Dataframe element
    """The table that has `column` (display-only tables carry no key in AppTest)."""
    return next(frame for frame in app.dataframe if column in frame.value.columns)


def metrics_frame(app: AppTest):  # noqa: ANN201
    return frame_with(app, "mean_best_iou")


def has_marks_table(app: AppTest) -> bool:
    return any("agreement" in frame.value.columns for frame in app.dataframe)


def styled_cells(frame) -> set[tuple[int, int]]:  # noqa: ANN001
    """(row, column) of the cells the table's Styler marks."""
    styles = frame.proto.arrow_data.styler.styles
    return {(int(r), int(c)) for r, c in re.findall(r"_row(\d+)_col(\d+)", styles)}


def select_rows(app: AppTest, index: int, rows: list[int]) -> None:
    run = app.session_state["comparison_run"]
    app.session_state[f"evaluation_mask_table_{run.run_id}_{index}"] = {
        "selection": {"rows": rows, "columns": [], "cells": []}
    }
    app.run()


def test_without_a_run_the_page_says_what_to_do(app: AppTest) -> None:
    app.switch_page(EVALUATE).run()
    assert not app.exception
    assert "Run a comparison first" in texts(app.info)
    assert not app.dataframe


def test_a_sample_brings_its_ground_truth_and_every_metric_is_shown(ran_app: AppTest) -> None:
    ran_app.switch_page(EVALUATE).run()
    assert not ran_app.exception, ran_app.exception
    run = ran_app.session_state["comparison_run"]
    truth = sample_ground_truth(run.image_name)
    assert truth is not None
    assert f"{len(truth)} objects, exact, from the sample scene" in texts(ran_app.markdown)
    frame = metrics_frame(ran_app)
    table = frame.value
    assert set(table.columns) == set(metrics_columns())
    assert table["setting"].tolist() == [config.name for config in run.configs]
    assert {"ap", "ar"} <= set(table.columns[:6])  # AP and AR without scrolling sideways
    for row, result in zip(table.to_dict("records"), run.results, strict=True):
        expected = evaluate_run(result, truth).row()
        assert row["matched_50"] == expected["matched_50"] and row["ap"] == expected["ap"]
    # The best of each score column is marked: the cells that hold each column's maximum.
    marked = styled_cells(frame)
    for position, column in enumerate(table.columns):
        if column in ("setting", "gt_objects", "masks") or table[column].isna().all():
            continue
        best = table[column].max()
        assert {(r, position) for r in range(len(table)) if table[column].iloc[r] == best} <= marked, column
    assert len({chart.proto.id for chart in ran_app.get("plotly_chart")}) == 1  # the recall curve
    assert "found objects" in texts(ran_app.markdown) and "missed objects" in texts(ran_app.markdown)
    assert len(ran_app.main.image) >= 2  # one three-colour picture per setting

    ran_app.text_input(key="evaluation_iou_thresholds").set_value("0.5, 0.6").run()
    assert "f1_60" in metrics_frame(ran_app).value.columns and "f1_75" not in metrics_frame(ran_app).value.columns
    ran_app.text_input(key="evaluation_iou_thresholds").set_value("0.5, 2").run()
    assert not ran_app.exception
    assert "must be in (0, 1]" in texts(ran_app.error) and "using 0.5, 0.6" in texts(ran_app.error)
    assert "f1_60" in metrics_frame(ran_app).value.columns  # the last good thresholds stay


def png(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def test_an_uploaded_image_takes_marks_then_uploaded_ground_truth_good_and_bad(app: AppTest) -> None:
    scene = np.asarray(Image.open(HELDOUT_DIR / "scene_01.png").convert("RGB"))
    app.segmented_control(key="image_source").set_value("Upload").run()
    app.file_uploader(key="image_upload").set_value(("my_scene.png", png(scene), "image/png")).run()
    make_fast(app, pred_iou_thresh=0.0, stability_score_thresh=0.0)
    run_button(app).click().run()
    assert not app.exception
    app.switch_page(EVALUATE).run()
    assert not app.exception
    run = app.session_state["comparison_run"]
    assert run.image_name == "my_scene.png"
    assert "No ground truth for this image" in texts(app.info)
    # Without ground truth the setting's masks are still drawn: every mask, then the selected ones.
    pictures = [image for image in app.main.image]
    assert len(pictures) >= 2  # one per setting
    assert "Every mask of this setting" in texts(app.caption)

    # Marks stand in for ground truth: the metrics against them appear.
    select_rows(app, 0, [0, 1])
    assert "2 selected mask(s) stand out" in texts(app.caption)
    app.button(key=f"mark_good_{run.run_id}_0").click().run()
    marks = app.session_state["marks_by_image"][run.image_key]
    assert len(marks.good) == 2 and not marks.bad
    marks_frame = frame_with(app, "agreement").value
    assert marks_frame["setting"].tolist() == [config.name for config in run.configs]
    assert marks_frame["good_found"].iloc[0] == 2 and marks_frame["agreement"].iloc[0] == 1.0

    uploader_key = f"ground_truth_upload_{run.image_key[:16]}"
    truth = sample_ground_truth("Shapes 01")
    assert truth is not None
    app.file_uploader(key=uploader_key).set_value(("gt.png", label_map_png_bytes(truth.run_masks()), "image/png"))
    app.run()
    assert not app.exception and not app.error
    assert f"{len(truth)} objects from gt.png (label map)" in texts(app.markdown)
    assert metrics_frame(app).value["gt_objects"].tolist() == [len(truth)] * 2

    wrong = label_map_png_bytes(sample_ground_truth("Shapes 03").run_masks())  # 160 x 96 px
    app.file_uploader(key=uploader_key).set_value(("wrong.png", wrong, "image/png")).run()
    assert not app.exception
    message = texts(app.error)
    assert "wrong.png: ground truth is 160 x 96 px, the image is 128 x 128 px" in message
    assert "previous ground truth is still in use" in message
    assert metrics_frame(app).value["gt_objects"].tolist() == [len(truth)] * 2  # nothing lost
    assert app.session_state["comparison_run"].run_id == run.run_id
    assert len(app.session_state["marks_by_image"][run.image_key].good) == 2


def test_marks_move_between_good_and_bad_survive_a_page_switch_and_clear(ran_app: AppTest) -> None:
    ran_app.switch_page(EVALUATE).run()
    run = ran_app.session_state["comparison_run"]
    select_rows(ran_app, 0, [0, 2])
    ran_app.button(key=f"mark_good_{run.run_id}_0").click().run()
    select_rows(ran_app, 1, [0])
    ran_app.button(key=f"mark_bad_{run.run_id}_1").click().run()
    assert not ran_app.exception
    marks = ran_app.session_state["marks_by_image"][run.image_key]
    good = marks_from_run(run.masks[0], [0, 2], run.configs[0].name)
    bad = marks_from_run(run.masks[1], [0], run.configs[1].name)
    assert marks == Marks().marked(good, "good").marked(bad, "bad")
    mask_tables = [frame.value for frame in ran_app.dataframe if str(frame.key).startswith("evaluation_mask_table")]
    assert mask_tables[0]["mark"].tolist() == [marks.label_of(rle) or "" for rle in run.masks[0].coco_rles()]
    assert mask_tables[0]["mark"].iloc[2] in ("good", "bad")
    # Marked again, a mask moves to its new label.
    select_rows(ran_app, 0, [2])
    ran_app.button(key=f"mark_bad_{run.run_id}_0").click().run()
    marks = ran_app.session_state["marks_by_image"][run.image_key]
    assert marks.label_of(run.masks[0].coco_rle(2)) == "bad"
    assert "Marks on this image:" in texts(ran_app.markdown)
    assert has_marks_table(ran_app)

    ran_app.switch_page("pages/compare.py").run()
    ran_app.switch_page(EVALUATE).run()
    assert len(ran_app.session_state["marks_by_image"][run.image_key]) == len(marks)

    ran_app.button(key="clear_marks").click().run()
    assert not ran_app.exception
    assert run.image_key not in ran_app.session_state["marks_by_image"]
    assert not has_marks_table(ran_app)
