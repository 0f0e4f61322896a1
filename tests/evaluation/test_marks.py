"""Marked masks as partial ground truth: keeping marks; metrics counted by hand, from a run and from IoU matrices."""

from __future__ import annotations

import math

import numpy as np
import pytest

from samcompare.config import AmgConfig
from samcompare.evaluation import (
    MarkedMask,
    Marks,
    evaluate_marks,
    mark_ious,
    marks_from_run,
    marks_metrics_from_ious,
    marks_table,
)
from samcompare.results import RunMasks
from samcompare.results.masks import encode_mask
from tests.results.conftest import run_result_from_masks

SHAPE = (20, 20)


def box(top: int, left: int, size: int) -> np.ndarray:
    mask = np.zeros(SHAPE, dtype=bool)
    mask[top : top + size, left : left + size] = True
    return mask


GOOD_A, GOOD_B, BAD_C, OTHER = box(0, 0, 4), box(10, 10, 4), box(0, 12, 5), box(15, 0, 3)


def mark(mask: np.ndarray, setting: str = "s", mask_id: int = 0) -> MarkedMask:
    return MarkedMask(encode_mask(mask), setting, mask_id)


def test_marks_move_between_good_and_bad_and_equal_masks_are_one_mark() -> None:
    marks = Marks().marked([mark(GOOD_A, "SAM default", 3), mark(GOOD_A, "High precision", 5)], "good")
    assert len(marks.good) == 1 and marks.good[0].setting == "SAM default" and marks.good[0].mask_id == 3
    marks = marks.marked([mark(BAD_C)], "bad").marked([mark(GOOD_B)], "good")
    assert len(marks) == 3 and marks.image_size == SHAPE
    assert marks.label_of(encode_mask(GOOD_A)) == "good" and marks.label_of(encode_mask(BAD_C)) == "bad"
    assert marks.label_of(encode_mask(OTHER)) is None
    moved = marks.marked([mark(GOOD_A, "other", 9)], "bad")  # marked again: it moves
    assert moved.label_of(encode_mask(GOOD_A)) == "bad" and len(moved.good) == 1 and len(moved.bad) == 2
    assert moved.unmarked([mark(GOOD_A)]).label_of(encode_mask(GOOD_A)) is None
    assert len(Marks()) == 0 and Marks().image_size is None
    with pytest.raises(ValueError, match="'good' or 'bad'"):
        marks.marked([mark(OTHER)], "maybe")
    with pytest.raises(ValueError, match="cannot join marks of"):
        marks.marked([MarkedMask(encode_mask(np.ones((5, 5), bool)), "s", 0)], "good")


def test_marks_metrics_counted_by_hand() -> None:
    marks = Marks().marked([mark(GOOD_A), mark(GOOD_B)], "good").marked([mark(BAD_C)], "bad")
    # Masks: good mark A (twice: one is a duplicate), bad mark C, and one mask on no mark.
    run = run_result_from_masks([GOOD_A, GOOD_A.copy(), BAD_C, OTHER], AmgConfig(name="loose"))
    metrics = evaluate_marks(run, marks)
    assert (metrics.setting, metrics.good, metrics.bad, metrics.masks) == ("loose", 2, 1, 4)
    assert metrics.good_found == 1 and metrics.bad_hit == 1 and metrics.bad_avoided == 0
    assert metrics.masks_on_marks == 3  # OTHER lies on no mark: unjudged
    assert metrics.precision == pytest.approx(1 / 3)  # the duplicate and the bad mask count against it
    assert metrics.recall == pytest.approx(1 / 2)
    assert metrics.agreement == pytest.approx((1 + 0) / 3)

    strict = evaluate_marks(run_result_from_masks([GOOD_A, GOOD_B], AmgConfig(name="strict")), marks)
    assert (strict.good_found, strict.bad_hit, strict.precision, strict.recall, strict.agreement) == (2, 0, 1, 1, 1)
    table = marks_table([metrics, strict])
    assert table["setting"].tolist() == ["loose", "strict"] and table["agreement"].iloc[1] == 1


def test_a_mask_near_a_mark_counts_from_the_threshold() -> None:
    marks = Marks().marked([mark(box(0, 0, 10))], "good")  # 100 px
    rough = box(0, 0, 10)
    rough[7:, :] = False  # 70 px inside: IoU 0.7
    run = run_result_from_masks([rough], AmgConfig(name="rough"))
    assert evaluate_marks(run, marks, iou_threshold=0.5).good_found == 1
    assert evaluate_marks(run, marks, iou_threshold=0.75).good_found == 0


def test_from_iou_matrices_equals_from_the_run() -> None:
    marks = Marks().marked([mark(GOOD_A), mark(GOOD_B)], "good").marked([mark(BAD_C), mark(OTHER)], "bad")
    masks = [GOOD_A, BAD_C, box(10, 10, 3), OTHER | GOOD_B]
    run = RunMasks(run_result_from_masks(masks, AmgConfig(name="pool")))
    good_ious, bad_ious = mark_ious(run.coco_rles(), marks)
    assert good_ious.shape == (4, 2) and bad_ious.shape == (4, 2)
    for keep in ([0, 1, 2, 3], [0, 2], [3]):
        subset = run_result_from_masks([masks[i] for i in keep], AmgConfig(name="pool"))
        assert marks_metrics_from_ious(good_ious[keep], bad_ious[keep], 0.5, "pool") == evaluate_marks(subset, marks)


def test_no_marks_and_no_masks() -> None:
    nothing = marks_metrics_from_ious(np.zeros((3, 0)), np.zeros((3, 0)))
    assert nothing.masks == 3 and nothing.masks_on_marks == 0
    assert math.isnan(nothing.precision) and math.isnan(nothing.recall) and math.isnan(nothing.agreement)
    marks = Marks().marked([mark(GOOD_A)], "good").marked([mark(BAD_C)], "bad")
    empty = evaluate_marks([], marks, setting="empty")
    assert (empty.good_found, empty.bad_hit, empty.agreement) == (0, 0, 0.5)  # the bad mark is avoided


def test_marks_from_a_run_keep_where_they_came_from() -> None:
    run = RunMasks(run_result_from_masks([GOOD_A, GOOD_B, BAD_C], AmgConfig(name="SAM default")))
    marked = marks_from_run(run, [2, 0])
    assert [(m.setting, m.mask_id) for m in marked] == [("SAM default", 2), ("SAM default", 0)]
    assert Marks().marked(marked, "bad").label_of(run.coco_rle(2)) == "bad"
    with pytest.raises(ValueError, match="do not exist"):
        marks_from_run(run, [7])
