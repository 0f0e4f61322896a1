"""Tuning over a folder: pairing by stem, a seeded disjoint split, pools that score as `evaluate`, a bounded memory."""

from __future__ import annotations

import numpy as np
import pytest

from samcompare.cli import read_setting_file
from samcompare.config import AmgConfig
from samcompare.engine import compare, setting_candidates
from samcompare.evaluation import evaluate_run, ground_truth_from_label_map
from samcompare.results.exports.label_map import write_label_map_png
from samcompare.samples import load_sample, sample_ground_truth
from samcompare.tuning import Objective, PoolScorer, SearchSpace
from samcompare.tuning.dataset import DatasetError, DatasetImage, folder_images, folder_loader, split_images
from samcompare.tuning.dataset_search import build_pools, search_pools, tune_dataset


def dummy_images(count: int) -> list[DatasetImage]:
    def never() -> tuple:
        raise AssertionError("a split reads no image")

    return [DatasetImage(f"image_{index:02d}.png", f"image_{index:02d}.png", never) for index in range(count)]


def test_the_split_is_seeded_disjoint_and_whole() -> None:
    images = dummy_images(20)
    split = split_images(images, 0.25, seed=3)
    training = [image.name for image in split.training]
    validation = [image.name for image in split.validation]
    assert len(validation) == 5 and len(training) == 15
    assert not set(training) & set(validation) and sorted(training + validation) == [i.name for i in images]
    assert training == sorted(training) and validation == sorted(validation)  # each part in the input's order
    again = split_images(images, 0.25, seed=3)
    assert [image.name for image in again.validation] == validation
    others = {tuple(image.name for image in split_images(images, 0.25, seed=seed).validation) for seed in range(5)}
    assert len(others) > 1  # the seed draws the held-out images
    assert split.description == "5 of 20 images held out for validation (fraction 0.25, seed 3)"
    assert len(split_images(images, 0.0).validation) == 0
    assert len(split_images(dummy_images(2), 0.1).validation) == 1  # at least one held out
    assert len(split_images(dummy_images(3), 0.9).training) == 1  # at least one left to train on
    with pytest.raises(DatasetError, match="too few to hold some out"):
        split_images(dummy_images(1), 0.25)
    with pytest.raises(DatasetError, match=r"in \[0, 1\)"):
        split_images(images, 1.0)
    with pytest.raises(DatasetError, match="no image has ground truth"):
        split_images([], 0.25)


def test_images_pair_with_ground_truth_by_stem(scene_dataset) -> None:
    pairs = folder_images(scene_dataset.images, scene_dataset.truth)
    assert [image.name for image in pairs.images] == list(scene_dataset.names)
    assert pairs.without_truth == ("no_truth.png",) and pairs.skipped == 1  # notes.txt
    pixels, truth = pairs.images[0].load()
    assert pixels.shape[:2] == truth.image_size and len(truth) > 0
    with pytest.raises(DatasetError, match="ground-truth folder not found"):
        folder_images(scene_dataset.images, scene_dataset.images / "missing")


def test_dropping_unreachable_candidates_changes_no_score(demo_sam) -> None:
    image, truth = _first_scene()
    base = AmgConfig(points_per_side=8, pred_iou_thresh=0.75, stability_score_thresh=0.9)
    candidates = setting_candidates(demo_sam, image, base, floor=0.5)
    full, compact = PoolScorer(candidates, truth), PoolScorer(candidates, truth)
    left = compact.keep_reachable(0.75, 0.9)  # the search's lowest thresholds, above the decode's floor
    assert 0 < left < candidates.computed  # some masks were dead weight
    assert compact.nbytes < full.nbytes
    for config in (base, base.replace(pred_iou_thresh=0.8, min_mask_region_area=20), base.replace(box_nms_thresh=0.4)):
        assert full.score(config)[1].row() == compact.score(config)[1].row()


def _first_scene():
    return load_sample("Shapes 03"), sample_ground_truth("Shapes 03")


def test_the_search_scores_each_setting_as_evaluate_does(demo_sam, scene_dataset) -> None:
    pairs = folder_images(scene_dataset.images, scene_dataset.truth)
    split = split_images(pairs.images, 0.34, seed=1)
    start = read_setting_file(scene_dataset.start)
    objective = Objective.parse("f1_50")
    result = tune_dataset(demo_sam, split, objective, start, SearchSpace(), trials=12, seed=0)
    assert len(result.trials) == 12 and result.trials[0].value == pytest.approx(result.start_value)
    assert result.best_trial.value >= result.start_value  # the start is the first trial
    assert result.best.name == "tuned f1_50" and result.best.points_per_side == 8
    assert [s.image for s in result.validation] == [i.name for i in split.validation]
    assert [s.image for s in result.training] == [i.name for i in split.training]
    # The search's training mean of the best is what the official generator's masks score, image by image.
    official = []
    for image in split.training:
        pixels, truth = image.load()
        best_result, start_result = compare(demo_sam, pixels, [result.best, start])
        row = next(s for s in result.training if s.image == image.name)
        assert row.best.row() == evaluate_run(best_result, truth, result.iou_thresholds).row()
        assert row.start.row() == evaluate_run(start_result, truth, result.iou_thresholds).row()
        official.append(objective.score(evaluate_run(best_result, truth, result.iou_thresholds)))
    assert float(np.mean(official)) == pytest.approx(result.best_trial.value, abs=1e-12)
    frame = result.scores_frame("validation")
    assert len(frame) == 2 * len(split.validation) and frame["setting"].tolist()[:2] == ["grid 8", "tuned f1_50"]
    assert result.paired("training").images == len(split.training)
    assert max(result.pool_bytes) > 0 and result.decode_seconds > 0
    lines = "\n".join(result.summary_lines())
    assert "candidate pools" in lines and "validation: tuned f1_50" in lines


def test_the_search_is_seeded(demo_sam, scene_dataset) -> None:
    pairs = folder_images(scene_dataset.images, scene_dataset.truth)
    objective = Objective.parse("f1_50")
    start, space = read_setting_file(scene_dataset.start), SearchSpace()
    pools, skipped = build_pools(demo_sam, pairs.images[:2], objective, start, space, (0.5,))
    assert len(pools) == 2 and skipped == []
    first = search_pools(pools, objective, start, space, trials=8, seed=4)
    again = search_pools(pools, objective, start, space, trials=8, seed=4)
    other = search_pools(pools, objective, start, space, trials=8, seed=5)
    assert first[0] == again[0] == first[1][0].value  # the start, scored first
    assert [t.config.to_dict() for t in first[1]] == [t.config.to_dict() for t in again[1]]
    assert [t.value for t in first[1]] == [t.value for t in again[1]]
    assert [t.config.to_dict() for t in first[1]] != [t.config.to_dict() for t in other[1]]
    alone = tune_dataset(demo_sam, split_images(pairs.images[:1], 0.0), objective, start, trials=2)
    assert alone.validation == () and "no validation images" in "\n".join(alone.summary_lines())


def test_pools_past_the_memory_limit_stop_the_search_with_a_message(demo_sam, scene_dataset) -> None:
    pairs = folder_images(scene_dataset.images, scene_dataset.truth)
    split = split_images(pairs.images[:2], 0.0)
    start = read_setting_file(scene_dataset.start)
    with pytest.raises(DatasetError, match=r"candidate pools would take about .* over the limit of"):
        tune_dataset(demo_sam, split, Objective.parse("f1_50"), start, trials=2, max_pool_bytes=1000)


def test_unusable_images_are_skipped_and_named(demo_sam, scene_dataset, tmp_path) -> None:
    pairs = folder_images(scene_dataset.images, scene_dataset.truth)
    wrong = tmp_path / "wrong.png"
    labels = np.zeros((5, 7), np.uint16)
    labels[1:3, 1:3] = 1
    write_label_map_png(wrong, ground_truth_from_label_map(labels).run_masks())
    broken = DatasetImage("broken.png", "wrong.png", folder_loader(scene_dataset.images / "scene_00.png", wrong))
    split = split_images([pairs.images[0], broken], 0.0)
    result = tune_dataset(demo_sam, split, Objective.parse("f1_50"), read_setting_file(scene_dataset.start), trials=2)
    assert [s.image for s in result.training] == ["scene_00.png"]
    assert result.skipped[0][0] == "broken.png" and "ground truth is" in result.skipped[0][1]
