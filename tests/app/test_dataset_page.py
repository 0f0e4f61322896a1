"""The Dataset page and History's paired verdicts through AppTest, on a batch with ground truth."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from samcompare.batch import BatchRequest, run_batch
from samcompare.config import AmgConfig
from samcompare.evaluation.paired import paired_against_first
from samcompare.results.exports.label_map import write_label_map_png
from samcompare.samples import HELDOUT_DIR, sample_ground_truth
from tests.app.conftest import DASHBOARD, TIMEOUT_S, setting_names

DATASET_PAGE = "pages/dataset.py"
SETTINGS = (
    AmgConfig(name="grid 8", points_per_side=8),
    AmgConfig(name="grid 8 loose", points_per_side=8, pred_iou_thresh=0.7, stability_score_thresh=0.8),
)


@pytest.fixture(scope="module")
def batch_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("dataset-batch")
    images, truth, out = root / "images", root / "truth", root / "out"
    images.mkdir()
    truth.mkdir()
    for index in range(4):
        name = f"scene_{index:02d}.png"
        shutil.copy(HELDOUT_DIR / name, images / name)
        write_label_map_png(truth / name, sample_ground_truth(f"Shapes {index:02d}").run_masks())
    request = BatchRequest(images, SETTINGS, "demo", out, device="cpu", gt_dir=truth)
    run_batch(request, echo=lambda _: None, progress=False)
    return out


def texts(elements) -> str:  # noqa: ANN001 - an AppTest element list
    return "\n".join(str(element.value) for element in elements)


def test_tune_over_a_stored_batch_then_add_the_best(
    batch_out: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SAMCOMPARE_HOME", str(tmp_path))  # a history of its own, whatever ran before
    at = AppTest.from_file(DASHBOARD, default_timeout=TIMEOUT_S)
    at.run()
    at.switch_page(DATASET_PAGE).run()
    assert not at.exception, at.exception
    assert "No store at" in texts(at.info)  # this session's own history has no batch
    at.text_input(key="dataset_store").set_value(str(batch_out)).run()
    assert not at.exception, at.exception
    assert "4 of 4 images with ground truth" in at.selectbox(key="dataset_batch").options[0]
    assert at.text_input(key="dataset_truth_1").value.endswith("truth")  # where the batch read it
    at.number_input(key="dataset_trials").set_value(5)
    at.button(key="dataset_button").click().run()
    assert not at.exception, at.exception
    (result,) = at.session_state["dataset_results"].values()
    assert len(result.trials) == 5 and len(result.validation) == 1 and len(result.training) == 3
    table = next(frame.value for frame in at.dataframe if "part" in frame.value.columns)
    assert sorted(table["part"]) == ["training"] * 3 + ["validation"]
    assert "validation: tuned f1_50 " in texts(at.markdown).replace("\\", "")
    at.button(key="dataset_add").click().run()
    assert "Added “tuned f1_50”" in texts(at.success)
    at.switch_page("pages/compare.py").run()
    assert setting_names(at)[-1] == "tuned f1_50"


def test_a_wrong_ground_truth_folder_says_so(batch_out: Path, tmp_path: Path) -> None:
    at = AppTest.from_file(DASHBOARD, default_timeout=TIMEOUT_S)
    at.run()
    at.switch_page(DATASET_PAGE).run()
    at.text_input(key="dataset_store").set_value(str(batch_out)).run()
    at.text_input(key="dataset_truth_1").set_value(str(tmp_path / "nowhere")).run()
    at.button(key="dataset_button").click().run()
    assert not at.exception, at.exception
    assert "ground-truth folder not found" in texts(at.error)


def test_history_says_which_setting_wins_across_images(batch_out: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import pandas as pd

    monkeypatch.setenv("SAMCOMPARE_HOME", str(batch_out))
    at = AppTest.from_file(DASHBOARD, default_timeout=TIMEOUT_S)
    at.run()
    at.switch_page("pages/history.py").run()
    assert not at.exception, at.exception
    images = pd.read_csv(batch_out / "images.csv")
    (expected,) = paired_against_first(images, [s.name for s in SETTINGS], "f1_50")
    shown = texts(at.markdown).replace("\\", "")
    assert expected.verdict().split(" on ")[1] in shown  # "4 of 4 images: F1 ..., p = ..." as paired.csv says
