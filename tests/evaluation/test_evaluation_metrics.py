"""Metrics against ground truth: hand-counted cases, pycocotools' COCOeval, the IoU-matrix path equal to the run's."""

from __future__ import annotations

import contextlib
import io
import math

import numpy as np
import pytest
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from samcompare.config import AmgConfig
from samcompare.demo.shapes import generate_scene
from samcompare.evaluation import (
    GroundTruth,
    GroundTruthError,
    coco_ap_ar,
    evaluate_from_ious,
    evaluate_run,
    ground_truth_from_masks,
    mask_ious,
    match_to_ground_truth,
    metrics_columns,
    metrics_table,
    recall_curve,
)
from samcompare.evaluation.metrics import size_groups, size_limits
from samcompare.results import RunMasks
from samcompare.results.exports.coco import coco_dict
from samcompare.results.masks import encode_mask
from samcompare.results.matching import one_to_one
from tests.results.conftest import OUTPUT_MODES, records_from_masks, run_result_from_masks


def box(shape: tuple[int, int], top: int, left: int, height: int, width: int) -> np.ndarray:
    mask = np.zeros(shape, dtype=bool)
    mask[top : top + height, left : left + width] = True
    return mask


def records(masks: list[np.ndarray], scores: list[float]) -> list[dict]:
    return [{"segmentation": m, "predicted_iou": s} for m, s in zip(masks, scores, strict=True)]


SHAPE = (20, 20)
OBJECT_0 = box(SHAPE, 0, 0, 4, 4)  # 16 px
OBJECT_1 = box(SHAPE, 10, 10, 4, 4)  # 16 px
OBJECT_2 = box(SHAPE, 0, 12, 5, 5)  # 25 px


@pytest.fixture
def three_objects() -> GroundTruth:
    return ground_truth_from_masks([OBJECT_0, OBJECT_1, OBJECT_2], "three squares")


def test_precision_recall_f1_counted_by_hand(three_objects: GroundTruth) -> None:
    exact = OBJECT_0.copy()
    part = box(SHAPE, 10, 10, 2, 4) | box(SHAPE, 12, 10, 1, 2)  # 10 of object 1's 16 px: IoU 0.625
    background = box(SHAPE, 16, 0, 3, 3)
    metrics = evaluate_run(records([exact, part, background], [0.9, 0.8, 0.7]), three_objects, (0.5, 0.75))
    at_50, at_75 = metrics.at(0.5), metrics.at(0.75)
    assert (metrics.gt_objects, metrics.masks) == (3, 3)
    assert at_50.matched == 2 and at_50.precision == pytest.approx(2 / 3) and at_50.recall == pytest.approx(2 / 3)
    assert at_50.f1 == pytest.approx(2 / 3)
    assert at_50.mean_matched_iou == pytest.approx((1 + 0.625) / 2)
    assert at_75.matched == 1 and at_75.precision == pytest.approx(1 / 3) and at_75.f1 == pytest.approx(1 / 3)
    assert metrics.mean_best_iou == pytest.approx((1 + 0.625 + 0) / 3)
    assert metrics.best_ious == pytest.approx((1.0, 0.625, 0.0))
    assert at_50.match.false_masks == (2,) and at_50.match.missed_objects == (2,)
    assert at_75.match.false_masks == (1, 2) and at_75.match.missed_objects == (1, 2)
    assert [(p.a_id, p.b_id) for p in at_50.match.pairs] == [(0, 0), (1, 1)]


def test_one_mask_over_two_objects_finds_one_of_them() -> None:
    left, right = box(SHAPE, 0, 0, 4, 4), box(SHAPE, 0, 4, 4, 4)
    truth = ground_truth_from_masks([left, right])
    metrics = evaluate_run(records([left | right], [0.9]), truth, (0.5,))
    assert metrics.best_ious == (0.5, 0.5)
    at_50 = metrics.at(0.5)
    assert at_50.matched == 1 and at_50.precision == 1.0 and at_50.recall == 0.5


def test_duplicates_count_once_and_the_copy_is_a_false_mask(three_objects: GroundTruth) -> None:
    metrics = evaluate_run(records([OBJECT_0, OBJECT_0, OBJECT_1], [0.9, 0.8, 0.7]), three_objects, (0.5,))
    at_50 = metrics.at(0.5)
    assert at_50.matched == 2 and at_50.precision == pytest.approx(2 / 3) and at_50.recall == pytest.approx(2 / 3)
    assert len(at_50.match.false_masks) == 1 and at_50.match.false_masks[0] in (0, 1)


def test_empty_prediction_and_empty_ground_truth(three_objects: GroundTruth) -> None:
    nothing = evaluate_run([], three_objects)
    assert nothing.masks == 0 and nothing.at(0.5).matched == 0
    assert math.isnan(nothing.at(0.5).precision) and nothing.at(0.5).recall == 0 and nothing.at(0.5).f1 == 0
    assert nothing.mean_best_iou == 0 and nothing.ap == 0 and nothing.ar == 0
    assert nothing.at(0.5).match.missed_objects == (0, 1, 2)

    no_objects = GroundTruth(SHAPE, (), "empty")
    masks_only = evaluate_run(records([OBJECT_0, OBJECT_1], [0.9, 0.8]), no_objects)
    assert masks_only.at(0.5).precision == 0 and math.isnan(masks_only.at(0.5).recall)
    assert masks_only.at(0.5).f1 == 0 and masks_only.at(0.5).match.false_masks == (0, 1)
    assert math.isnan(masks_only.mean_best_iou) and math.isnan(masks_only.ap) and math.isnan(masks_only.ar)
    both_empty = evaluate_run([], no_objects)
    assert math.isnan(both_empty.at(0.5).f1)


def test_matching_takes_the_most_pairs_then_the_largest_summed_iou() -> None:
    # At 0.3, the single best pair (1.0) would win on summed IoU; two pairs (0.3 + 0.3) are more objects found.
    ious = np.array([[1.0, 0.3], [0.3, 0.0]])
    assert len(one_to_one(ious, 0.3)) == 1  # the compare page's matching: largest sum
    match = match_to_ground_truth(ious, 0.3)
    assert {(p.a_id, p.b_id) for p in match.pairs} == {(0, 1), (1, 0)}
    # Of the sets of two pairs, the one of largest summed IoU.
    ious = np.array([[0.9, 0.55], [0.6, 0.0], [0.0, 0.8]])
    match = match_to_ground_truth(ious, 0.5)
    assert {(p.a_id, p.b_id) for p in match.pairs} == {(0, 0), (2, 1)}
    assert match.false_masks == (1,) and match.missed_objects == ()
    assert [p.iou for p in match.pairs] == [0.9, 0.8]  # best first
    with pytest.raises(ValueError, match=r"\(0, 1\]"):
        match_to_ground_truth(ious, 0.0)


def test_recall_by_size_uses_coco_limits_scaled_to_the_image() -> None:
    assert size_limits((480, 640)) == (32**2, 96**2)
    small, large = size_limits((1024, 1024))
    assert small == pytest.approx(1024 * 1024 / (640 * 480) * 1024)
    assert large == pytest.approx(1024 * 1024 / (640 * 480) * 9216)
    # a quarter of COCO's image area: small below 256 px, large from 2,304 px
    assert size_groups(np.array([255, 256, 2303, 2304]), (240, 320)).tolist() == [0, 1, 1, 2]
    shape = (240, 320)
    tiny, middle, big = box(shape, 0, 0, 10, 10), box(shape, 20, 0, 30, 30), box(shape, 100, 100, 60, 60)
    truth = ground_truth_from_masks([tiny, middle, big])
    metrics = evaluate_run(records([middle, big], [0.9, 0.8]), truth, (0.5,))
    by_size = {s.group: (s.matched, s.objects) for s in metrics.at(0.5).recall_by_size}
    assert by_size == {"small": (0, 1), "medium": (1, 1), "large": (1, 1)}
    table = metrics.size_table()
    assert table.loc[0, "small_recall"] == 0 and table.loc[0, "large_recall"] == 1


def test_row_has_the_metrics_csv_columns_in_order(three_objects: GroundTruth) -> None:
    metrics = evaluate_run(records([OBJECT_0], [0.9]), three_objects, (0.5, 0.6, 0.75), setting="mine")
    assert metrics_columns() == [
        "setting",
        "gt_objects",
        "masks",
        "matched_50",
        "precision_50",
        "recall_50",
        "f1_50",
        "matched_75",
        "precision_75",
        "recall_75",
        "f1_75",
        "mean_best_iou",
        "ap",
        "ar",
    ]
    row = metrics.row((0.5, 0.75))
    assert list(row) == metrics_columns() and row["setting"] == "mine"
    assert list(metrics.row())[3:7] == ["matched_50", "precision_50", "recall_50", "f1_50"]
    assert "f1_60" in metrics.row()
    table = metrics_table([metrics], (0.6,))
    assert list(table.columns) == metrics_columns((0.6,)) and table.loc[0, "matched_60"] == 1
    with pytest.raises(KeyError, match="0.9 was not evaluated"):
        metrics.row((0.9,))
    with pytest.raises(ValueError, match="same column twice"):
        metrics_columns((0.5, 0.501))


def test_recall_curve_falls_as_the_threshold_rises(three_objects: GroundTruth) -> None:
    part = box(SHAPE, 10, 10, 2, 4) | box(SHAPE, 12, 10, 1, 2)  # IoU 0.625
    ious = mask_ious(RunMasks(records([OBJECT_0, part], [0.9, 0.8])).coco_rles(), three_objects)
    curve = recall_curve(ious, [0.1, 0.6, 0.7, 1.0])
    assert curve.tolist() == pytest.approx([2 / 3, 2 / 3, 1 / 3, 1 / 3])


# COCO AP and AR


def test_perfect_predictions_score_ap_and_ar_one(three_objects: GroundTruth) -> None:
    metrics = evaluate_run(records([OBJECT_2, OBJECT_0, OBJECT_1], [0.5, 0.9, 0.7]), three_objects)
    assert metrics.ap == pytest.approx(1.0) and metrics.ar == pytest.approx(1.0)


def test_a_false_positive_ranked_first_halves_ap() -> None:
    truth = ground_truth_from_masks([OBJECT_0])
    stray = box(SHAPE, 15, 15, 3, 3)
    # Ranked list: a miss, then a hit. Precision is 0 then 1/2 at recall 1; interpolated, 1/2 at every
    # recall point, at every IoU threshold (the hit is exact): AP 0.5. Every object is found: AR 1.
    first = evaluate_run(records([stray, OBJECT_0], [0.9, 0.8]), truth)
    assert first.ap == pytest.approx(0.5) and first.ar == pytest.approx(1.0)
    # Ranked last, the false positive costs nothing: precision is 1 up to full recall.
    last = evaluate_run(records([stray, OBJECT_0], [0.1, 0.8]), truth)
    assert last.ap == pytest.approx(1.0) and last.ar == pytest.approx(1.0)


def test_half_the_objects_found_gives_51_of_101_recall_points() -> None:
    truth = ground_truth_from_masks([OBJECT_0, OBJECT_1])
    metrics = evaluate_run(records([OBJECT_0], [0.9]), truth)
    # Precision 1 at recall points 0.00 ... 0.50 (51 of 101), 0 beyond: at every IoU threshold.
    assert metrics.ap == pytest.approx(51 / 101) and metrics.ar == pytest.approx(0.5)


def test_a_rough_mask_counts_at_the_iou_thresholds_it_reaches() -> None:
    object_ = box(SHAPE, 0, 0, 10, 10)  # 100 px
    rough = box(SHAPE, 0, 0, 7, 10) | box(SHAPE, 7, 0, 1, 8)  # 78 px inside it: IoU 0.78
    metrics = evaluate_run(records([rough], [0.9]), ground_truth_from_masks([object_]))
    # Matched at IoU 0.50, 0.55, ..., 0.75 (6 of 10 thresholds), missed at 0.80 ... 0.95.
    assert metrics.ap == pytest.approx(0.6) and metrics.ar == pytest.approx(0.6)


def scene_case(seed: int = 3) -> tuple[np.ndarray, list[np.ndarray], list[np.ndarray], np.ndarray]:
    """A scene's objects, and predictions: exact, grown, shrunk, merged and stray masks with mixed scores."""
    scene = generate_scene(np.random.default_rng(seed), 96, 128)
    objects = scene.object_masks()
    rng = np.random.default_rng(seed)
    predictions = []
    for index, mask in enumerate(objects):
        kind = index % 3
        if kind == 0:
            predictions.append(mask)
        elif kind == 1:
            grown = mask.copy()
            grown[1:, :] |= mask[:-1, :]
            grown[:, 1:] |= mask[:, :-1]
            predictions.append(grown)
        else:
            ys, xs = np.nonzero(mask)
            predictions.append(mask & (ys.mean() <= np.arange(mask.shape[0]))[:, None])
    predictions += [objects[0] | objects[-1], objects[1].copy(), box(objects[0].shape, 80, 100, 10, 20)]
    predictions = [p for p in predictions if p.any()]
    scores = rng.uniform(0.5, 1.0, len(predictions))
    return scene.image, objects, predictions, scores


def pycocotools_ap_ar(objects: list[np.ndarray], predictions: list[np.ndarray], scores: np.ndarray) -> np.ndarray:
    """COCOeval as everyone runs it: COCO files in, `summarize()` out (its stats array)."""
    height, width = objects[0].shape
    gt_dict = coco_dict(records(objects, [1.0] * len(objects)), (height, width))
    gt_dict["annotations"] = [{k: v for k, v in a.items() if k != "predicted_iou"} for a in gt_dict["annotations"]]
    results = [
        {"image_id": 1, "category_id": 1, "segmentation": a["segmentation"], "score": float(s)}
        for a, s in zip(
            coco_dict(records(predictions, list(scores)), (height, width))["annotations"], scores, strict=True
        )
    ]
    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = COCO()
        coco_gt.dataset = gt_dict
        coco_gt.createIndex()
        coco_dt = coco_gt.loadRes(results)
        evaluator = COCOeval(coco_gt, coco_dt, "segm")
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    return evaluator.stats


def test_ap_and_ar_equal_pycocotools_cocoeval_on_coco_files() -> None:
    _, objects, predictions, scores = scene_case()
    stats = pycocotools_ap_ar(objects, predictions, scores)
    truth = ground_truth_from_masks(objects)
    ious = mask_ious([encode_mask(p) for p in predictions], truth)
    areas = [int(p.sum()) for p in predictions]
    # COCO's summary: AP (stats[0]) and AR (stats[8]) at 100 detections, all sizes.
    ap, ar = coco_ap_ar(ious, scores, areas, truth.areas, max_detections=100)
    assert 0.0 < stats[0] < 1.0  # a case that tells right from wrong
    assert ap == pytest.approx(stats[0], abs=1e-12) and ar == pytest.approx(stats[8], abs=1e-12)


def test_max_detections_cuts_the_lowest_scored_masks() -> None:
    truth = ground_truth_from_masks([OBJECT_0, OBJECT_1])
    # The second object is found only by the lowest-scored of three masks.
    ious = np.array([[1.0, 0.0], [0.0, 0.0], [0.0, 1.0]])
    scores, areas = [0.9, 0.8, 0.1], [16, 9, 16]
    assert coco_ap_ar(ious, scores, areas, truth.areas, max_detections=2)[1] == pytest.approx(0.5)
    assert coco_ap_ar(ious, scores, areas, truth.areas, max_detections=3)[1] == pytest.approx(1.0)


# One metric, two paths


def assert_same_metrics(a, b) -> None:  # noqa: ANN001 - two SettingMetrics
    row_a, row_b = a.row(), b.row()
    assert list(row_a) == list(row_b)
    for key in row_a:
        assert row_a[key] == row_b[key] or (
            isinstance(row_a[key], float) and math.isnan(row_a[key]) and math.isnan(row_b[key])
        ), key
    assert a.best_ious == b.best_ious
    for x, y in zip(a.thresholds, b.thresholds, strict=True):
        assert x.match == y.match and x.recall_by_size == y.recall_by_size


def test_iou_matrix_path_equals_the_run_path_in_every_output_mode() -> None:
    _, objects, predictions, _ = scene_case(5)
    truth = ground_truth_from_masks(objects)
    result = run_result_from_masks(predictions, AmgConfig(name="pool"))
    from_run = evaluate_run(result, truth, (0.5, 0.75, 0.9))
    masks = RunMasks(result)
    ious = mask_ious(masks.coco_rles(), truth)
    from_ious = evaluate_from_ious(
        ious, result.predicted_ious, masks.areas(), truth, (0.5, 0.75, 0.9), setting="pool", pred_rles=masks.coco_rles()
    )
    assert_same_metrics(from_run, from_ious)
    assert from_run.setting == "pool" and 0 < from_run.ap < 1
    for mode in OUTPUT_MODES:
        as_records = records_from_masks(predictions, mode)
        for record, score in zip(as_records, result.predicted_ious, strict=True):
            record["predicted_iou"] = float(score)
        assert_same_metrics(evaluate_run(as_records, truth, (0.5, 0.75, 0.9), setting="pool"), from_run)
        mode_result = run_result_from_masks(predictions, AmgConfig(name="pool", output_mode=mode))
        assert_same_metrics(evaluate_run(mode_result, truth, (0.5, 0.75, 0.9)), from_run)


def test_a_subset_of_rows_scores_as_a_run_of_those_masks() -> None:
    """The tuner's case: one pool of masks, IoUs computed once, many filtered subsets."""
    _, objects, predictions, scores = scene_case(7)
    truth = ground_truth_from_masks(objects)
    pool = RunMasks(records(predictions, list(scores)))
    ious = mask_ious(pool.coco_rles(), truth)
    keep = np.flatnonzero(scores > np.median(scores))
    from_rows = evaluate_from_ious(ious[keep], scores[keep], pool.areas()[keep], truth, setting="subset")
    from_run = evaluate_run(records([predictions[i] for i in keep], list(scores[keep])), truth, setting="subset")
    assert_same_metrics(from_rows, from_run)


def test_inputs_out_of_step_are_refused(three_objects: GroundTruth) -> None:
    with pytest.raises(ValueError, match="do not fit"):
        evaluate_from_ious(np.zeros((2, 3)), [0.9], [10], three_objects)
    with pytest.raises(ValueError, match="1 masks given for an IoU matrix of 2 rows"):
        evaluate_from_ious(np.zeros((2, 3)), [0.9, 0.8], [10, 10], three_objects, pred_rles=[encode_mask(OBJECT_0)])
    wider = np.zeros((20, 30), dtype=bool)
    wider[0, 0] = True
    with pytest.raises(GroundTruthError, match="ground truth is 20 x 20 px, the image is 30 x 20 px"):
        evaluate_run(records([wider], [0.9]), three_objects)
