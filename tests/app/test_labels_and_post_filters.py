"""Class names for selected masks, kept with the run; post-filters beyond the official generator in the editor."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from samcompare.results.labels import MaskLabels
from samcompare.store import ResultStore
from samcompare_app.downloads import EXPORT_FORMATS, ExportRequest
from samcompare_app.results_view import _table_key
from tests.app.conftest import DASHBOARD, TIMEOUT_S, edit_settings

HISTORY_PAGE = "pages/history.py"


@pytest.fixture
def own_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A store of this test's own (ask for it before `ran_app`)."""
    monkeypatch.setenv("SAMCOMPARE_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def _select_rows(at: AppTest, index: int, rows: list[int]) -> None:
    at.session_state[_table_key(index)] = {"selection": {"rows": rows, "columns": []}}
    at.run()


def test_selected_masks_get_a_class_kept_in_the_store_and_the_downloads(own_home: Path, ran_app: AppTest) -> None:
    run = ran_app.session_state["comparison_run"]
    picker = ran_app.selectbox(key="class_pick_0")
    assert picker.disabled and picker.options == ["object"]  # nothing selected yet, no class used yet
    # A class used before is offered (new names are typed into the same box, which AppTest cannot do).
    ran_app.session_state["mask_labels"] = {(run.run_id, 0): MaskLabels.from_mapping({0: "cat"})}
    _select_rows(ran_app, 0, [1, 2])
    picker = ran_app.selectbox(key="class_pick_0")
    assert not picker.disabled and picker.options == ["object", "cat"]
    picker.set_value("cat").run()
    ran_app.button(key="class_apply_0").click().run()
    assert not ran_app.exception and not ran_app.warning
    expected = MaskLabels.from_mapping({0: "cat", 1: "cat", 2: "cat"})
    (table,) = [frame.value for frame in ran_app.dataframe if "class" in frame.value.columns][:1]
    assert table["class"].tolist()[:4] == ["cat", "cat", "cat", "object"]
    # Kept with the run in the store.
    store = ResultStore()
    (header,) = store.runs()
    assert store.load_run(header.run_id).labels == (expected, MaskLabels())
    # Every dataset download writes them as categories.
    request = ExportRequest(run.image, run.masks[0], None, run.image_name, run.model_name, expected)
    built = {export.suffix: export.build(request) for export in EXPORT_FORMATS}
    for suffix in ("_coco.json", "_polygons.json"):
        assert [c["name"] for c in json.loads(built[suffix])["categories"]] == ["cat", "object"]
    with zipfile.ZipFile(io.BytesIO(built["_yolo.zip"])) as archive:
        assert '0: "cat"' in archive.read("data.yaml").decode()
    # History's Open brings them back, in a new session.
    history = AppTest.from_file(DASHBOARD, default_timeout=TIMEOUT_S)
    history.run()
    history.switch_page(HISTORY_PAGE).run()
    history.button(key=f"history_open_{header.run_id}").click().run()
    assert not history.exception
    reopened = history.session_state["comparison_run"]
    assert reopened.labels == (expected, MaskLabels())


def test_names_stay_with_the_masks_a_refilter_keeps(own_home: Path, ran_app: AppTest) -> None:
    run = ran_app.session_state["comparison_run"]
    _select_rows(ran_app, 0, [0])
    ran_app.button(key="class_apply_0").click().run()  # "object": clears, nothing named
    ran_app.session_state["mask_labels"] = {(run.run_id, 0): MaskLabels.from_mapping({0: "cat", 3: "dog"})}
    ran_app.run()
    edit_settings(ran_app, {0: {"top_k": len(run.results[0])}})  # a post-filter that keeps every mask
    again = ran_app.session_state["comparison_run"]
    assert again.run_id != run.run_id and again.network_free
    assert again.labels[0] == MaskLabels.from_mapping({0: "cat", 3: "dog"})


def test_post_filters_in_the_editor_refilter_from_cache_and_are_validated(ran_app: AppTest) -> None:
    first = ran_app.session_state["comparison_run"]
    edit_settings(ran_app, {0: {"max_mask_region_area": "5%"}})
    edit_settings(ran_app, {0: {"drop_border_masks": True}})
    second = ran_app.session_state["comparison_run"]
    config = second.results[0].config
    assert str(config.max_mask_region_area) == "5%" and config.drop_border_masks
    assert second.network_free and len(second.results[0]) < len(first.results[0])
    assert "max_mask_region_area" in second.results[0].funnel.stages
    edit_settings(ran_app, {0: {"max_mask_region_area": "big"}})
    assert any("neither a number of pixels" in str(error.value) for error in ran_app.error)
    assert ran_app.session_state["comparison_run"].results[0].config.max_mask_region_area is not None  # kept
