"""A batch with ground truth: evaluate's metrics per image and setting, paired by file stem, added without rerunning."""

from __future__ import annotations

import html

import numpy as np
import pandas as pd
import pytest
from segment_anything import SamAutomaticMaskGenerator

from samcompare.batch import BatchError, run_batch
from samcompare.batch.work import torch_threads
from samcompare.demo.shapes import generate_scene
from samcompare.evaluation import evaluate_run, ground_truth_from_masks, metrics_columns
from samcompare.results.exports.label_map import write_label_map_png
from tests.batch.conftest import CONFIGS, SceneFolder, request_for, scene_pixels

WITH_TRUTH = (0, 1, 2)


@pytest.fixture(scope="module")
def gt_dir(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    folder = tmp_path_factory.mktemp("ground-truth")
    for index in WITH_TRUTH:
        scene = generate_scene(np.random.default_rng(100 + index), 96, 112)  # the scene of scene_pixels(index)
        truth = ground_truth_from_masks(scene.object_masks())
        write_label_map_png(folder / f"scene_{index:02d}.png", truth.run_masks())
    (folder / "scene_03.json").write_text("{ not json")  # a broken ground truth: a message, no metrics
    return folder


def test_metrics_are_added_later_without_running_an_image_again(
    scene_folder: SceneFolder, gt_dir, tmp_path, demo_sam
) -> None:  # noqa: ANN001
    out = tmp_path / "out"
    run_batch(request_for(scene_folder, out), echo=lambda _: None, progress=False)
    before = pd.read_csv(out / "images.csv")
    messages: list[str] = []
    summary = run_batch(request_for(scene_folder, out, gt_dir=gt_dir), echo=messages.append, progress=False)
    assert summary.ran_now == 1  # only the broken image file is tried again
    assert any("scene_03.png: no metrics:" in m for m in messages)
    assert any("ground truth for 4 images; 3 scored now" in m for m in messages)
    images = pd.read_csv(out / "images.csv")
    columns = [c for c in metrics_columns((0.5, 0.75)) if c not in ("setting", "masks")]
    assert list(images.columns) == [*before.columns, "ground_truth", *columns]
    assert images[before.columns.drop("seconds")].equals(before[before.columns.drop("seconds")])
    scored = images[images["ground_truth"].notna()]
    assert sorted(set(scored["image"])) == [f"scene_{i:02d}.png" for i in WITH_TRUTH]
    # Each row is what evaluate gives for the official generator's masks of that image and setting.
    for row in scored.itertuples():
        index = int(row.image[6:8])
        scene = generate_scene(np.random.default_rng(100 + index), 96, 112)
        truth = ground_truth_from_masks(scene.object_masks())
        config = next(c for c in CONFIGS if c.name == row.setting)
        with torch_threads(1):
            records = SamAutomaticMaskGenerator(demo_sam, **config.to_kwargs()).generate(scene_pixels(index))
        expected = evaluate_run(records, truth).row()
        for column in columns:
            assert getattr(row, column) == pytest.approx(expected[column], abs=1e-6, nan_ok=True), column
    summary_csv = pd.read_csv(out / "summary.csv")
    assert summary_csv["gt_images"].tolist() == [3, 3]
    assert summary_csv["f1_50_mean"].tolist() == pytest.approx(
        [scored[scored["setting"] == c.name]["f1_50"].mean() for c in CONFIGS]
    )
    report = (out / "report.html").read_text()
    assert 'id="distribution-f1"' in report and "lowest F1 at IoU 0.5" in report
    assert_paired_agrees_with_images(out, images, report, messages)
    # Again: nothing to run and nothing to score; the same files.
    messages.clear()
    run_batch(request_for(scene_folder, out, gt_dir=gt_dir), echo=messages.append, progress=False)
    assert any("3 scored now" not in m and "; 0 scored now" in m for m in messages)
    again = pd.read_csv(out / "images.csv")
    assert again.drop(columns="seconds").equals(images.drop(columns="seconds"))


def assert_paired_agrees_with_images(out, images: pd.DataFrame, report: str, messages: list[str]) -> None:  # noqa: ANN001
    """paired.csv, the report's verdict and the printed one say what images.csv says, counted here by hand."""
    from scipy.stats import wilcoxon

    paired = pd.read_csv(out / "paired.csv")
    assert list(paired.columns) == [
        "setting", "baseline", "images", "wins", "losses", "ties", "mean_delta_f1_50", "ci_low", "ci_high", "p_value",
    ]  # fmt: skip
    (row,) = paired.itertuples()
    assert (row.setting, row.baseline) == (CONFIGS[1].name, CONFIGS[0].name)
    wide = images[images["f1_50"].notna()].pivot(index="image", columns="setting", values="f1_50")
    delta = wide[CONFIGS[1].name] - wide[CONFIGS[0].name]
    assert row.images == len(delta) == len(WITH_TRUTH)
    assert (row.wins, row.losses, row.ties) == ((delta > 0).sum(), (delta < 0).sum(), (delta == 0).sum())
    assert row.mean_delta_f1_50 == pytest.approx(delta.mean(), abs=1e-6)
    assert row.ci_low <= row.mean_delta_f1_50 <= row.ci_high
    nonzero = delta[delta != 0]
    expected_p = 1.0 if nonzero.empty else wilcoxon(nonzero).pvalue
    assert row.p_value == pytest.approx(expected_p, abs=1e-6)
    verdict_start = f"{CONFIGS[1].name} "
    (said,) = [m for m in messages if m.startswith(verdict_start) and f"{CONFIGS[0].name} on" in m or "even on" in m]
    assert f"{row.images} images" in said and f"{row.mean_delta_f1_50:+.2f}" in said
    assert html.escape(said) in report


def test_a_bad_ground_truth_folder_stops_before_any_image_runs(scene_folder: SceneFolder, tmp_path) -> None:
    with pytest.raises(BatchError, match="ground-truth folder not found"):
        run_batch(request_for(scene_folder, tmp_path / "a", gt_dir=tmp_path / "missing"), progress=False)
    twice = tmp_path / "twice"
    twice.mkdir()
    (twice / "scene_00.png").write_bytes(b"")
    (twice / "scene_00.json").write_text("{}")
    with pytest.raises(BatchError, match="two ground-truth files for images named 'scene_00'"):
        run_batch(request_for(scene_folder, tmp_path / "b", gt_dir=twice), progress=False)
    assert not (tmp_path / "b" / "samcompare.db").exists()
