"""The tuner: exact scores from cached candidates, a seeded search, and proposals that reproduce officially."""

from __future__ import annotations

import numpy as np
import pytest
from engine_helpers import official_records

from samcompare.config import AmgConfig, ConfigError
from samcompare.demo.shapes import generate_scene
from samcompare.engine import ComparisonCache, setting_candidates
from samcompare.evaluation import (
    Marks,
    evaluate_from_ious,
    evaluate_marks,
    evaluate_run,
    ground_truth_from_label_map,
    marks_from_run,
)
from samcompare.results import RunMasks
from samcompare.samples import load_sample, sample_ground_truth, sample_names
from samcompare.tuning import Objective, ObjectiveError, PoolScorer, SearchSpace, reproduce, tune


def scene(seed: int, height: int, width: int):
    return generate_scene(np.random.default_rng(seed), height, width)


def test_objectives_parse_and_score():
    assert Objective.parse("f1_50") == Objective("f1", 0.5)
    assert Objective.parse("recall_75", min_precision=0.8) == Objective("recall", 0.75, 0.8)
    assert Objective.parse("AP").name == "ap" and Objective.parse("agreement_60").iou_threshold == 0.6
    for bad in ("f2_50", "recall", "f1_500", ""):
        with pytest.raises(ObjectiveError):
            Objective.parse(bad)
    labels = np.zeros((8, 8), np.uint16)
    labels[:4, :4], labels[4:, 4:] = 1, 2
    truth = ground_truth_from_label_map(labels)
    # Two masks: one object exactly, one false mask; precision 0.5, recall 0.5.
    ious = np.array([[1.0, 0.0], [0.0, 0.1]])
    metrics = evaluate_from_ious(ious, [0.9, 0.8], [16, 4], truth)
    assert Objective.parse("f1_50").score(metrics) == pytest.approx(0.5)
    assert Objective.parse("recall_50", 0.4).score(metrics) == pytest.approx(0.5)
    assert Objective.parse("recall_50", 0.7).score(metrics) == pytest.approx(0.5 - 0.7)  # short of the floor
    with pytest.raises(ObjectiveError, match="marked masks"):
        Objective.parse("agreement_50").score(metrics)


def test_pool_scores_equal_evaluate_on_official_records(island_sam):
    shapes = scene(51, 96, 112)
    truth = ground_truth_from_label_map(shapes.labels)
    base = AmgConfig(points_per_side=6, crop_n_layers=1, pred_iou_thresh=0.5, stability_score_thresh=0.5)
    candidates = setting_candidates(island_sam, shapes.image, base, floor=0.5)
    scorer = PoolScorer(candidates, truth)
    for config in [
        base,
        base.replace(pred_iou_thresh=0.8, box_nms_thresh=0.5),
        base.replace(min_mask_region_area=60),
        base.replace(min_mask_region_area=60, stability_score_thresh=0.9),
    ]:
        _, ours = scorer.score(config)
        official = evaluate_run(official_records(island_sam, shapes.image, config) or [], truth, setting=config.name)
        assert ours.row() == pytest.approx(official.row(), nan_ok=True), config
    assert scorer.cleanup_memo  # the clean-up ran, once per mask and area


def test_tuning_is_seeded_and_beats_its_start(island_sam):
    shapes = scene(52, 96, 96)
    truth = ground_truth_from_label_map(shapes.labels)
    base = AmgConfig(points_per_side=6)
    space = SearchSpace(min_mask_region_area=(0, 80))
    runs = [
        tune(island_sam, shapes.image, truth, Objective.parse("f1_50"), base, space, trials=25, seed=7)
        for _ in range(2)
    ]
    first, second = (run.frame() for run in runs)
    assert first.equals(second)
    result = runs[0]
    assert result.trials[0].config.pred_iou_thresh == base.pred_iou_thresh  # the search starts from the base
    assert result.best(1)[0].value >= result.base.value
    assert len({trial.config for trial in result.best(5)}) == len(result.best(5))
    other = tune(island_sam, shapes.image, truth, Objective.parse("f1_50"), base, space, trials=25, seed=8)
    assert not other.frame()["pred_iou_thresh"].equals(first["pred_iou_thresh"])


def test_tuned_setting_beats_sam_default_on_held_out_scenes_and_reproduces(demo_sam):
    """The done-when of the tuner: on the demo's held-out scenes, better than SAM's defaults, and honest."""
    objective = Objective.parse("f1_50")
    for name in sample_names("shapes")[:2]:
        image, truth = load_sample(name), sample_ground_truth(name)
        result = tune(demo_sam, image, truth, objective, AmgConfig(), trials=40, seed=0)
        best = result.best(1)[0]
        assert best.value > result.base.value, name
        official = reproduce(demo_sam, image, truth, objective, best.config)
        assert official.value == pytest.approx(best.value, abs=1e-12), name
        assert official.masks == best.metrics.masks
        assert reproduce(demo_sam, image, truth, objective, AmgConfig()).value == pytest.approx(result.base.value)


def test_marks_guide_the_search(island_sam):
    shapes = scene(53, 96, 96)
    config = AmgConfig(points_per_side=6, pred_iou_thresh=0.3, stability_score_thresh=0.3)
    records = official_records(island_sam, shapes.image, config)
    masks = RunMasks(records)
    areas = masks.areas()
    large = [int(i) for i in np.argsort(-areas)[:2]]
    small = [int(i) for i in np.argsort(areas)[:3]]
    marks = (
        Marks()
        .marked(marks_from_run(masks, large, "probe"), "good")
        .marked(marks_from_run(masks, small, "probe"), "bad")
    )
    objective = Objective.parse("agreement_50")
    result = tune(island_sam, shapes.image, marks, objective, config, trials=30, seed=1)
    best = result.best(1)[0]
    assert best.value >= result.base.value and best.value > 0
    official = reproduce(island_sam, shapes.image, marks, objective, best.config)
    assert official.value == pytest.approx(best.value)
    assert evaluate_marks(records, marks).agreement == pytest.approx(result.base.value)


def test_widened_search_decodes_each_plan_once(island_sam):
    shapes = scene(54, 80, 96)
    truth = ground_truth_from_label_map(shapes.labels)
    cache = ComparisonCache()
    space = SearchSpace(points_per_side=(4, 6), crop_n_layers=(0, 1), stability_score_offsets=(0.5, 1.0))
    result = tune(
        island_sam, shapes.image, truth, Objective.parse("ap"), AmgConfig(points_per_side=6), space, 30, 3, cache
    )
    tried = {(t.config.points_per_side, t.config.crop_n_layers) for t in result.trials}
    assert len(tried) >= 3
    assert {t.config.stability_score_offset for t in result.trials} == {0.5, 1.0}
    best = result.best(1)[0]
    assert reproduce(island_sam, shapes.image, truth, Objective.parse("ap"), best.config).value == pytest.approx(
        best.value
    )


def test_mismatched_objective_and_bad_spaces_say_why(island_sam):
    shapes = scene(55, 64, 64)
    truth = ground_truth_from_label_map(shapes.labels)
    with pytest.raises(ObjectiveError, match="agreement needs marked masks"):
        tune(island_sam, shapes.image, truth, Objective.parse("agreement_50"), trials=1)
    with pytest.raises(ObjectiveError, match="needs ground truth"):
        tune(island_sam, shapes.image, Marks(), Objective.parse("f1_50"), trials=1)
    with pytest.raises(ConfigError, match="trials: must be at least 1"):
        tune(island_sam, shapes.image, truth, Objective.parse("f1_50"), trials=0)
    with pytest.raises(ConfigError, match="pred_iou_thresh"):
        SearchSpace(pred_iou_thresh=(0.9, 0.5))
    with pytest.raises(ConfigError, match="stability_score_thresh"):
        SearchSpace(stability_score_thresh=(0.5, 1.5))


def test_post_filters_of_the_start_hold_in_every_trial_and_reproduce(island_sam):
    """A start with post-filters: every trial keeps them, and scores equal the official output filtered by them."""
    shapes = scene(53, 96, 112)
    truth = ground_truth_from_label_map(shapes.labels)
    base = AmgConfig(points_per_side=6, max_mask_region_area="20%", drop_border_masks=True, top_k=6)
    result = tune(island_sam, shapes.image, truth, Objective.parse("f1_50"), base, SearchSpace(), trials=8, seed=1)
    assert all(trial.config.post_filters() == base.post_filters() for trial in result.trials)
    assert all(trial.metrics.masks <= 6 for trial in result.trials)
    best = result.best(1)[0]
    assert reproduce(island_sam, shapes.image, truth, Objective.parse("f1_50"), best.config).value == pytest.approx(
        best.value
    )
    candidates = setting_candidates(island_sam, shapes.image, base, floor=0.5)
    _, ours = PoolScorer(candidates, truth).score(base.replace(pred_iou_thresh=0.6))
    from samcompare.engine.postfilters import official_then_post_filters

    records = official_then_post_filters(island_sam, shapes.image, base.replace(pred_iou_thresh=0.6))
    assert ours.row() == pytest.approx(evaluate_run(records, truth, setting=base.name).row(), nan_ok=True)
