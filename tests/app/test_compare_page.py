"""The compare page through AppTest: default run, refilter from cache, validation, settings, uploads, downloads."""

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
from samcompare_app.downloads import EXPORT_FORMATS, ExportRequest
from tests.app.conftest import make_fast, run_button, setting_inputs


def texts(elements) -> str:  # noqa: ANN001 - an AppTest element list
    return "\n".join(str(element.value) for element in elements)


def test_opens_ready_with_two_settings_a_shape_sample_and_the_demo_note(app: AppTest) -> None:
    assert len(setting_inputs(app, "points_per_side")) == 2
    assert [w.value for w in app.text_input if w.key.endswith("_name")] == ["SAM default", "High precision"]
    assert app.session_state["active_image"].name.startswith("Shapes")
    assert "knows only simple shapes" in texts(app.info)
    assert "Estimated time" in texts(app.markdown)


def test_default_comparison_shows_overlays_table_and_histograms(app: AppTest) -> None:
    make_fast(app)
    run_button(app).click().run()
    assert not app.exception
    run = app.session_state["comparison_run"]
    assert [result.config.name for result in run.results] == ["SAM default", "High precision"]
    # sidebar thumbnail + original + one overlay per setting (+ the match picture)
    assert len(app.main.image) >= 4
    assert any(frame.value.shape[0] == 2 and "setting" in frame.value.columns for frame in app.dataframe)
    chart_keys = {chart.proto.id for chart in app.get("plotly_chart")}
    assert len(chart_keys) == 4  # predicted_iou, stability_score, area, scatter
    assert "SAM default" in texts(app.markdown) and "masks" in texts(app.markdown)
    assert not app.error


def test_threshold_only_change_refilters_from_the_cache_at_once(ran_app: AppTest) -> None:
    first = ran_app.session_state["comparison_run"]
    setting_inputs(ran_app, "pred_iou_thresh")[0].set_value(0.3)
    ran_app.run()  # no click: the page re-filters by itself
    second = ran_app.session_state["comparison_run"]
    assert second.run_id != first.run_id
    assert second.network_free
    assert second.results[0].config.pred_iou_thresh == 0.3
    assert "no network pass" in texts(ran_app.markdown) + texts(ran_app.caption)


def test_invalid_parameter_shows_the_message_in_place_and_keeps_the_last_valid_setting(app: AppTest) -> None:
    setting_inputs(app, "crop_n_points_downscale_factor")[1].set_value(0)
    app.run()
    assert not app.exception
    messages = texts(app.error)
    assert "crop_n_points_downscale_factor" in messages or "at least 1" in messages
    assert setting_inputs(app, "crop_n_points_downscale_factor")[1].value == 0  # what was typed is kept
    kept = app.session_state["setting1_valid"]
    assert isinstance(kept, AmgConfig) and kept.crop_n_points_downscale_factor == 2
    # Fixing it clears the message.
    setting_inputs(app, "crop_n_points_downscale_factor")[1].set_value(4)
    app.run()
    assert not app.error
    assert app.session_state["setting1_valid"].crop_n_points_downscale_factor == 4


def test_point_grids_json_error_is_shown(app: AppTest) -> None:
    grids = next(area for area in app.text_area if area.key == "setting0_point_grids")
    grids.set_value("[[0.5, 0.5")
    app.run()
    assert "not valid JSON" in texts(app.error)


def test_add_duplicate_and_remove_settings(app: AppTest) -> None:
    app.button(key="add_setting").click().run()
    assert len(setting_inputs(app, "points_per_side")) == 3
    app.button(key="setting1_duplicate").click().run()
    names = [w.value for w in app.text_input if w.key.endswith("_name")]
    assert names == ["SAM default", "High precision", "SAM default (2)", "High precision copy"]
    for _ in range(2):
        app.button(key="add_setting").click().run()
    assert len(setting_inputs(app, "points_per_side")) == 6
    assert app.button(key="add_setting").disabled  # at most six
    app.button(key="setting0_remove").click().run()
    names = [w.value for w in app.text_input if w.key.endswith("_name")]
    assert len(names) == 5 and "SAM default" not in names
    assert not app.exception


def png_bytes(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def test_upload_of_a_good_and_of_a_corrupt_image(app: AppTest) -> None:
    app.radio(key="image_source").set_value("Upload").run()
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
    setting_inputs(ran_app, "points_per_side")[0].set_value(9)  # needs the network: no auto re-filter
    ran_app.run()
    run_button(ran_app).click().run()
    assert not ran_app.exception
    assert "is corrupt" in texts(ran_app.error)
    assert ran_app.session_state["comparison_run"] is before


def test_downloads_give_valid_files(ran_app: AppTest) -> None:
    run = ran_app.session_state["comparison_run"]
    labels = {button.proto.label for button in ran_app.get("download_button")}
    assert {export.label for export in EXPORT_FORMATS} <= labels
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
    ran_app.slider(key="overlay_opacity").set_value(0.8).run()
    ran_app.checkbox(key="overlay_outlines").uncheck().run()
    ran_app.checkbox(key="overlay_show").uncheck().run()
    assert not ran_app.exception
    assert ran_app.session_state["comparison_run"] is before
    memo = ran_app.session_state["picture_memo"]
    assert sum(key[0] == "overlay" for key in memo) >= 4  # pictures drawn once per look, then reused


def test_large_upload_is_downscaled_and_the_size_used_is_shown(app: AppTest) -> None:
    app.radio(key="image_source").set_value("Upload").run()
    wide = np.zeros((120, 3000, 3), np.uint8)
    wide[:, ::2] = 200
    app.file_uploader(key="image_upload").set_value(("wide.png", png_bytes(wide), "image/png"))
    app.run()
    active = app.session_state["active_image"]
    assert active.pixels.shape[:2] == (41, 1024) and active.original_shape == (120, 3000)
    assert "downscaled from 3000 × 120" in active.size_text()
    app.checkbox(key="image_downscale").uncheck().run()  # the user may keep the full size
    assert app.session_state["active_image"].pixels.shape[:2] == (120, 3000)
    app.radio(key="image_source").set_value("Sample").run()  # and go back to the samples
    assert app.session_state["active_image"].is_sample
