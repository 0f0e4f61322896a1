"""The compare page through AppTest: default run, re-filter, validation, settings, uploads, downloads, Stop."""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from samcompare.config import AmgConfig
from samcompare.models import ModelLoadError
from samcompare.results.exports import read_label_map_png
from samcompare_app.comparison import ComparisonRun
from samcompare_app.downloads import EXPORT_FORMATS, ExportRequest
from tests.app.conftest import (
    edit_settings,
    make_fast,
    run_button,
    setting_names,
    setting_rows,
    texts,
    valid_configs,
)


def test_opens_ready_with_two_settings_in_one_table_a_shape_sample_and_the_demo_note(app: AppTest) -> None:
    assert setting_names(app) == ["SAM default", "High precision"]
    table = app.data_editor[0].value
    assert list(table["name"]) == ["SAM default", "High precision"]  # one row per setting
    assert {"points_per_side", "pred_iou_thresh", "min_mask_region_area", "output_mode"} <= set(table.columns)
    assert app.session_state["active_image"].name.startswith("Shapes")
    assert "knows only simple shapes" in texts(app.info)
    assert "Estimated time" in texts(app.markdown)


def test_default_comparison_shows_overlays_table_and_histograms(app: AppTest) -> None:
    make_fast(app)
    run_button(app).click().run()
    assert not app.exception
    run = app.session_state["comparison_run"]
    assert [result.config.name for result in run.results] == ["SAM default, edited", "High precision, edited"]
    # sidebar thumbnail + original + one overlay per setting
    assert len(app.main.image) >= 3
    assert any(frame.value.shape[0] == 2 and "setting" in frame.value.columns for frame in app.dataframe)
    assert len(app.get("plotly_chart")) == 0  # only the chosen view is drawn
    assert "SAM default" in texts(app.markdown) and "masks" in texts(app.markdown)
    app.segmented_control(key="results_view").set_value("charts").run()
    chart_keys = {chart.proto.id for chart in app.get("plotly_chart")}
    assert len(chart_keys) == 4  # predicted_iou, stability_score, area, scatter
    app.segmented_control(key="results_view").set_value("match").run()
    assert "only in SAM default, edited" in texts(app.markdown)  # the match picture's legend, as page text
    assert not app.error


def test_threshold_only_change_refilters_from_the_cache_at_once(ran_app: AppTest) -> None:
    first = ran_app.session_state["comparison_run"]
    edit_settings(ran_app, {0: {"pred_iou_thresh": 0.3}})  # no click: the page re-filters by itself
    second = ran_app.session_state["comparison_run"]
    assert second.run_id != first.run_id
    assert second.network_free
    assert second.results[0].config.pred_iou_thresh == 0.3
    # The setting that did not change keeps its result (and its pictures): nothing is redone.
    assert second.reused == (False, True) and second.results[1] is first.results[1]
    assert "no network pass" in texts(ran_app.markdown) + texts(ran_app.caption)
    assert "unchanged, kept from the run before" in texts(ran_app.markdown)


def test_quick_threshold_inputs_and_the_table_show_and_edit_the_same_values(ran_app: AppTest) -> None:
    iou, stability = (
        ran_app.number_input(key="quick_pred_iou_thresh"),
        ran_app.number_input(key="quick_stability_score_thresh"),
    )
    assert ran_app.selectbox(key="quick_threshold_setting").value == setting_rows(ran_app)[0].slot
    assert (iou.value, stability.value) == (0.0, 0.0)  # the first setting's values, as typed in the table
    first = ran_app.session_state["comparison_run"]
    iou.set_value(0.3).run()  # sent at once; a threshold-only change: re-filtered, no click
    second = ran_app.session_state["comparison_run"]
    assert second.run_id != first.run_id and second.network_free
    assert second.results[0].config.pred_iou_thresh == 0.3 and second.results[1] is first.results[1]
    assert setting_names(ran_app)[0] == "SAM default, edited"
    table = ran_app.data_editor[0].value
    assert table["pred_iou_thresh"].iloc[0] == 0.3 and table["name"].iloc[0] == "SAM default, edited"
    # A value typed in the table shows in the quick inputs; another setting picked shows its own.
    edit_settings(ran_app, {0: {"stability_score_thresh": 0.5}})
    assert ran_app.number_input(key="quick_stability_score_thresh").value == 0.5
    assert ran_app.session_state["comparison_run"].results[0].config.stability_score_thresh == 0.5
    ran_app.selectbox(key="quick_threshold_setting").set_value(setting_rows(ran_app)[1].slot).run()
    ran_app.number_input(key="quick_stability_score_thresh").set_value(0.25).run()
    assert valid_configs(ran_app)[1].stability_score_thresh == 0.25
    assert valid_configs(ran_app)[0].stability_score_thresh == 0.5  # the first setting kept its own
    assert ran_app.data_editor[0].value["stability_score_thresh"].tolist() == [0.5, 0.25]
    assert not ran_app.exception and not ran_app.error
    # A refused value shows as typed, never clamped, and the message under the table says why.
    edit_settings(ran_app, {1: {"pred_iou_thresh": 2.5}})
    assert ran_app.number_input(key="quick_pred_iou_thresh").value == 2.5
    assert "got 2.5" in texts(ran_app.error) and not ran_app.exception


def test_a_pick_in_the_mask_table_holds_while_its_masks_do_and_clears_when_they_change(ran_app: AppTest) -> None:
    def picked() -> list[int]:
        return list(ran_app.session_state["mask_table_0"]["selection"]["rows"])

    ran_app.session_state["mask_table_0"] = {"selection": {"rows": [0, 1], "columns": []}}
    ran_app.run()
    assert "2 selected mask(s) highlighted" in texts(ran_app.caption)
    edit_settings(ran_app, {1: {"pred_iou_thresh": 0.3}})  # the other setting: these masks stay as they were
    assert picked() == [0, 1] and "2 selected mask(s) highlighted" in texts(ran_app.caption)
    before = len(ran_app.session_state["comparison_run"].masks[0])
    edit_settings(ran_app, {0: {"pred_iou_thresh": 0.9}})  # row positions now name other masks: the pick goes
    assert len(ran_app.session_state["comparison_run"].masks[0]) != before
    assert picked() == [] and "highlighted" not in texts(ran_app.caption)
    # The table is the same widget, updated in place: the browser keeps its grid.
    assert [frame.key for frame in ran_app.dataframe if str(frame.key).startswith("mask_table")] == ["mask_table_0"]


def test_invalid_parameter_shows_the_message_and_keeps_the_last_valid_setting(app: AppTest) -> None:
    edit_settings(app, {1: {"crop_n_points_downscale_factor": 0}})
    assert not app.exception
    messages = texts(app.error)
    assert "crop_n_points_downscale_factor" in messages and "The last valid value is used" in messages
    assert setting_rows(app)[1].form["crop_n_points_downscale_factor"] == 0  # what was typed is kept
    assert app.data_editor[0].value["crop_n_points_downscale_factor"].iloc[1] == 0  # and shown
    kept = valid_configs(app)[1]
    assert isinstance(kept, AmgConfig) and kept.crop_n_points_downscale_factor == 2
    # Fixing it clears the message.
    edit_settings(app, {1: {"crop_n_points_downscale_factor": 4}})
    assert not app.error
    assert valid_configs(app)[1].crop_n_points_downscale_factor == 4


def test_point_grids_json_error_is_shown(app: AppTest) -> None:
    edit_settings(app, {0: {"point_grids": "[[0.5, 0.5"}})
    assert "not valid JSON" in texts(app.error)


def test_add_copy_and_remove_settings(app: AppTest) -> None:
    app.button(key="add_setting").click().run()
    assert len(setting_rows(app)) == 3
    edit_settings(app, {1: {"copy": True}})
    assert setting_names(app) == ["SAM default", "High precision", "SAM default (2)", "High precision copy"]
    assert not any(app.data_editor[0].value["copy"])  # the tick acted once, like a button: a new table
    for _ in range(2):
        app.button(key="add_setting").click().run()
    assert len(setting_rows(app)) == 6
    assert app.button(key="add_setting").disabled  # at most six
    edit_settings(app, {0: {"copy": True}})
    assert len(setting_rows(app)) == 6  # still six
    edit_settings(app, {0: {"remove": True}})
    names = setting_names(app)
    assert len(names) == 5 and "SAM default" not in names
    assert not app.exception


def test_an_edited_preset_says_so_and_history_gets_an_honest_name(app: AppTest) -> None:
    edit_settings(app, {0: {"pred_iou_thresh": 0.6}})
    row = setting_rows(app)[0]
    assert row.form["name"] == "SAM default, edited"
    assert app.data_editor[0].value["name"].iloc[0] == "SAM default, edited"  # the table says so
    # What differs from the preset, and the preset's value, under the table; the other setting is its preset.
    assert "**SAM default, edited** (SAM default): pred_iou_thresh 0.6 (0.88)" in texts(app.caption)
    assert "High precision**" not in texts(app.caption)
    edit_settings(app, {0: {"pred_iou_thresh": 0.88}})  # back to the preset's value: the preset's name again
    assert setting_names(app)[0] == "SAM default"
    edit_settings(app, {0: {"name": "mine"}})
    edit_settings(app, {0: {"pred_iou_thresh": 0.5}})
    assert setting_names(app)[0] == "mine"  # a name the user typed is never changed
    edit_settings(app, {0: {"preset": "High precision"}})  # a new preset resets the row to it
    assert valid_configs(app)[0].replace(name="x") == AmgConfig.preset("High precision").replace(name="x")
    assert setting_names(app)[0] == "High precision (2)"


def test_table_headers_and_help_are_readable_and_bilingual(app: AppTest) -> None:
    editor = app.data_editor[0]
    columns = json.loads(editor.proto.columns)
    assert columns["pred_iou_thresh"]["label"] == "IoU thresh."
    assert "**Predicted IoU threshold** (`pred_iou_thresh`)" in columns["pred_iou_thresh"]["help"]
    assert columns["box_nms_thresh"]["label"] == "Box NMS threshold"
    app.session_state["language_is_japanese"] = True
    app.run()
    columns = json.loads(app.data_editor[0].proto.columns)
    assert columns["pred_iou_thresh"]["label"] == "IoU しきい値"
    assert "**予測 IoU しきい値**" in columns["pred_iou_thresh"]["help"]
    assert columns["name"]["label"] == "設定名"


def test_stop_during_a_run_keeps_the_previous_results_and_says_how_far_it_got(
    ran_app: AppTest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Streamlit's Stop raises StopException at the next st call: here, the 13th of 16 batches' progress."""
    from streamlit.runtime.scriptrunner import StopException

    from samcompare.engine import Progress

    before = ran_app.session_state["comparison_run"]

    def stopped_midway(*args: object, **kwargs: object) -> ComparisonRun:
        progress = args[7]
        for batch in range(1, 14):
            progress(Progress("decoding", 0, "SAM default", 0, 1, batch, 16, batch, 16))
        raise StopException()

    monkeypatch.setattr("samcompare_app.comparison.run_comparison", stopped_midway)
    edit_settings(ran_app, {0: {"points_per_side": 9}})  # needs the network: no automatic re-filter
    run_button(ran_app).click().run()
    kind, message = ran_app.session_state["run_notice"]
    assert kind == "stopped"
    assert message.startswith("Stopped after 13 of 16 batches (SAM default, whole image); nothing was kept")
    assert ran_app.session_state["comparison_run"] is before  # the previous results stay
    monkeypatch.undo()
    ran_app.run()  # the next rerun shows the message under Run, and the previous results
    assert "Stopped after 13 of 16 batches" in texts(ran_app.warning)
    assert ran_app.session_state["comparison_run"] is before
    assert "Results" in texts(ran_app.header)


def png_bytes(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def test_upload_of_a_good_and_of_a_corrupt_image(app: AppTest) -> None:
    app.segmented_control(key="image_source").set_value("Upload").run()
    grey = (np.arange(64 * 48) % 251).astype(np.uint8).reshape(48, 64)
    app.file_uploader(key="image_upload").set_value(("grey.png", png_bytes(grey), "image/png"))
    app.run()
    assert not app.exception
    active = app.session_state["active_image"]
    assert active.name == "grey.png" and active.pixels.shape == (48, 64, 3)
    assert "greyscale" in texts(app.caption)

    app.file_uploader(key="image_upload").set_value(("broken.png", b"\x89PNG\r\n\x1a\n garbage", "image/png"))
    app.run()
    assert not app.exception
    assert "broken.png" in texts(app.error) and "previous image is still in use" in texts(app.error)
    assert app.session_state["active_image"].name == "grey.png"  # nothing lost


def test_model_that_does_not_load_gives_a_message_and_keeps_the_results(
    ran_app: AppTest, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = ran_app.session_state["comparison_run"]

    def broken(name: str, device: str) -> None:
        raise ModelLoadError(f"checkpoint for {name} is corrupt; replace it")

    monkeypatch.setattr("samcompare_app.resources.cached_model", broken)
    edit_settings(ran_app, {0: {"points_per_side": 9}})  # needs the network: no auto re-filter
    run_button(ran_app).click().run()
    assert not ran_app.exception
    assert "is corrupt" in texts(ran_app.error)
    assert ran_app.session_state["comparison_run"] is before


def test_downloads_give_valid_files(ran_app: AppTest) -> None:
    run = ran_app.session_state["comparison_run"]
    assert ran_app.selectbox(key="download_format_en").options == [export.label for export in EXPORT_FORMATS]
    (button,) = ran_app.get("download_button")  # one button, for the format chosen
    assert button.proto.label == "Download"
    masks = run.masks[0]
    assert len(masks) >= 1, "thresholds 0 give at least one mask even from an untrained model"
    for mask_ids in (None, (0,)):
        request = ExportRequest(run.image, masks, mask_ids, run.image_name, run.model_name)
        built = {export.suffix: export.build(request) for export in EXPORT_FORMATS}
        expected = len(masks) if mask_ids is None else 1
        with zipfile.ZipFile(io.BytesIO(built["_masks.zip"])) as archive:
            assert sum(name.startswith("masks/") for name in archive.namelist()) == expected
        labels_map = read_label_map_png(built["_labels.png"])
        # Overlapping masks may hide one another, so a label map need not show every label.
        assert labels_map.shape == run.image.shape[:2] and 1 <= labels_map.max() <= expected
        if mask_ids is not None:
            assert np.array_equal(labels_map == 1, masks.mask(0))
        coco = json.loads(built["_coco.json"])
        assert len(coco["annotations"]) == expected
        assert AmgConfig.from_json(built["_setting.json"].decode()) == run.results[0].config
        compile(built["_setting.py"].decode(), "setting.py", "exec")


def test_cosmetic_changes_never_run_the_engine(ran_app: AppTest, monkeypatch: pytest.MonkeyPatch) -> None:
    before = ran_app.session_state["comparison_run"]

    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("a cosmetic change ran the engine")

    monkeypatch.setattr("samcompare_app.comparison.run_comparison", forbidden)
    monkeypatch.setattr("samcompare_app.comparison.refilter", forbidden)
    ran_app.slider(key="overlay_opacity").set_value(0.8).run()
    ran_app.checkbox(key="overlay_outlines").uncheck().run()
    ran_app.checkbox(key="overlay_show").uncheck().run()
    assert not ran_app.exception
    assert ran_app.session_state["comparison_run"] is before
    memo = ran_app.session_state["picture_memo"]
    overlays = [key for key in memo if key[0] == "overlay"]
    assert len(overlays) >= 4  # pictures drawn once per look, then reused
    assert all(isinstance(memo[key][1], bytes) for key in overlays)  # kept encoded: never encoded again
    images = {element.proto.imgs[0].url for element in ran_app.main.image}
    ran_app.checkbox(key="overlay_show").check().run()
    ran_app.checkbox(key="overlay_show").uncheck().run()
    assert {element.proto.imgs[0].url for element in ran_app.main.image} == images  # same bytes, same media URL


def test_large_upload_is_downscaled_and_the_size_used_is_shown(app: AppTest) -> None:
    app.segmented_control(key="image_source").set_value("Upload").run()
    wide = np.zeros((120, 3000, 3), np.uint8)
    wide[:, ::2] = 200
    app.file_uploader(key="image_upload").set_value(("wide.png", png_bytes(wide), "image/png"))
    app.run()
    active = app.session_state["active_image"]
    assert active.pixels.shape[:2] == (41, 1024) and active.original_shape == (120, 3000)
    assert "downscaled from 3000 × 120" in active.size_text()
    app.checkbox(key="image_downscale").uncheck().run()  # the user may keep the full size
    assert app.session_state["active_image"].pixels.shape[:2] == (120, 3000)
    app.segmented_control(key="image_source").set_value("Sample").run()  # and go back to the samples
    assert app.session_state["active_image"].is_sample
