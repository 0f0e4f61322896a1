"""The History page through AppTest: runs recorded (no duplicates), reopened without the network and marked in the
list, deleted after a confirmation, compared across images; an unwritable store warns once and the app goes on."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
import torch
from segment_anything.modeling import ImageEncoderViT, MaskDecoder
from streamlit.testing.v1 import AppTest

from samcompare.config import AmgConfig
from samcompare.engine import compare
from samcompare.samples import SHAPES, load_sample, sample_names
from samcompare.store import ResultStore
from samcompare_app.downloads import EXPORT_FORMATS, ExportRequest
from tests.app.conftest import DASHBOARD, TIMEOUT_S, edit_settings, make_fast, run_button, texts
from tests.engine.engine_helpers import assert_records_equal

HISTORY_PAGE = "pages/history.py"
FAST = {"points_per_side": 6, "pred_iou_thresh": 0.3, "stability_score_thresh": 0.3}


@pytest.fixture
def history_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SAMCOMPARE_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def history_app() -> AppTest:
    """A new browser session on the History page."""
    at = AppTest.from_file(DASHBOARD, default_timeout=TIMEOUT_S)
    at.run()
    at.switch_page(HISTORY_PAGE).run()
    assert not at.exception, at.exception
    return at


@contextmanager
def count_network_passes() -> Iterator[list[str]]:
    """Every image-encoder and mask-decoder forward pass in this process, whatever model runs it."""
    passes: list[str] = []

    def hook(module: torch.nn.Module, *_: object) -> None:
        if isinstance(module, (ImageEncoderViT, MaskDecoder)):
            passes.append(type(module).__name__)

    handle = torch.nn.modules.module.register_module_forward_hook(hook)
    try:
        yield passes
    finally:
        handle.remove()


def written(at: AppTest) -> None:
    """Wait until the session's finished runs are in the store (they are written in the background)."""
    recorder = at.session_state["history_recorder"]
    assert recorder.idle.wait(60) or recorder.pending == 0


def store_runs(model, images: list[tuple[str, np.ndarray]], configs: list[AmgConfig]) -> ResultStore:  # noqa: ANN001
    store = ResultStore()
    for name, pixels in images:
        store.add_run(pixels, name, "demo", "cpu", compare(model, pixels, configs))
    return store


def test_a_finished_run_is_recorded_and_reopens_without_the_network(history_home: Path, ran_app: AppTest) -> None:
    original = ran_app.session_state["comparison_run"]
    written(ran_app)
    store = ResultStore()
    assert store.path == history_home / "samcompare.db"
    (header,) = store.runs()
    assert (header.image_name, header.model, header.source) == (original.image_name, "demo", "app")
    assert [s.name for s in header.settings] == [r.config.name for r in original.results]
    assert [s.mask_count for s in header.settings] == [len(r) for r in original.results]

    at = history_app()
    assert header.image_name in "\n".join(str(m.value) for m in at.markdown)
    with count_network_passes() as passes:
        at.button(key=f"history_open_{header.run_id}").click().run()
    assert not at.exception, at.exception
    assert passes == []
    reopened = at.session_state["comparison_run"]
    assert reopened.run_id != original.run_id and np.array_equal(reopened.image, original.image)
    assert reopened.image_key == original.image_key
    for before, after in zip(original.results, reopened.results, strict=True):
        assert_records_equal(before.records, after.records, before.config.name)
    # The results view with its downloads, as on the compare page, and the opened run marked in the list.
    assert any(frame.value.shape[0] == len(original.results) for frame in at.dataframe)
    assert len(at.get("download_button")) == 1  # the chosen setting's masks, in the chosen format
    opened = at.button(key=f"history_open_{header.run_id}")
    assert opened.label == "Opened" and opened.disabled
    assert "open above" in texts(at.markdown)
    at.segmented_control(key="results_view").set_value("charts").run()
    assert len(at.get("plotly_chart")) == 4
    coco = next(f for f in EXPORT_FORMATS if f.suffix.endswith(".json") and "coco" in f.label.lower())
    request_before = ExportRequest(original.image, original.masks[0], None, original.image_name, "demo")
    request_after = ExportRequest(reopened.image, reopened.masks[0], None, reopened.image_name, "demo")
    assert coco.build(request_before) == coco.build(request_after)


def test_a_run_is_deleted_only_after_a_confirmation(history_home: Path, demo_sam) -> None:  # noqa: ANN001
    scene = sample_names(SHAPES)[0]
    store = store_runs(demo_sam, [(scene, load_sample(scene))], [AmgConfig(name="small", **FAST)])
    (header,) = store.runs()
    at = history_app()
    at.button(key=f"history_delete_{header.run_id}").click().run()
    assert not at.exception
    assert store.count_runs() == 1  # Delete only asks
    assert "for good" in texts(at.warning)
    at.button(key=f"history_keep_{header.run_id}").click().run()
    assert store.count_runs() == 1 and not at.warning  # kept
    at.button(key=f"history_delete_{header.run_id}").click().run()
    at.button(key=f"history_confirm_{header.run_id}").click().run()
    assert not at.exception
    assert store.count_runs() == 0
    assert "No comparisons yet" in texts(at.info)


def test_the_same_settings_across_images_give_one_row_per_image(history_home: Path, demo_sam) -> None:  # noqa: ANN001
    loose, strict = AmgConfig(name="loose", **FAST), AmgConfig(name="strict", **{**FAST, "pred_iou_thresh": 0.8})
    scenes = [(name, load_sample(name)) for name in sample_names(SHAPES)[:3]]
    store = store_runs(demo_sam, scenes[:2], [loose, strict])
    store_runs(demo_sam, scenes[2:], [loose.replace(name="loose, renamed")])  # the same setting under another name
    expected = {header.image_name: [s.mask_count for s in header.settings] for header in store.runs()}

    at = history_app()
    (table,) = [frame.value for frame in at.dataframe if "image" in frame.value.columns]
    assert table["image"].tolist() == [name for name, _ in scenes]
    loose_column = next(c for c in table.columns if c.startswith("loose, renamed"))  # the latest name labels it
    strict_column = next(c for c in table.columns if c.startswith("strict"))
    assert table[loose_column].tolist() == [expected[name][0] for name, _ in scenes]
    assert table[strict_column].tolist()[:2] == [expected[name][1] for name, _ in scenes[:2]]
    assert np.isnan(table[strict_column].tolist()[2])  # never run with the strict setting

    at.selectbox(key="across_value").set_value("coverage %").run()
    (table,) = [frame.value for frame in at.dataframe if "image" in frame.value.columns]
    assert ((table[loose_column] > 0) & (table[loose_column] <= 100)).all()


def test_an_unwritable_store_warns_once_and_the_app_goes_on(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "a file"
    blocker.write_text("SAMCOMPARE_HOME cannot be a folder inside this")
    monkeypatch.setenv("SAMCOMPARE_HOME", str(blocker / "home"))
    at = AppTest.from_file(DASHBOARD, default_timeout=TIMEOUT_S)
    at.run()
    make_fast(at, pred_iou_thresh=0.0, stability_score_thresh=0.0)
    run_button(at).click().run()
    assert not at.exception
    assert at.session_state["comparison_run"] is not None
    assert at.session_state["history_off"]  # found at the first record, before any write was queued
    first = at.session_state["comparison_run"]
    edit_settings(at, {0: {"points_per_side": 9}})
    run_button(at).click().run()
    assert not at.exception and not at.warning
    assert at.session_state["comparison_run"].run_id != first.run_id  # a second run, no second warning
    at.switch_page(HISTORY_PAGE).run()
    assert not at.exception and not at.error


def test_dragging_a_threshold_leaves_one_entry_beside_the_run_it_started_from(
    history_home: Path, ran_app: AppTest
) -> None:
    first = ran_app.session_state["comparison_run"]
    for value in (0.2, 0.3, 0.4):
        edit_settings(ran_app, {0: {"pred_iou_thresh": value}})  # each re-filters at once, from the cache
        assert ran_app.session_state["comparison_run"].network_free
    written(ran_app)
    runs = ResultStore().runs()
    assert len(runs) == 2  # the run the user started, and the latest re-filter
    latest, started = runs
    assert started.settings[0].mask_count == len(first.results[0])
    assert latest.run_id > started.run_id
    stored = ResultStore().load_run(latest.run_id).results[0].result
    assert stored.config.pred_iou_thresh == 0.4


def test_a_click_after_an_automatic_re_filter_adds_no_second_entry(history_home: Path, ran_app: AppTest) -> None:
    """The page re-filters a threshold change at once; pressing Run on the same settings then stores nothing new."""
    edit_settings(ran_app, {0: {"pred_iou_thresh": 0.3}})
    automatic = ran_app.session_state["comparison_run"]
    run_button(ran_app).click().run()
    assert ran_app.session_state["comparison_run"].configs == automatic.configs
    written(ran_app)
    runs = ResultStore().runs()
    assert len(runs) == 2  # the first run, and the re-filter (now the user's): not a third, identical one
    assert [s.name for s in runs[0].settings] == [c.name for c in automatic.configs]
    edit_settings(ran_app, {0: {"pred_iou_thresh": 0.35}})  # a later automatic re-filter keeps that entry
    written(ran_app)
    assert len(ResultStore().runs()) == 3
