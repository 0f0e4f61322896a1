import time

import cv2
import numpy as np
import pytest

from samcompare.config import AmgConfig
from samcompare.results.matching import box_overlap_candidates, match_masks


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / (a | b).sum())


@pytest.mark.parametrize("method", ["hungarian", "greedy"])
def test_identical_runs_match_every_mask_whatever_the_order(scene_masks, make_records, method):
    a = make_records(scene_masks, "binary_mask")
    order = list(reversed(range(len(scene_masks))))
    b = make_records([scene_masks[i] for i in order], "coco_rle")
    report = match_masks(a, b, method=method)
    assert report.matched_count == len(scene_masks) and not report.only_in_a and not report.only_in_b
    for pair in report.pairs:
        assert pair.iou == pytest.approx(1.0)
        assert order[pair.b_id] == pair.a_id


def test_masks_only_in_one_run_are_reported(scene_masks, make_records, make_run_result):
    a = make_run_result(scene_masks[:-1], AmgConfig(name="first"))  # no small square
    b_masks = [scene_masks[0], scene_masks[-1], *scene_masks[2:-2]]  # drops masks 1 and the union
    b = make_records(b_masks, "uncompressed_rle")
    report = match_masks(a, b)
    assert report.setting_a == "first" and report.setting_b == "B"
    assert set(report.only_in_a) == {1, len(scene_masks) - 2}
    assert report.only_in_b == (1,)
    assert report.matched_count == len(b_masks) - 1
    summary = report.summary()
    assert summary["matched"] + summary["only_in_a"] == summary["masks_a"]
    assert summary["matched"] + summary["only_in_b"] == summary["masks_b"]
    assert "only in first" in report.summary_text()
    frame = report.pairs_frame()
    assert len(frame) == report.matched_count + len(report.only_in_a) + len(report.only_in_b)
    assert frame["status"].value_counts()["only_in_a"] == 2


def test_threshold_decides_which_close_masks_match(scene_masks, make_records):
    largest = max(scene_masks, key=lambda m: m.sum())
    eroded = cv2.erode(largest.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    iou = _iou(largest, eroded)
    assert 0.5 < iou < 0.95
    a, b = make_records([largest]), make_records([eroded])
    assert match_masks(a, b, iou_threshold=0.5).pairs[0].iou == pytest.approx(iou)
    assert match_masks(a, b, iou_threshold=0.95).matched_count == 0
    with pytest.raises(ValueError):
        match_masks(a, b, iou_threshold=0)
    with pytest.raises(ValueError):
        match_masks(a, b, method="random")


def test_hungarian_maximises_total_iou_where_greedy_does_not(make_records):
    canvas = np.zeros((40, 80), dtype=bool)
    a0, a1, b0, b1 = (canvas.copy() for _ in range(4))
    a0[10:30, 10:40] = True
    a1[10:30, 18:44] = True
    b0[10:30, 12:42] = True  # IoU with a0 0.875, with a1 0.75
    b1[10:30, 2:34] = True  # IoU with a0 0.63, with a1 0.38
    a, b = make_records([a0, a1]), make_records([b0, b1])
    greedy = match_masks(a, b, method="greedy")
    assert [(p.a_id, p.b_id) for p in greedy.pairs] == [(0, 0)]
    hungarian = match_masks(a, b, method="hungarian")
    assert sorted((p.a_id, p.b_id) for p in hungarian.pairs) == [(0, 1), (1, 0)]
    assert hungarian.pairs[0].iou == pytest.approx(0.75) and hungarian.pairs[1].iou == pytest.approx(24 / 38)


def test_box_prefilter_skips_pairs_that_cannot_overlap():
    boxes_a = np.array([[0, 0, 10, 10], [50, 50, 5, 5]], dtype=float)
    boxes_b = np.array([[10, 0, 5, 5], [9, 9, 3, 3], [40, 40, 20, 20]], dtype=float)
    assert box_overlap_candidates(boxes_a, boxes_b).tolist() == [[False, True, False], [False, False, True]]
    assert box_overlap_candidates(boxes_a[:0], boxes_b).shape == (0, 3)


def test_hundreds_of_masks_match_quickly(make_records):
    rng = np.random.default_rng(3)
    canvas = np.zeros((256, 256), dtype=bool)
    masks_a, masks_b = [], []
    for _ in range(300):
        x, y = rng.integers(0, 240, 2)
        size = int(rng.integers(4, 16))
        mask = canvas.copy()
        mask[y : y + size, x : x + size] = True
        masks_a.append(mask)
        shifted = canvas.copy()
        shifted[y + 1 : y + size + 1, x : x + size] = True
        masks_b.append(shifted)
    a = make_records(masks_a, "uncompressed_rle")
    b = make_records(masks_b[::-1], "uncompressed_rle")
    started = time.perf_counter()
    report = match_masks(a, b, iou_threshold=0.3)
    assert time.perf_counter() - started < 5
    assert report.candidate_pairs < 300 * 300 / 10
    assert report.matched_count >= 290
