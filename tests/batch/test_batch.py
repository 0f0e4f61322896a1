"""A batch over a folder: rows for every image and setting, masks equal the official generator's, failures kept."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from segment_anything import SamAutomaticMaskGenerator

from samcompare.batch import BatchError, run_batch, write_outputs
from samcompare.batch.work import torch_threads
from samcompare.cli import main
from samcompare.store import ResultStore
from tests.batch.conftest import BROKEN, CONFIGS, SceneFolder, request_for, scene_pixels
from tests.engine.engine_helpers import assert_records_equal


@pytest.fixture(scope="module")
def batch_run(scene_folder: SceneFolder, tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    out = tmp_path_factory.mktemp("batch-out")
    messages: list[str] = []
    summary = run_batch(request_for(scene_folder, out), echo=messages.append, progress=False)
    return out, summary, messages


def test_every_image_and_setting_has_a_row_and_the_broken_file_failed(scene_folder: SceneFolder, batch_run) -> None:  # noqa: ANN001
    out, summary, messages = batch_run
    assert messages[0] == "7 images in " + str(scene_folder.path) + " (1 other files left out); 0 done before, 7 to run"
    assert (summary.images, summary.done, summary.failed) == (7, 6, 1)
    images = pd.read_csv(out / "images.csv")
    assert list(images.columns) == ["image", "setting", "status", "masks", "coverage_pct", "seconds"]
    assert images["image"].tolist() == [name for name in scene_folder.names for _ in CONFIGS]
    assert images["setting"].tolist() == [config.name for config in CONFIGS] * 7
    broken = images[images["image"] == BROKEN]
    assert broken["status"].str.startswith("failed: broken.jpg: the file is truncated or corrupt").all()
    assert broken["masks"].isna().all()
    done = images[images["image"] != BROKEN]
    assert (done["status"] == "done").all() and (done["masks"] >= 0).all()
    # a stricter setting never keeps more masks than a looser one on the same decoder output
    loose, strict = done.iloc[0::2]["masks"].to_numpy(), done.iloc[1::2]["masks"].to_numpy()
    assert (strict <= loose).all() and loose.sum() > strict.sum() > 0
    summary_csv = pd.read_csv(out / "summary.csv")
    assert summary_csv["setting"].tolist() == [config.name for config in CONFIGS]
    assert summary_csv["done"].tolist() == [6, 6] and summary_csv["failed"].tolist() == [1, 1]
    assert summary_csv["masks_total"].tolist() == [int(loose.sum()), int(strict.sum())]
    report = (out / "report.html").read_text()
    assert "Plotly" in report and 'id="distribution-masks"' in report and 'id="pair-masks"' in report
    assert "<script src=" not in report  # self-contained
    assert "data:image/png;base64," in report and "Failed files" in report


def test_batch_masks_equal_the_official_generator(demo_sam, batch_run) -> None:  # noqa: ANN001
    out, _, _ = batch_run
    store = ResultStore(out / "samcompare.db")
    batch = store.batch_table(store.batches()[0][0])
    for index in (0, 3):
        name = f"scene_{index:02d}.png"
        run_id = int(batch[batch["file_name"] == name]["run_id"].iloc[0])
        stored = store.load_results(run_id)
        for config, read in zip(CONFIGS, stored, strict=True):
            with torch_threads(1):  # the batch's thread count: CPU kernels round by thread count
                official = SamAutomaticMaskGenerator(demo_sam, **config.to_kwargs()).generate(scene_pixels(index))
            assert_records_equal(official, read.result.records, f"{name} {config.name}")
            slug = config.name.replace(" ", "-")
            coco = json.loads((out / "masks" / slug / f"{name}.json").read_text())
            assert len(coco["annotations"]) == len(official)
            assert coco["images"][0]["file_name"] == name


def test_the_same_command_again_skips_what_is_done_and_tries_the_failed_file_again(
    scene_folder: SceneFolder, batch_run
) -> None:  # noqa: ANN001
    out, _, _ = batch_run
    before = (out / "images.csv").read_bytes()
    messages: list[str] = []
    summary = run_batch(request_for(scene_folder, out), echo=messages.append, progress=False)
    assert messages[0].endswith("6 done before, 1 to run")
    assert summary.ran_now == 1 and summary.failed == 1
    assert (out / "images.csv").read_bytes() == before


def test_stored_metrics_become_columns_of_images_csv(scene_folder: SceneFolder, batch_run, tmp_path) -> None:  # noqa: ANN001
    out, _, _ = batch_run
    store = ResultStore(out / "samcompare.db")
    batch_id = store.batches()[0][0]
    table = store.batch_table(batch_id)
    first = table[table["file_name"] == "scene_00.png"]
    metrics = {"setting": "grid 8", "gt_objects": 5, "f1_50": 0.25}
    store.set_metrics(int(first["result_id"].iloc[0]), metrics)
    try:
        files = write_outputs(store, batch_id, scene_folder.names, CONFIGS, tmp_path)
        images = pd.read_csv(files.images_csv)
        assert list(images.columns)[-2:] == ["gt_objects", "f1_50"]
        row = images[(images["image"] == "scene_00.png") & (images["setting"] == "grid 8")].iloc[0]
        assert (row["gt_objects"], row["f1_50"]) == (5, 0.25)
        assert images["f1_50"].isna().sum() == len(images) - 1
    finally:
        store.set_metrics(int(first["result_id"].iloc[0]), None)


def test_an_output_folder_holding_another_batch_is_refused(scene_folder: SceneFolder, batch_run) -> None:  # noqa: ANN001
    out, _, _ = batch_run
    other = request_for(scene_folder, out)
    other = type(other)(other.folder, other.configs[:1], "demo", out, device="cpu")
    with pytest.raises(BatchError, match="holds a batch of other settings"):
        run_batch(other, echo=lambda _: None, progress=False)


def test_cli_errors_are_one_line(scene_folder: SceneFolder, tmp_path, capsys) -> None:  # noqa: ANN001
    settings = ["--config", str(scene_folder.settings[0])]
    assert main(["batch", str(tmp_path / "missing"), *settings, "--model", "demo", "--out", str(tmp_path / "o")]) == 2
    assert capsys.readouterr().err.strip() == f"error: image folder not found: {tmp_path / 'missing'}"
    assert main(["batch", str(scene_folder.path), "--model", "demo", "--out", str(tmp_path / "o")]) == 2
    assert "give at least one setting" in capsys.readouterr().err
    twice = [*settings, *settings]
    assert main(["batch", str(scene_folder.path), *twice, "--model", "demo", "--out", str(tmp_path / "o")]) == 2
    assert "two settings are named 'grid 8'" in capsys.readouterr().err
